import {
  type CipherGCM, type CipherGCMTypes, createCipheriv, createDecipheriv, createHash, createHmac, type DecipherGCM, diffieHellman, hkdfSync, type KeyObject, randomBytes,
  sign, timingSafeEqual, verify,
} from 'node:crypto';
import { Errno } from '../../vfs/errno.ts';
import { fail } from '../fail.ts';
import type { ProcessContext } from '../process-context.ts';
import { exportKey, exportPublicKey, generateKey, importKey, KeyType, type ProgramKey, publicKeyFrom, Usage } from '../program-keys.ts';
import { defineSystemCalls } from '../system-call-handler.ts';

/** Largest input of one call (docs/program-abi.md): a call runs in the runtime's thread, between the sessions' requests. */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;
const ALG = { GCM: 0x05500200, CHACHA20_POLY1305: 0x05100500, PURE_EDDSA: 0x06000800, ECDH: 0x09020000 } as const;
const BASE = { HMAC: 0x03800000, ECDSA: 0x06000600, HKDF: 0x08000100 } as const;
/** PSA's SHA_256, SHA_384, SHA_512 (0x02000009, 0x0200000a, 0x0200000b). */
const HASHES: Readonly<Record<number, string>> = { 33554441: 'sha256', 33554442: 'sha384', 33554443: 'sha512' };

/**
 * The input the program names, as a view of its memory: not a copy, since V8 copies out of shared
 * memory a byte at a time (40 times slower than node:crypto reads it), and the program, waiting for
 * this call, cannot change it meanwhile. Whatever is kept (a key's bytes) is copied by its keeper.
 */
function input(context: ProcessContext, pointer: number, length: number): Uint8Array {
  if (length > MAX_INPUT_BYTES) fail(Errno.TOOBIG);
  return context.memory.range(pointer, length);
}

function hashName(alg: number): string {
  return HASHES[alg] ?? fail(Errno.INVAL);
}

/** The hash inside `alg`, a `base | hash` algorithm (HMAC, ECDSA, HKDF). */
function innerHash(alg: number, base: number): string {
  if ((alg & ~0xff) !== base) fail(Errno.INVAL);
  return hashName(0x02000000 | (alg & 0xff));
}

/** The key `handle` names, made for `alg` with every bit of `usage`: EBADF if none, EPERM if its policy forbids. */
function keyFor(context: ProcessContext, handle: number, alg: number, usage: number): ProgramKey {
  const key = context.keys.get(handle) ?? fail(Errno.BADF);
  if ((key.usage & usage) !== usage || key.alg !== alg) fail(Errno.PERM);
  return key;
}

function anyKey(context: ProcessContext, handle: number): ProgramKey {
  return context.keys.get(handle) ?? fail(Errno.BADF);
}

/** Stores a new key under the run's next handle. */
function addKey(context: ProcessContext, key: ProgramKey, pointer: number): number {
  // At most 1024 keys at once (docs/program-abi.md).
  if (context.keys.size >= 1024) fail(Errno.NOMEM);
  context.memory.range(pointer, 4);
  const handle = context.nextKey++;
  context.keys.set(handle, key);
  context.memory.putU32(pointer, handle);
  return Errno.SUCCESS;
}

function signatureHash(key: ProgramKey, alg: number): string | null {
  if (alg === ALG.PURE_EDDSA && key.curve === 'Ed25519') return null;
  if (!key.curve?.startsWith('P-')) return fail(Errno.INVAL);
  return innerHash(alg, BASE.ECDSA);
}

function aeadCipher(key: ProgramKey, alg: number, nonce: Uint8Array): CipherGCMTypes {
  if (nonce.length !== 12) fail(Errno.INVAL);
  if (alg === ALG.GCM && key.type === KeyType.AES) return `aes-${key.bits}-gcm` as CipherGCMTypes;
  // node:crypto's typings file ChaCha20-Poly1305 under its own overload; the options are GCM's.
  if (alg === ALG.CHACHA20_POLY1305 && key.type === KeyType.CHACHA20) return 'chacha20-poly1305' as CipherGCMTypes;
  return fail(Errno.INVAL);
}

function hkdf(context: ProcessContext, handle: number, alg: number, salt: number, saltLength: number, info: number, infoLength: number, length: number): Buffer {
  const key = keyFor(context, handle, alg, Usage.DERIVE);
  const hash = innerHash(alg, BASE.HKDF);
  if (key.type !== KeyType.DERIVE) fail(Errno.INVAL);
  return Buffer.from(hkdfSync(hash, key.secret as Buffer, input(context, salt, saltLength), input(context, info, infoLength), length));
}

/** The HMAC of the input with an HMAC key made for `alg` and holding `usage`. */
function mac(context: ProcessContext, handle: number, alg: number, usage: number, data: number, length: number): Buffer {
  const key = keyFor(context, handle, alg, usage);
  if (key.type !== KeyType.HMAC) fail(Errno.INVAL);
  return createHmac(innerHash(alg, BASE.HMAC), key.secret as Buffer).update(input(context, data, length)).digest();
}

/** An AEAD cipher (or decipher) of a key made for `alg` and holding `usage`, its AAD given. */
function aead<C extends CipherGCM | DecipherGCM>(
  context: ProcessContext, handle: number, alg: number, usage: number, nonce: number, nonceLength: number, aad: number, aadLength: number,
  create: (name: CipherGCMTypes, key: Uint8Array, iv: Uint8Array, options: { authTagLength: 16 }) => C,
): C {
  const key = keyFor(context, handle, alg, usage);
  const iv = input(context, nonce, nonceLength);
  const cipher = create(aeadCipher(key, alg, iv), key.secret as Buffer, iv, { authTagLength: 16 });
  cipher.setAAD(input(context, aad, aadLength));
  return cipher;
}

