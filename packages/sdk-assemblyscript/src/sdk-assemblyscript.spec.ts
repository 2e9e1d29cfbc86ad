import assert from 'node:assert/strict';
import { createHash, createHmac, createPublicKey, hkdfSync, randomBytes, verify, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signedResultStatement, type SignedResult } from '@veracruz-ts/attestation/signed-result';
import { ALL_RIGHTS, type FileRights, parsePolicy, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import {
  checkImports, type ExecutionOutcome, ExecutionEngine, PROGRAM_SUBJECT, type ProgramAbi, type ResultSigner, type RightsInForce, VirtualFileSystem,
} from '@veracruz-ts/runtime';
import { createTestPki, createTestPrincipal, testPolicyText, testProgramAbi, testSigner } from '@veracruz-ts/runtime/testing';
import { decodeF64, encodeF64 } from '../../../examples/generators/files.ts';
import { generateLinearRegression } from '../../../examples/generators/linear-regression.ts';
import { linearRegression } from '../../../examples/reference/linear-regression.ts';
import { AssemblyScriptBuildError, BUILD_DIR, buildAssemblyScript, buildExample, SDK_DIR } from './build.ts';

/** What the programs may do: read /input/, read and write /output/, write stdout and stderr. */
const PROGRAM_RIGHTS: readonly FileRights[] = [
  { file_name: '/input/', rights: RIGHTS_READ },
  { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE },
  { file_name: 'stdout', rights: RIGHTS_WRITE },
  { file_name: 'stderr', rights: RIGHTS_WRITE },
];
/** The test's own view, to put inputs in and read everything back. */
const EVERYTHING: readonly FileRights[] = [
  { file_name: '/', rights: ALL_RIGHTS },
  { file_name: 'stdout', rights: ALL_RIGHTS },
  { file_name: 'stderr', rights: ALL_RIGHTS },
];
const BINDINGS_WASM = join(BUILD_DIR, 'fixtures', 'bindings.wasm');

interface Run {
  outcome: ExecutionOutcome;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** stdout's `name value` lines. */
  lines: Map<string, string>;
  read(path: string): Uint8Array;
  exists(path: string): boolean;
  describe(): string;
}

const engine = new ExecutionEngine();
const modules = new Map<string, Uint8Array>();

interface RunOptions {
  args?: string[];
  /** The rights the program runs with. @default PROGRAM_RIGHTS */
  rights?: readonly FileRights[];
  abi?: ProgramAbi;
  vfs?: VirtualFileSystem;
}

async function run(program: string, files: Record<string, Uint8Array> = {}, options: RunOptions = {}): Promise<Run> {
  const vfs = options.vfs ?? new VirtualFileSystem();
  const view = vfs.view(EVERYTHING);
  for (const [path, data] of Object.entries(files)) view.writeFile(path, data);
  const outcome = await engine.execute({
    vfs, program: modules.get(program)!, rights: options.rights ?? PROGRAM_RIGHTS, args: options.args ?? [],
    ...(options.abi === undefined ? {} : { abi: options.abi }),
  });
  const text = (name: string) => (view.exists(name) ? new TextDecoder().decode(view.readFile(name)) : '');
  const stdout = text('stdout');
  const stderr = text('stderr');
  const lines = new Map(stdout.split('\n').filter((line) => line !== '').map((line) => {
    const space = line.indexOf(' ');
    return [line.slice(0, space), line.slice(space + 1)] as [string, string];
  }));
  return {
    outcome, exitCode: outcome.kind === 'exited' ? outcome.exitCode : undefined, stdout, stderr, lines,
    read: (path) => view.readFile(path),
    exists: (path) => view.exists(path),
    describe: () => `${JSON.stringify(outcome)}; stdout: ${stdout}; stderr: ${stderr}`,
  };
}

/** The `name value` lines a run printed, as an object (for deepEqual with readable diffs). */
function linesOf(result: Run, names: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(names.map((name) => [name, result.lines.get(name)]));
}

before(async () => {
  // Built once (and only when a source changed: later runs find them up to date).
  for (const name of ['linear-regression', 'hash-and-sign']) {
    const { outFile } = await buildExample(name);
    modules.set(name, new Uint8Array(readFileSync(outFile)));
  }
  await buildAssemblyScript(join(SDK_DIR, 'fixtures', 'bindings.ts'), BINDINGS_WASM);
  modules.set('bindings', new Uint8Array(readFileSync(BINDINGS_WASM)));
});

after(() => engine.close());

describe('buildAssemblyScript', () => {
  it('makes WASI commands that import only what isolates provide', () => {
    // Every import provided (none from env), with the runtime's signatures; `_start` and `memory` exported.
    for (const [name, module] of modules) assert.deepEqual(checkImports(module), { unsupported: [] }, name);
  });

  it('leaves an up-to-date module alone, and rebuilds it when a source changes or when asked', async () => {
    assert.equal((await buildExample('linear-regression')).built, false);
    const dir = join(BUILD_DIR, 'stamp-test');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const entry = join(dir, 'program.ts');
    const outFile = join(dir, 'program.wasm');
    const fast = { optimizeLevel: 0, runtime: 'stub' } as const;
    writeFileSync(entry, 'export function answer(): i32 { return 41; }\n');
    assert.equal((await buildAssemblyScript(entry, outFile, fast)).built, true);
    assert.equal((await buildAssemblyScript(entry, outFile, fast)).built, false);
    writeFileSync(entry, 'export function answer(): i32 { return 42; }\n');
    assert.equal((await buildAssemblyScript(entry, outFile, fast)).built, true);
    assert.equal((await buildAssemblyScript(entry, outFile, { ...fast, force: true })).built, true);
    const { answer } = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(outFile))).exports as { answer(): number };
    assert.equal(answer(), 42);
  });

  it('refuses a program that does not compile, or that imports from env, writing nothing', async () => {
    const outFile = join(BUILD_DIR, 'fixtures', 'refused.wasm');
    rmSync(outFile, { force: true });
    await assert.rejects(buildAssemblyScript(join(SDK_DIR, 'fixtures', 'type-error.ts'), outFile),
      (error: unknown) => error instanceof AssemblyScriptBuildError && /TS2322/.test(error.message));
    await assert.rejects(buildAssemblyScript(join(SDK_DIR, 'fixtures', 'env-import.ts'), outFile, { optimizeLevel: 0 }),
      (error: unknown) => error instanceof AssemblyScriptBuildError && /not runnable in an isolate: env\.host_log/.test(error.message));
    assert.throws(() => readFileSync(outFile), { code: 'ENOENT' });
  });
});

