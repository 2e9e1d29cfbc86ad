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

// PKCS#8 of an RFC 8410 key without its 32 key bytes: how node:crypto takes a raw X25519/Ed25519 private key.
const PKCS8_PREFIX = { X25519: '302e020100300506032b656e04220420', Ed25519: '302e020100300506032b657004220420' };

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
  const coordinate = type >> 8 === 0x71 ? length : (length - 1) / 2;
  return coordinate * 8;
}

const base64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** A public key from PSA's format: the uncompressed point `04 ‖ x ‖ y`, or the 32 bytes of X25519/Ed25519. */
export function publicKeyFrom(curve: Curve, data: Uint8Array): KeyObject {
  if (curve === 'X25519' || curve === 'Ed25519') {
    if (data.length !== 32) fail(Errno.INVAL);
    return createPublicKey({ key: { kty: 'OKP', crv: curve, x: base64url(data) }, format: 'jwk' });
  }
  const size = curve === 'P-256' ? 32 : 48;
  if (data.length !== 1 + 2 * size || data[0] !== 4) fail(Errno.INVAL);
  return createPublicKey({ key: { kty: 'EC', crv: curve, x: base64url(data.subarray(1, 1 + size)), y: base64url(data.subarray(1 + size)) }, format: 'jwk' });
}

function privateKeyFrom(curve: Curve, data: Uint8Array): KeyObject {
  if (curve === 'X25519' || curve === 'Ed25519') {
    if (data.length !== 32) fail(Errno.INVAL);
    return createPrivateKey({ key: Buffer.concat([Buffer.from(PKCS8_PREFIX[curve], 'hex'), data]), format: 'der', type: 'pkcs8' });
  }
  const size = curve === 'P-256' ? 32 : 48;
  if (data.length !== size) fail(Errno.INVAL);
  const ecdh = createECDH(curve === 'P-256' ? 'prime256v1' : 'secp384r1');
  ecdh.setPrivateKey(data);
  const point = ecdh.getPublicKey();
  return createPrivateKey({
    key: { kty: 'EC', crv: curve, d: base64url(data), x: base64url(point.subarray(1, 1 + size)), y: base64url(point.subarray(1 + size)) },
    format: 'jwk',
  });
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
  const attributes = { type, bits: ecc.curve.startsWith('P-') ? Number(ecc.curve.slice(2)) : 255, usage, alg, curve: ecc.curve };
  if (!ecc.pair) return { ...attributes, publicKey: publicKeyFrom(ecc.curve, data) };
  const privateKey = privateKeyFrom(ecc.curve, data);
  return { ...attributes, privateKey, publicKey: createPublicKey(privateKey) };
}

const fromBase64url = (text: string | undefined, size: number): Buffer => {
  const bytes = Buffer.from(text ?? '', 'base64url');
  return Buffer.concat([Buffer.alloc(Math.max(0, size - bytes.length)), bytes]);
};

/** A key's data in PSA's export format: the secret, or a pair's private key. */
export function exportKey(key: ProgramKey): Uint8Array {
  if (key.secret !== undefined) return key.secret;
  if (key.privateKey === undefined) return exportPublicKey(key);
  return fromBase64url(key.privateKey.export({ format: 'jwk' }).d, key.curve === 'P-384' ? 48 : 32);
}

/** The public key of an asymmetric key, in PSA's format; EINVAL for a symmetric key. */
export function exportPublicKey(key: ProgramKey): Uint8Array {
  if (key.publicKey === undefined) return fail(Errno.INVAL);
  const jwk = key.publicKey.export({ format: 'jwk' });
  if (key.curve === 'X25519' || key.curve === 'Ed25519') return fromBase64url(jwk.x, 32);
  const size = key.curve === 'P-384' ? 48 : 32;
  return Buffer.concat([Buffer.from([4]), fromBase64url(jwk.x, size), fromBase64url(jwk.y, size)]);
}
