import assert from 'node:assert/strict';
import {
  type CipherGCMTypes, createCipheriv, createDecipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject,
  randomBytes, sign, verify, X509Certificate,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type SignedResult, signedResultStatement } from '@veracruz-ts/attestation/signed-result';
import { type FileRights, parsePolicy, type Policy, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { ResponseStatus, type RuntimeManagerRequest, type RuntimeManagerResponse } from '@veracruz-ts/protocol';
import { ExecutionEngine, MemoryBudget, type ResultSigner, VirtualFileSystem } from '@veracruz-ts/runtime';
import { RequestDispatcher, type SessionPrincipal } from '@veracruz-ts/runtime/session';
import { createTestPki, createTestPrincipal, testPolicyText, testSigner } from '@veracruz-ts/runtime/testing';
import { compileProgram } from './compile.ts';

/** WASI errno values the checks expect. */
const E = { OK: 0, TOOBIG: 1, BADF: 8, BADMSG: 9, FAULT: 21, ILSEQ: 25, INVAL: 28, NOBUFS: 42, NOENT: 44, NOMEM: 48, NOTSUP: 58, PERM: 63, NOTCAPABLE: 76 };

const PSA = { AES: 0x2400, GCM: 0x05500200, EXPORT: 1, ENCRYPT: 0x100 };

/** One `<label> <status> <value>` line of the probe. */
interface Check {
  status: number;
  value: string;
}

/** The probe's checks by label. */
type Checks = Map<string, Check>;

function parseChecks(stdout: string): Checks {
  const checks: Checks = new Map();
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const [label, status, ...rest] = line.split(' ');
    assert.ok(label !== undefined && status !== undefined && !checks.has(label), `malformed or repeated line: ${line}`);
    checks.set(label, { status: Number(status), value: rest.join(' ') });
  }
  return checks;
}

/** Asserts the statuses of several checks at once (one message listing every difference). */
function assertStatuses(checks: Checks, expected: Record<string, number>): void {
  const actual = Object.fromEntries(Object.keys(expected).map((label) => [label, checks.get(label)?.status]));
  assert.deepEqual(actual, expected);
}

function check(checks: Checks, label: string): Check {
  const found = checks.get(label);
  assert.ok(found, `no check ${label}`);
  return found;
}

/** The value of a check that must have succeeded. */
function value(checks: Checks, label: string): string {
  const found = check(checks, label);
  assert.equal(found.status, E.OK, `${label} failed with errno ${found.status}`);
  return found.value;
}

/** node:crypto types ChaCha20-Poly1305 under its own overload; its options are GCM's. */
const gcmLike = (cipher: string): CipherGCMTypes => cipher as CipherGCMTypes;
const bytes = (hex: string): Buffer => Buffer.from(hex === '-' ? '' : hex, 'hex');
const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex');

/** Rights of the probe in the engine runs: it reads /input, writes /output and its streams. */
const PROBE_RIGHTS: FileRights[] = [
  { file_name: '/input/', rights: RIGHTS_READ },
  { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE },
  { file_name: 'stdout', rights: RIGHTS_WRITE },
  { file_name: 'stderr', rights: RIGHTS_WRITE },
];
const SUPERUSER: FileRights[] = [
  { file_name: '/', rights: RIGHTS_READ | RIGHTS_WRITE }, { file_name: 'stdout', rights: RIGHTS_READ }, { file_name: 'stderr', rights: RIGHTS_READ },
];

let probe: Uint8Array;
let engine: ExecutionEngine;

before(async () => {
  probe = await compileProgram({ sources: { 'sdk-probe.c': readFileSync(new URL('./fixtures/sdk-probe.c', import.meta.url), 'utf8') } });
  engine = new ExecutionEngine();
});
after(() => engine?.close());

/** Runs the probe on the engine (no computation around it: `veracruz_v1` is ENOTSUP). */
async function runProbe(args: readonly string[]): Promise<{ checks: Checks; stdout: string; stderr: string }> {
  const vfs = new VirtualFileSystem();
  const outcome = await engine.execute({ vfs, program: probe, args, rights: PROBE_RIGHTS });
  const view = vfs.view(SUPERUSER);
  const stdout = new TextDecoder().decode(view.readFile('stdout'));
  const stderr = new TextDecoder().decode(view.readFile('stderr'));
  assert.deepEqual(outcome, { kind: 'exited', exitCode: 0 }, `probe ${args.join(' ')}: ${stderr}`);
  return { checks: parseChecks(stdout), stdout, stderr };
}

