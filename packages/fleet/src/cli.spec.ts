import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
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

test('--help describes up and every option with its default; -V prints the version (through the bin)', async () => {
  const bin = (...args: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [BIN, ...args], (error, stdout) => resolve({ code: error === null ? 0 : Number(error.code), stdout }));
    });
  const help = await bin('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage:\n {2}vc-fleet up TOPOLOGY\.json \[--dir DIR\]/);
  for (const [flag, fallback] of [['--dir', './fleet'], ['--days', '30']] as const) {
    assert.match(help.stdout.replace(/\s+/g, ' '), new RegExp(`${flag} \\S+ .*?Default: ${fallback.replace('.', '\\.')}\\.`), `${flag} states its default`);
  }
  for (const flag of ['--runtime', '--no-provision', '--version']) assert.ok(help.stdout.includes(flag), flag);
  const { version } = JSON.parse(await readFile(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string };
  assert.deepEqual(await bin('-V'), { code: 0, stdout: `vc-fleet ${version}\n` });
});

test('usage errors: one line, exit status 2', async () => {
  const cases: [string[], string][] = [
    [[], 'vc-fleet: nothing to do (see vc-fleet --help)\n'],
    [['down'], 'vc-fleet: unknown command "down" (expected up) (see vc-fleet --help)\n'],
    [['up'], 'vc-fleet: up takes exactly one topology file (see vc-fleet --help)\n'],
    [['up', 'a.json', 'b.json'], 'vc-fleet: up takes exactly one topology file (see vc-fleet --help)\n'],
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

test('up: one readiness line once every isolate is attested, fleet.json beside the policies, and all stopped on SIGTERM', async () => {
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
  const child = spawn(process.execPath, [BIN, 'up', topologyFile, '--dir', dir, '--runtime', runtime], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve();
    });
  });
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  await Promise.race([ready, exited.then(() => assert.fail(`vc-fleet ended before it was ready:\n${stderr}`))]);
  const manifest = JSON.parse(await readFile(join(dir, 'fleet.json'), 'utf8')) as {
    pas: { url: string; ca_certificate: string };
    isolates: Record<string, { address: string; policy: string; policy_hash: string; identity_hash: string }>;
    parties: Record<string, { certificate: string; key?: string }>;
  };
  const { first, second } = manifest.isolates as Record<'first' | 'second', { address: string; policy: string; policy_hash: string; identity_hash: string }>;
  assert.equal(stdout, `Veracruz fleet running: first on ${first.address}, second on ${second.address}; see ${join(dir, 'fleet.json')}\n`);
  assert.equal(first.policy, join(dir, 'policies', 'first.json'));
  assert.match(await readFile(second.policy, 'utf8'), new RegExp(`"policy_hash": "${first.identity_hash}"`));
  assert.match(await readFile(first.policy, 'utf8'), new RegExp(`"policy_hash": "${second.policy_hash}"`));
  assert.deepEqual(manifest.parties['alice'], { certificate: join(dir, 'parties', 'alice.pem'), key: join(dir, 'parties', 'alice.key.pem') });
  assert.equal(manifest.pas.ca_certificate, join(dir, 'pas-ca.pem'));
  child.kill('SIGTERM');
  const [code, signal] = await exited;
  assert.deepEqual([code, signal], [0, null], stderr);
  assert.match(stderr, /\[first\] ended \(0\)/);
  assert.match(stderr, /\[second\] ended \(0\)/);
});
