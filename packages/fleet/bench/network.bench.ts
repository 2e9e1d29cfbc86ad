// Networks of isolates, measured against baselines taken in the same run (this machine is shared):
//   1. isolate to isolate: a sender isolate's dataflow pushes an N MiB file (/input/blob, written there
//      by a client; any successful run, here random-source's, triggers the push) to a receiver isolate.
//      Timed from the run's answer to the sender's vc-server log line "dataflow: delivered ... (N bytes",
//      which the sender writes once the receiver has answered the whole-file write (it answers once the
//      file is stored): the arrival itself, with no polling interval. The push starts as the answer
//      leaves the isolate, so this leaves out at most that answer's trip. Baseline: a client (in
//      this process) writing the same bytes to the receiver with writeFile. Median of 3 each. Also
//      shown: a 1 KiB push, what each push costs besides its bytes. N is at most 63 (a push is one
//      message); both isolates' budget is 4 N MiB, at least 256 (the sender holds the file, a copy
//      and the request).
//   2. map-reduce of patient records (regression-map on 4 shards, regression-reduce on the partials),
//      end to end: the parties connect and provision the shards through the SDK, the maps run in
//      parallel and push their partials, the reducer runs (requested first: it waits for them) and its
//      coefficients are read. A fleet of 4 mappers + 1 reducer, against (a) one isolate doing the whole
//      job (the shards concatenated into one records.csv, the map, its partial copied by the client to
//      /input/stats/all, the reduce) and (b) the same C programs built natively, in the clear, the 4
//      maps in parallel then the reduce. All three must give the same coefficients (relative 1e-9).
//      Every isolate has the default budget (256 MiB) and vc-server's default sealed storage.
//   3. bringing 5 isolates (the map-reduce fleet) to ready, startFleet until it returns (PAS, identities,
//      policies, vc-servers, programs uploaded; a fresh fleet directory each time), against a fleet of
//      one isolate. Median of 3, alternating.
// Every isolate runs on the linux platform with this host's development key, as vc-fleet runs them.
//
//   node --no-liftoff --expose-gc packages/fleet/bench/network.bench.ts      # 48 MiB pushed, 1 GiB of records
//   BENCH_NETWORK_TRANSFER_MIB=16 BENCH_NETWORK_MAPREDUCE_MIB=64 node --no-liftoff --expose-gc ...   # smaller
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VeracruzClient } from '@veracruz-ts/client';
import { buildRuntimeBundle, countBufferMemoryInHeapLimit, REPOSITORY_ROOT, type RunningServer } from '@veracruz-ts/server';
import { buildExamples, nativePath } from '../../../examples/build.ts';
import { PATIENT_COLUMNS, writePatientRecordsShard } from '../../../examples/generators/patient-records.ts';
import { type Fleet, parseTopology, startFleet } from '../src/index.ts';

const MIB = 1024 * 1024;
const CHUNK = MIB;
const ROUNDS = 3;
const SHARDS = 4;
const MAP = '/program/map.wasm';
const REDUCE = '/program/reduce.wasm';
const PROGRAM_CAPABILITY = '/input/:r,/output/:rw';
/** The reducer's wait for the partials: far longer than any map here. */
const AWAIT_DEADLINE_MS = 3_600_000;
/** How close the three computations' coefficients must be. */
const RELATIVE_TOLERANCE = 1e-9;
/** A pushed file travels in one message (the protocol's default bound: 64 MiB), with room for the request around it. */
const MAX_TRANSFER_MIB = 63;
/** A push this small measures what every push costs besides its bytes. */
const SMALL_PUSH_BYTES = 1024;

type RunningFleet = Fleet<RunningServer>;

/** The coefficients a regression-reduce wrote (/output/coefficients.dat). */
interface Coefficients {
  rows: bigint;
  partials: number;
  values: number[];
}

/** One map-reduce, its phases in seconds from its start. */
interface MapReduceRun {
  total: number;
  phases: { name: string; at: number }[];
  coefficients: Coefficients;
}

