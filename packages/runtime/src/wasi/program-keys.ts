/**
 * The keys of `veracruz_crypto_v1` (docs/program-abi.md): PSA key types and usage flags, and how a
 * key is made, imported and exported in PSA's formats. Key material lives here, in the runtime's
 * thread; a program holds only a handle.
 */
import { createECDH, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { Errno } from '../vfs/errno.ts';
import { fail } from './fail.ts';

/** PSA key types of symmetric keys. */
export const KeyType = { RAW_DATA: 0x1001, HMAC: 0x1100, DERIVE: 0x1200, AES: 0x2400, CHACHA20: 0x2004 } as const;

/** PSA usage flags. */
export const Usage = { EXPORT: 0x1, ENCRYPT: 0x100, DECRYPT: 0x200, SIGN_MESSAGE: 0x400, VERIFY_MESSAGE: 0x800, DERIVE: 0x4000 } as const;

/** One key of a run: attributes fixed when it was made, and its material. */
export interface ProgramKey {
  type: number;
  bits: number;
  usage: number;
  /** The one algorithm the key may be used with. */
  alg: number;
  /** A symmetric key's bytes. */
  secret?: Buffer;
  /** The curve of an asymmetric key. */
  curve?: 'P-256' | 'P-384' | 'X25519' | 'Ed25519';
  privateKey?: KeyObject;
  publicKey?: KeyObject;
}

type Curve = NonNullable<ProgramKey['curve']>;

/**
 * Each curve's DER around PSA's raw key bytes, so node:crypto reads and writes them: the
 * SubjectPublicKeyInfo before a public key, and the SEC1 (NIST curves) or PKCS#8 (RFC 8410) encoding
 * around a private key, whose public key OpenSSL then derives.
 */
const CURVES: Readonly<Record<Curve, { size: number; spki: string; privateKey: [string, string, 'sec1' | 'pkcs8'] }>> = {
  'P-256': { size: 32, spki: '3059301306072a8648ce3d020106082a8648ce3d030107034200', privateKey: ['30310201010420', 'a00a06082a8648ce3d030107', 'sec1'] },
  'P-384': { size: 48, spki: '3076301006072a8648ce3d020106052b81040022036200', privateKey: ['303e0201010430', 'a00706052b81040022', 'sec1'] },
  X25519: { size: 32, spki: '302a300506032b656e032100', privateKey: ['302e020100300506032b656e04220420', '', 'pkcs8'] },
  Ed25519: { size: 32, spki: '302a300506032b6570032100', privateKey: ['302e020100300506032b657004220420', '', 'pkcs8'] },
};

/** The curve of an ECC key type (PSA: 0x7100 | family for a pair, 0x4100 | family for a public key), or undefined. */
function eccOf(type: number, bits: number): { curve: Curve; pair: boolean } | undefined {
  const pair = type >> 8 === 0x71;
  if (!pair && type >> 8 !== 0x41) return undefined;
  const family = type & 0xff;
  const curve = family === 0x12 ? (bits === 256 ? 'P-256' : bits === 384 ? 'P-384' : undefined)
    : bits === 255 ? (family === 0x41 ? 'X25519' : family === 0x42 ? 'Ed25519' : undefined) : undefined;
  return curve === undefined ? fail(Errno.INVAL) : { curve, pair };
}

function checkSymmetric(type: number, bits: number): void {
  const valid = type === KeyType.AES ? bits === 128 || bits === 192 || bits === 256
    : type === KeyType.CHACHA20 ? bits === 256
    : (type === KeyType.RAW_DATA || type === KeyType.HMAC || type === KeyType.DERIVE) && bits > 0 && bits % 8 === 0 && bits <= 8192;
  if (!valid) fail(Errno.INVAL);
}

/** A fresh random key of `type` and `bits`. */
export function generateKey(type: number, bits: number, usage: number, alg: number): ProgramKey {
  const ecc = eccOf(type, bits);
  if (ecc === undefined) {
    checkSymmetric(type, bits);
    return { type, bits, usage, alg, secret: randomBytes(bits / 8) };
  }
  if (!ecc.pair) fail(Errno.INVAL);
  const { privateKey, publicKey } = ecc.curve.startsWith('P-')
    ? generateKeyPairSync('ec', { namedCurve: ecc.curve })
    : ecc.curve === 'X25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('ed25519');
  return { type, bits, usage, alg, curve: ecc.curve, privateKey, publicKey };
}

/** The bits of an ECC key whose data is `length` bytes (`bits` 0 on import). */
function inferredBits(type: number, length: number): number {
  if ((type & 0xff) !== 0x12) return 255;
  return (type >> 8 === 0x71 ? length : (length - 1) / 2) * 8;
}

/** A public key from PSA's format: the uncompressed point `04 ‖ x ‖ y`, or the 32 bytes of X25519/Ed25519. */
export function publicKeyFrom(curve: Curve, data: Uint8Array): KeyObject {
  const { size, spki } = CURVES[curve];
  if (data.length !== (curve.startsWith('P-') ? 1 + 2 * size : size)) fail(Errno.INVAL);
  return createPublicKey({ key: Buffer.concat([Buffer.from(spki, 'hex'), data]), format: 'der', type: 'spki' });
}

/** A key from PSA's import format (docs/program-abi.md); `bits` 0 takes the size from the data. */
export function importKey(type: number, bits: number, usage: number, alg: number, data: Uint8Array): ProgramKey {
  const ecc = eccOf(type, bits === 0 ? inferredBits(type, data.length) : bits);
  if (ecc === undefined) {
    const size = bits === 0 ? data.length * 8 : bits;
    if (size !== data.length * 8) fail(Errno.INVAL);
    checkSymmetric(type, size);
    return { type, bits: size, usage, alg, secret: Buffer.from(data) };
  }
  const { curve, pair } = ecc;
  const attributes = { type, bits: curve.startsWith('P-') ? CURVES[curve].size * 8 : 255, usage, alg, curve };
  if (!pair) return { ...attributes, publicKey: publicKeyFrom(curve, data) };
  const [before, after, encoding] = CURVES[curve].privateKey;
  if (data.length !== CURVES[curve].size) fail(Errno.INVAL);
  // OpenSSL takes any SEC1 scalar; ECDH refuses one outside [1, n - 1] (a zero scalar, say).
  if (encoding === 'sec1') createECDH(curve === 'P-256' ? 'prime256v1' : 'secp384r1').setPrivateKey(data);
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from(before, 'hex'), data, Buffer.from(after, 'hex')]), format: 'der', type: encoding });
  return { ...attributes, privateKey, publicKey: createPublicKey(privateKey) };
}

/** A key's data in PSA's export format: the secret, or a pair's private key. */
export function exportKey(key: ProgramKey): Uint8Array {
  if (key.secret !== undefined) return key.secret;
  if (key.privateKey === undefined) return exportPublicKey(key);
  const size = CURVES[key.curve as Curve].size;
  const d = Buffer.from(key.privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  return Buffer.concat([Buffer.alloc(size - d.length), d]);
}

/** The public key of an asymmetric key, in PSA's format; EINVAL for a symmetric key. */
export function exportPublicKey(key: ProgramKey): Uint8Array {
  if (key.publicKey === undefined) return fail(Errno.INVAL);
  return key.publicKey.export({ format: 'der', type: 'spki' }).subarray(CURVES[key.curve as Curve].spki.length / 2);
}
