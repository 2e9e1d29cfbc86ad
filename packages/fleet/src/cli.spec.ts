import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRuntimeBundle } from '@veracruz-ts/server';
import { main } from './cli.ts';
import { mapReduce } from './test-fixture.ts';

const BIN = fileURLToPath(new URL('../bin/vc-fleet.ts', import.meta.url));
const directory = await mkdtemp(join(tmpdir(), 'vc-fleet-cli-'));
test.after(() => rm(directory, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), stopRequested: Promise.resolve() });
  return { code, stdout, stderr };
}

test('--help describes every command and option with its default; -V prints the version (through the bin)', async () => {
  const bin = (...args: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [BIN, ...args], (error, stdout) => resolve({ code: error === null ? 0 : Number(error.code), stdout }));
    });
  const help = await bin('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage:\n {2}vc-fleet up \[TOPOLOGY\.json\] \[--dir DIR\]/);
  for (const command of ['status', 'submit TOPOLOGY.json', 'scale --pool N', 'cancel ID', 'down']) assert.ok(help.stdout.includes(`vc-fleet ${command}`), command);
  for (const [flag, fallback] of [['--dir', './fleet'], ['--days', '30'], ['--pool', '2, or 0 with a topology'], ['--memory-mib', '512']] as const) {
    assert.match(help.stdout.replace(/\s+/g, ' '), new RegExp(`${flag} \\S+ .*?Default: ${fallback.replace('.', '\\.')}\\.`), `${flag} states its default`);
  }
  for (const flag of ['--runtime', '--no-provision', '--version']) assert.ok(help.stdout.includes(flag), flag);
  const { version } = JSON.parse(await readFile(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string };
  assert.deepEqual(await bin('-V'), { code: 0, stdout: `vc-fleet ${version}\n` });
});

test('usage errors: one line, exit status 2', async () => {
  const cases: [string[], string][] = [
    [[], 'vc-fleet: nothing to do (see vc-fleet --help)\n'],
    [['start'], 'vc-fleet: unknown command "start" (expected up, status, submit, scale, cancel, down) (see vc-fleet --help)\n'],
    [['up', 'a.json', 'b.json'], 'vc-fleet: up takes at most one topology file (see vc-fleet --help)\n'],
    [['up', '--pool=-1'], 'vc-fleet: --pool: expected a whole number, got "-1" (see vc-fleet --help)\n'],
    [['up', '--pool', 'many'], 'vc-fleet: --pool: expected a whole number, got "many" (see vc-fleet --help)\n'],
    [['up', '--id', 'x'], "vc-fleet: --id names the topology's computation: give a topology (see vc-fleet --help)\n"],
    [['submit'], 'vc-fleet: submit takes exactly one topology file (see vc-fleet --help)\n'],
    [['scale'], 'vc-fleet: scale needs --pool N (see vc-fleet --help)\n'],
    [['cancel'], 'vc-fleet: cancel takes exactly one computation id (see vc-fleet --help)\n'],
    [['down', 'now'], 'vc-fleet: down takes no argument (see vc-fleet --help)\n'],
    [['up', 'a.json', '--bogus'], "vc-fleet: unknown option '--bogus' (see vc-fleet --help)\n"],
    [['up', 'a.json', '--dir'], "vc-fleet: option '--dir' needs a value (see vc-fleet --help)\n"],
    [['up', 'a.json', '--days', '0'], 'vc-fleet: --days: expected a positive integer, got "0" (see vc-fleet --help)\n'],
  ];
  for (const [argv, stderr] of cases) {
    const result = await run(...argv);
    assert.deepEqual(result, { code: 2, stdout: '', stderr }, argv.join(' '));
  }
});

test('a topology that cannot be read or is refused: exit status 1, the file and the field named, nothing started', async () => {
  const missing = await run('up', join(directory, 'nowhere.json'));
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, `vc-fleet: [not_found] ${join(directory, 'nowhere.json')}: no such file\n`);

  const topologyFile = join(directory, 'cycle.json');
  const topology = mapReduce() as { isolates: Record<string, Record<string, unknown>> };
  topology.isolates['reducer']!['sends'] = [{ file: '/output/model', to: 'mapper-1', path: '/input/model' }];
  await writeFile(topologyFile, JSON.stringify(topology));
  const cycle = await run('up', topologyFile, '--dir', join(directory, 'fleet'));
  assert.equal(cycle.code, 1);
  assert.match(cycle.stderr, new RegExp(`^vc-fleet: \\[invalid_policy\\] ${topologyFile.replace(/[.]/g, '\\.')}: isolates: the sends form a cycle, mapper-1 -> reducer -> mapper-1: `));
  assert.equal(existsSync(join(directory, 'fleet')), false, 'no fleet directory for a refused topology');
});