describe('vc.h: veracruz_crypto_v1', () => {
  it('hashes SHA-256/384/512 (known answers), asks for sizes, and refuses short buffers, unknown algorithms, bad pointers and huge inputs', async () => {
    const { checks } = await runProbe(['hash']);
    assert.equal(value(checks, 'sha256'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(value(checks, 'sha384'), 'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7');
    assert.equal(value(checks, 'sha512'),
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f');
    assert.equal(value(checks, 'sha256-empty'), createHash('sha256').digest('hex'));
    assert.deepEqual(check(checks, 'ask-size'), { status: E.NOBUFS, value: '64' });
    assert.deepEqual(check(checks, 'short'), { status: E.NOBUFS, value: '32' });
    assert.equal(value(checks, 'short-untouched'), '1', 'a short buffer is left as it was');
    assertStatuses(checks, {
      'unknown-alg': E.INVAL, 'hmac-alg': E.INVAL, 'fault-in': E.FAULT, 'fault-in-wrap': E.FAULT, 'fault-out': E.FAULT, 'fault-len': E.FAULT,
      'too-big': E.TOOBIG,
    });
    assert.equal(value(checks, 'fault-out-length'), '12345', 'a call that faults writes no output length');
  });

  it('gives random bytes', async () => {
    const { checks } = await runProbe(['random']);
    const a = value(checks, 'random-a');
    const b = value(checks, 'random-b');
    assert.equal(a.length, 64);
    assert.notEqual(a, b);
    assertStatuses(checks, { 'random-empty': E.OK, fault: E.FAULT, 'fault-wrap': E.FAULT });
  });

  it('makes, describes, exports and destroys keys, refusing bad handles, sizes, data and pointers, and more than 1024 keys', async () => {
    const { checks } = await runProbe(['keys']);
    assert.equal(value(checks, 'attributes'), [PSA.AES, 256, PSA.EXPORT | PSA.ENCRYPT, PSA.GCM].join(','));
    assert.deepEqual(check(checks, 'export-length'), { status: E.OK, value: '32' });
    assert.deepEqual(check(checks, 'export-short'), { status: E.NOBUFS, value: '32' });
    assert.deepEqual(check(checks, 'inert-export'), { status: E.OK, value: '16' });
    assertStatuses(checks, {
      generate: E.OK, 'export-public-symmetric': E.INVAL, 'attributes-fault': E.FAULT, 'export-fault': E.FAULT, 'generate-fault': E.FAULT,
      destroy: E.OK, 'destroyed-export': E.BADF, 'destroyed-attributes': E.BADF, 'destroyed-destroy': E.BADF, 'zero-handle': E.BADF,
      'aes-100': E.INVAL, 'chacha-128': E.INVAL, 'p256-255': E.INVAL, 'unknown-type': E.INVAL, 'import-aes-17': E.INVAL, 'import-bad-point': E.INVAL,
      'import-fault': E.FAULT, 'generate-inert': E.OK, 'inert-encrypt': E.PERM, 'limit-over': E.NOMEM, 'limit-room': E.OK,
    });
    // One key (made for no algorithm) was alive, so the 1024th of the loop was refused.
    assert.deepEqual(check(checks, 'limit-made'), { status: E.NOMEM, value: '1023' });
    assert.equal(value(checks, 'limit-distinct'), '1');
  });

  it('never lets a key made without EXPORT out: the export fails, writes nothing, and its bytes are nowhere in memory or output', async () => {
    const key = randomBytes(32);
    const { checks, stdout, stderr } = await runProbe(['secret', hex(key)]);
    assertStatuses(checks, { import: E.OK, encrypt: E.OK });
    assert.deepEqual(check(checks, 'export'), { status: E.PERM, value: '12345' });
    assert.equal(value(checks, 'export-untouched'), '1');
    assert.equal(value(checks, 'before'), '0', 'the program wiped its copy');
    assert.equal(value(checks, 'after'), '0', 'nothing brought the key back into memory');
    for (const text of [stdout, stderr]) assert.ok(!text.includes(hex(key)) && !text.includes(key.toString('latin1')));
  });

  it('refuses a key handle from an earlier run (BADF)', async () => {
    const first = await runProbe(['handle-print']);
    const handle = value(first.checks, 'handle');
    const second = await runProbe(['handle-use', handle]);
    assert.notEqual(value(second.checks, 'handle'), handle);
    assertStatuses(second.checks, { 'old-export': E.BADF, 'old-attributes': E.BADF, 'old-encrypt': E.BADF, 'old-destroy': E.BADF });
  });

  for (const [name, cipher, keyLength] of [['GCM', 'aes-128-gcm', 16], ['CHACHA', 'chacha20-poly1305', 32]] as const) {
    it(`${name}: seals what node:crypto opens, opens its own, and refuses tampering, wrong nonces, algorithms and usages`, async () => {
      const key = randomBytes(keyLength);
      const nonce = randomBytes(12);
      const aad = randomBytes(20);
      const plain = randomBytes(100);
      const { checks } = await runProbe(['aead', name, hex(key), hex(nonce), hex(aad), hex(plain)]);
      const sealed = bytes(value(checks, 'sealed'));
      assert.equal(sealed.length, plain.length + 16);
      const decipher = createDecipheriv(gcmLike(cipher), key, nonce, { authTagLength: 16 });
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(plain.length));
      assert.deepEqual(Buffer.concat([decipher.update(sealed.subarray(0, plain.length)), decipher.final()]), plain);
      const encipher = createCipheriv(gcmLike(cipher), key, nonce, { authTagLength: 16 });
      encipher.setAAD(aad);
      assert.deepEqual(Buffer.concat([encipher.update(plain), encipher.final(), encipher.getAuthTag()]), sealed);
      assert.equal(value(checks, 'opened'), hex(plain));
      assert.deepEqual(check(checks, 'encrypt-short'), { status: E.NOBUFS, value: String(plain.length + 16) });
      assert.deepEqual(check(checks, 'decrypt-short'), { status: E.NOBUFS, value: String(plain.length) });
      assertStatuses(checks, {
        import: E.OK, 'tampered-ciphertext': E.BADMSG, 'tampered-tag': E.BADMSG, 'tampered-aad': E.BADMSG, 'too-short': E.BADMSG,
        'nonce-11': E.INVAL, 'nonce-13-decrypt': E.INVAL, 'other-alg': E.PERM, 'unknown-alg': E.INVAL, 'decrypt-without-usage': E.PERM,
        'fault-nonce': E.FAULT, 'fault-out': E.FAULT, 'bad-handle': E.BADF,
      });
      assert.equal(value(checks, 'tampered-untouched'), '1', 'a refused decryption writes nothing');
    });
  }

  it('HMAC: RFC 4231 test case 2, verification in constant time, usages and algorithms', async () => {
    const { checks } = await runProbe(['hmac']);
    assert.equal(value(checks, 'mac'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    assert.deepEqual(check(checks, 'short'), { status: E.NOBUFS, value: '32' });
    assertStatuses(checks, {
      import: E.OK, verify: E.OK, 'verify-truncated': E.BADMSG, 'verify-tampered': E.BADMSG, 'verify-other-data': E.BADMSG,
      'compute-without-usage': E.PERM, 'verify-without-usage': E.PERM, 'other-alg': E.PERM, 'unknown-alg': E.INVAL, 'fault-mac': E.FAULT, 'bad-handle': E.BADF,
    });
  });

  it('HKDF: RFC 5869 test case 1 as bytes and as a derived key, and its limits', async () => {
    const { checks } = await runProbe(['hkdf']);
    const okm = '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865';
    assert.equal(value(checks, 'okm'), okm);
    assert.equal(value(checks, 'derived-key'), okm.slice(0, 32));
    assert.equal(value(checks, 'derived-attributes'), [PSA.AES, 128, PSA.EXPORT, PSA.GCM].join(','));
    assertStatuses(checks, {
      import: E.OK, 'max-length': E.OK, 'over-length': E.INVAL, 'without-usage': E.PERM, 'other-alg': E.PERM, 'derive-bad-size': E.INVAL,
      'fault-out': E.FAULT, 'fault-key-ptr': E.FAULT, 'bad-handle': E.BADF,
    });
  });

  /** node:crypto's public key from the ABI's public-key format. */
  function publicKeyOf(curve: 'P-256' | 'P-384' | 'Ed25519' | 'X25519', data: Buffer): KeyObject {
    if (curve === 'Ed25519' || curve === 'X25519') return createPublicKey({ key: { kty: 'OKP', crv: curve, x: data.toString('base64url') }, format: 'jwk' });
    const size = (data.length - 1) / 2;
    assert.equal(data[0], 4);
    return createPublicKey({
      key: { kty: 'EC', crv: curve, x: data.subarray(1, 1 + size).toString('base64url'), y: data.subarray(1 + size).toString('base64url') }, format: 'jwk',
    });
  }

  /** The ABI's public-key format of a node:crypto public key. */
  function publicKeyData(key: KeyObject): Buffer {
    const jwk = key.export({ format: 'jwk' });
    if (jwk.kty === 'OKP') return Buffer.from(jwk.x!, 'base64url');
    return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  }

  for (const [name, curve, hash, size] of [['P256', 'P-256', 'sha256', 64], ['P384', 'P-384', 'sha384', 96], ['ED25519', 'Ed25519', null, 64]] as const) {
    it(`${curve}: signatures node:crypto verifies with the exported public key; tampering, usages and algorithms refused`, async () => {
      const message = randomBytes(77);
      const { checks } = await runProbe(['sign', name, hex(message)]);
      const publicKey = publicKeyOf(curve, bytes(value(checks, 'public')));
      const signature = bytes(value(checks, 'signature'));
      assert.equal(signature.length, size);
      assert.ok(verify(hash, message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature), 'node:crypto verifies the signature');
      assert.ok(!verify(hash, randomBytes(77), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature));
      assert.deepEqual(check(checks, 'short'), { status: E.NOBUFS, value: String(size) });
      assertStatuses(checks, {
        generate: E.OK, verify: E.OK, 'export-private': E.PERM, 'import-public': E.OK, 'verify-public': E.OK, 'sign-without-usage': E.PERM,
        'verify-tampered': E.BADMSG, 'verify-other-message': E.BADMSG, 'verify-truncated': E.BADMSG, 'other-alg': E.PERM, 'fault-sig': E.FAULT,
        'bad-handle': E.BADF,
      });
    });
  }

  for (const [name, curve, hash] of [['ED25519', 'ed25519', null], ['P256', 'P-256', 'sha256']] as const) {
    it(`verifies a ${curve} signature made by node:crypto with its imported public key`, async () => {
      const pair = curve === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: curve });
      const message = randomBytes(40);
      const signature = sign(hash, message, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
      const { checks } = await runProbe(['verify-foreign', name, hex(publicKeyData(pair.publicKey)), hex(message), hex(signature)]);
      assertStatuses(checks, { import: E.OK, verify: E.OK, 'verify-other-message': E.BADMSG });
    });
  }

  for (const [name, curve] of [['X25519', 'X25519'], ['P256', 'P-256']] as const) {
    it(`${curve} ECDH: two generated pairs agree, and so does node:crypto with the program's public key`, async () => {
      const peer = curve === 'X25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const { checks } = await runProbe(['ecdh', name, hex(publicKeyData(peer.publicKey))]);
      const ab = value(checks, 'secret-ab');
      assert.equal(ab.length, 64);
      assert.equal(value(checks, 'secret-ba'), ab);
      const programPublic = publicKeyOf(curve, bytes(value(checks, 'public-a')));
      assert.equal(value(checks, 'secret-peer'), hex(diffieHellman({ privateKey: peer.privateKey, publicKey: programPublic })));
      assert.deepEqual(check(checks, 'short'), { status: E.NOBUFS, value: '32' });
      assertStatuses(checks, { 'peer-truncated': E.INVAL, 'without-usage': E.PERM, 'other-alg': E.PERM, 'fault-peer': E.FAULT });
    });
  }

  it('file helpers: write, append, read back, existence, and errors as errno', async () => {
    const { checks } = await runProbe(['files', '/output/greeting.txt']);
    assert.equal(value(checks, 'exists-before'), '0');
    assert.equal(value(checks, 'exists-after'), '1');
    assert.equal(bytes(value(checks, 'read')).toString(), 'hello world');
    assertStatuses(checks, { write: E.OK, append: E.OK, 'read-missing': E.NOENT, 'write-forbidden': E.NOTCAPABLE });
    assert.equal(value(checks, 'strerror'), '1');
  });

  it('veracruz_v1 outside a computation is NOTSUP', async () => {
    const { checks } = await runProbe(['policy']);
    assertStatuses(checks, { policy: E.NOTSUP, 'policy-hash': E.NOTSUP, subjects: E.NOTSUP });
  });
});

describe('vc.h: veracruz_v1 in a computation', () => {
  const PROGRAM = '/program/sdk-probe.wasm';
  let policy: Policy;
  let signer: ResultSigner;

  before(async () => {
    const pki = await createTestPki();
    const principals = await Promise.all([
      createTestPrincipal('owner', [
        { file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE }, { file_name: '/input/', rights: RIGHTS_WRITE },
        { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE }, { file_name: 'stdout', rights: RIGHTS_READ },
      ]),
      createTestPrincipal('alice', [{ file_name: '/output/', rights: RIGHTS_READ }]),
      createTestPrincipal('bob', [{ file_name: '/output/', rights: RIGHTS_READ }]),
    ]);
    policy = await parsePolicy(testPolicyText({
      principals, pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash,
      programs: [{ path: PROGRAM, binary: probe, rights: PROBE_RIGHTS }],
    }));
    signer = await testSigner(pki, policy);
  });

  /** A fresh computation for the policy (its rights as written), served by a dispatcher as the isolate does. */
  async function computation(): Promise<(id: number, request: RuntimeManagerRequest) => Promise<RuntimeManagerResponse>> {
    // Narrowing changes the policy's rights in place: every computation starts from a fresh parse.
    const fresh = await parsePolicy(policy.text);
    const vfs = new VirtualFileSystem({ budget: new MemoryBudget(fresh.max_memory_mib * 1024 * 1024) });
    const dispatcher = new RequestDispatcher({ policy: fresh, vfs, engine, signer });
    return (id, request) => {
      const fileRights = fresh.identities[id]!.file_rights;
      const principal: SessionPrincipal = { id, fileRights, view: vfs.view(fileRights) };
      return dispatcher.dispatch(principal, request);
    };
  }

  const text = (response: RuntimeManagerResponse): string => (response.body?.kind === 'result' ? new TextDecoder().decode(response.body.data) : '');

  /** The owner uploads the probe, gives it `args`, runs it, and reads its checks. */
  async function runIn(send: Awaited<ReturnType<typeof computation>>, args: readonly string[]): Promise<Checks> {
    for (const [fileName, data] of [[PROGRAM, probe], ['/input/args.txt', new TextEncoder().encode(args.join('\n'))]] as const) {
      const written = await send(0, { kind: 'write_file', fileName, data });
      assert.equal(written.status, ResponseStatus.SUCCESS, written.errorDetail?.message);
    }
    const run = await send(0, { kind: 'request_result', fileName: PROGRAM });
    assert.equal(run.status, ResponseStatus.SUCCESS, run.errorDetail?.message);
    return parseChecks(text(await send(0, { kind: 'read_file', fileName: 'stdout' })));
  }

  it('shows the policy, its hash, the subjects, rights in force and readers', async () => {
    const send = await computation();
    const checks = await runIn(send, ['policy', 'rights=1:/output/result.txt', 'rights=0:/input/x', 'rights=0x80000000:/input/x', 'rights=2:/program/x',
      'readers=/output/result.txt', 'readers=/input/x']);
    assert.equal(bytes(value(checks, 'policy')).toString(), policy.text);
    assert.deepEqual(check(checks, 'policy-ask'), { status: E.NOBUFS, value: String(Buffer.byteLength(policy.text)) });
    assert.equal(value(checks, 'policy-hash'), policy.hash);
    assert.equal(value(checks, 'subjects'), '0,1,2,2147483648');
    assert.deepEqual(check(checks, 'subjects-short'), { status: E.NOBUFS, value: '4' });
    assert.equal(value(checks, 'rights:1:/output/result.txt'), String(RIGHTS_READ));
    assert.equal(value(checks, 'rights:0:/input/x'), String(RIGHTS_WRITE));
    assert.equal(value(checks, 'rights:2147483648:/input/x'), String(RIGHTS_READ));
    assert.equal(value(checks, 'rights:2:/program/x'), '0');
    assert.equal(value(checks, 'readers:/output/result.txt'), '0,1,2');
    assert.equal(value(checks, 'readers:/input/x'), '-');
    assert.equal(value(checks, 'subjects-fault-count'), '12345', 'a call that faults writes no count');
    assertStatuses(checks, {
      'policy-fault': E.FAULT, 'policy-hash-fault': E.FAULT, 'subjects-fault': E.FAULT, 'rights-no-subject': E.NOENT, 'rights-fault': E.FAULT,
      'rights-ilseq': E.ILSEQ, 'readers-ilseq': E.ILSEQ,
    });
  });

  it('narrows rights for every later request, and refuses to widen them', async () => {
    const send = await computation();
    const written = await send(0, { kind: 'write_file', fileName: '/output/secret.txt', data: new TextEncoder().encode('for alice') });
    assert.equal(written.status, ResponseStatus.SUCCESS);
    const checks = await runIn(send, ['narrow', '1', '/output/', String(RIGHTS_READ | RIGHTS_WRITE), '2', '/output/secret.txt', '0', '7', '/output/', '0']);
    assert.equal(check(checks, 'narrow:1:/output/').status, E.PERM);
    assert.equal(value(checks, 'after:1:/output/'), String(RIGHTS_READ), 'a refused widening changes nothing');
    assert.equal(check(checks, 'narrow:2:/output/secret.txt').status, E.OK);
    assert.equal(value(checks, 'after:2:/output/secret.txt'), '0');
    assert.equal(check(checks, 'narrow:7:/output/').status, E.NOENT);

    const refused = await send(2, { kind: 'read_file', fileName: '/output/secret.txt' });
    assert.notEqual(refused.status, ResponseStatus.SUCCESS, 'bob lost his read');
    assert.equal(text(await send(1, { kind: 'read_file', fileName: '/output/secret.txt' })), 'for alice');
  });

  it('vc_rights_remove and vc_lock_writes take bits away from one subject or every subject', async () => {
    const send = await computation();
    const checks = await runIn(send, ['rights', 'remove', '1', '/output/a.txt', '2', 'remove', '1', '/output/b.txt', '64', 'lock', '/output/locked.txt']);
    assert.equal(check(checks, 'remove:1:/output/a.txt').status, E.OK);
    assert.equal(value(checks, 'after:1:/output/a.txt'), String(RIGHTS_READ & ~2));
    // Alice never held FD_WRITE on b.txt: she keeps what she had (the narrowing, made all the same, changes nothing).
    assert.equal(check(checks, 'remove:1:/output/b.txt').status, E.OK);
    assert.equal(value(checks, 'after:1:/output/b.txt'), String(RIGHTS_READ));
    assert.equal(check(checks, 'lock:/output/locked.txt').status, E.OK);

    const locked = await send(0, { kind: 'write_file', fileName: '/output/locked.txt', data: new Uint8Array([1]) });
    assert.notEqual(locked.status, ResponseStatus.SUCCESS, 'the owner may no longer write the locked file');
    const other = await send(0, { kind: 'write_file', fileName: '/output/other.txt', data: new Uint8Array([1]) });
    assert.equal(other.status, ResponseStatus.SUCCESS, other.errorDetail?.message);
    const report = JSON.parse(text(await send(1, { kind: 'request_rights' }))) as { narrowings: { subject: number; path: string; after: number }[] };
    assert.deepEqual(report.narrowings.map(({ subject, path, after }) => [subject, path, after]), [
      [1, '/output/a.txt', RIGHTS_READ & ~2],
      [1, '/output/b.txt', RIGHTS_READ],
      [0, '/output/locked.txt', RIGHTS_READ | (RIGHTS_WRITE & ~(64 | 512 | 1024 | 524288))],
      [1, '/output/locked.txt', RIGHTS_READ],
      [2, '/output/locked.txt', RIGHTS_READ],
      [0x80000000, '/output/locked.txt', RIGHTS_READ | (RIGHTS_WRITE & ~(64 | 512 | 1024 | 524288))],
    ]);
  });

  it('signs a result the program wrote; the signature verifies against the certificate', async () => {
    const send = await computation();
    const checks = await runIn(send, ['sign-result', '/output/signed.txt', '/output/signed.sig']);
    assertStatuses(checks, { write: E.OK, sign: E.OK, 'sign-missing': E.NOENT, 'sign-forbidden': E.NOTCAPABLE, 'sign-fault': E.FAULT });
    const envelope = JSON.parse(text(await send(1, { kind: 'read_file', fileName: '/output/signed.sig' }))) as SignedResult;
    assert.deepEqual([envelope.path, envelope.size, envelope.sha256, envelope.policy_hash, envelope.program],
      ['/output/signed.txt', 14, createHash('sha256').update('signed result\n').digest('hex'), policy.hash, PROGRAM]);
    const publicKey = new X509Certificate(envelope.certificate).publicKey;
    assert.ok(verify('sha256', signedResultStatement(envelope), publicKey, Buffer.from(envelope.signature, 'base64')));
    assert.ok(!verify('sha256', signedResultStatement({ ...envelope, size: 15 }), publicKey, Buffer.from(envelope.signature, 'base64')));
  });
});