function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** A size in MiB from the environment: a whole number from `min` to `max`, or `fallback` when unset. */
function mibSetting(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number of MiB from ${min} to ${max}, got ${JSON.stringify(process.env[name])}`);
  }
  return value;
}

function wasmProgram(name: string): string {
  const path = join(REPOSITORY_ROOT, 'examples/build/wasm', `${name}.wasm`);
  if (!existsSync(path)) {
    const built = spawnSync(process.execPath, ['examples/build.ts'], { cwd: REPOSITORY_ROOT, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`building the examples failed: ${built.stderr}`);
  }
  return path;
}

function parseCoefficients(data: Uint8Array, what: string): Coefficients {
  if (data.length < 12 || (data.length - 12) % 8 !== 0) throw new Error(`${what}: coefficients.dat has ${data.length} bytes, not 12 + 8 per coefficient`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const values: number[] = [];
  for (let offset = 12; offset < data.length; offset += 8) values.push(view.getFloat64(offset, true));
  return { rows: view.getBigUint64(0, true), partials: view.getUint32(8, true), values };
}

/** The largest relative difference between two sets of coefficients; throws if they differ in shape or rows. */
function compareCoefficients(a: Coefficients, b: Coefficients, what: string): number {
  if (a.rows !== b.rows || a.values.length !== b.values.length) {
    throw new Error(`${what}: ${a.rows} rows and ${a.values.length} coefficients against ${b.rows} rows and ${b.values.length} coefficients`);
  }
  let worst = 0;
  a.values.forEach((value, index) => {
    const other = b.values[index]!;
    const scale = Math.max(Math.abs(value), Math.abs(other));
    worst = Math.max(worst, scale === 0 ? 0 : Math.abs(value - other) / scale);
  });
  if (worst > RELATIVE_TOLERANCE) throw new Error(`${what}: coefficients differ by ${worst.toExponential(2)} (relative), more than ${RELATIVE_TOLERANCE}: ${a.values.join(', ')} against ${b.values.join(', ')}`);
  return worst;
}

/**
 * The fleets' diagnostics: kept for a failure's message, and watched for the dataflow's delivery lines.
 * One instance per fleet.
 */
class FleetLog {
  readonly lines: string[] = [];
  readonly #watchers = new Set<(line: string) => void>();

  readonly log = (line: string): void => {
    this.lines.push(line);
    for (const watcher of this.#watchers) watcher(line);
  };

  /**
   * Resolves at the next line of isolate `name` saying `file` was delivered, with its byte count and
   * the time it arrived here; rejects on a line saying its delivery was given up.
   */
  delivered(name: string, file: string): Promise<{ at: number; bytes: number; attempt: number }> {
    const prefix = `[${name}] `;
    return new Promise((resolve, reject) => {
      const watcher = (line: string): void => {
        if (!line.startsWith(prefix)) return;
        const done = /dataflow: delivered (\S+) to .*\((\d+) bytes, attempt (\d+)\)/.exec(line);
        if (done?.[1] === file) {
          this.#watchers.delete(watcher);
          resolve({ at: performance.now(), bytes: Number(done[2]), attempt: Number(done[3]) });
        } else if (line.includes(`dataflow: ${file} `) && /giving up|not sent/.test(line)) {
          this.#watchers.delete(watcher);
          reject(new Error(`the push of ${file} failed: ${line}`));
        }
      };
      this.#watchers.add(watcher);
    });
  }

  tail(count = 40): string {
    return this.lines.slice(-count).join('\n');
  }
}

/** What every fleet of this run shares. */
interface Setup {
  work: string;
  runtimePath: string;
  programs: { map: string; reduce: string; randomSource: string };
}

/** A fleet from `topology` in a fresh directory under the work directory. */
async function fleetOf(setup: Setup, name: string, topology: Record<string, unknown>, fleetLog: FleetLog): Promise<RunningFleet> {
  const dir = await mkdtemp(join(setup.work, `${name}-`));
  try {
    return await startFleet(parseTopology(JSON.stringify(topology)), { dir, runtimePath: setup.runtimePath, log: fleetLog.log });
  } catch (reason) {
    console.error(`the fleet ${name} did not start; its log:\n${fleetLog.tail()}`);
    throw reason;
  }
}

async function connectParty(fleet: RunningFleet, party: string, isolate: string): Promise<VeracruzClient> {
  const files = fleet.parties[party]!;
  const [certificatePem, privateKeyPem] = await Promise.all([readFile(files.certificatePath, 'utf8'), readFile(files.keyPath!, 'utf8')]);
  const target = fleet.isolates[isolate]!;
  return VeracruzClient.connect({ policy: target.policyText, certificatePem, privateKeyPem, address: target.address, chunkBytes: CHUNK });
}

/** Runs `body` with the fleet, closing it after; on failure the fleet's last log lines are printed. */
async function withFleet<T>(fleet: RunningFleet, fleetLog: FleetLog, body: (fleet: RunningFleet) => Promise<T>): Promise<T> {
  try {
    return await body(fleet);
  } catch (reason) {
    console.error(`the fleet's last log lines:\n${fleetLog.tail()}`);
    throw reason;
  } finally {
    await fleet.close();
  }
}

