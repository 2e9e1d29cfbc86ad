// Fleets on this host, measured against baselines taken in the same run (this machine is shared):
//   1. a computation of one isolate (regression-map uploaded by the fleet) from "submitted" to
//      "ready for its parties": assigned from a warm pool, against a cold start in the same fleet
//      (pool 0: a member started, attested, then assigned) and against a vc-server started with the
//      policy (one attestation, no pool) plus the same upload. Median of 5, alternating.
//   2. a member killed with SIGKILL (its isolate; then its host): time until the fleet has taken it
//      out ("detected": the host reports the isolate's exit, or the host's own exit is seen), and
//      until the pool is warm again ("replaced": a new member started and certified). Median of 3.
//   3. 20 computations submitted at once to a pool of 4 (at most 8 members alive): each, once ready,
//      has its party upload a shard of records, run the map, read the statistics and shut it down,
//      which ends its member (an isolate serves one policy in its life). All must complete, none be
//      lost; time to the last result, against the same 20 submitted one after another to the same
//      fleet (each once the one before completed).
//
//   node --no-liftoff --expose-gc packages/fleet/bench/pool.bench.ts
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VeracruzClient } from '@veracruz-ts/client';
import { buildRuntimeBundle, callJsonApi, REPOSITORY_ROOT, startServer } from '@veracruz-ts/server';
import { buildExamples } from '../../../examples/build.ts';
import { generatePatientRecords } from '../../../examples/generators/patient-records.ts';
import { ensureIdentity, provision } from '../src/fleet-setup.ts';
import { type ComputationStatus, type Controller, type FleetStatus, startController } from '../src/index.ts';

const WASM = join(REPOSITORY_ROOT, 'examples/build/wasm');
const MAP = '/program/map.wasm';
const RECORDS = '/input/records.csv';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(controller: Controller, condition: (status: FleetStatus) => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(5)) {
    if (condition(controller.reconciler.status())) return;
  }
  throw new Error(`timed out waiting for ${what}`);
}

const warmCount = (status: FleetStatus) => status.members.filter((member) => member.state === 'warm').length;

function mapperTopology(party: string): object {
  return {
    parties: [party],
    isolates: {
      solo: {
        programs: { [MAP]: join(WASM, 'regression-map.wasm') },
        program_rights: { [MAP]: '/input/:r,/output/:rw' },
        rights: { [party]: `${RECORDS}:w,${MAP}:x,/output/stats.dat:r` },
      },
    },
  };
}

let counter = 0;
async function submitted(controller: Controller, work: string, party = 'bench'): Promise<{ id: string; ready: ComputationStatus; ms: number }> {
  const id = `c${++counter}`;
  const started = performance.now();
  await callJsonApi(`${controller.url}/v1/computations`, { body: { id, topology: mapperTopology(party), baseDir: work }, token: controller.token });
  const ready = await controller.reconciler.settled(id);
  if (ready.state !== 'ready') throw new Error(`${id} ${ready.state}: ${ready.reason}`);
  return { id, ready, ms: performance.now() - started };
}

/** The party's job on a ready computation: upload, map, read the statistics, shut it down. */
async function partyJob(computation: ComputationStatus, shard: Uint8Array): Promise<bigint> {
  const isolate = computation.isolates[0]!;
  const files = Object.values(computation.parties!)[0]!;
  const client = await VeracruzClient.connect({
    policy: await readFile(isolate.policyPath!, 'utf8'), certificatePem: await readFile(files.certificate, 'utf8'), privateKeyPem: await readFile(files.key!, 'utf8'), address: isolate.address!,
  });
  try {
    await client.writeFile(RECORDS, shard);
    if (await client.execute(MAP) !== 0) throw new Error('the map failed');
    const stats = await client.readFile('/output/stats.dat');
    const rows = new DataView(stats.buffer, stats.byteOffset).getBigUint64(8, true);
    await client.shutdown();
    return rows;
  } finally {
    await client.close().catch(() => {});
  }
}

const buildsReady = buildExamples();
const work = await mkdtemp(join(tmpdir(), 'vc-bench-pool-'));
const runtimePath = join(work, 'veracruz-runtime.mjs');
await copyFile((await buildRuntimeBundle()).path, runtimePath);
await buildsReady;
if (!existsSync(join(WASM, 'regression-map.wasm'))) throw new Error('regression-map.wasm is not built');
const rows: string[][] = [];
/** Every controller started, closed at the end whatever happens (close is idempotent). */
const opened: Controller[] = [];
const startedController = async (options: Parameters<typeof startController>[0]): Promise<Controller> => {
  const controller = await startController(options);
  opened.push(controller);
  return controller;
};

