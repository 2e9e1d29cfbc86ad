// Veracruz's test matrix (server_test.rs, integration_test.rs) and more, end to end: real vc-pas,
// vc-server on the linux platform, the runtime bundle in its own process, and the SDK. One PAS and
// one computation serve the whole file; every test uses its own programs and paths.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { linearRegression } from '../../examples/reference/linear-regression.ts';
import { damerauLevenshtein } from '../../examples/reference/damerau-levenshtein.ts';
import { intersectionSetSum } from '../../examples/reference/intersection-set-sum.ts';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { REPOSITORY_ROOT, type RunningServer } from '@veracruz-ts/server';
import { generateIntersectionSetSum } from '../../examples/generators/intersection-set-sum.ts';
import { generateLinearRegression } from '../../examples/generators/linear-regression.ts';
import {
  connect,
  e2ePolicy,
  exampleProgram,
  f64s,
  LOOP_PROGRAM,
  party,
  type Party,
  readF64,
  readU64,
  startComputation,
  startTestPas,
  type TestPas,
  TRAP_PROGRAM,
  rejectsWith,
  text,
} from './harness.ts';

const RW = RIGHTS_READ | RIGHTS_WRITE;
describe('multi-party computations through vc-server (linux isolate)', { timeout: 120_000 }, () => {
  let pas: TestPas;
  let server: RunningServer;
  let policy: string;
  let provider: Party;
  let dataOne: Party;
  let dataTwo: Party;
  let reader: Party;
  let solo: Party;
  const programs: Record<string, Uint8Array> = {};

  before(async () => {
    pas = await startTestPas();
    for (const name of ['linear-regression', 'intersection-set-sum', 'string-edit-distance', 'random-source',
      'number-stream-accumulation', 'random-u32-list', 'sort-numbers', 'aes-ctr', 'sha256', 'sort-integers']) {
      programs[name] = await exampleProgram(name);
    }
    programs['trap'] = TRAP_PROGRAM;
    programs['loop'] = LOOP_PROGRAM;
    // Split roles as in Veracruz's dual/triple/quadruple policies, plus a principal holding every role.
    provider = await party('program-provider', [{ file_name: '/program/', rights: RIGHTS_WRITE }]);
    dataOne = await party('data-one', [{ file_name: '/input/', rights: RIGHTS_WRITE }, { file_name: '/program/', rights: RIGHTS_EXECUTE }]);
    dataTwo = await party('data-two', [{ file_name: '/input/', rights: RIGHTS_WRITE }]);
    reader = await party('result-reader', [
      { file_name: '/output/', rights: RIGHTS_READ }, { file_name: '/program/', rights: RIGHTS_EXECUTE },
      { file_name: 'stdout', rights: RIGHTS_READ }, { file_name: 'stderr', rights: RIGHTS_READ },
    ]);
    solo = await party('solo', [
      { file_name: '/input/', rights: RIGHTS_WRITE }, { file_name: '/output/', rights: RIGHTS_READ },
      { file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE }, { file_name: 'stdin', rights: RIGHTS_WRITE },
      { file_name: 'stdout', rights: RIGHTS_READ }, { file_name: 'stderr', rights: RIGHTS_READ },
    ]);
    const programRights = [
      { file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RW },
      { file_name: 'stdout', rights: RIGHTS_WRITE }, { file_name: 'stderr', rights: RIGHTS_WRITE },
      { file_name: '/services/', rights: RW },
    ];
    policy = await e2ePolicy(pas, {
      parties: [provider, dataOne, dataTwo, reader, solo],
      programs: Object.entries(programs).map(([name, binary]) => ({
        path: `/program/${name}.wasm`, binary, rights: programRights,
        ...(name === 'loop' ? { limits: { timeout_ms: 500 } } : {}),
      })),
      pipelines: [{ name: 'sort', script: '/program/random-u32-list.wasm ; if /output/unsorted_numbers.txt { /program/sort-numbers.wasm ; }', rights: programRights }],
      nativeModules: [{ name: 'Counter mode AES Service', specialFile: '/services/aesctr.dat' }],
      fileHashes: [{ path: '/input/reference.dat', data: text('the agreed reference data') }],
    });
    server = await startComputation(policy, pas);
  });

  after(async () => {
    await server?.close();
    await pas?.close();
  });

  it('one client: uploads, executes and reads (random-source), and verifies the isolate first', async () => {
    const client = await connect(server, policy, solo);
    assert.equal(client.attestation.platform, 'linux');
    assert.equal(client.attestation.runtimeHash, server.measurement);
    await client.writeFile('/program/random-source.wasm', programs['random-source']!);
    assert.equal(await client.execute('/program/random-source.wasm'), 0);
    assert.equal((await client.readFile('/output/random.dat')).length, 32);
    await client.close();
  });

  it('two clients: one provides program and data and computes, the other reads (linear regression)', async () => {
    const files = generateLinearRegression({ seed: 7, size: 500 });
    const points = files['/input/linear-regression.dat']!;
    const [owner, result] = await Promise.all([connect(server, policy, provider), connect(server, policy, reader)]);
    const data = await connect(server, policy, dataOne);
    await owner.writeFile('/program/linear-regression.wasm', programs['linear-regression']!);
    await data.writeFile('/input/linear-regression.dat', points);
    assert.equal(await data.execute('/program/linear-regression.wasm'), 0);
    const output = await result.readFile('/output/linear-regression.dat');
    const expected = linearRegression(new Float64Array(points.buffer.slice(points.byteOffset, points.byteOffset + points.byteLength)));
    assert.ok(Math.abs(readF64(output, 0) - expected.gradient) < 1e-9);
    assert.ok(Math.abs(readF64(output, 8) - expected.intercept) < 1e-9);
    await Promise.all([owner.close(), result.close(), data.close()]);
  });

  it('three clients with parallel uploads: program, two data sets, the reader computes (intersection set sum)', async () => {
    const files = generateIntersectionSetSum({ seed: 3, size: 2000 });
    const viewers = files['/input/intersection-advertisement-viewer.dat']!;
    const customers = files['/input/intersection-customer.dat']!;
    const [owner, one, two, result] = await Promise.all([provider, dataOne, dataTwo, reader].map((who) => connect(server, policy, who)));
    await Promise.all([
      owner!.writeFile('/program/intersection-set-sum.wasm', programs['intersection-set-sum']!),
      one!.writeFile('/input/intersection-advertisement-viewer.dat', viewers),
      two!.writeFile('/input/intersection-customer.dat', customers),
    ]);
    assert.equal(await result!.execute('/program/intersection-set-sum.wasm'), 0);
    const sum = readF64(await result!.readFile('/output/intersection-set-sum.dat'));
    assert.ok(Math.abs(sum - intersectionSetSum(viewers, customers)) < 1e-6);
    await Promise.all([owner, one, two, result].map((client) => client!.close()));
  });

  it('four clients: program provider, two data providers and a result reader (string edit distance)', async () => {
    const [owner, one, two, result] = await Promise.all([provider, dataOne, dataTwo, reader].map((who) => connect(server, policy, who)));
    await owner!.writeFile('/program/string-edit-distance.wasm', programs['string-edit-distance']!);
    await one!.writeFile('/input/hello-world-1.dat', text('kitten sitting'));
    await two!.writeFile('/input/hello-world-2.dat', text('sitting kitten'));
    assert.equal(await result!.execute('/program/string-edit-distance.wasm'), 0);
    const distance = new TextDecoder().decode(await result!.readFile('/output/string-edit-distance.dat'));
    assert.equal(distance, `${damerauLevenshtein('kitten sitting', 'sitting kitten')}\n`);
    await Promise.all([owner, one, two, result].map((client) => client!.close()));
  });

  it('streams numbers in rounds: append, execute, read, again (number-stream accumulation)', async () => {
    const client = await connect(server, policy, solo);
    await client.writeFile('/program/number-stream-accumulation.wasm', programs['number-stream-accumulation']!);
    await client.writeFile('/input/number-stream-init.dat', f64s(100));
    let expectedSum = 100;
    for (let round = 1; round <= 4; round++) {
      const first = round * 1.5;
      const second = round * 10;
      await client.appendFile('/input/number-stream-1.dat', f64s(first));
      await client.appendFile('/input/number-stream-2.dat', f64s(second));
      assert.equal(await client.execute('/program/number-stream-accumulation.wasm'), 0);
      expectedSum = expectedSum + first + second;
      const state = await client.readFile('/output/accumulation.dat');
      assert.equal(readU64(state, 0), round);
      assert.equal(readF64(state, 8), expectedSum);
    }
    await client.close();
  });

  it('runs a pipeline by name and by index (random numbers, then sort them)', async () => {
    const client = await connect(server, policy, solo);
    await client.writeFile('/program/random-u32-list.wasm', programs['random-u32-list']!);
    await client.writeFile('/program/sort-numbers.wasm', programs['sort-numbers']!);
    assert.equal(await client.runPipeline('sort'), 0);
    assert.equal(await client.runPipeline('0'), 0);
    const sorted = new TextDecoder().decode(await client.readFile('/output/sorted_numbers.txt')).trim().split(',').map(Number);
    assert.equal(sorted.length, 32);
    assert.deepEqual(sorted, [...sorted].sort((a, b) => a - b));
    await client.close();
  });

  it('serves the AES counter-mode service to a program', async () => {
    const client = await connect(server, policy, solo);
    await client.writeFile('/program/aes-ctr.wasm', programs['aes-ctr']!);
    assert.equal(await client.execute('/program/aes-ctr.wasm'), 0);
    assert.equal(new TextDecoder().decode(await client.readFile('/output/aesctr_pass.txt')), 'pass\n');
    await client.close();
  });

  it('refuses to execute a program before it is uploaded, and a read without rights', async () => {
    const result = await connect(server, policy, reader);
    await assert.rejects(result.execute('/program/trap.wasm'), rejectsWith(Code.NotFound, /\/program\/trap\.wasm/));
    const two = await connect(server, policy, dataTwo);
    await assert.rejects(two.readFile('/output/random.dat'), rejectsWith(Code.PermissionDenied, /\/output\/random\.dat/));
    await assert.rejects(two.execute('/program/random-source.wasm'), rejectsWith(Code.PermissionDenied, /execute \/program\/random-source\.wasm/));
    await Promise.all([result.close(), two.close()]);
  });

  it('refuses bytes that do not match file_hashes, naming the path and not the data', async () => {
    const client = await connect(server, policy, solo);
    const error = await client.writeFile('/input/reference.dat', text('SECRET-MARKER tampered')).catch((reason: unknown) => reason);
    assert.ok(error instanceof VeracruzError && error.code === Code.PermissionDenied, String(error));
    assert.match(error.message, /\/input\/reference\.dat/);
    assert.doesNotMatch(error.message, /SECRET-MARKER/);
    await assert.rejects(client.writeFile('/program/linear-regression.wasm', programs['sort-numbers']!), rejectsWith(Code.PermissionDenied, /file_hashes/));
    await client.writeFile('/input/reference.dat', text('the agreed reference data'));
    await client.close();
  });

  it('a program that traps or hits its time limit fails alone; other parties carry on', async () => {
    const owner = await connect(server, policy, solo);
    const other = await connect(server, policy, reader);
    await owner.writeFile('/program/trap.wasm', programs['trap']!);
    await owner.writeFile('/program/loop.wasm', programs['loop']!);
    await assert.rejects(owner.execute('/program/trap.wasm'), rejectsWith(Code.ProgramFailed, /trap/));
    await assert.rejects(owner.execute('/program/loop.wasm'), rejectsWith(Code.LimitExceeded, /time/));
    // The same sessions, and the shared state, are intact.
    assert.equal((await other.readFile('/output/random.dat')).length, 32);
    assert.equal(await owner.execute('/program/random-source.wasm'), 0);
    await Promise.all([owner.close(), other.close()]);
  });

  it('streams files larger than one chunk up and down (sha256, sort-integers)', async () => {
    const client = await connect(server, policy, solo, { chunkBytes: 256 * 1024 });
    await client.writeFile('/program/sha256.wasm', programs['sha256']!);
    await client.writeFile('/program/sort-integers.wasm', programs['sort-integers']!);
    const data = new Uint8Array(5 * 1024 * 1024 + 17).map((_, index) => (index * 13 + (index >> 11)) & 0xff);
    const uploaded: number[] = [];
    await client.writeFileStream('/input/data.bin', [data.subarray(0, 1000), data.subarray(1000)], {
      onProgress: ({ bytes }) => uploaded.push(bytes),
    });
    assert.equal(uploaded.at(-1), data.length);
    assert.equal(await client.execute('/program/sha256.wasm'), 0);
    assert.equal(new TextDecoder().decode(await client.readFile('stdout')), `${createHash('sha256').update(data).digest('hex')}\n`);
    const integers = new Uint32Array(1024 * 1024).map((_, index) => (index * 2654435761) >>> 0);
    await client.writeFile('/input/ints.bin', new Uint8Array(integers.buffer));
    assert.equal(await client.execute('/program/sort-integers.wasm'), 0);
    const parts: Uint8Array[] = [];
    for await (const part of client.readFileStream('/output/sorted.bin')) parts.push(part);
    const sorted = Buffer.concat(parts);
    assert.ok(sorted.equals(Buffer.from(new Uint8Array(integers.slice().sort().buffer))));
    await client.close();
  });

  it('vc-client as a process: uploads from stdin, computes, writes the result to stdout; refuses a wrong runtime hash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vc-client-e2e-'));
    try {
      await writeFile(join(dir, 'policy.json'), policy);
      await writeFile(join(dir, 'solo.crt'), solo.certificatePem);
      await writeFile(join(dir, 'solo.key'), solo.privateKeyPem);
      // Asynchronously: vc-server runs in this process and must keep serving.
      const vcClient = async (args: string[], input = ''): Promise<{ status: number | null; stdout: Buffer; stderr: string }> => {
        const child = spawn(process.execPath, [join(REPOSITORY_ROOT, 'packages/client/bin/vc-client.ts'), ...args,
          '-i', join(dir, 'solo.crt'), '-k', join(dir, 'solo.key'), '--server', server.url], { cwd: REPOSITORY_ROOT });
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        child.stdout.on('data', (part: Buffer) => stdout.push(part));
        child.stderr.on('data', (part: Buffer) => stderr.push(part));
        child.stdin.end(input);
        const [status] = await once(child, 'close') as [number | null];
        return { status, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') };
      };
      const ok = await vcClient([join(dir, 'policy.json'), '-d', '/input/from-cli.dat=-', '-p', `/program/random-source.wasm=${join(dir, 'random-source.wasm')}`,
        '-c', '/program/random-source.wasm', '-r', '/output/random.dat=-', '-n'], 'data from stdin');
      assert.equal(ok.status, 1, 'the program file does not exist locally yet');
      assert.match(ok.stderr, /\[not_found\] cannot read .*random-source\.wasm/);
      await writeFile(join(dir, 'random-source.wasm'), programs['random-source']!);
      const run = await vcClient([join(dir, 'policy.json'), '-d', '/input/from-cli.dat=-', '-p', `/program/random-source.wasm=${join(dir, 'random-source.wasm')}`,
        '-c', '/program/random-source.wasm', '-r', '/output/random.dat=-', '-n'], 'data from stdin');
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.length, 32);
      assert.match(run.stderr, /isolate verified \(linux runtime [0-9a-f]{64}, policy hash matches\)/);
      assert.match(run.stderr, /Executed \/program\/random-source\.wasm: exit code 0/);
      await writeFile(join(dir, 'other.json'), policy.replace(server.measurement, '0'.repeat(64)));
      const refused = await vcClient([join(dir, 'other.json'), '-d', '/input/never.dat=-', '-n'], 'SECRET');
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /\[attestation_failed\] runtime hash [0-9a-f]{64} is not one the policy trusts/);
      assert.equal((await vcClient([join(dir, 'policy.json')])).status, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lets any party shut the computation down; the server then exits', async () => {
    const client = await connect(server, policy, dataTwo);
    await client.shutdown();
    await client.close();
    const exit = await server.exited;
    assert.equal(exit.code, 0, exit.reason);
  });
});
