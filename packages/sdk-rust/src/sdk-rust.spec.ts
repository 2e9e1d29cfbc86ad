import assert from 'node:assert/strict';
import {
  type CipherChaCha20Poly1305, type CipherGCM, createCipheriv, createHash, createHmac, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync,
  type KeyObject, randomBytes, sign, verify, X509Certificate,
} from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ALL_RIGHTS, type FileRights, parsePolicy, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { ExecutionEngine, PROGRAM_SUBJECT, type ProgramAbi, type ResultSigner, type RightsInForce, VirtualFileSystem } from '@veracruz-ts/runtime';
import { createTestPki, createTestPrincipal, testPolicyText, testProgramAbi, testSigner } from '@veracruz-ts/runtime/testing';
import { generatePrivateSetIntersection } from '../../../examples/generators/private-set-intersection.ts';
import { privateSetIntersection } from '../../../examples/reference/private-set-intersection.ts';
import { buildRustProgram, checkToolchain, SDK_RUST_DIR } from './build.ts';

/** The Rust programs these tests run: the crate's examples and the spec's fixtures. */
const SOURCES = {
  psi: join(SDK_RUST_DIR, 'examples', 'private-set-intersection.rs'),
  sealed: join(SDK_RUST_DIR, 'examples', 'sealed-exchange.rs'),
  knownAnswers: join(SDK_RUST_DIR, 'src', 'fixtures', 'known-answers.rs'),
  errors: join(SDK_RUST_DIR, 'src', 'fixtures', 'error-paths.rs'),
  policy: join(SDK_RUST_DIR, 'src', 'fixtures', 'policy-probe.rs'),
} as const;

const PROGRAM_RIGHTS: readonly FileRights[] = [
  { file_name: '/input/', rights: RIGHTS_READ },
  { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE },
  { file_name: 'stdout', rights: RIGHTS_WRITE },
  { file_name: 'stderr', rights: RIGHTS_WRITE },
];