describe('linear-regression (AssemblyScript)', () => {
  const INPUT = '/input/linear-regression.dat';
  const OUTPUT = '/output/linear-regression.dat';

  it('fits the least-squares line of generated points', async () => {
    const files = generateLinearRegression({ seed: 11, size: 5000 });
    const result = await run('linear-regression', files);
    assert.equal(result.exitCode, 0, result.describe());
    const [gradient, intercept] = decodeF64(result.read(OUTPUT));
    const expected = linearRegression(decodeF64(files[INPUT]!));
    assert.ok(Math.abs(gradient! - expected.gradient) <= 1e-9 * Math.max(1, Math.abs(expected.gradient)), `gradient ${gradient} vs ${expected.gradient}`);
    assert.ok(Math.abs(intercept! - expected.intercept) <= 1e-9 * Math.max(1, Math.abs(expected.intercept)), `intercept ${intercept} vs ${expected.intercept}`);
  });

  it('fits two points exactly', async () => {
    const result = await run('linear-regression', { [INPUT]: encodeF64([1, 3, 3, 7]) });
    assert.equal(result.exitCode, 0, result.describe());
    assert.deepEqual([...decodeF64(result.read(OUTPUT))], [2, 1]);
  });

  it('exits 2 without its input and 3 on malformed input, as the C program, writing nothing', async () => {
    const missing = await run('linear-regression');
    assert.equal(missing.exitCode, 2, missing.describe());
    assert.equal(missing.stderr, 'error: cannot open /input/linear-regression.dat: NOENT\n');
    assert.equal(missing.exists(OUTPUT), false);
    for (const input of [encodeF64([1, 2, 3, 4]).subarray(0, 24), encodeF64([1, 2]), encodeF64([5, 1, 5, 2, 5, 3]), encodeF64([1, 2, Number.NaN, 3])]) {
      const result = await run('linear-regression', { [INPUT]: input });
      assert.equal(result.exitCode, 3, result.describe());
      assert.match(result.stderr, /^error: linear-regression\.dat: /);
      assert.equal(result.exists(OUTPUT), false);
    }
  });
});