// ---- 1. isolate-to-isolate transfer ------------------------------------------------------------

/** A sender whose dataflow pushes /input/blob to a receiver; `client` writes the blob and reads it back. */
function transferTopology(setup: Setup, transferMib: number): Record<string, unknown> {
  // The sender holds the file, the copy being sent and the request framed from it.
  const budgetMib = Math.max(256, 4 * transferMib);
  return {
    parties: ['client'],
    isolates: {
      sender: {
        programs: { '/program/random-source.wasm': setup.programs.randomSource },
        program_rights: { '/program/random-source.wasm': '/output/:rw' },
        rights: { client: '/input/blob:w,/program/random-source.wasm:x' },
        sends: [{ file: '/input/blob', to: 'receiver', path: '/input/blob' }],
        max_memory_mib: budgetMib,
      },
      receiver: { rights: { client: '/input/blob:r,/input/direct:w' }, max_memory_mib: budgetMib },
    },
  };
}

interface TransferResult {
  /** Seconds per round. */
  pushed: number[];
  direct: number[];
  attempts: number[];
  /** Seconds per round for a push of {@link SMALL_PUSH_BYTES}. */
  small: number[];
}

async function measureTransfer(setup: Setup, transferMib: number): Promise<TransferResult> {
  const data = randomBytes(transferMib * MIB);
  const digest = createHash('sha256').update(data).digest('hex');
  const fleetLog = new FleetLog();
  const fleet = await fleetOf(setup, 'transfer', transferTopology(setup, transferMib), fleetLog);
  return withFleet(fleet, fleetLog, async () => {
    const toSender = await connectParty(fleet, 'client', 'sender');
    const toReceiver = await connectParty(fleet, 'client', 'receiver');
    try {
      /** Runs random-source in the sender: seconds from its answer until /input/blob (`bytes` long) is delivered. */
      const push = async (bytes: number): Promise<{ seconds: number; attempt: number }> => {
        const delivered = fleetLog.delivered('sender', '/input/blob');
        delivered.catch(() => {}); // judged below
        const code = await toSender.execute('/program/random-source.wasm');
        const answered = performance.now();
        if (code !== 0) throw new Error(`random-source.wasm exited with ${code}`);
        const arrival = await delivered;
        if (arrival.bytes !== bytes) throw new Error(`the sender delivered ${arrival.bytes} bytes of /input/blob, not ${bytes}`);
        return { seconds: Math.max(0, arrival.at - answered) / 1000, attempt: arrival.attempt };
      };
      const result: TransferResult = { pushed: [], direct: [], attempts: [], small: [] };
      // What a push costs whatever its size: the host's connection, the attested handshake, one round trip.
      await toSender.writeFile('/input/blob', data.subarray(0, SMALL_PUSH_BYTES));
      for (let round = 0; round < ROUNDS; round++) result.small.push((await push(SMALL_PUSH_BYTES)).seconds);
      await toSender.writeFile('/input/blob', data);
      for (let round = 0; round < ROUNDS; round++) {
        globalThis.gc?.();
        const pushed = await push(data.length);
        result.pushed.push(pushed.seconds);
        result.attempts.push(pushed.attempt);

        globalThis.gc?.();
        const started = performance.now();
        await toReceiver.writeFile('/input/direct', data);
        result.direct.push(seconds(started));
      }
      const received = await toReceiver.readFile('/input/blob');
      const receivedDigest = createHash('sha256').update(received).digest('hex');
      if (receivedDigest !== digest) throw new Error(`the receiver holds ${received.length} bytes of /input/blob with sha256 ${receivedDigest}; ${data.length} bytes with sha256 ${digest} were pushed`);
      return result;
    } finally {
      await toSender.close().catch(() => {});
      await toReceiver.close().catch(() => {});
    }
  });
}

