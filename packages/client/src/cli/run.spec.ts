import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Duplex, PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import {
  createTestPki,
  createTestPrincipal,
  EXIT_7_PROGRAM,
  type InProcessComputation,
  relayOverTcp,
  startInProcess,
  type TestPki,
  testPolicyText,
} from '@veracruz-ts/runtime/testing';
import { ANALYST_RIGHTS, gatedCountProgram, startStreamComputation, type StreamComputation } from '../test-fixture.ts';
import { parseClientArguments } from './arguments.ts';
import { type ClientReport, runClient } from './run.ts';

function capture(extra: { isTTY?: boolean; columns?: number } = {}): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), extra);
  const parts: Buffer[] = [];
  stream.on('data', (part: Buffer) => parts.push(part));
  return { stream, text: () => Buffer.concat(parts).toString('utf8') };
}

describe('vc-client against an in-process computation', () => {
  let dir: string;
  let pki: TestPki;
  let computation: InProcessComputation;
  /** A second computation with a program, for executions and for being shut down. */
  let withProgram: InProcessComputation;

  const run = async (args: string[], stdin = '', options: { identity?: string; transport?: () => Duplex; policy?: string; stderr?: ReturnType<typeof capture> } = {}): Promise<{ code: number; stdout: string; stderr: string }> => {
    const identity = options.identity ?? 'me';
    const plan = parseClientArguments([join(dir, options.policy ?? 'policy.json'), '-i', join(dir, `${identity}.crt`), '-k', join(dir, `${identity}.key`), ...args]);
    assert.ok(typeof plan === 'object');
    const stdout = capture();
    const stderr = options.stderr ?? capture();
    const code = await runClient(plan, {
      stdin: Readable.from([Buffer.from(stdin)]), stdout: stdout.stream, stderr: stderr.stream,
      transport: options.transport ?? (() => (options.policy === 'program-policy.json' ? withProgram : computation).openSession()),
    });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  };
  const runWithProgram = (args: string[], options: { identity?: string } = {}) => run(args, '', { ...options, policy: 'program-policy.json' });
  const temporaries = async (): Promise<string[]> => (await readdir(dir)).filter((name) => name.includes('.tmp-'));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vc-client-test-'));
    pki = await createTestPki();
    const me = await createTestPrincipal('me', [{ file_name: '/data/', rights: RIGHTS_READ | RIGHTS_WRITE }]);
    // Rights over the whole tree, to see where an upload without REMOTE= lands.
    const root = await createTestPrincipal('root', [{ file_name: '/', rights: RIGHTS_READ | RIGHTS_WRITE }]);
    const policy = testPolicyText({ principals: [me, root], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash });
    await writeFile(join(dir, 'policy.json'), policy);
    for (const principal of [me, root]) {
      await writeFile(join(dir, `${principal.name}.crt`), principal.certificatePem);
      await writeFile(join(dir, `${principal.name}.key`), principal.privateKeyPem);
    }
    const stranger = await createTestPrincipal('stranger', []);
    await writeFile(join(dir, 'stranger.crt'), stranger.certificatePem);
    await writeFile(join(dir, 'stranger.key'), stranger.privateKeyPem);
    await writeFile(join(dir, 'a.txt'), 'from a file');
    computation = await startInProcess(policy, pki);

    const owner = await createTestPrincipal('owner', [
      { file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE },
      { file_name: '/data/', rights: RIGHTS_READ | RIGHTS_WRITE },
      { file_name: '/output/', rights: RIGHTS_READ },
    ]);
    await writeFile(join(dir, 'owner.crt'), owner.certificatePem);
    await writeFile(join(dir, 'owner.key'), owner.privateKeyPem);
    await writeFile(join(dir, 'exit7.wasm'), EXIT_7_PROGRAM);
    const programPolicy = testPolicyText({
      principals: [owner], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash,
      programs: [{ path: '/program/exit7.wasm', binary: EXIT_7_PROGRAM, rights: [] }],
    });
    await writeFile(join(dir, 'program-policy.json'), programPolicy);
    withProgram = await startInProcess(programPolicy, pki);
  });
  after(async () => {
    await computation.close();
    await withProgram.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads from files and stdin, reads to stdout and files, keeping the computation with -n', async () => {
    const result = await run(['-d', `/data/a=${join(dir, 'a.txt')},/data/b=-`, '-r', '/data/a=-', '-r', `/data/b=${join(dir, 'b.out')}`, '-n'], 'from stdin');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'from a file');
    assert.equal(await readFile(join(dir, 'b.out'), 'utf8'), 'from stdin');
    assert.match(result.stderr, /Loaded policy .* [0-9a-f]{64}/);
    assert.match(result.stderr, /isolate verified \(linux runtime [0-9a-f]{64}, policy hash matches\)/);
    assert.match(result.stderr, /Uploaded data \/data\/b \(10 bytes from stdin\)/);
    assert.match(result.stderr, /Read \/data\/b into .*b\.out \(10 bytes\)/);
    assert.doesNotMatch(result.stderr, /shuts the computation down/, '-n: nothing to announce');
  });

  it('warns about a result it cannot read, goes on, and exits with 1', async () => {
    const result = await run(['-r', '/secret/x=-', '-r', '/data/a=-', '-n', '-q']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^\[warn\] \[permission_denied\] .*\/secret\/x/m);
    assert.equal(result.stdout, 'from a file');
  });

  it('leaves a local file untouched, and creates none, when the read is refused', async () => {
    await writeFile(join(dir, 'keep.txt'), 'precious');
    const result = await run(['-r', `/secret/x=${join(dir, 'keep.txt')}`, '-r', `/secret/y=${join(dir, 'new.txt')}`, '-n', '-q']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^\[warn\] \[permission_denied\] .*\/secret\/x/m);
    assert.equal(await readFile(join(dir, 'keep.txt'), 'utf8'), 'precious', 'not emptied');
    assert.equal(existsSync(join(dir, 'new.txt')), false, 'no empty file where none existed');
    assert.deepEqual(await temporaries(), []);
  });

  it('leaves a local file untouched, and no temporary file, when the connection breaks midway through a read', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    await writeFile(join(dir, 'big.bin'), big);
    assert.equal((await run(['-d', `/data/big=${join(dir, 'big.bin')}`, '-n', '-q'])).code, 0);
    await writeFile(join(dir, 'keep-big.bin'), 'the previous result');
    const relay = await relayOverTcp(computation, { afterBytes: 2 * 1024 * 1024 });
    let result;
    try {
      result = await run(['-r', `/data/big=${join(dir, 'keep-big.bin')}`, '-n'], '', {
        transport: () => connect(relay.port, '127.0.0.1'),
      });
    } finally {
      relay.server.close();
    }
    assert.equal(await readFile(join(dir, 'keep-big.bin'), 'utf8'), 'the previous result');
    assert.deepEqual(await temporaries(), []);
    // The session is gone: that ends the run (nothing more can be read, nor shut down).
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^vc-client: \[unavailable\] the connection to the isolate was lost mid-request \(read_file_range \/data\/big\)/m);
    // And when it does not break, the file is replaced whole.
    assert.equal((await run(['-r', `/data/big=${join(dir, 'keep-big.bin')}`, '-n', '-q'])).code, 0);
    assert.ok(big.equals(await readFile(join(dir, 'keep-big.bin'))));
  });

  it('uploads a file given without REMOTE= to the path as given, as Veracruz does', async () => {
    const local = join(dir, 'a.txt');
    const result = await run(['-d', local, '-r', `${local}=-`, '-n'], '', { identity: 'root' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'from a file');
    assert.match(result.stderr, new RegExp(`Uploaded data ${local.replace(/[.]/g, '\\.')} \\(11 bytes from ${local.replace(/[.]/g, '\\.')}\\)`));
  });

  it('uploads stdin with -d - to /-, as Veracruz does', async () => {
    const result = await run(['-d', '-', '-r', '/-=-', '-n'], 'piped', { identity: 'root' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'piped');
    assert.match(result.stderr, /Uploaded data \/- \(5 bytes from stdin\)/);
  });

  it('draws progress within a narrow terminal and leaves no trace of it', async () => {
    await writeFile(join(dir, 'nine.bin'), Buffer.alloc(9 * 1024 * 1024, 1));
    const terminal = capture({ isTTY: true, columns: 60 });
    const result = await run(['-d', `/data/nine=${join(dir, 'nine.bin')}`, '-r', `/data/nine=${join(dir, 'nine.out')}`, '-n'], '', { stderr: terminal });
    assert.equal(result.code, 0, result.stderr);
    const segments = result.stderr.split(/[\r\n]/);
    for (const segment of segments) assert.ok(segment.length <= 59 || !segment.includes('%'), `a bar wider than 59 columns: ${JSON.stringify(segment)}`);
    assert.ok(segments.some((segment) => /^upload \/data\/nine \[[#.]+\] +\d+% .*ETA /.test(segment)), result.stderr);
    assert.ok(segments.some((segment) => /^download \/data\/nine \[[#.]+\] +\d+% .*ETA /.test(segment)), result.stderr);
    // Each bar is blanked before the status line that follows it.
    assert.match(result.stderr, /\r +\rUploaded data \/data\/nine/);
    assert.match(result.stderr, /\r +\rRead \/data\/nine/);
    const plain = await run(['-r', `/data/nine=${join(dir, 'nine.out')}`, '-n']);
    assert.doesNotMatch(plain.stderr, /\r|%/, 'no bar when stderr is not a terminal');
  });

  it('exits 2 when there is nothing to do, and 1 with the code when a file is missing', async () => {
    assert.equal((await run([])).code, 2);
    const missing = await run(['-d', `/data/c=${join(dir, 'nope')}`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /vc-client: \[not_found\] cannot read .*nope: ENOENT/);
  });

  it('says plainly that the isolate does not know an identity whose certificate is not in the policy', async () => {
    const result = await run(['-r', '/data/a=-'], '', { identity: 'stranger' });
    assert.equal(result.code, 1);
    assert.match(result.stderr,
      /^vc-client: \[permission_denied\] the isolate does not know this identity: its certificate is not one of the policy's identities \(TLS alert certificate_unknown\)$/m);
  });

  it('says that the host reset the connection mid-request, and whose word that is', async () => {
    // A stand-in for vc-server that relays the handshake and the small requests of connect, then
    // resets at the upload (bigger than any of those), as vc-server does when the isolate dies.
    let cut = false;
    const host = createServer((socket) => {
      const isolate = computation.openSession();
      socket.on('error', () => {});
      isolate.on('data', (chunk: Buffer) => socket.write(chunk));
      socket.on('data', (chunk: Buffer) => {
        cut ||= chunk.length > 16 * 1024;
        if (!cut) isolate.write(chunk);
        else if (!socket.destroyed) socket.resetAndDestroy();
      });
    });
    host.listen(0, '127.0.0.1');
    await once(host, 'listening');
    try {
      const result = await run(['-d', '/data/z=-'], 'x'.repeat(256 * 1024), {
        transport: () => connect((host.address() as AddressInfo).port, '127.0.0.1'),
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr,
        /^vc-client: \[unavailable\] the connection to the isolate was lost mid-request \(write_file \/data\/z\): the host reset it, as vc-server does when the isolate has died \(this is the untrusted host's report, not the isolate's\)$/m);
    } finally {
      host.close();
    }
  });

  it('exits 0 whatever the program returned, saying how to get its code; --exit-code returns it, even with -q', async () => {
    const plain = await runWithProgram(['-p', `/program/exit7.wasm=${join(dir, 'exit7.wasm')}`, '-c', '/program/exit7.wasm'], { identity: 'owner' });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /Executed \/program\/exit7\.wasm: exit code 7 \(vc-client still exits 0; --exit-code makes it exit with this code\)/);
    const quiet = await runWithProgram(['-c', 'program/exit7.wasm', '--exit-code', '-q'], { identity: 'owner' });
    assert.deepEqual([quiet.code, quiet.stderr], [7, '']);
  });

  it('describes the whole run in one JSON document with --json', async () => {
    const result = await runWithProgram(['--json', '-q', '-d', `/data/x=${join(dir, 'a.txt')}`, '-c', '/program/exit7.wasm',
      '-r', `/output/none=${join(dir, 'none.out')}`, '-r', `/data/x=${join(dir, 'x.out')}`], { identity: 'owner' });
    assert.equal(result.code, 1, 'a result could not be read');
    const report = JSON.parse(result.stdout) as ClientReport;
    assert.equal(report.vcClient, '0.1.0');
    assert.match(report.policy.hash ?? '', /^[0-9a-f]{64}$/);
    assert.equal(report.attestation?.platform, 'linux');
    assert.equal(report.attestation?.runtimeHash, pki.runtimeHash);
    assert.equal(report.attestation?.policyHash, report.policy.hash);
    assert.match(report.attestation?.isolateCertificateSha256 ?? '', /^[0-9a-f]{64}$/);
    const unread = report.operations[2];
    assert.ok(unread?.operation === 'read' && unread.error !== undefined);
    assert.equal(unread.error.code, 'not_found');
    assert.match(unread.error.message, /\/output\/none/);
    assert.doesNotMatch(unread.error.message, /^\[/, 'the code is a field, not a prefix of the message');
    assert.deepEqual(report.operations, [
      { operation: 'upload', kind: 'data', remote: '/data/x', local: join(dir, 'a.txt'), status: 'ok', bytes: 11 },
      { operation: 'execute', remote: '/program/exit7.wasm', status: 'ok', exitCode: 7 },
      { operation: 'read', remote: '/output/none', local: join(dir, 'none.out'), status: 'failed', error: unread.error },
      { operation: 'read', remote: '/data/x', local: join(dir, 'x.out'), status: 'ok', bytes: 11 },
      {
        operation: 'shutdown', reason: 'after-results', status: 'skipped',
        note: 'not shutting the computation down: 1 result could not be read; run with -s to shut it down anyway',
      },
    ]);
    assert.equal(report.error, undefined);
    assert.equal(report.exitStatus, 1);
  });

  it('reports in JSON the error that ended the run, and the operations it left undone', async () => {
    const result = await run(['--json', '-q', '-d', `/data/c=${join(dir, 'nope')}`, '-s']);
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout) as ClientReport;
    assert.equal(report.error?.code, 'not_found');
    assert.match(report.error?.message ?? '', /^cannot read .*nope: ENOENT$/);
    assert.deepEqual(report.operations.map((operation) => [operation.operation, operation.status, operation.error?.code]),
      [['upload', 'failed', 'not_found'], ['shutdown', 'skipped', undefined]]);
    assert.equal(report.exitStatus, 1);
  });

  it('announces before anything happens that reading results shuts the computation down, then does', async () => {
    const result = await runWithProgram(['-r', `/data/x=${join(dir, 'x2.out')}`], { identity: 'owner' });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.match(lines[0]!, /^Note: after reading results, vc-client shuts the computation down for every party \(as Veracruz does\); pass -n\/--no-shutdown to keep it running$/);
    assert.equal(lines.at(-1), 'Requested shutdown');
    await withProgram.shutdown;
  });

  it('shuts the computation down with -s', async () => {
    const result = await run(['-s']);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /Note:/, 'a shutdown asked for needs no warning');
    await computation.shutdown;
  });
});

/** What one vc-client run printed, and its exit status. */
interface ClientRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs vc-client as `identity` (its certificate and key in `dir`, beside policy.json) against `setup`'s computation. */
async function runAgainst(setup: StreamComputation, dir: string, identity: string, args: string[], stdin = ''): Promise<ClientRun> {
  const plan = parseClientArguments([join(dir, 'policy.json'), '-i', join(dir, `${identity}.crt`), '-k', join(dir, `${identity}.key`), ...args]);
  assert.ok(typeof plan === 'object');
  const stdout = capture();
  const stderr = capture();
  const code = await runClient(plan, {
    stdin: Readable.from([Buffer.from(stdin)]), stdout: stdout.stream, stderr: stderr.stream, transport: () => setup.computation.openSession(),
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('vc-client with streams, against an in-process computation', { timeout: 60_000 }, () => {
  let dir: string;
  let setup: StreamComputation;

  const run = (identity: string, args: string[], stdin = ''): Promise<ClientRun> => runAgainst(setup, dir, identity, args, stdin);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vc-client-streams-'));
    setup = await startStreamComputation({
      principals: {
        sensor: [{ file_name: '/input/', rights: RIGHTS_WRITE }],
        reader: [{ file_name: '/input/', rights: RIGHTS_READ }],
      },
      streams: [{ path: '/input/from-file' }, { path: '/input/from-stdin' }, { path: '/input/partial' }],
    });
    await writeFile(join(dir, 'policy.json'), setup.policyText);
    for (const [name, principal] of Object.entries(setup.principals)) {
      await writeFile(join(dir, `${name}.crt`), principal.certificatePem);
      await writeFile(join(dir, `${name}.key`), principal.privateKeyPem);
    }
  });
  after(async () => {
    await setup.computation.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('feeds streams from a file and from stdin, closing each; a follower then gets all of it and ends', async () => {
    // Records of 8 bytes: "r:00000\n", "r:00001\n", ...
    const readings = Array.from({ length: 5000 }, (_, index) => `r:${String(index).padStart(5, '0')}\n`).join('');
    await writeFile(join(dir, 'readings.bin'), readings);
    const fed = await run('sensor', ['--feed', `/input/from-file=${join(dir, 'readings.bin')},/input/from-stdin=-`, '--record-bytes', '8'], 'sixteen bytes...');
    assert.equal(fed.code, 0, fed.stderr);
    assert.match(fed.stderr, /Fed stream \/input\/from-file \(40000 bytes from .*readings\.bin\) and closed it/);
    assert.match(fed.stderr, /Fed stream \/input\/from-stdin \(16 bytes from stdin\) and closed it/);
    // Each stream's only writer closed it, so following ends after its data.
    const followed = await run('reader', ['--follow', '/input/from-file']);
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(followed.stdout, readings);
    assert.match(followed.stderr, /Followed \/input\/from-file to stdout until it ended \(40000 bytes\)/);
    const both = await run('reader', ['--follow', 'input/from-stdin,/input/from-file', '-q']);
    assert.equal(both.code, 0, both.stderr);
    assert.equal(both.stderr, '');
    assert.equal(both.stdout, `sixteen bytes...${readings}`);
  });

  it('fails with the code: a feed of a path that is not a stream, a partial record, a follow without the read right', async () => {
    const plain = await run('sensor', ['--feed', '/input/plain=-'], 'x');
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /vc-client: \[invalid_request\] \/input\/plain is not a stream in the policy/);
    const partial = await run('sensor', ['--feed', '/input/partial=-', '--record-bytes', '8'], 'twelve bytes');
    assert.equal(partial.code, 1);
    assert.match(partial.stderr, /vc-client: \[invalid_request\] stream \/input\/partial: the data ended inside a record \(4 of 8 bytes\)/);
    const ended = await run('sensor', ['--feed', '/input/from-stdin=-'], 'late');
    assert.equal(ended.code, 1);
    assert.match(ended.stderr, /vc-client: \[invalid_request\] .*stream \/input\/from-stdin has ended/);
    const denied = await run('sensor', ['--follow', '/input/from-file']);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /vc-client: \[permission_denied\] .*\/input\/from-file/);
    assert.equal(denied.stdout, '');
  });
});

describe('vc-client feeding several streams, against an in-process computation', { timeout: 120_000 }, () => {
  const HEAD = 10;
  const DATA_BYTES = 3 * 1024 * 1024;
  let dir: string;
  let program: Uint8Array;
  let setup: StreamComputation;

  const feed = (args: string[], stdin: string): Promise<ClientRun> => runAgainst(setup, dir, 'sensor', args, stdin);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vc-client-feeds-'));
    program = await gatedCountProgram('/input/data', '/input/gate', HEAD, '/output/count');
    setup = await startStreamComputation({
      principals: { sensor: [{ file_name: '/input/', rights: RIGHTS_WRITE }], analyst: ANALYST_RIGHTS },
      // Appends to /input/data are held while more than 1 KiB of it waits unread by the program.
      streams: [{ path: '/input/data', max_buffered_bytes: 1024 }, { path: '/input/gate' }],
      programs: [{ path: '/program/gated.wasm', binary: program, limits: { timeout_ms: 15_000 } }],
    });
    await writeFile(join(dir, 'policy.json'), setup.policyText);
    await writeFile(join(dir, 'sensor.crt'), setup.principals['sensor']!.certificatePem);
    await writeFile(join(dir, 'sensor.key'), setup.principals['sensor']!.privateKeyPem);
  });
  after(async () => {
    await setup.computation.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('feeds each stream on a connection of its own, at once: a program reading the second before the rest of the first goes on', async () => {
    const analyst = await setup.connect('analyst');
    await analyst.writeFile('/program/gated.wasm', program);
    // The program reads the first bytes of /input/data, then /input/gate to its end, then the rest of /input/data.
    const executed = analyst.execute('/program/gated.wasm');
    executed.catch(() => {});
    // A session answers one request at a time: another one watches for the program's start.
    const watcher = await setup.connect('analyst');
    while (await watcher.fileSize('/output/count.started').then(() => false, () => true)) await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(join(dir, 'data.bin'), new Uint8Array(DATA_BYTES).fill(7));
    const started = performance.now();
    // Fed one after the other, /input/data would be held once the program waits at the gate, which would
    // then never come: the program would run into its time limit.
    const fed = await feed(['--feed', `/input/data=${join(dir, 'data.bin')},/input/gate=-`], 'go');
    assert.equal(fed.code, 0, fed.stderr);
    assert.match(fed.stderr, new RegExp(`Fed stream /input/data \\(${DATA_BYTES} bytes from .*data\\.bin\\) and closed it`));
    assert.match(fed.stderr, /Fed stream \/input\/gate \(2 bytes from stdin\) and closed it/);
    assert.equal(await executed, 0);
    assert.ok(performance.now() - started < 10_000, 'well before the program\'s time limit');
    assert.equal(Buffer.from(await watcher.readFile('/output/count')).toString(), String(DATA_BYTES));
    await Promise.all([analyst.close(), watcher.close()]);
  });

  it('stops the other feeds when one fails, without closing their streams, and reports each', async () => {
    const fed = await feed(['--feed', `/input/nothing=-,/input/data=${join(dir, 'data.bin')}`, '--json'], 'x');
    assert.equal(fed.code, 1);
    const report = JSON.parse(fed.stdout) as ClientReport;
    assert.deepEqual(report.operations.map((operation) => [operation.operation === 'feed' && operation.remote, operation.status, operation.error?.code]), [
      ['/input/nothing', 'failed', 'invalid_request'],
      ['/input/data', 'failed', 'invalid_request'],
    ]);
    assert.match(report.operations[0]!.error!.message, /^\/input\/nothing is not a stream in the policy/);
    assert.equal(report.operations[1]!.error!.message, 'stopped when the feed of /input/nothing failed; /input/data was not closed');
    assert.match(fed.stderr, /vc-client: \[invalid_request\] \/input\/nothing is not a stream in the policy/);
  });
});