test('a missing program or runtime bundle is reported before anything starts', async () => {
  const topologyFile = join(directory, 'map-reduce.json');
  await writeFile(topologyFile, JSON.stringify(mapReduce()));
  const runtime = join(directory, 'runtime.mjs');
  await writeFile(runtime, 'isolate bundle');
  const noProgram = await run('up', topologyFile, '--dir', join(directory, 'fleet'), '--runtime', runtime);
  assert.equal(noProgram.code, 1);
  assert.equal(noProgram.stderr, `vc-fleet: [not_found] isolates.mapper-1.programs./program/map.wasm: ${join(directory, 'build', 'map.wasm')}: no such file\n`);
  const noRuntime = await run('up', topologyFile, '--dir', join(directory, 'fleet'), '--runtime', join(directory, 'nowhere.mjs'));
  assert.equal(noRuntime.code, 1);
  assert.equal(noRuntime.stderr, `vc-fleet: [not_found] the runtime bundle ${join(directory, 'nowhere.mjs')}: no such file (build it: npm run build:runtime)\n`);
  assert.equal(existsSync(join(directory, 'fleet')), false);
});

test('status, submit, scale, cancel and down without a controller: exit status 1, naming the directory', async () => {
  const dir = join(directory, 'no-fleet');
  const topologyFile = join(directory, 'lonely.json');
  await writeFile(topologyFile, JSON.stringify({ parties: ['alice'], isolates: { solo: { rights: { alice: '/output/:rw' } } } }));
  for (const argv of [['status'], ['submit', topologyFile], ['scale', '--pool', '1'], ['cancel', 'x'], ['down']]) {
    const result = await run(...argv, '--dir', dir);
    assert.deepEqual(result, { code: 1, stdout: '', stderr: `vc-fleet: [not_found] no fleet controller runs in ${dir} (start one: vc-fleet up --dir ${dir})\n` }, argv[0]);
  }
});

/** Runs the bin; resolves with its exit status and output. */
function bin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }));
  });
}

/** Starts `vc-fleet up ARGS` and waits for its readiness line. */
async function startUp(args: string[]): Promise<{ child: ChildProcess; line: string; stderr: () => string; exited: Promise<[number | null, string | null]> }> {
  const child = spawn(process.execPath, [BIN, 'up', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve();
    });
  });
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  await Promise.race([ready, exited.then(() => assert.fail(`vc-fleet ended before it was ready:\n${stderr}`))]);
  return { child, line: stdout, stderr: () => stderr, exited };
}

test('up TOPOLOGY: one readiness line once every isolate is attested, fleet.json beside the policies, and all stopped on SIGTERM', async () => {
  const runtime = join(directory, 'veracruz-runtime.mjs');
  await copyFile((await buildRuntimeBundle()).path, runtime);
  const topologyFile = join(directory, 'pair.json');
  await writeFile(topologyFile, JSON.stringify({
    parties: ['alice', 'bob'],
    isolates: {
      first: { rights: { alice: '/output/:rw' }, sends: [{ file: '/output/a', to: 'second', path: '/input/a' }] },
      second: { rights: { bob: '/input/:r' } },
    },
  }));
  const dir = join(directory, 'pair');
  const up = await startUp([topologyFile, '--dir', dir, '--runtime', runtime]);
  const manifest = JSON.parse(await readFile(join(dir, 'fleet.json'), 'utf8')) as {
    pas: { url: string; ca_certificate: string };
    isolates: Record<string, { address: string; policy: string; policy_hash: string; identity_hash: string }>;
    parties: Record<string, { certificate: string; key?: string }>;
  };
  const { first, second } = manifest.isolates as Record<'first' | 'second', { address: string; policy: string; policy_hash: string; identity_hash: string }>;
  assert.equal(up.line, `Veracruz fleet running: first on ${first.address}, second on ${second.address}; see ${join(dir, 'fleet.json')}\n`);
  assert.equal(first.policy, join(dir, 'computations', 'pair', 'first.policy.json'));
  assert.match(await readFile(second.policy, 'utf8'), new RegExp(`"policy_hash": "${first.identity_hash}"`));
  assert.match(await readFile(first.policy, 'utf8'), new RegExp(`"policy_hash": "${second.policy_hash}"`));
  assert.deepEqual(manifest.parties['alice'], { certificate: join(dir, 'parties', 'alice.pem'), key: join(dir, 'parties', 'alice.key.pem') });
  assert.equal(manifest.pas.ca_certificate, join(dir, 'pas-ca.pem'));
  const status = JSON.parse((await bin('status', '--dir', dir, '--json')).stdout) as { members: { pids: { host: number; isolate: number } }[] };
  assert.equal(status.members.length, 2, 'a pool of 0: one member per isolate, started on demand');
  up.child.kill('SIGTERM');
  const [code, signal] = await up.exited;
  assert.deepEqual([code, signal], [0, null], up.stderr());
  for (const { pids } of status.members) {
    for (const pid of [pids.host, pids.isolate]) assert.throws(() => process.kill(pid, 0), `process ${pid} is gone`);
  }
  assert.equal(existsSync(join(dir, 'controller.json')), false, 'controller.json goes with the controller');
});