// ---- 2. map-reduce ------------------------------------------------------------------------------

interface Shard {
  path: string;
  rows: number;
  bytes: number;
}

function mapperName(index: number): string {
  return `mapper-${index + 1}`;
}

/** 4 mappers, one hospital each, pushing their partials to a reducer that waits for them. */
function mapReduceTopology(setup: Setup): Record<string, unknown> {
  const isolates: Record<string, unknown> = {};
  for (let index = 0; index < SHARDS; index++) {
    isolates[mapperName(index)] = {
      programs: { [MAP]: setup.programs.map },
      program_rights: { [MAP]: PROGRAM_CAPABILITY },
      rights: { [`hospital-${index + 1}`]: `/input/records.csv:w,${MAP}:x` },
      sends: [{ file: '/output/stats.dat', to: 'reducer', path: `/input/stats/${mapperName(index)}` }],
    };
  }
  isolates['reducer'] = {
    programs: { [REDUCE]: setup.programs.reduce },
    program_rights: { [REDUCE]: PROGRAM_CAPABILITY },
    rights: { analyst: `${REDUCE}:x,/output/:r` },
    await: { program: REDUCE, deadline_ms: AWAIT_DEADLINE_MS },
  };
  return { parties: [...Array.from({ length: SHARDS }, (_, index) => `hospital-${index + 1}`), 'analyst'], isolates };
}

/** One isolate with both programs; the analyst provisions the records and copies the partial. */
function singleTopology(setup: Setup): Record<string, unknown> {
  return {
    parties: ['analyst'],
    isolates: {
      solo: {
        programs: { [MAP]: setup.programs.map, [REDUCE]: setup.programs.reduce },
        program_rights: { [MAP]: PROGRAM_CAPABILITY, [REDUCE]: PROGRAM_CAPABILITY },
        rights: { analyst: `/input/records.csv:w,/input/stats/all:w,${MAP}:x,${REDUCE}:x,/output/:r` },
      },
    },
  };
}

function shardChunks(path: string, start = 0): AsyncIterable<Uint8Array> {
  return createReadStream(path, { start, highWaterMark: CHUNK });
}

/** The shards as one records.csv: the first whole, the others without their header line. */
async function* concatenated(shards: readonly Shard[]): AsyncGenerator<Uint8Array> {
  const header = Buffer.byteLength(`${PATIENT_COLUMNS.join(',')}\n`);
  for (const [index, shard] of shards.entries()) yield* shardChunks(shard.path, index === 0 ? 0 : header);
}

