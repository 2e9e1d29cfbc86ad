import { crypto_v1 } from "./abi";
import { OUT_LEN, OUT_WORD, Output } from "./output";
import { Result } from "./result";

/** Algorithm identifiers (PSA Crypto API values). */
export namespace Alg {
  export const SHA_256: u32 = 0x02000009;
  export const SHA_384: u32 = 0x0200000a;
  export const SHA_512: u32 = 0x0200000b;
  /** AES-GCM: 12-byte nonce, 16-byte tag. */
  export const GCM: u32 = 0x05500200;
  /** ChaCha20-Poly1305: 12-byte nonce, 16-byte tag. */
  export const CHACHA20_POLY1305: u32 = 0x05100500;
  /** Ed25519 (64-byte signatures). */
  export const PURE_EDDSA: u32 = 0x06000800;
  /** ECDH on P-256 or X25519: the raw shared secret. */
  export const ECDH: u32 = 0x09020000;

  /** HMAC with hash `hash` (`Alg.SHA_256`, …). */
  export function hmac(hash: u32): u32 {
    return 0x03800000 | (hash & 0xff);
  }

  /** HKDF with hash `hash`. */
  export function hkdf(hash: u32): u32 {
    return 0x08000100 | (hash & 0xff);
  }

  /** ECDSA with hash `hash` (signature r ‖ s, each the curve's size, big-endian). */
  export function ecdsa(hash: u32): u32 {
    return 0x06000600 | (hash & 0xff);
  }
}

/** Elliptic curve families of `KeyType.eccKeyPair` / `KeyType.eccPublicKey`. */
export namespace EccFamily {
  /** P-256 or P-384 (256 or 384 bits). */
  export const SECP_R1: u32 = 0x12;
  /** X25519 (255 bits). */
  export const MONTGOMERY: u32 = 0x41;
  /** Ed25519 (255 bits). */
  export const TWISTED_EDWARDS: u32 = 0x42;
}

/** Key types (PSA Crypto API values). */
export namespace KeyType {
  export const RAW_DATA: u32 = 0x1001;
  export const HMAC: u32 = 0x1100;
  export const DERIVE: u32 = 0x1200;
  /** 128, 192 or 256 bits. */
  export const AES: u32 = 0x2400;
  /** 256 bits. */
  export const CHACHA20: u32 = 0x2004;

  export function eccKeyPair(family: u32): u32 {
    return 0x7100 | family;
  }

  export function eccPublicKey(family: u32): u32 {
    return 0x4100 | family;
  }
}

/** Usage flags, fixed when a key is made. */
export namespace Usage {
  export const EXPORT: u32 = 0x1;
  export const ENCRYPT: u32 = 0x100;
  export const DECRYPT: u32 = 0x200;
  export const SIGN_MESSAGE: u32 = 0x400;
  export const VERIFY_MESSAGE: u32 = 0x800;
  export const DERIVE: u32 = 0x4000;
}

/** What a key was made as: `key_attributes`. */
export class KeyAttributes {
  constructor(
    readonly type: u32,
    readonly bits: u32,
    readonly usage: u32,
    readonly alg: u32
  ) {}
}

// Guessed output sizes: the largest usual output, so the common call is made once (NOBUFS grows the buffer).
const HASH_SIZE = 64;
const KEY_SIZE = 97; // a P-384 public key, 0x04 ‖ x ‖ y
const SIGNATURE_SIZE = 96; // ECDSA P-384 r ‖ s
const SECRET_SIZE = 48;

/**
 * A key held by the runtime: the program sees only its handle, valid in this run. Its type, size, usage and
 * algorithm are fixed when it is made (`generate`, `fromBytes`, `deriveKey`).
 */
export class Key {
  /** A key object for `handle` (a handle that names no key of this run makes every call answer BADF). */
  constructor(readonly handle: u32) {}

  /** A new random key of `type` and `bits`, for `usage` (Usage flags) with algorithm `alg`. */
  static generate(type: u32, bits: u32, usage: u32, alg: u32): Result<Key> {
    const errno = crypto_v1.key_generate(type, bits, usage, alg, OUT_WORD);
    if (errno != 0) return Result.fail<Key>(errno, "key_generate");
    return Result.ok<Key>(new Key(load<u32>(OUT_WORD)), "key_generate");
  }

