import assert from 'node:assert/strict';
import { createCipheriv, createHash, createPrivateKey, createPublicKey, randomBytes, sign } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { ExecutionOutcome } from '@veracruz-ts/runtime';
import { cryptoBenchData } from '../generators/crypto-bench.ts';
import type { GeneratedFiles } from '../generators/files.ts';
import { createFileSystem, ExampleRunner, PROGRAM_RIGHTS, programBytes, testView } from './harness.ts';

const INPUT = '/input/own-crypto.dat';
const OUTPUT = '/output/own-crypto.dat';
/** The fixed key and Ed25519 seed of crypto-bench's benchmark modes: bytes 0, 1, ..., 31. */
const BENCH_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const MIB = 1 << 20;

interface Run {
  outcome: ExecutionOutcome;
  stdout: string;
  stderr: string;
  output?: Uint8Array;
}

/** Runs crypto-bench with `args` (the clock enabled, for its timings) over `files`. */
async function cryptoBench(runner: ExampleRunner, args: string[], files: GeneratedFiles = {}): Promise<Run> {
  const vfs = createFileSystem(files);
  const outcome = await runner.engine.execute({ vfs, program: await programBytes('crypto-bench'), rights: PROGRAM_RIGHTS, args, enableClock: true });
  const view = testView(vfs);
  const text = (path: string) => (view.exists(path) ? new TextDecoder().decode(view.readFile(path)) : '');
  return { outcome, stdout: text('stdout'), stderr: text('stderr'), ...(view.exists(OUTPUT) ? { output: view.readFile(OUTPUT) } : {}) };
}

function assertExit(run: Run, code: number): void {
  assert.deepEqual(run.outcome, { kind: 'exited', exitCode: code }, run.stderr);
}

