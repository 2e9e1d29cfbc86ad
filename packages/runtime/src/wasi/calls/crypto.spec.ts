import assert from 'node:assert/strict';
import { createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { Errno } from '../../vfs/errno.ts';
import { VirtualFileSystem } from '../../vfs/file-system.ts';
import { CRYPTO_MODULE, SYSTEM_CALLS } from '../signatures.ts';
import { WasiProcess } from '../wasi-process.ts';
import type { CRYPTO_CALLS } from './crypto.ts';

const SHA_256 = 0x02000009;
const GCM = 0x05500200;
const CHACHA = 0x05100500;
const ECDSA_SHA_256 = 0x06000609;
const EDDSA = 0x06000800;
const ECDH = 0x09020000;
const HMAC_SHA_256 = 0x03800009;
const HKDF_SHA_256 = 0x08000109;
const T = { AES: 0x2400, CHACHA20: 0x2004, HMAC: 0x1100, DERIVE: 0x1200, P256: 0x7112, P256_PUBLIC: 0x4112, X25519: 0x7141, ED25519: 0x7142 };
const U = { EXPORT: 1, ENCRYPT: 0x100, DECRYPT: 0x200, SIGN: 0x400, VERIFY: 0x800, DERIVE: 0x4000 };

/** A program run with one page of memory; addresses below are offsets into it. */
function run(): { context: WasiProcess; memory: Uint8Array; put(at: number, bytes: Uint8Array | string): number; u32(at: number): number } {
  const process = new WasiProcess({ vfs: new VirtualFileSystem(), rights: [], args: [], env: {}, enableClock: false });
  const wasm = new WebAssembly.Memory({ initial: 1 });
  process.attachMemory(wasm);
  const memory = new Uint8Array(wasm.buffer);
  return {
    context: process,
    memory,
    put: (at, bytes) => {
      const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      memory.set(data, at);
      return data.length;
    },
    u32: (at) => new DataView(wasm.buffer).getUint32(at, true),
  };
}

/** Each call as a program makes it: through the process's dispatch, by call number, errno back. */
const C = Object.fromEntries(SYSTEM_CALLS.flatMap((entry, call) => entry.module === CRYPTO_MODULE
  ? [[entry.name, (process: WasiProcess, ...args: number[]) => process.dispatch(call, args) as number]]
  : [])) as unknown as { [Name in keyof typeof CRYPTO_CALLS]: (process: WasiProcess, ...args: number[]) => number };

const OUT = 0x1000;
const LEN = 0x10;
const KEY = 0x20;
const bytesAt = (memory: Uint8Array, at: number, length: number) => Buffer.from(memory.subarray(at, at + length));

/** Makes a key and returns its handle. */
function key(r: ReturnType<typeof run>, type: number, bits: number, usage: number, alg: number, data?: Uint8Array): number {
  const errno = data === undefined
    ? C.key_generate(r.context, type, bits, usage, alg, KEY)
    : C.key_import(r.context, type, bits, usage, alg, 0x8000, r.put(0x8000, data), KEY);
  assert.equal(errno, Errno.SUCCESS);
  return r.u32(KEY);
}

describe('veracruz_crypto_v1', () => {
  it('hashes, says how long a short buffer must be without writing it, and refuses what leaves memory or is unknown', () => {
    const r = run();
    const length = r.put(0x100, 'abc');
    assert.equal(C.hash(r.context, SHA_256, 0x100, length, OUT, 4, LEN), Errno.NOBUFS);
    assert.equal(r.u32(LEN), 32);
    assert.equal(bytesAt(r.memory, OUT, 4).toString('hex'), '00000000');
    assert.equal(C.hash(r.context, SHA_256, 0x100, length, OUT, 32, LEN), Errno.SUCCESS);
    assert.equal(bytesAt(r.memory, OUT, 32).toString('hex'), createHash('sha256').update('abc').digest('hex'));
    assert.equal(C.hash(r.context, 0x0200000b, 0x100, length, OUT, 64, LEN), Errno.SUCCESS);
    assert.equal(bytesAt(r.memory, OUT, 64).toString('hex'), createHash('sha512').update('abc').digest('hex'));
    assert.equal(C.hash(r.context, SHA_256, 65530, 100, OUT, 32, LEN), Errno.FAULT);
    assert.equal(C.hash(r.context, SHA_256, 0x100, 3, 65530, 32, LEN), Errno.FAULT);
    assert.equal(C.hash(r.context, 0x02000005, 0x100, 3, OUT, 32, LEN), Errno.INVAL);
    assert.equal(C.hash(r.context, SHA_256, 0, 64 * 1024 * 1024 + 1, OUT, 32, LEN), Errno.TOOBIG);
  });

  it('encrypts with AES-GCM and ChaCha20-Poly1305 as node:crypto decrypts, and refuses a tampered message without writing it', () => {
    for (const [type, alg, name] of [[T.AES, GCM, 'aes-256-gcm'], [T.CHACHA20, CHACHA, 'chacha20-poly1305']] as const) {
      const r = run();
      const secret = Buffer.alloc(32, 7);
      const handle = key(r, type, 256, U.ENCRYPT | U.DECRYPT, alg, secret);
      const nonce = r.put(0x200, Buffer.alloc(12, 1));
      const aad = r.put(0x300, 'header');
      const plain = r.put(0x400, 'attack at dawn');
      assert.equal(C.aead_encrypt(r.context, handle, alg, 0x200, nonce, 0x300, aad, 0x400, plain, OUT, 64, LEN), Errno.SUCCESS);
      const sealed = bytesAt(r.memory, OUT, r.u32(LEN));
      assert.equal(sealed.length, plain + 16);
      const decipher = createDecipheriv(name as 'aes-256-gcm', secret, Buffer.alloc(12, 1), { authTagLength: 16 });
      decipher.setAAD(Buffer.from('header'));
      decipher.setAuthTag(sealed.subarray(plain));
      assert.equal(Buffer.concat([decipher.update(sealed.subarray(0, plain)), decipher.final()]).toString(), 'attack at dawn');
      assert.equal(C.aead_decrypt(r.context, handle, alg, 0x200, nonce, 0x300, aad, OUT, sealed.length, 0x2000, 64, LEN), Errno.SUCCESS);
      assert.equal(bytesAt(r.memory, 0x2000, r.u32(LEN)).toString(), 'attack at dawn');
      r.memory[OUT + 3] = (r.memory[OUT + 3] as number) ^ 1;
      r.memory.fill(0, 0x2000, 0x2040);
      assert.equal(C.aead_decrypt(r.context, handle, alg, 0x200, nonce, 0x300, aad, OUT, sealed.length, 0x2000, 64, LEN), Errno.BADMSG);
      assert.equal(bytesAt(r.memory, 0x2000, 14).toString('hex'), '0'.repeat(28));
      assert.equal(C.aead_encrypt(r.context, handle, alg, 0x200, 8, 0x300, aad, 0x400, plain, OUT, 64, LEN), Errno.INVAL, 'an 8-byte nonce');
    }
  });

  it('holds a key to its usage and algorithm, never exports one made without EXPORT, and knows no handle of another run', () => {
    const r = run();
    const encryptOnly = key(r, T.AES, 128, U.ENCRYPT, GCM);
    const nonce = r.put(0x200, Buffer.alloc(12));
    assert.equal(C.aead_decrypt(r.context, encryptOnly, GCM, 0x200, nonce, 0, 0, 0x400, 32, OUT, 64, LEN), Errno.PERM);
    assert.equal(C.aead_encrypt(r.context, encryptOnly, CHACHA, 0x200, nonce, 0, 0, 0x400, 4, OUT, 64, LEN), Errno.PERM, 'another algorithm');
    r.memory.fill(0, OUT, OUT + 64);
    assert.equal(C.key_export(r.context, encryptOnly, OUT, 64, LEN), Errno.PERM);
    assert.equal(bytesAt(r.memory, OUT, 64).toString('hex'), '0'.repeat(128), 'nothing of the key reaches memory');
    const exportable = key(r, T.AES, 128, U.EXPORT, 0, Buffer.alloc(16, 9));
    assert.equal(C.key_export(r.context, exportable, OUT, 64, LEN), Errno.SUCCESS);
    assert.deepEqual(bytesAt(r.memory, OUT, r.u32(LEN)), Buffer.alloc(16, 9));
    assert.equal(C.key_attributes(r.context, exportable, 0x300), Errno.SUCCESS);
    assert.deepEqual([0, 1, 2, 3].map((index) => r.u32(0x300 + index * 4)), [T.AES, 128, U.EXPORT, 0]);
    assert.equal(C.key_destroy(r.context, exportable), Errno.SUCCESS);
    assert.equal(C.key_export(r.context, exportable, OUT, 64, LEN), Errno.BADF);
    assert.equal(C.key_destroy(r.context, exportable), Errno.BADF);
    // Another run: the handle names nothing there.
    const other = run();
    assert.equal(C.aead_encrypt(other.context, encryptOnly, GCM, 0x200, nonce, 0, 0, 0x400, 4, OUT, 64, LEN), Errno.BADF);
    assert.equal(C.key_generate(r.context, T.AES, 100, U.ENCRYPT, GCM, KEY), Errno.INVAL, 'AES of 100 bits');
    assert.equal(C.key_import(r.context, T.P256, 0, U.SIGN, ECDSA_SHA_256, 0x8000, r.put(0x8000, Buffer.alloc(32)), KEY), Errno.INVAL, 'a zero scalar');
    const order = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
    assert.equal(C.key_import(r.context, T.P256, 0, U.SIGN, ECDSA_SHA_256, 0x8000, r.put(0x8000, order), KEY), Errno.INVAL, 'the group order');
    assert.equal(C.key_import(r.context, T.P256_PUBLIC, 0, U.VERIFY, ECDSA_SHA_256, 0x8000, r.put(0x8000, Buffer.alloc(65, 4)), KEY), Errno.INVAL, 'not a point');
    assert.equal(C.key_generate(r.context, T.AES, 128, 0, 0, 65534), Errno.FAULT);
  });

  it('refuses the 1025th key of a run', () => {
    const r = run();
    for (let index = 0; index < 1024; index++) assert.equal(C.key_generate(r.context, T.HMAC, 128, 0, 0, KEY), Errno.SUCCESS);
    assert.equal(C.key_generate(r.context, T.HMAC, 128, 0, 0, KEY), Errno.NOMEM);
  });

  it('signs with ECDSA P-256 and Ed25519 as node:crypto verifies, and refuses a tampered signature', () => {
    const r = run();
    const message = r.put(0x100, 'the result');
    const ecdsa = key(r, T.P256, 256, U.SIGN | U.VERIFY, ECDSA_SHA_256);
    assert.equal(C.sign_message(r.context, ecdsa, ECDSA_SHA_256, 0x100, message, OUT, 64, LEN), Errno.SUCCESS);
    const signature = bytesAt(r.memory, OUT, r.u32(LEN));
    assert.equal(C.key_export_public(r.context, ecdsa, 0x2000, 65, 0x14), Errno.SUCCESS);
    const point = bytesAt(r.memory, 0x2000, 65);
    const publicKey = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
    assert.ok(verify('sha256', Buffer.from('the result'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature));
    assert.equal(C.verify_message(r.context, ecdsa, ECDSA_SHA_256, 0x100, message, OUT, 64), Errno.SUCCESS);
    r.memory[OUT] = (r.memory[OUT] as number) ^ 0x80;
    assert.equal(C.verify_message(r.context, ecdsa, ECDSA_SHA_256, 0x100, message, OUT, 64), Errno.BADMSG);
    assert.equal(C.verify_message(r.context, ecdsa, ECDSA_SHA_256, 0x100, message, OUT, 3), Errno.BADMSG, 'a signature of the wrong length');
    // Ed25519 is deterministic: the same bytes as node:crypto's for the same private key.
    const seed = Buffer.alloc(32, 3);
    const ed = key(r, T.ED25519, 0, U.SIGN, EDDSA, seed);
    assert.equal(C.sign_message(r.context, ed, EDDSA, 0x100, message, OUT, 64, LEN), Errno.SUCCESS);
    const nodeKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
    assert.deepEqual(bytesAt(r.memory, OUT, 64), sign(null, Buffer.from('the result'), nodeKey));
    assert.equal(C.verify_message(r.context, ed, EDDSA, 0x100, message, OUT, 64), Errno.PERM, 'made to sign only');
    assert.equal(C.sign_message(r.context, ed, ECDSA_SHA_256, 0x100, message, OUT, 64, LEN), Errno.PERM);
  });

  it('agrees on X25519 and P-256 secrets, and refuses a peer key that is not a point', () => {
    for (const type of [T.X25519, T.P256]) {
      const r = run();
      const bits = type === T.P256 ? 256 : 255;
      const [a, b] = [key(r, type, bits, U.DERIVE, ECDH), key(r, type, bits, U.DERIVE, ECDH)];
      const publicLength = type === T.P256 ? 65 : 32;
      C.key_export_public(r.context, a, 0x2000, 65, LEN);
      C.key_export_public(r.context, b, 0x3000, 65, LEN);
      assert.equal(C.key_agreement(r.context, a, ECDH, 0x3000, publicLength, 0x4000, 64, LEN), Errno.SUCCESS);
      assert.equal(C.key_agreement(r.context, b, ECDH, 0x2000, publicLength, 0x5000, 64, LEN), Errno.SUCCESS);
      assert.deepEqual(bytesAt(r.memory, 0x4000, 32), bytesAt(r.memory, 0x5000, 32));
      if (type === T.P256) {
        r.memory[0x3000 + 64] = (r.memory[0x3000 + 64] as number) ^ 1;
        assert.equal(C.key_agreement(r.context, a, ECDH, 0x3000, 65, 0x4000, 64, LEN), Errno.INVAL);
      }
    }
  });

  it('derives with HKDF (RFC 5869 case 1) into memory and into a key that then works, and computes HMAC as node:crypto does', () => {
    const r = run();
    const ikm = Buffer.alloc(22, 0x0b);
    const derive = key(r, T.DERIVE, 0, U.DERIVE, HKDF_SHA_256, ikm);
    const salt = r.put(0x100, Buffer.from('000102030405060708090a0b0c', 'hex'));
    const info = r.put(0x200, Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex'));
    assert.equal(C.derive_bytes(r.context, derive, HKDF_SHA_256, 0x100, salt, 0x200, info, OUT, 42), Errno.SUCCESS);
    assert.equal(bytesAt(r.memory, OUT, 42).toString('hex'),
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
    assert.equal(C.derive_bytes(r.context, derive, HKDF_SHA_256, 0x100, salt, 0x200, info, OUT, 255 * 32 + 1), Errno.INVAL);
    assert.equal(C.key_derive(r.context, derive, HKDF_SHA_256, 0x100, salt, 0x200, info, T.HMAC, 256, U.SIGN | U.VERIFY, HMAC_SHA_256, KEY), Errno.SUCCESS);
    const mac = r.u32(KEY);
    const message = r.put(0x300, 'data');
    assert.equal(C.mac_compute(r.context, mac, HMAC_SHA_256, 0x300, message, OUT, 32, LEN), Errno.SUCCESS);
    const derived = Buffer.from('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf', 'hex');
    assert.deepEqual(bytesAt(r.memory, OUT, 32), createHmac('sha256', derived).update('data').digest());
    assert.equal(C.mac_verify(r.context, mac, HMAC_SHA_256, 0x300, message, OUT, 32), Errno.SUCCESS);
    assert.equal(C.mac_verify(r.context, mac, HMAC_SHA_256, 0x300, message, OUT, 31), Errno.BADMSG);
    assert.equal(C.key_export(r.context, mac, OUT, 64, LEN), Errno.PERM, 'a derived key is not exportable unless asked');
    assert.equal(C.key_derive(r.context, derive, HKDF_SHA_256, 0x100, salt, 0x200, info, T.P256, 256, U.SIGN, ECDSA_SHA_256, KEY), Errno.INVAL);
  });

  it('fills a buffer with random bytes', () => {
    const r = run();
    assert.equal(C.random(r.context, OUT, 32), Errno.SUCCESS);
    assert.notEqual(bytesAt(r.memory, OUT, 32).toString('hex'), '0'.repeat(64));
    assert.equal(C.random(r.context, 65530, 32), Errno.FAULT);
  });
});