  /** A key from its data (the PSA formats of docs/program-abi.md); `bits` 0 takes the size from the data. */
  static fromBytes(type: u32, bits: u32, usage: u32, alg: u32, data: Uint8Array): Result<Key> {
    const errno = crypto_v1.key_import(type, bits, usage, alg, data.dataStart, <usize>data.length, OUT_WORD);
    if (errno != 0) return Result.fail<Key>(errno, "key_import");
    return Result.ok<Key>(new Key(load<u32>(OUT_WORD)), "key_import");
  }

  /** The key's data; PERM unless it was made with `Usage.EXPORT`. */
  exportBytes(): Result<Uint8Array> {
    const out = new Output(KEY_SIZE);
    let errno: i32;
    do {
      errno = crypto_v1.key_export(this.handle, out.ptr, out.size, OUT_LEN);
    } while (out.retry(errno));
    return out.result(errno, "key_export");
  }

  /** The public key of a key pair (or of a public key); INVAL for a symmetric key. */
  publicKey(): Result<Uint8Array> {
    const out = new Output(KEY_SIZE);
    let errno: i32;
    do {
      errno = crypto_v1.key_export_public(this.handle, out.ptr, out.size, OUT_LEN);
    } while (out.retry(errno));
    return out.result(errno, "key_export_public");
  }

  /** The key's type, bits, usage and algorithm. */
  attributes(): Result<KeyAttributes> {
    const words = new Uint32Array(4);
    const errno = crypto_v1.key_attributes(this.handle, words.dataStart);
    if (errno != 0) return Result.fail<KeyAttributes>(errno, "key_attributes");
    return Result.ok<KeyAttributes>(new KeyAttributes(words[0], words[1], words[2], words[3]), "key_attributes");
  }

  /** Forgets the key (its handle is BADF from now on); the errno. */
  destroy(): i32 {
    return crypto_v1.key_destroy(this.handle);
  }

  /** HMAC `alg` (`Alg.hmac(h)`) of `message`; usage SIGN_MESSAGE. */
  mac(alg: u32, message: Uint8Array): Result<Uint8Array> {
    const out = new Output(HASH_SIZE);
    let errno: i32;
    do {
      errno = crypto_v1.mac_compute(this.handle, alg, message.dataStart, <usize>message.length, out.ptr, out.size, OUT_LEN);
    } while (out.retry(errno));
    return out.result(errno, "mac_compute");
  }

  /** 0 when `mac` is `message`'s MAC (compared in constant time), BADMSG when not, or another errno; usage VERIFY_MESSAGE. */
  verifyMac(alg: u32, message: Uint8Array, mac: Uint8Array): i32 {
    return crypto_v1.mac_verify(this.handle, alg, message.dataStart, <usize>message.length, mac.dataStart, <usize>mac.length);
  }