describe('hash-and-sign (AssemblyScript)', () => {
  const ed25519 = (raw: Uint8Array) => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });

  it('writes the SHA-256 of its input, a new Ed25519 public key and the signature node:crypto verifies', async () => {
    const data = randomBytes(300_000);
    const first = await run('hash-and-sign', { '/input/data.bin': data });
    assert.equal(first.exitCode, 0, first.describe());
    const out = first.read('/output/hash-and-sign.dat');
    assert.equal(out.length, 128);
    const digest = out.subarray(0, 32);
    const publicKey = out.subarray(32, 64);
    const signature = out.subarray(64);
    assert.equal(Buffer.from(digest).toString('hex'), createHash('sha256').update(data).digest('hex'));
    assert.equal(verify(null, digest, ed25519(publicKey), signature), true);
    const tampered = Uint8Array.from(digest);
    tampered[0]! ^= 1;
    assert.equal(verify(null, tampered, ed25519(publicKey), signature), false);

    // Each run makes its own key.
    const second = await run('hash-and-sign', { '/input/data.bin': data });
    assert.equal(second.exitCode, 0, second.describe());
    assert.notDeepEqual(second.read('/output/hash-and-sign.dat').subarray(32, 64), publicKey);
  });

  it('exits 2 without its input', async () => {
    const result = await run('hash-and-sign');
    assert.equal(result.exitCode, 2, result.describe());
    assert.equal(result.stderr, 'error: cannot open /input/data.bin: NOENT\n');
    assert.equal(result.exists('/output/hash-and-sign.dat'), false);
  });
});