async function mapReduceFleet(setup: Setup, shards: readonly Shard[]): Promise<MapReduceRun> {
  const fleetLog = new FleetLog();
  const fleet = await fleetOf(setup, 'map-reduce', mapReduceTopology(setup), fleetLog);
  return withFleet(fleet, fleetLog, async () => {
    const clients: VeracruzClient[] = [];
    const phases: { name: string; at: number }[] = [];
    const started = performance.now();
    const mark = (name: string): void => {
      phases.push({ name, at: seconds(started) });
    };
    try {
      const analyst = await connectParty(fleet, 'analyst', 'reducer');
      clients.push(analyst);
      const reduced = analyst.execute(REDUCE);
      reduced.catch(() => {}); // judged below
      let stored = 0;
      const mapped = await Promise.all(shards.map(async (shard, index) => {
        const hospital = await connectParty(fleet, `hospital-${index + 1}`, mapperName(index));
        clients.push(hospital);
        await hospital.writeFileStream('/input/records.csv', shardChunks(shard.path));
        if (++stored === shards.length) mark('  fleet: every shard stored (the last)');
        return hospital.execute(MAP);
      }));
      mark('  fleet: every map answered (the last)');
      mapped.forEach((code, index) => {
        if (code !== 0) throw new Error(`regression-map in ${mapperName(index)} exited with ${code}`);
      });
      const code = await reduced;
      if (code !== 0) throw new Error(`regression-reduce exited with ${code}`);
      mark('  fleet: the reduce answered');
      const coefficients = parseCoefficients(await analyst.readFile('/output/coefficients.dat'), 'the fleet');
      const total = seconds(started);
      if (coefficients.partials !== shards.length) throw new Error(`the reducer combined ${coefficients.partials} partials, not ${shards.length}`);
      return { total, phases, coefficients };
    } finally {
      await Promise.allSettled(clients.map((client) => client.close()));
    }
  });
}

async function mapReduceSingle(setup: Setup, shards: readonly Shard[]): Promise<MapReduceRun> {
  const fleetLog = new FleetLog();
  const fleet = await fleetOf(setup, 'single', singleTopology(setup), fleetLog);
  return withFleet(fleet, fleetLog, async () => {
    const phases: { name: string; at: number }[] = [];
    const started = performance.now();
    const mark = (name: string): void => {
      phases.push({ name, at: seconds(started) });
    };
    const analyst = await connectParty(fleet, 'analyst', 'solo');
    try {
      await analyst.writeFileStream('/input/records.csv', concatenated(shards));
      mark('  one isolate: the records stored');
      let code = await analyst.execute(MAP);
      if (code !== 0) throw new Error(`regression-map exited with ${code}`);
      mark('  one isolate: the map answered');
      const partial = await analyst.readFile('/output/stats.dat');
      await analyst.writeFile('/input/stats/all', partial);
      mark(`  one isolate: its partial (${partial.length} bytes) copied`);
      code = await analyst.execute(REDUCE);
      if (code !== 0) throw new Error(`regression-reduce exited with ${code}`);
      mark('  one isolate: the reduce answered');
      const coefficients = parseCoefficients(await analyst.readFile('/output/coefficients.dat'), 'one isolate');
      return { total: seconds(started), phases, coefficients };
    } finally {
      await analyst.close().catch(() => {});
    }
  });
}

/** Runs a native build under `root` (its absolute paths re-rooted there); rejects naming it on failure. */
function runNative(program: string, root: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(nativePath(program), [], { env: { VC_NATIVE_ROOT: root }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`native ${program} under ${root} exited with ${code}: ${stderr}`))));
  });
}

/** The same programs built natively: the 4 maps in parallel over the shards (on disk, in the page cache), then the reduce. */
async function mapReduceNative(work: string, shards: readonly Shard[]): Promise<MapReduceRun> {
  const base = await mkdtemp(join(work, 'native-'));
  const roots = shards.map((_, index) => join(base, mapperName(index)));
  for (const [index, root] of roots.entries()) {
    await mkdir(join(root, 'input'), { recursive: true });
    await mkdir(join(root, 'output'));
    await symlink(shards[index]!.path, join(root, 'input', 'records.csv'));
  }
  const reduceRoot = join(base, 'reduce');
  await mkdir(join(reduceRoot, 'input', 'stats'), { recursive: true });
  await mkdir(join(reduceRoot, 'output'));
  const phases: { name: string; at: number }[] = [];
  const started = performance.now();
  await Promise.all(roots.map((root) => runNative('regression-map', root)));
  phases.push({ name: '  native: every map done (the last)', at: seconds(started) });
  await Promise.all(roots.map((root, index) => copyFile(join(root, 'output', 'stats.dat'), join(reduceRoot, 'input', 'stats', mapperName(index)))));
  await runNative('regression-reduce', reduceRoot);
  const coefficients = parseCoefficients(await readFile(join(reduceRoot, 'output', 'coefficients.dat')), 'native');
  const total = seconds(started);
  phases.push({ name: '  native: the reduce done', at: total });
  await rm(base, { recursive: true, force: true });
  return { total, phases, coefficients };
}