/**
 * `veracruz_crypto_v1` (docs/program-abi.md): PSA-shaped cryptography over node:crypto, with keys as
 * handles whose usage policy is checked on every call. Whatever node:crypto refuses (a point not on
 * the curve, an HKDF length too long) is EINVAL (see WasiProcess): no call throws into the runtime.
 */
export const CRYPTO_CALLS = defineSystemCalls({
  random: (context, buffer, length) => {
    if (length > MAX_INPUT_BYTES) fail(Errno.TOOBIG);
    context.memory.range(buffer, length).set(randomBytes(length));
    return Errno.SUCCESS;
  },
  hash: (context, alg, data, length, out, size, outLength) =>
    context.memory.output(createHash(hashName(alg)).update(input(context, data, length)).digest(), out, size, outLength),
  key_generate: (context, type, bits, usage, alg, key) => addKey(context, generateKey(type, bits, usage, alg), key),
  key_import: (context, type, bits, usage, alg, data, length, key) => addKey(context, importKey(type, bits, usage, alg, input(context, data, length)), key),
  key_export: (context, handle, out, size, outLength) => {
    const key = anyKey(context, handle);
    if ((key.usage & Usage.EXPORT) === 0) fail(Errno.PERM);
    return context.memory.output(exportKey(key), out, size, outLength);
  },
  key_export_public: (context, handle, out, size, outLength) => context.memory.output(exportPublicKey(anyKey(context, handle)), out, size, outLength),
  key_attributes: (context, handle, out) => {
    const key = anyKey(context, handle);
    context.memory.putU32s(out, [key.type, key.bits, key.usage, key.alg]);
    return Errno.SUCCESS;
  },
  key_destroy: (context, handle) => {
    anyKey(context, handle);
    context.keys.delete(handle);
    return Errno.SUCCESS;
  },
  mac_compute: (context, handle, alg, data, length, out, size, outLength) =>
    context.memory.output(mac(context, handle, alg, Usage.SIGN_MESSAGE, data, length), out, size, outLength),
  mac_verify: (context, handle, alg, data, length, given, givenLength) => {
    const expected = mac(context, handle, alg, Usage.VERIFY_MESSAGE, data, length);
    const tag = input(context, given, givenLength);
    return tag.length === expected.length && timingSafeEqual(tag, expected) ? Errno.SUCCESS : Errno.BADMSG;
  },
  aead_encrypt: (context, handle, alg, nonce, nonceLength, aad, aadLength, data, length, out, size, outLength) => {
    const cipher = aead<CipherGCM>(context, handle, alg, Usage.ENCRYPT, nonce, nonceLength, aad, aadLength, createCipheriv);
    const sealed = Buffer.concat([cipher.update(input(context, data, length)), cipher.final(), cipher.getAuthTag()]);
    return context.memory.output(sealed, out, size, outLength);
  },
  aead_decrypt: (context, handle, alg, nonce, nonceLength, aad, aadLength, data, length, out, size, outLength) => {
    const decipher = aead<DecipherGCM>(context, handle, alg, Usage.DECRYPT, nonce, nonceLength, aad, aadLength, createDecipheriv);
    const sealed = input(context, data, length);
    if (sealed.length < 16) return Errno.BADMSG;
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
    } catch {
      return Errno.BADMSG;
    }
    return context.memory.output(plain, out, size, outLength);
  },
  sign_message: (context, handle, alg, data, length, signature, size, signatureLength) => {
    const key = keyFor(context, handle, alg, Usage.SIGN_MESSAGE);
    const signed = sign(signatureHash(key, alg), input(context, data, length), { key: key.privateKey as KeyObject, dsaEncoding: 'ieee-p1363' });
    return context.memory.output(signed, signature, size, signatureLength);
  },
  verify_message: (context, handle, alg, data, length, signature, signatureLength) => {
    const key = keyFor(context, handle, alg, Usage.VERIFY_MESSAGE);
    const hash = signatureHash(key, alg);
    const message = input(context, data, length);
    const given = input(context, signature, signatureLength);
    let valid = false;
    try {
      valid = verify(hash, message, { key: key.publicKey as NonNullable<ProgramKey['publicKey']>, dsaEncoding: 'ieee-p1363' }, given);
    } catch {
      // A signature of the wrong length or encoding verifies nothing.
    }
    return valid ? Errno.SUCCESS : Errno.BADMSG;
  },
  key_agreement: (context, handle, alg, peer, peerLength, out, size, outLength) => {
    const key = keyFor(context, handle, alg, Usage.DERIVE);
    // A key of another kind (symmetric, Ed25519, public only) makes diffieHellman throw: EINVAL.
    if (alg !== ALG.ECDH) fail(Errno.INVAL);
    const publicKey = publicKeyFrom(key.curve as NonNullable<ProgramKey['curve']>, input(context, peer, peerLength));
    return context.memory.output(diffieHellman({ privateKey: key.privateKey as KeyObject, publicKey }), out, size, outLength);
  },
  key_derive: (context, handle, alg, salt, saltLength, info, infoLength, type, bits, usage, keyAlg, key) => {
    // Symmetric types only: the bytes HKDF gives are the key's (checked by importKey).
    if (type >> 12 === 7 || type >> 12 === 4 || bits % 8 !== 0) fail(Errno.INVAL);
    const secret = hkdf(context, handle, alg, salt, saltLength, info, infoLength, bits / 8);
    return addKey(context, importKey(type, bits, usage, keyAlg, secret), key);
  },
  derive_bytes: (context, handle, alg, salt, saltLength, info, infoLength, out, length) => {
    context.memory.range(out, length).set(hkdf(context, handle, alg, salt, saltLength, info, infoLength, length));
    return Errno.SUCCESS;
  },
});