describe('the bindings', () => {
  it('answer every failure with the ABI errno, grow buffers after NOBUFS, and agree with node:crypto', async () => {
    const message = randomBytes(1000);
    const raw = randomBytes(300);
    const macKey = randomBytes(32);
    const ikm = randomBytes(32);
    const inputs = { '/input/message.bin': message, '/input/raw.bin': raw, '/input/mac-key.bin': macKey, '/input/ikm.bin': ikm };
    const result = await run('bindings', inputs, { args: ['crypto'] });
    assert.equal(result.exitCode, 0, result.describe());
    const hex = (data: Uint8Array) => Buffer.from(data).toString('hex');
    assert.deepEqual(linesOf(result, [
      'bad-handle', 'value-or', 'destroy', 'destroyed-destroy', 'destroyed-attributes', 'export-denied', 'export-raw', 'raw-attributes', 'raw-nobufs',
      'raw-needed', 'wrong-alg', 'sha256', 'sha512', 'hash-unknown', 'hmac', 'mac-verify', 'mac-tampered', 'hkdf', 'random-length',
      'sealed-length', 'aead-roundtrip', 'aead-tampered', 'aead-nonce', 'aead-usage', 'ecdsa-tampered', 'symmetric-public', 'x25519-agree', 'derive-key',
    ]), {
      'bad-handle': 'BADF',
      'value-or': Buffer.from('fallback').toString('hex'),
      destroy: 'SUCCESS',
      'destroyed-destroy': 'BADF',
      'destroyed-attributes': 'BADF',
      'export-denied': 'PERM',
      // 300 bytes: more than the binding's first buffer, so it asked again with the size the runtime gave.
      'export-raw': hex(raw),
      'raw-attributes': `${0x1001},${300 * 8},${0x1},0`,
      'raw-nobufs': 'NOBUFS',
      'raw-needed': '300',
      'wrong-alg': 'PERM',
      sha256: createHash('sha256').update(message).digest('hex'),
      sha512: createHash('sha512').update(message).digest('hex'),
      'hash-unknown': 'INVAL',
      hmac: createHmac('sha256', macKey).update(message).digest('hex'),
      'mac-verify': 'SUCCESS',
      'mac-tampered': 'BADMSG',
      hkdf: hex(new Uint8Array(hkdfSync('sha256', ikm, 'salt', 'info', 42))),
      'random-length': '48',
      'sealed-length': String(message.length + 16),
      'aead-roundtrip': 'same',
      'aead-tampered': 'BADMSG',
      'aead-nonce': 'INVAL',
      'aead-usage': 'PERM',
      'ecdsa-tampered': 'BADMSG',
      'symmetric-public': 'INVAL',
      'x25519-agree': 'same',
      'derive-key': 'same',
    });
    const publicKey = Buffer.from(result.lines.get('ecdsa-public')!, 'hex');
    assert.equal(publicKey.length, 65);
    const p256 = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: publicKey.subarray(1, 33).toString('base64url'), y: publicKey.subarray(33).toString('base64url') }, format: 'jwk',
    });
    const signature = Buffer.from(result.lines.get('ecdsa-signature')!, 'hex');
    assert.equal(verify('sha256', message, { key: p256, dsaEncoding: 'ieee-p1363' }, signature), true);
  });

  it('read, write and append files through the pre-opens, and say why they failed', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    const result = await run('bindings', { '/input/message.bin': new Uint8Array(1), '/input/big.bin': big }, { args: ['files'] });
    assert.equal(result.exitCode, 0, result.describe());
    assert.deepEqual(linesOf(result, [
      'missing', 'missing-errno', 'exists-input', 'exists-missing', 'write-denied', 'write-outside', 'write', 'append', 'append-new', 'write-text',
      'read-back', 'big',
    ]), {
      missing: 'null',
      'missing-errno': 'NOENT',
      'exists-input': 'yes',
      'exists-missing': 'no',
      'write-denied': 'NOTCAPABLE',
      'write-outside': 'NOTCAPABLE',
      write: 'SUCCESS',
      append: 'SUCCESS',
      'append-new': 'SUCCESS',
      'write-text': 'SUCCESS',
      'read-back': 'first|second|',
      big: `${big.length} ${createHash('sha256').update(big).digest('hex')}`,
    });
    assert.equal(new TextDecoder().decode(result.read('/output/deep/dir/file.txt')), 'first\nsecond\n');
    assert.equal(new TextDecoder().decode(result.read('/output/appended.txt')), 'only\n');
    assert.equal(new TextDecoder().decode(result.read('/output/text.txt')), 'héllo ✓');
    assert.equal(result.exists('/input/new.bin'), false);
  });

  it('end the program with the call and errno when a failed result is read as a value', async () => {
    const result = await run('bindings', {}, { args: ['unwrap'] });
    assert.equal(result.exitCode, 1, result.describe());
    assert.equal(result.stdout, 'before\n');
    assert.equal(result.stderr, 'error: sign_message: BADF\n');
  });

  describe('veracruz_v1', () => {
    const PROGRAM = '/program/bindings.wasm';
    let policyText: string;
    let signer: ResultSigner;

    // Twenty-one principals after the program's owner (0): 1 to 20 read /output/ (more than the binding's first guess of
    // 16 subjects), 2 also writes there, 21 only uploads. One program, this one. The policy text is longer than the
    // binding's first 4096-byte guess.
    before(async () => {
      const pki = await createTestPki();
      const principals = await Promise.all([
        createTestPrincipal('owner', [{ file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE }]),
        ...Array.from({ length: 21 }, (_, index) => {
          const id = index + 1;
          const output: FileRights[] = id === 21 ? [] : [{ file_name: '/output/', rights: id === 2 ? RIGHTS_READ | RIGHTS_WRITE : RIGHTS_READ }];
          return createTestPrincipal(`principal-${id}`, [{ file_name: '/input/', rights: RIGHTS_WRITE }, ...output]);
        }),
      ]);
      policyText = testPolicyText({
        principals, pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash,
        programs: [{ path: PROGRAM, binary: modules.get('bindings')!, rights: [...PROGRAM_RIGHTS] }],
      });
      // The isolate's attested key, certified for this policy (its hash is the same for every parse of the text).
      signer = await testSigner(pki, await parsePolicy(policyText));
    });

    // A new computation of the policy: narrowing replaces entries of its own file_rights arrays, which the program runs with.
    async function computation(withSigner: boolean): Promise<{ abi: ProgramAbi; rights: RightsInForce; programRights: FileRights[] }> {
      const policy = await parsePolicy(policyText);
      const abi = testProgramAbi(policy, PROGRAM, withSigner ? signer : undefined);
      const { rights } = abi;
      assert.ok(abi.policyText.length > 4096);
      return { abi, rights, programRights: policy.programs[0]!.file_rights };
    }

    it('show the policy and the rights in force, narrow them, and sign a result', async () => {
      const { abi, rights, programRights } = await computation(true);
      const vfs = new VirtualFileSystem();
      vfs.view(EVERYTHING).writeFile('/secret/data.bin', new Uint8Array([1, 2, 3]));
      const result = await run('bindings', {}, { args: ['policy'], abi, vfs, rights: programRights });
      assert.equal(result.exitCode, 0, result.describe());
      assert.deepEqual(linesOf(result, [
        'policy-length', 'policy-hash', 'policy-hash-matches', 'subjects', 'readers', 'program-subject', 'rights-1', 'rights-program', 'rights-nobody',
        'narrow-widen', 'narrow',
        'rights-2-after', 'narrow-nobody', 'write-result', 'sign-result', 'sign-unreadable',
      ]), {
        'policy-length': String(abi.policyText.length),
        'policy-hash': Buffer.from(abi.policyHash).toString('hex'),
        'policy-hash-matches': 'yes',
        subjects: [...Array.from({ length: 22 }, (_, index) => index), PROGRAM_SUBJECT].join(','),
        readers: Array.from({ length: 20 }, (_, index) => index + 1).join(','),
        'program-subject': String(PROGRAM_SUBJECT + 3),
        'rights-1': String(RIGHTS_READ),
        'rights-program': String(RIGHTS_READ | RIGHTS_WRITE),
        'rights-nobody': 'NOENT',
        'narrow-widen': 'PERM',
        narrow: 'SUCCESS',
        'rights-2-after': '0',
        'narrow-nobody': 'NOENT',
        'write-result': 'SUCCESS',
        'sign-result': 'SUCCESS',
        'sign-unreadable': 'NOTCAPABLE',
      });
      // The narrowing holds after the run, recorded as the program's; principal 1 was left as it was.
      assert.equal(rights.rightsOf(2, '/output/result.dat'), 0);
      assert.equal(rights.rightsOf(1, '/output/result.dat'), RIGHTS_READ);
      assert.deepEqual(rights.narrowings.map(({ program, subject, path, before, after }) => ({ program, subject, path, before, after })), [
        { program: PROGRAM, subject: 2, path: '/output', before: RIGHTS_READ | RIGHTS_WRITE, after: 0 },
      ]);

      const envelope = JSON.parse(new TextDecoder().decode(result.read('/output/result.sig'))) as SignedResult;
      const data = result.read('/output/result.dat');
      assert.equal(new TextDecoder().decode(data), 'the result\n');
      assert.deepEqual([envelope.path, envelope.size, envelope.sha256, envelope.policy_hash, envelope.program, envelope.certificate],
        ['/output/result.dat', data.length, createHash('sha256').update(data).digest('hex'), Buffer.from(abi.policyHash).toString('hex'), abi.program,
          signer.certificatePem]);
      const isolateKey = new X509Certificate(signer.certificatePem).publicKey;
      const signature = Buffer.from(envelope.signature, 'base64');
      assert.equal(verify('sha256', signedResultStatement(envelope), isolateKey, signature), true);
      assert.equal(verify('sha256', signedResultStatement({ ...envelope, sha256: '00'.repeat(32) }), isolateKey, signature), false);
      assert.equal(result.exists('/output/secret.sig'), false);
    });

    it('answer NOTSUP outside a computation, which ends a program that reads the value', async () => {
      const result = await run('bindings', {}, { args: ['policy'] });
      assert.equal(result.exitCode, 1, result.describe());
      assert.equal(result.stdout, '');
      assert.equal(result.stderr, 'error: policy_get: NOTSUP\n');
    });
  });
});