// ---- 3. bringing isolates to ready ---------------------------------------------------------------

async function timeToReady(setup: Setup, name: string, topology: Record<string, unknown>): Promise<number> {
  const fleetLog = new FleetLog();
  globalThis.gc?.();
  const started = performance.now();
  const fleet = await fleetOf(setup, name, topology, fleetLog);
  const elapsed = seconds(started);
  await fleet.close();
  return elapsed;
}

// ---- the run ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const transferMib = mibSetting('BENCH_NETWORK_TRANSFER_MIB', 48, 1, MAX_TRANSFER_MIB);
  const mapReduceMib = mibSetting('BENCH_NETWORK_MAPREDUCE_MIB', 1024, SHARDS);
  console.log(`network benchmark: ${transferMib} MiB pushed isolate to isolate (median of ${ROUNDS}); ` +
    `map-reduce over ${mapReduceMib} MiB of patient records in ${SHARDS} shards; ready times median of ${ROUNDS}`);

  const native = await buildExamples({ target: 'native' });
  const nativeFailed = native.failed.filter((failure) => failure.name.startsWith('regression-'));
  if (nativeFailed.length > 0) throw new Error(`the native build failed: ${nativeFailed.map((failure) => `${failure.name}: ${failure.diagnostics}`).join('\n')}`);

  const work = await mkdtemp(join(tmpdir(), 'veracruz-bench-network-'));
  try {
    // A private copy of the runtime: a rebuild during the run cannot change what the policies trust.
    const bundle = await buildRuntimeBundle();
    const runtimePath = join(work, 'veracruz-runtime.mjs');
    await copyFile(bundle.path, runtimePath);
    const setup: Setup = {
      work, runtimePath,
      programs: { map: wasmProgram('regression-map'), reduce: wasmProgram('regression-reduce'), randomSource: wasmProgram('random-source') },
    };

    const transfer = await measureTransfer(setup, transferMib);

    await mkdir(join(work, 'shards'));
    const generating = performance.now();
    const shardBytes = Math.floor((mapReduceMib * MIB) / SHARDS);
    const shards: Shard[] = Array.from({ length: SHARDS }, (_, index) => {
      const path = join(work, 'shards', `records-${index + 1}.csv`);
      return { path, ...writePatientRecordsShard(path, { seed: index + 1, bytes: shardBytes }) };
    });
    const totalBytes = shards.reduce((sum, shard) => sum + shard.bytes, 0);
    const totalRows = shards.reduce((sum, shard) => sum + shard.rows, 0);
    console.log(`${SHARDS} shards generated: ${totalRows} records, ${(totalBytes / MIB).toFixed(0)} MiB, in ${seconds(generating).toFixed(1)} s`);

    const fleetRun = await mapReduceFleet(setup, shards);
    const singleRun = await mapReduceSingle(setup, shards);
    const nativeRun = await mapReduceNative(work, shards);
    if (nativeRun.coefficients.rows !== BigInt(totalRows)) throw new Error(`native: ${nativeRun.coefficients.rows} rows reduced, ${totalRows} generated`);
    const agreement = Math.max(
      compareCoefficients(fleetRun.coefficients, nativeRun.coefficients, 'the fleet against native'),
      compareCoefficients(singleRun.coefficients, nativeRun.coefficients, 'one isolate against native'),
      compareCoefficients(fleetRun.coefficients, singleRun.coefficients, 'the fleet against one isolate'),
    );

    const five: number[] = [];
    const one: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      five.push(await timeToReady(setup, 'ready-five', mapReduceTopology(setup)));
      one.push(await timeToReady(setup, 'ready-one', singleTopology(setup)));
    }

    report({ transferMib, transfer, mapReduceMib: totalBytes / MIB, fleetRun, singleRun, nativeRun, agreement, totalRows, five, one });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function report(results: {
  transferMib: number; transfer: TransferResult; mapReduceMib: number;
  fleetRun: MapReduceRun; singleRun: MapReduceRun; nativeRun: MapReduceRun; agreement: number; totalRows: number;
  five: number[]; one: number[];
}): void {
  const { transferMib, transfer, mapReduceMib, fleetRun, singleRun, nativeRun, agreement, totalRows, five, one } = results;
  const line = (figure: string, value: string, baseline: string, ratio: string, note = ''): void =>
    console.log(`${figure.padEnd(50)} ${value.padStart(12)} ${baseline.padStart(12)} ${ratio.padStart(6)}  ${note}`);
  const secs = (value: number): string => `${value.toFixed(2)} s`;
  const rate = (mib: number, time: number): string => `${(mib / time).toFixed(0)} MiB/s`;

  const pushed = median(transfer.pushed);
  const direct = median(transfer.direct);
  const retried = transfer.attempts.some((attempt) => attempt > 1) ? `; attempts ${transfer.attempts.join(', ')}` : '';
  console.log('');
  line('figure', 'value', 'baseline', 'ratio', '(ratio: value / baseline)');
  line(`isolate to isolate push, ${transferMib} MiB`, rate(transferMib, pushed), rate(transferMib, direct), (direct / pushed).toFixed(2),
    `baseline: a client's writeFile to the receiver; median of ${ROUNDS}${retried}`);
  line('  seconds (median)', secs(pushed), secs(direct), (pushed / direct).toFixed(2),
    `push rounds ${transfer.pushed.map((value) => value.toFixed(2)).join(', ')}; writeFile ${transfer.direct.map((value) => value.toFixed(2)).join(', ')}`);
  const small = median(transfer.small);
  line(`  push of ${SMALL_PUSH_BYTES / 1024} KiB (cost besides the bytes)`, secs(small), '', '',
    `median of ${ROUNDS}: ${transfer.small.map((value) => value.toFixed(3)).join(', ')} (connection, attested handshake, one round trip)`);
  const mapReduce = `map-reduce, ${mapReduceMib.toFixed(0)} MiB`;
  line(`${mapReduce}: fleet of ${SHARDS} + 1 vs one isolate`, secs(fleetRun.total), secs(singleRun.total), (fleetRun.total / singleRun.total).toFixed(2),
    `${rate(mapReduceMib, fleetRun.total)} against ${rate(mapReduceMib, singleRun.total)}, end to end`);
  line(`${mapReduce}: fleet vs native, in the clear`, secs(fleetRun.total), secs(nativeRun.total), (fleetRun.total / nativeRun.total).toFixed(2),
    `native: ${SHARDS} maps in parallel, then the reduce`);
  line(`${mapReduce}: one isolate vs native`, secs(singleRun.total), secs(nativeRun.total), (singleRun.total / nativeRun.total).toFixed(2));
  for (const run of [fleetRun, singleRun, nativeRun]) {
    for (const phase of run.phases) line(phase.name, secs(phase.at), '', '', '(from the start)');
  }
  const medianFive = median(five);
  const medianOne = median(one);
  line(`ready: ${SHARDS + 1} isolates vs one (startFleet)`, secs(medianFive), secs(medianOne), (medianFive / medianOne).toFixed(2),
    `median of ${ROUNDS}: ${five.map((value) => value.toFixed(2)).join(', ')} against ${one.map((value) => value.toFixed(2)).join(', ')}`);
  console.log(`\ncoefficients: fleet, one isolate and native agree within ${agreement.toExponential(2)} (relative; tolerance ${RELATIVE_TOLERANCE}) ` +
    `over ${totalRows} records: ${fleetRun.coefficients.values.map((value) => value.toPrecision(6)).join(', ')}`);
}

countBufferMemoryInHeapLimit(); // this process hosts the vc-servers, as vc-server's entry point does
await main();