/** One own-check record: kind, u32 length, payload. */
function record(kind: number, ...parts: Uint8Array[]): Buffer {
  const payload = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header[0] = kind;
  header.writeUInt32LE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

/** node:crypto's ChaCha20-Poly1305: ciphertext || tag. */
function sealChaCha(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** node:crypto's Ed25519 key from its 32-byte seed (PKCS#8 wrapping of RFC 8410). */
function ed25519Key(seed: Uint8Array) {
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
}

/** node:crypto's Ed25519: public key || signature. */
function signEd25519(seed: Uint8Array, message: Uint8Array): Buffer {
  const key = ed25519Key(seed);
  const publicKey = createPublicKey(key).export({ format: 'jwk' }).x!;
  return Buffer.concat([Buffer.from(publicKey, 'base64url'), sign(null, message, key)]);
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('own crypto (examples/include/vc_own_crypto.h, through crypto-bench)', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('computes SHA-512, ChaCha20-Poly1305 and Ed25519 byte for byte as node:crypto does, on random inputs', async () => {
    const records: Buffer[] = [];
    const expected: { what: string; bytes: Buffer }[] = [];
    // SHA-512 around its block (128) and padding (112) boundaries, and longer.
    for (const length of [0, 1, 111, 112, 113, 127, 128, 129, 255, 256, 1000, 4099]) {
      const message = randomBytes(length);
      records.push(record(1, message));
      expected.push({ what: `SHA-512 of ${message.toString('hex')}`, bytes: createHash('sha512').update(message).digest() });
    }
    // AEAD: empty parts, lengths off the 16-byte Poly1305 blocks and the 64-byte ChaCha20 blocks, several blocks.
    for (const [aadLength, plainLength] of [[0, 0], [0, 1], [13, 0], [12, 114], [16, 64], [1, 15], [33, 1000], [0, (64 << 10) + 3]] as const) {
      const key = randomBytes(32), nonce = randomBytes(12), aad = randomBytes(aadLength), plaintext = randomBytes(plainLength);
      records.push(record(2, key, nonce, u32(aadLength), aad, plaintext));
      expected.push({ what: `ChaCha20-Poly1305 key ${key.toString('hex')} nonce ${nonce.toString('hex')} aad ${aadLength} B plaintext ${plainLength} B`,
        bytes: sealChaCha(key, nonce, aad, plaintext) });
    }
    for (const length of [0, 1, 64, 200, 1023]) {
      const seed = randomBytes(32), message = randomBytes(length);
      records.push(record(3, seed, message));
      expected.push({ what: `Ed25519 seed ${seed.toString('hex')} message ${message.toString('hex')}`, bytes: signEd25519(seed, message) });
    }
    const run = await cryptoBench(runner, ['own-check'], { [INPUT]: Buffer.concat(records) });
    assertExit(run, 0);
    let at = 0;
    for (const { what, bytes } of expected) {
      assert.equal(Buffer.from(run.output!.subarray(at, at + bytes.length)).toString('hex'), bytes.toString('hex'), what);
      at += bytes.length;
    }
    assert.equal(run.output!.length, at);
  });

  it('gives the same results through the ABI and through its own code, equal to node:crypto on the same data', async () => {
    const digests = new Map<string, string>();
    for (const [op, count] of [['hash', 1], ['aead', 1], ['sign', 20]] as const) {
      for (const variant of ['abi', 'own']) {
        const run = await cryptoBench(runner, [`${op}-${variant}`, String(count)]);
        assertExit(run, 0);
        const line = JSON.parse(run.stdout) as { op: string; count: number; digest: string; seconds: number };
        assert.equal(line.op, `${op}-${variant}`);
        assert.equal(line.count, count);
        assert.ok(line.seconds >= 0, run.stdout);
        digests.set(`${op}-${variant}`, line.digest);
      }
    }
    // hash: SHA-256 of 1 MiB of data seed 1.
    assert.equal(digests.get('hash-abi'), sha256(cryptoBenchData(MIB, 1)));
    assert.equal(digests.get('hash-own'), digests.get('hash-abi'));
    // aead: 1 MiB of data seed 2 in 64 KiB messages, nonce = the message's index (u32 LE then zeros), no AAD.
    const plain = cryptoBenchData(MIB, 2);
    const sealed = Array.from({ length: MIB / (64 << 10) }, (_, i) => {
      const nonce = Buffer.alloc(12);
      nonce.writeUInt32LE(i);
      return sealChaCha(BENCH_KEY, nonce, new Uint8Array(0), plain.subarray(i * (64 << 10), (i + 1) * (64 << 10)));
    });
    assert.equal(digests.get('aead-abi'), sha256(Buffer.concat(sealed)));
    assert.equal(digests.get('aead-own'), digests.get('aead-abi'));
    // sign: 20 messages of 64 bytes from data seed 3, signed with the seed 0..31.
    const messages = cryptoBenchData(20 * 64, 3);
    const key = ed25519Key(BENCH_KEY);
    const signatures = Array.from({ length: 20 }, (_, i) => sign(null, messages.subarray(i * 64, (i + 1) * 64), key));
    assert.equal(digests.get('sign-abi'), sha256(Buffer.concat(signatures)));
    assert.equal(digests.get('sign-own'), digests.get('sign-abi'));
  });

  it('exits 3 on a malformed record or argument, 2 without its input', async () => {
    assertExit(await cryptoBench(runner, ['own-check'], { [INPUT]: record(2, randomBytes(47)) }), 3);
    assertExit(await cryptoBench(runner, ['own-check'], { [INPUT]: record(1, randomBytes(8)).subarray(0, 10) }), 3);
    assertExit(await cryptoBench(runner, ['own-check'], { [INPUT]: record(9, randomBytes(8)) }), 3);
    assertExit(await cryptoBench(runner, ['hash-own', '65']), 3);
    assertExit(await cryptoBench(runner, ['sign-own', '0']), 3);
    assertExit(await cryptoBench(runner, ['verify-own']), 3);
    const missing = await cryptoBench(runner, ['own-check']);
    assertExit(missing, 2);
    assert.match(missing.stderr, /own-crypto\.dat/);
  });
});