/** The test's own view: writes the inputs, reads every result. */
const EVERYTHING: readonly FileRights[] = ['/', 'stdin', 'stdout', 'stderr'].map((file_name) => ({ file_name, rights: ALL_RIGHTS }));

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('Rust SDK (veracruz crate, built with rustc for wasm32-wasi)', () => {
  const engine = new ExecutionEngine();
  const modules = new Map<keyof typeof SOURCES, Uint8Array>();
  after(() => engine.close());

  // Fails (never skips) without the toolchain: CI installs it with scripts/setup-system.sh.
  before(async () => {
    await Promise.all((Object.entries(SOURCES) as [keyof typeof SOURCES, string][]).map(async ([name, source]) => {
      modules.set(name, new Uint8Array(readFileSync(await buildRustProgram(source))));
    }));
  });

  async function run(name: keyof typeof SOURCES, files: Record<string, Uint8Array> = {}, options: { rights?: readonly FileRights[]; abi?: ProgramAbi } = {}) {
    const vfs = new VirtualFileSystem();
    const view = vfs.view(EVERYTHING);
    for (const [path, data] of Object.entries(files)) view.writeFile(path, data);
    const program = modules.get(name)!;
    const outcome = await engine.execute({ vfs, program, rights: options.rights ?? PROGRAM_RIGHTS, ...(options.abi ? { abi: options.abi } : {}) });
    const stream = (path: string) => (view.exists(path) ? decode(view.readFile(path)) : '');
    const result = {
      outcome,
      exitCode: outcome.kind === 'exited' ? outcome.exitCode : undefined,
      stdout: stream('stdout'),
      stderr: stream('stderr'),
      exists: (path: string) => view.exists(path),
      read: (path: string) => new Uint8Array(view.readFile(path)),
    };
    return { ...result, describe: () => `${JSON.stringify(outcome)}; stderr: ${result.stderr.trim()}` };
  }

  describe('the build', () => {
    it('rejects a missing compiler, saying how to install it', async () => {
      await assert.rejects(checkToolchain('/nonexistent/rustc'), /\/nonexistent\/rustc.*cannot run.*scripts\/setup-system\.sh/);
    });

    it('builds a source once, the same module wherever it is, copies it to `out`, and rebuilds when it changes', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sdk-rust-'));
      try {
        const source = join(dir, 'private-set-intersection.rs');
        writeFileSync(source, readFileSync(SOURCES.psi));
        const cached = await buildRustProgram(source);
        assert.equal(cached, await buildRustProgram(SOURCES.psi), 'one cache entry for one source text');
        // Compiled again from here: the same bytes as from the crate's examples/.
        rmSync(cached);
        assert.equal(await buildRustProgram(source), cached);
        assert.deepEqual(new Uint8Array(readFileSync(cached)), modules.get('psi'));
        const built = statSync(cached).mtimeMs;
        assert.equal(await buildRustProgram(source), cached);
        assert.equal(statSync(cached).mtimeMs, built, 'not rebuilt');
        const out = join(dir, 'out', 'program.wasm');
        assert.equal(await buildRustProgram(source, out), out);
        assert.deepEqual(new Uint8Array(readFileSync(out)), modules.get('psi'));
        // A changed source is another entry (the same one on every run: the cache does not grow).
        appendFileSync(source, '// changed\n');
        assert.notEqual(await buildRustProgram(source), cached);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("fails with rustc's diagnostics for a program that does not compile", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sdk-rust-'));
      try {
        writeFileSync(join(dir, 'broken.rs'), 'fn main() { let n: u32 = "text"; }\n');
        await assert.rejects(buildRustProgram(join(dir, 'broken.rs')), /failed:[\s\S]*mismatched types/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('private-set-intersection (examples/programs/private-set-intersection in Rust)', () => {
    const SET1 = '/input/private-set-1.dat';
    const SET2 = '/input/private-set-2.dat';
    const OUTPUT = '/output/private-set.dat';

    it('outputs the common lines, sorted and unique, as the reference does (generated data)', async () => {
      const files = generatePrivateSetIntersection({ seed: 11, size: 300 });
      const result = await run('psi', files);
      assert.equal(result.exitCode, 0, result.describe());
      const expected = privateSetIntersection(decode(files[SET1]!), decode(files[SET2]!));
      assert.ok(expected.length > 0, 'the generated sets overlap');
      assert.equal(decode(result.read(OUTPUT)), expected);
    });

    it('compares whole lines, by bytes', async () => {
      const result = await run('psi', { [SET1]: encode('Zoë,1\nbob,2\nAlice,3\nAlice,3\nAl,4\n'), [SET2]: encode('Alice,3\nZoë,1\nAl,44\nbob,2\n') });
      assert.equal(result.exitCode, 0, result.describe());
      assert.equal(decode(result.read(OUTPUT)), 'Alice,3\nZoë,1\nbob,2\n');
    });

    it('outputs nothing for an empty set', async () => {
      const result = await run('psi', { [SET1]: encode(''), [SET2]: encode('a\n') });
      assert.equal(result.exitCode, 0, result.describe());
      assert.equal(decode(result.read(OUTPUT)), '');
    });

    it('exits 2 when a set is missing, 3 when one is malformed, 4 when the output cannot be written', async () => {
      const missing = await run('psi', { [SET1]: encode('a\n') });
      assert.equal(missing.exitCode, 2, missing.describe());
      assert.match(missing.stderr, /^error: cannot read \/input\/private-set-2\.dat/);
      for (const bad of [new Uint8Array([0x61, 0xc3, 0x28, 0x0a]), encode('a\nb'), encode('a\n\0\n')]) {
        const result = await run('psi', { [SET1]: encode('a\n'), [SET2]: bad });
        assert.equal(result.exitCode, 3, result.describe());
      }
      const noOutput = [PROGRAM_RIGHTS[0]!, { file_name: 'stderr', rights: RIGHTS_WRITE }];
      const readOnly = await run('psi', { [SET1]: encode('a\n'), [SET2]: encode('a\n') }, { rights: noOutput });
      assert.equal(readOnly.exitCode, 4, readOnly.describe());
    });
  });

  describe('sealed-exchange (X25519, HKDF, ChaCha20-Poly1305, ECDSA P-256)', () => {
    it('seals a message one party opens, and signs it with a key node:crypto verifies', async () => {
      const message = randomBytes(1000);
      const result = await run('sealed', { '/input/message.dat': message });
      assert.equal(result.exitCode, 0, result.describe());
      assert.deepEqual(result.stdout.split('\n'), [
        'agreed: 32-byte shared secret', 'sealed: 1028 bytes', 'opened: 1000 bytes', 'tampered: refused', 'signed: 64-byte signature, verified', '',
      ]);
      const sealed = result.read('/output/sealed.dat');
      assert.equal(sealed.length, 12 + message.length + 16);
      assert.equal(Buffer.from(sealed).indexOf(message.subarray(0, 32)), -1, 'the message is not in the clear');
      assert.deepEqual(result.read('/output/opened.dat'), new Uint8Array(message));
      const [alice, bob] = [result.read('/output/alice.pub'), result.read('/output/bob.pub')];
      assert.equal(alice.length, 32);
      assert.notDeepEqual(alice, bob);

      const signer = p256PublicKey(result.read('/output/signer.pub'));
      const signature = result.read('/output/signature.dat');
      assert.equal(signature.length, 64);
      assert.ok(verify('sha256', sealed, { key: signer, dsaEncoding: 'ieee-p1363' }, signature), 'node:crypto verifies the signature');
      const forged = Uint8Array.from(sealed);
      forged[20]! ^= 1;
      assert.equal(verify('sha256', forged, { key: signer, dsaEncoding: 'ieee-p1363' }, signature), false);

      // Every run makes new keys and a new nonce.
      const again = await run('sealed', { '/input/message.dat': message });
      assert.equal(again.exitCode, 0, again.describe());
      assert.notDeepEqual(again.read('/output/sealed.dat'), sealed);
      assert.notDeepEqual(again.read('/output/alice.pub'), alice);
    });

    it('seals an empty message, and exits 2 without one', async () => {
      const empty = await run('sealed', { '/input/message.dat': new Uint8Array(0) });
      assert.equal(empty.exitCode, 0, empty.describe());
      assert.equal(empty.read('/output/sealed.dat').length, 28);
      const missing = await run('sealed');
      assert.equal(missing.exitCode, 2, missing.describe());
      assert.match(missing.stderr, /^error: cannot read \/input\/message\.dat/);
    });
  });

  it('computes what node:crypto computes, for every operation of the safe API', async () => {
    const x25519 = generateKeyPairSync('x25519');
    const peer = generateKeyPairSync('x25519');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ed25519 = generateKeyPairSync('ed25519');
    const inputs = {
      message: randomBytes(1000), key32: randomBytes(32), nonce: randomBytes(12), aad: randomBytes(20),
      ikm: randomBytes(32), salt: randomBytes(16), info: randomBytes(10), 'hmac-key': randomBytes(40),
      'x25519-private': jwkBytes(x25519.privateKey, 'd'), 'x25519-peer': jwkBytes(peer.publicKey, 'x'),
      'p256-private': jwkBytes(p256.privateKey, 'd'), 'ed25519-private': jwkBytes(ed25519.privateKey, 'd'),
    };
    const result = await run('knownAnswers', Object.fromEntries(Object.entries(inputs).map(([name, data]) => [`/input/kat/${name}`, new Uint8Array(data)])));
    assert.equal(result.exitCode, 0, result.describe());
    assert.equal(result.stdout, 'attributes 0x2004 256 0x300 0x5100500\nchacha-open true\n');
    const out = (name: string) => Buffer.from(result.read(`/output/kat/${name}`));
    const { message, key32, nonce, aad, ikm, salt, info } = inputs;

    for (const hash of ['sha256', 'sha384', 'sha512']) assert.deepEqual(out(hash), createHash(hash).update(message).digest(), hash);
    assert.deepEqual(out('hmac-sha256'), createHmac('sha256', inputs['hmac-key']).update(message).digest());
    assert.deepEqual(out('hkdf-sha256'), Buffer.from(hkdfSync('sha256', ikm, salt, info, 42)));
    assert.deepEqual(out('hkdf-sha512-aes'), Buffer.from(hkdfSync('sha512', ikm, salt, info, 32)));
    const seal = (cipher: CipherChaCha20Poly1305 | CipherGCM) => {
      cipher.setAAD(aad, { plaintextLength: message.length });
      return Buffer.concat([cipher.update(message), cipher.final(), cipher.getAuthTag()]);
    };
    assert.deepEqual(out('chacha20-poly1305'), seal(createCipheriv('chacha20-poly1305', key32, nonce, { authTagLength: 16 })));
    assert.deepEqual(out('aes-256-gcm'), seal(createCipheriv('aes-256-gcm', key32, nonce)));
    assert.deepEqual(out('x25519-public'), jwkBytes(x25519.publicKey, 'x'));
    assert.deepEqual(out('x25519-shared'), diffieHellman({ privateKey: x25519.privateKey, publicKey: peer.publicKey }));
    const p256Public = out('p256-public');
    assert.deepEqual(p256Public, Buffer.concat([Buffer.of(4), jwkBytes(p256.publicKey, 'x'), jwkBytes(p256.publicKey, 'y')]));
    assert.ok(verify('sha256', message, { key: p256.publicKey, dsaEncoding: 'ieee-p1363' }, out('p256-signature')));
    assert.deepEqual(out('ed25519-public'), jwkBytes(ed25519.publicKey, 'x'));
    assert.deepEqual(out('ed25519-signature'), sign(null, message, ed25519.privateKey), 'Ed25519 is deterministic');
    assert.deepEqual(out('raw-export'), message.subarray(0, 200));
    const random = out('random');
    assert.equal(random.length, 64);
    assert.notDeepEqual(random.subarray(0, 32), random.subarray(32));
  });

  it('reports every failure as the errno the ABI names', async () => {
    const result = await run('errors');
    assert.equal(result.exitCode, 0, result.describe());
    assert.deepEqual(result.stdout.trimEnd().split('\n'), [
      'export-unexportable PERM',
      'export-exportable 16',
      'public-of-symmetric INVAL',
      'encrypt-without-usage PERM',
      'key-size INVAL',
      'nonce-length INVAL',
      'hash-alg INVAL',
      'sign-without-usage PERM',
      'other-alg PERM',
      'open ok',
      'wrong-aad BADMSG',
      'tampered BADMSG',
      'verify ok',
      'bad-signature BADMSG',
      'bad-mac BADMSG',
      'after-drop BADF',
      'destroy ok',
      'after-destroy BADF',
      'destroy-again BADF',
      'no-room NOBUFS 48',
      'key-limit 1024 NOMEM',
      'after-limit ok',
      'policy-outside-computation NOTSUP',
      'display PERM (63): not permitted',
      'display-other ERRNO (5): unknown error',
      'round-trip true',
    ]);
  });

  describe('policy (veracruz_v1)', () => {
    const PROGRAM = '/program/policy-probe.wasm';
    let policyText: string;
    let signer: ResultSigner;

    // Principal 0 provides the program; 1 and 2 read the results, 3 only uploads; program 0 (the probe) reads /input/ and
    // writes /output/. The policy text is longer than the crate's first 4096-byte guess.
    before(async () => {
      const pki = await createTestPki();
      const principals = await Promise.all([
        createTestPrincipal('owner', [{ file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE }]),
        createTestPrincipal('alice', [{ file_name: '/input/', rights: RIGHTS_WRITE }, { file_name: '/output/', rights: RIGHTS_READ }]),
        createTestPrincipal('bob', [{ file_name: '/output/', rights: RIGHTS_READ }]),
        createTestPrincipal('carol', [{ file_name: '/input/', rights: RIGHTS_WRITE }]),
      ]);
      policyText = testPolicyText({
        principals, pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash,
        programs: [{ path: PROGRAM, binary: modules.get('policy')!, rights: [...PROGRAM_RIGHTS] }],
      });
      // The isolate's attested key, certified for this policy (its hash is the same for every parse of the text).
      signer = await testSigner(pki, await parsePolicy(policyText));
    });

    // A new computation of the policy: narrowing replaces entries of its own file_rights arrays, which the program runs with.
    async function computation(withSigner: boolean): Promise<{ abi: ProgramAbi; rights: RightsInForce; programRights: FileRights[] }> {
      const policy = await parsePolicy(policyText);
      const abi = testProgramAbi(policy, PROGRAM, withSigner ? signer : undefined);
      const { rights } = abi;
      assert.ok(abi.policyText.length > 4096, `a ${abi.policyText.length}-byte policy`);
      return { abi, rights, programRights: policy.programs[0]!.file_rights };
    }

    it('shows the policy, the rights in force and the readers, narrows them, and signs a result', async () => {
      const { abi, rights, programRights } = await computation(true);
      const result = await run('policy', {}, { abi, rights: programRights });
      assert.equal(result.exitCode, 0, result.describe());
      const hash = Buffer.from(abi.policyHash).toString('hex');
      const read = RIGHTS_READ.toString();
      assert.deepEqual(result.stdout.trimEnd().split('\n'), [
        `policy ${abi.policyText.length} bytes, sha256 ${hash}`,
        'hash-matches true',
        `subjects [0, 1, 2, 3, ${PROGRAM_SUBJECT}]`,
        'rights 0x0 0',
        `rights 0x1 ${read}`,
        `rights 0x2 ${read}`,
        'rights 0x3 0',
        `rights 0x80000000 ${RIGHTS_READ | RIGHTS_WRITE}`,
        'self true',
        'rights-unknown NOENT',
        'readers [1, 2]',
        'narrow ()',
        'readers-after [1]',
        'rights-after 0',
        'widen PERM',
        'narrow-unknown NOENT',
        'sign ()',
        'sign-unreadable NOTCAPABLE',
        'sign-unwritable NOTCAPABLE',
      ]);
      // The narrowing holds after the run, recorded as the program's.
      assert.equal(rights.rightsOf(2, '/output/result.dat'), 0);
      assert.deepEqual(rights.narrowings.map(({ program, subject, path, before, after }) => ({ program, subject, path, before, after })), [
        { program: PROGRAM, subject: 2, path: '/output/result.dat', before: RIGHTS_READ, after: 0 },
      ]);
      const envelope = JSON.parse(decode(result.read('/output/result.sig'))) as Record<string, string | number>;
      const data = result.read('/output/result.dat');
      assert.equal(envelope.path, '/output/result.dat');
      assert.equal(envelope.size, data.length);
      assert.equal(envelope.sha256, createHash('sha256').update(data).digest('hex'));
      assert.equal(envelope.policy_hash, hash);
      assert.equal(envelope.program, abi.program);
      assert.equal(envelope.certificate, signer.certificatePem);
      // The signed bytes, as docs/program-abi.md defines them.
      const fields = [envelope.path, envelope.size, envelope.sha256, envelope.policy_hash, envelope.program, envelope.signed_at];
      const statement = encode(`veracruz-ts signed result v1\n${JSON.stringify(fields)}`);
      const signature = Buffer.from(String(envelope.signature), 'base64');
      const isolateKey = new X509Certificate(signer.certificatePem).publicKey;
      assert.ok(verify('sha256', statement, isolateKey, signature), 'the isolate key signed the statement');
      assert.equal(verify('sha256', encode(`veracruz-ts signed result v1\n${JSON.stringify([...fields.slice(0, 5), 'tampered'])}`), isolateKey, signature), false);
    });

    it('cannot sign without an attested key (NOTSUP)', async () => {
      const { abi, programRights } = await computation(false);
      const result = await run('policy', {}, { abi, rights: programRights });
      assert.equal(result.exitCode, 0, result.describe());
      assert.match(result.stdout, /\nsign NOTSUP\n/);
      assert.equal(result.exists('/output/result.sig'), false);
    });
  });
});

/** A JWK member of a key as bytes (X25519/Ed25519 `d` and `x`, P-256 `d`, `x` and `y`). */
function jwkBytes(key: KeyObject, member: 'd' | 'x' | 'y'): Buffer {
  return Buffer.from(key.export({ format: 'jwk' })[member]!, 'base64url');
}

/** A P-256 public key from its uncompressed point. */
function p256PublicKey(point: Uint8Array): KeyObject {
  assert.equal(point.length, 65);
  assert.equal(point[0], 4);
  const part = (from: number) => Buffer.from(point.subarray(from, from + 32)).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: part(1), y: part(33) }, format: 'jwk' });
}