try {
  // 1. Warm vs cold. Two fleets side by side, measured alternately.
  const warmFleet = await startedController({ dir: join(work, 'warm'), pool: 2, memoryMib: 256, runtimePath, log: () => {} });
  const coldFleet = await startedController({ dir: join(work, 'cold'), pool: 0, memoryMib: 256, runtimePath, log: () => {} });
  const direct = { pas: warmFleet.reconciler.status().pas.url };
  const warmTimes: number[] = [];
  const coldTimes: number[] = [];
  const directTimes: number[] = [];
  const provisioner = await ensureIdentity(join(work, 'warm', 'host'), 'provisioner');
  const program = new Uint8Array(await readFile(join(WASM, 'regression-map.wasm')));
  for (let round = 0; round < 5; round++) {
    await until(warmFleet, (status) => warmCount(status) === 2 && status.pool.starting === 0, 'a warm pool of 2');
    await sleep(200);
    warmTimes.push((await submitted(warmFleet, work)).ms);
    coldTimes.push((await submitted(coldFleet, work)).ms);
    // Without a pool: a vc-server started with the (same shape of) policy the warm fleet just made.
    const template = await submitted(warmFleet, work);
    const policyText = await readFile(template.ready.isolates[0]!.policyPath!, 'utf8');
    await warmFleet.reconciler.cancel(template.id);
    const began = performance.now();
    const server = await startServer({ policyText, runtimePath, devKeyPath: join(work, 'warm', 'host', 'dev-key.pem'), pasUrl: direct.pas, listen: template.ready.isolates[0]!.address!, log: () => {} });
    try {
      await provision(server.url, policyText, provisioner, [{ path: MAP, bytes: program }]);
      directTimes.push(performance.now() - began);
    } finally {
      await server.close();
    }
  }
  const warm = median(warmTimes);
  rows.push(['submitted to ready, warm pool (1 isolate, program uploaded)', `${warm.toFixed(0)} ms`, '', '']);
  rows.push(['  vs cold start in the same fleet (pool 0)', `${warm.toFixed(0)} ms`, `${median(coldTimes).toFixed(0)} ms`, (warm / median(coldTimes)).toFixed(2)]);
  rows.push(['  vs vc-server started with the policy (no pool)', `${warm.toFixed(0)} ms`, `${median(directTimes).toFixed(0)} ms`, (warm / median(directTimes)).toFixed(2)]);
  await coldFleet.close();

  // 2. Detection and replacement of a killed member (the warm fleet, pool 2).
  for (const target of ['isolate', 'host'] as const) {
    const detected: number[] = [];
    const replaced: number[] = [];
    for (let round = 0; round < 3; round++) {
      await until(warmFleet, (status) => warmCount(status) === 2 && status.pool.starting === 0, 'a warm pool of 2');
      const victim = warmFleet.reconciler.status().members.find((member) => member.state === 'warm')!;
      const started = performance.now();
      process.kill(victim.pids![target], 'SIGKILL');
      await until(warmFleet, (status) => !status.members.some((member) => member.name === victim.name), 'the killed member taken out');
      detected.push(performance.now() - started);
      await until(warmFleet, (status) => warmCount(status) === 2, 'the pool warm again');
      replaced.push(performance.now() - started);
    }
    rows.push([`kill -9 of a warm member's ${target}: detected`, `${median(detected).toFixed(0)} ms`, '', '']);
    rows.push([`kill -9 of a warm member's ${target}: replaced (pool warm again)`, `${median(replaced).toFixed(0)} ms`, '', '']);
  }
  await warmFleet.close();

  // 3. 20 computations at once to a pool of 4.
  const burst = await startedController({ dir: join(work, 'burst'), pool: 4, maxMembers: 8, memoryMib: 256, runtimePath, log: () => {} });
  try {
    const shard = generatePatientRecords({ seed: 7, size: 2000 })[RECORDS]!;
    const settledPool = () => until(burst, (status) => warmCount(status) === 4 && status.members.length === 4, 'a warm pool of 4 and nothing else');
    await settledPool();
    const sequentialStarted = performance.now();
    for (let i = 0; i < 20; i++) await partyJob((await submitted(burst, work)).ready, shard);
    const sequential = performance.now() - sequentialStarted;
    await settledPool();
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 20 }, async () => partyJob((await submitted(burst, work)).ready, shard)));
    const last = performance.now() - started;
    await until(burst, (status) => status.computations.filter((computation) => computation.state === 'completed').length === 40, 'all completed');
    const status = burst.reconciler.status();
    const lost = status.computations.filter((computation) => computation.state === 'lost' || computation.state === 'failed').length;
    if (results.some((count) => count !== 2000n) || lost > 0) throw new Error(`20 at once: ${lost} lost or failed, rows ${results.join(',')}`);
    rows.push(['20 computations at once, pool 4 (max 8): time to last result', `${(last / 1000).toFixed(2)} s`, `${(sequential / 1000).toFixed(2)} s`, (last / sequential).toFixed(2)]);
    rows.push(['  (baseline: the same 20 one after another; 40 completed, 0 lost)', '', '', '']);
  } finally {
    await burst.close();
  }
} finally {
  await Promise.allSettled(opened.map((controller) => controller.close()));
  await rm(work, { recursive: true, force: true });
}

const widths = [0, 1, 2, 3].map((column) => Math.max(...[['figure', 'value', 'baseline', 'ratio'], ...rows].map((row) => row[column]!.length)));
for (const row of [['figure', 'value', 'baseline', 'ratio'], ...rows]) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