  /** Ciphertext ‖ 16-byte tag of `plaintext` with `nonce` (12 bytes) and additional data `aad`; usage ENCRYPT. */
  aeadEncrypt(alg: u32, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Result<Uint8Array> {
    const out = new Output(plaintext.length + 16);
    let errno: i32;
    do {
      errno = crypto_v1.aead_encrypt(this.handle, alg, nonce.dataStart, <usize>nonce.length, aad.dataStart, <usize>aad.length,
        plaintext.dataStart, <usize>plaintext.length, out.ptr, out.size, OUT_LEN);
    } while (out.retry(errno));
    return out.result(errno, "aead_encrypt");
  }

  /** The plaintext of `ciphertext` (ciphertext ‖ tag), or BADMSG when the tag does not match; usage DECRYPT. */
  aeadDecrypt(alg: u32, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Result<Uint8Array> {
    const out = new Output(max(ciphertext.length - 16, 0));
    let errno: i32;
    do {
      errno = crypto_v1.aead_decrypt(this.handle, alg, nonce.dataStart, <usize>nonce.length, aad.dataStart, <usize>aad.length,
        ciphertext.dataStart, <usize>ciphertext.length, out.ptr, out.size, OUT_LEN);
    } while (out.retry(errno));
    return out.result(errno, "aead_decrypt");
  }

  /** Signature of `message`: `Alg.PURE_EDDSA` (Ed25519) or `Alg.ecdsa(h)`; usage SIGN_MESSAGE. */
  sign(alg: u32, message: Uint8Array): Result<Uint8Array> {
    const out = new Output(SIGNATURE_SIZE);
    let errno: i32;
    do {
      errno = crypto_v1.sign_message(this.handle, alg, message.dataStart, <usize>message.length, out.ptr, out.size, OUT_LEN);
    } while (out.retry(errno));
    return out.result(errno, "sign_message");
  }

  /** 0 when `signature` verifies for `message`, BADMSG when not, or another errno; usage VERIFY_MESSAGE. */
  verify(alg: u32, message: Uint8Array, signature: Uint8Array): i32 {
    return crypto_v1.verify_message(this.handle, alg, message.dataStart, <usize>message.length, signature.dataStart, <usize>signature.length);
  }

  /** The raw ECDH (`Alg.ECDH`) secret with a peer's public key (public-key format); usage DERIVE. */
  agree(alg: u32, peerPublicKey: Uint8Array): Result<Uint8Array> {
    const out = new Output(SECRET_SIZE);
    let errno: i32;
    do {
      errno = crypto_v1.key_agreement(this.handle, alg, peerPublicKey.dataStart, <usize>peerPublicKey.length, out.ptr, out.size, OUT_LEN);
    } while (out.retry(errno));
    return out.result(errno, "key_agreement");
  }

  /** A new symmetric key by HKDF (`alg` = this key's `Alg.hkdf(h)`) of `type`/`bits`, for `usage` and `keyAlg`; usage DERIVE. */
  deriveKey(alg: u32, salt: Uint8Array, info: Uint8Array, type: u32, bits: u32, usage: u32, keyAlg: u32): Result<Key> {
    const errno = crypto_v1.key_derive(this.handle, alg, salt.dataStart, <usize>salt.length, info.dataStart, <usize>info.length,
      type, bits, usage, keyAlg, OUT_WORD);
    if (errno != 0) return Result.fail<Key>(errno, "key_derive");
    return Result.ok<Key>(new Key(load<u32>(OUT_WORD)), "key_derive");
  }

  /** `length` bytes of HKDF output (at most 255 hash lengths); usage DERIVE. */
  deriveBytes(alg: u32, salt: Uint8Array, info: Uint8Array, length: i32): Result<Uint8Array> {
    const out = new Uint8Array(length);
    const errno = crypto_v1.derive_bytes(this.handle, alg, salt.dataStart, <usize>salt.length, info.dataStart, <usize>info.length,
      out.dataStart, <usize>length);
    if (errno != 0) return Result.fail<Uint8Array>(errno, "derive_bytes");
    return Result.ok<Uint8Array>(out, "derive_bytes");
  }
}

/** Hashing, randomness and HKDF from input keying material. */
export namespace Crypto {
  /** `length` bytes from the isolate's CSPRNG. */
  export function random(length: i32): Result<Uint8Array> {
    const out = new Uint8Array(length);
    const errno = crypto_v1.random(out.dataStart, <usize>length);
    if (errno != 0) return Result.fail<Uint8Array>(errno, "random");
    return Result.ok<Uint8Array>(out, "random");
  }

  /** `Alg.SHA_256`, `SHA_384` or `SHA_512` of `data`. */
  export function hash(alg: u32, data: Uint8Array): Result<Uint8Array> {
    const out = new Output(HASH_SIZE);
    let errno: i32;
    do {
      errno = crypto_v1.hash(alg, data.dataStart, <usize>data.length, out.ptr, out.size, OUT_LEN);
    } while (out.retry(errno));
    return out.result(errno, "hash");
  }

  /** SHA-256 of `data`. */
  export function sha256(data: Uint8Array): Result<Uint8Array> {
    return hash(Alg.SHA_256, data);
  }

  /**
   * HKDF (RFC 5869) with hash `hashAlg` (`Alg.SHA_256`, …): `length` bytes from input keying material `ikm`,
   * `salt` and `info`. The material goes in as a DERIVE key that is destroyed afterwards.
   */
  export function hkdf(hashAlg: u32, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: i32): Result<Uint8Array> {
    const alg = Alg.hkdf(hashAlg);
    const imported = Key.fromBytes(KeyType.DERIVE, 0, Usage.DERIVE, alg, ikm);
    if (!imported.ok) return Result.fail<Uint8Array>(imported.errno, "key_import");
    const key = imported.value;
    const output = key.deriveBytes(alg, salt, info, length);
    key.destroy();
    return output;
  }
}

const HEX_DIGITS = "0123456789abcdef";

/** Lowercase hexadecimal of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  const text = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    text[2 * i] = <u8>HEX_DIGITS.charCodeAt(byte >> 4);
    text[2 * i + 1] = <u8>HEX_DIGITS.charCodeAt(byte & 0xf);
  }
  return String.UTF8.decodeUnsafe(text.dataStart, <usize>text.length);
}