test('a running fleet: status, submit --wait, scale, cancel and down from the command line', async () => {
  const runtime = join(directory, 'veracruz-runtime.mjs');
  await copyFile((await buildRuntimeBundle()).path, runtime);
  const topologyFile = join(directory, 'solo.json');
  await writeFile(topologyFile, JSON.stringify({ parties: ['alice'], isolates: { solo: { rights: { alice: '/output/:rw' } } } }));
  const dir = join(directory, 'running');
  const up = await startUp(['--dir', dir, '--runtime', runtime, '--pool', '1', '--max-members', '4']);
  try {
    assert.match(up.line, new RegExp(`^Veracruz fleet controller on http://127\\.0\\.0\\.1:\\d+ \\(pool 1\\); see ${join(dir, 'controller.json').replace(/[.]/g, '\\.')}\n$`));
    const submitted = await bin('submit', topologyFile, '--dir', dir, '--wait', '--json');
    assert.equal(submitted.code, 0, submitted.stderr);
    const computation = JSON.parse(submitted.stdout) as { id: string; state: string; isolates: { address: string; policyPath: string }[] };
    assert.equal(computation.id, 'solo');
    assert.equal(computation.state, 'ready');
    assert.equal(computation.isolates[0]!.policyPath, join(dir, 'computations', 'solo', 'solo.policy.json'));
    const again = await bin('submit', topologyFile, '--dir', dir);
    assert.match(again.stdout, /^computation solo-2 (pending|assigning|ready)/, 'a taken id gets a suffix');
    const text = await bin('status', '--dir', dir);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^fleet \(local\), PAS http:\/\/127\.0\.0\.1:\d+: pool \d warm of 1/);
    assert.match(text.stdout, /\nMEMBER +STATE +COMPUTATION +ADDRESS +ATTESTED +UPTIME\n/);
    assert.match(text.stdout, new RegExp(`\\n\\S+ +serving +solo/solo +${computation.isolates[0]!.address.replace(/[.]/g, '\\.')} +\\d{4}-`));
    assert.match(text.stdout, /\nsolo +ready +solo@127\.0\.0\.1:\d+ +\d+ ms/);
    assert.deepEqual(await bin('scale', '--pool', '9', '--dir', dir), { code: 1, stdout: '', stderr: "vc-fleet: [invalid_request] pool 9 is more than the fleet's most members (4)\n" });
    const scaled = await bin('scale', '--pool', '2', '--dir', dir);
    assert.match(scaled.stdout, /^pool 2: \d warm, \d starting\n$/);
    const cancelled = await bin('cancel', 'solo', '--dir', dir);
    assert.match(cancelled.stdout, /^computation solo cancelled\n/);
    assert.match((await bin('cancel', 'nothing', '--dir', dir)).stderr, /^vc-fleet: \[not_found\] no computation nothing in this fleet\n$/);
    assert.deepEqual(await bin('down', '--dir', dir), { code: 0, stdout: `fleet ${dir} is stopping\n`, stderr: '' });
    const [code] = await up.exited;
    assert.equal(code, 0, up.stderr());
    assert.equal((await bin('status', '--dir', dir)).code, 1);
  } finally {
    up.child.kill('SIGKILL');
  }
});
