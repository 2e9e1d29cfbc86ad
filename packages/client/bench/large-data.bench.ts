// Data larger than the isolate: N MiB of random data through isolates whose memory budget is far
// smaller, against the same work with everything in memory, measured in the same run:
//   1. in memory (the baseline): upload to /input/data.bin, run sha256.wasm, read its stdout;
//   2. sealed: the same in a small budget, file data sealed out to a directory of this host;
//   3. streaming: stream-hash.wasm reads /input/stream (a policy stream) while a principal writes it,
//      against stream-hash over the same data uploaded first, in memory;
//   4. what sealing costs: SealedStore sealing and unsealing N MiB in 1 MiB slabs, in this process,
//      against node:crypto AES-256-GCM over the same bytes in memory, on one core.
// Each scenario has an isolate of its own (so each peak RSS is its own); every isolate runs as the
// tests run theirs (linux platform, connections handed over, no relay).
//
//   node --no-liftoff --expose-gc packages/client/bench/large-data.bench.ts              # 1 GiB, budget 96 MiB
//   BENCH_LARGE_MIB=128 BENCH_LARGE_BUDGET_MIB=64 node --no-liftoff --expose-gc ...     # smaller
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { devKeyId } from '@veracruz-ts/attestation/evidence';
import { VeracruzClient } from '@veracruz-ts/client';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { startPas } from '@veracruz-ts/pas';
import { createIdentity, type FileRights, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { buildRuntimeBundle, countBufferMemoryInHeapLimit, loadOrCreateDevKey, REPOSITORY_ROOT, type RunningServer, startServer } from '@veracruz-ts/server';
import { residentMemory } from '@veracruz-ts/server/testing';
import { SealedStore, testPolicyText } from '@veracruz-ts/runtime/testing';

const MIB = 1024 * 1024;
const CHUNK = MIB;
const STREAM = '/input/stream';
/** Goals of the sealed and streaming isolates. */
const GOAL_PEAK_RSS_MIB = 128;
const GOAL_SEALED_RATIO = 0.5;
const GOAL_STREAMING_RATIO = 0.7;
/** Rounds of the in-process sealing measurement; each figure is its fastest round (the others are noise). */
const SEALING_ROUNDS = 3;

/** A principal of the benchmark's policies. */
interface Principal {
  name: string;
  certificatePem: string;
  privateKeyPem: string;
  rights: FileRights[];
}

/** What the isolates of this run share: PAS, dev key, runtime bundle, principals, programs. */
interface Deployment {
  pasUrl: string;
  pasAddress: string;
  pasCertificatePem: string;
  devKeyPath: string;
  runtimePath: string;
  measurement: string;
  /** Uploads the data, writes the stream. */
  owner: Principal;
  /** Uploads and runs the programs, reads their results. */
  runner: Principal;
  programs: { sha256: Uint8Array; streamHash: Uint8Array };
  /** Parent of the isolates' sealed directories. */
  work: string;
}

/** One scenario's figures; phases absent where the scenario has none. */
interface Measured {
  upload?: number;
  run?: number;
  read?: number;
  /** Seconds from the first byte sent to the result read. */
  total: number;
  /** The isolate's peak resident memory, MiB. */
  peakMib: number;
  /** The isolate's resident memory once booted and its principals connected, before any data, MiB. */
  idleMib: number;
}

/** The isolate does not know streams (an older runtime): the streaming scenario is skipped, not failed. */
class StreamsUnavailable extends Error {}

/** What a scenario times itself. */
type Phases = Omit<Measured, 'peakMib' | 'idleMib'>;

countBufferMemoryInHeapLimit(); // as vc-server's entry point does
await main();

function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}

function* slices(data: Uint8Array): Generator<Uint8Array> {
  for (let offset = 0; offset < data.length; offset += CHUNK) yield data.subarray(offset, offset + CHUNK);
}

async function exampleProgram(name: string): Promise<Uint8Array> {
  const path = join(REPOSITORY_ROOT, 'examples/build/wasm', `${name}.wasm`);
  if (!existsSync(path)) {
    const built = spawnSync(process.execPath, ['examples/build.ts'], { cwd: REPOSITORY_ROOT, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`building the examples failed: ${built.stderr}`);
  }
  return new Uint8Array(await readFile(path));
}

/** The policy of one isolate: a budget, and `/input/stream` a stream or a plain file. */
function policyFor(deployment: Deployment, budgetMib: number, stream: boolean): string {
  const programRights = [{ file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_WRITE }, { file_name: 'stdout', rights: RIGHTS_WRITE }];
  const text = testPolicyText({
    principals: [deployment.owner, deployment.runner],
    pasCertificatePem: deployment.pasCertificatePem,
    runtimeHashLinux: deployment.measurement,
    pasAddress: deployment.pasAddress,
    maxMemoryMib: budgetMib,
    programs: [
      { path: '/program/sha256.wasm', binary: deployment.programs.sha256, rights: programRights },
      { path: '/program/stream-hash.wasm', binary: deployment.programs.streamHash, rights: programRights },
    ],
  });
  if (!stream) return text;
  // The test-policy builder has no streams: the field goes into its JSON.
  return JSON.stringify({ ...JSON.parse(text), streams: [{ path: STREAM }] }, null, 2);
}

/** vc-server with an isolate for `policy`, as the tests start it; its log is kept for a failure's message. */
async function startIsolate(deployment: Deployment, policy: string, sealed: boolean): Promise<{ server: RunningServer; log: string[] }> {
  const log: string[] = [];
  try {
    const server = await startServer({
      policyText: policy, platform: 'linux', runtimePath: deployment.runtimePath, devKeyPath: deployment.devKeyPath,
      pasUrl: deployment.pasUrl, listen: '127.0.0.1:0', log: (line) => log.push(line), relay: false,
      sealedStorage: sealed ? { directory: deployment.work } : false,
    });
    return { server, log };
  } catch (reason) {
    throw new Error(`vc-server did not start: ${String(reason)}\n${log.join('\n')}`, { cause: reason });
  }
}

function connect(server: RunningServer, policy: string, who: Principal): Promise<VeracruzClient> {
  return VeracruzClient.connect({ policy, certificatePem: who.certificatePem, privateKeyPem: who.privateKeyPem, address: server.url, chunkBytes: CHUNK });
}

/** Runs `scenario` against a fresh isolate; its peak RSS is read before it stops. */
async function withIsolate(
  deployment: Deployment, policy: string, sealed: boolean,
  scenario: (owner: VeracruzClient, runner: VeracruzClient) => Promise<Phases>,
): Promise<Measured> {
  globalThis.gc?.();
  const { server, log } = await startIsolate(deployment, policy, sealed);
  let owner: VeracruzClient | undefined;
  let runner: VeracruzClient | undefined;
  try {
    owner = await connect(server, policy, deployment.owner);
    runner = await connect(server, policy, deployment.runner);
    const idle = await residentMemory(server.isolatePid!);
    const measured = await scenario(owner, runner);
    const memory = await residentMemory(server.isolatePid!);
    return { ...measured, peakMib: memory.peak / MIB, idleMib: idle.rss / MIB };
  } catch (reason) {
    if (log.length > 0 && !(reason instanceof StreamsUnavailable)) console.error(`vc-server's log:\n${log.join('\n')}`);
    throw reason;
  } finally {
    await owner?.close().catch(() => {});
    await runner?.close().catch(() => {});
    await server.close();
  }
}

/** Upload `data` to `input`, run `program`, read `output`: each phase timed; `check` judges the output. */
function uploadThenRun(data: Uint8Array, input: string, program: { name: string; binary: Uint8Array }, output: string, check: (result: Uint8Array) => void) {
  return async (owner: VeracruzClient, runner: VeracruzClient): Promise<Phases> => {
    await runner.writeFile(`/program/${program.name}.wasm`, program.binary);
    const started = performance.now();
    await owner.writeFileStream(input, slices(data));
    const uploaded = performance.now();
    const code = await runner.execute(`/program/${program.name}.wasm`);
    if (code !== 0) throw new Error(`${program.name}.wasm exited with ${code}`);
    const ran = performance.now();
    check(await runner.readFile(output));
    const done = performance.now();
    return { upload: (uploaded - started) / 1000, run: (ran - uploaded) / 1000, read: (done - ran) / 1000, total: seconds(started) };
  };
}

function checkDigest(expected: string, what: string): (result: Uint8Array) => void {
  return (result) => {
    const digest = new TextDecoder().decode(result).trim();
    if (digest !== expected) throw new Error(`${what}: sha256.wasm printed ${JSON.stringify(digest.slice(0, 80))}, node:crypto says ${expected}`);
  };
}

function checkStreamHash(expected: string, bytes: number, what: string): (result: Uint8Array) => void {
  return (result) => {
    const text = new TextDecoder().decode(result).trim();
    let parsed: { sha256?: unknown; bytes?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new Error(`${what}: /output/stream-hash is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
    }
    if (parsed.sha256 !== expected || parsed.bytes !== bytes) {
      throw new Error(`${what}: stream-hash.wasm saw ${String(parsed.bytes)} bytes with sha256 ${String(parsed.sha256)}; ` +
        `${bytes} bytes were sent, sha256 ${expected} (node:crypto)`);
    }
  };
}

/** The isolate does not know the stream operations (an older runtime): its answer to `close_stream` says so. */
function streamsMissing(reason: unknown): boolean {
  return reason instanceof VeracruzError && reason.code === Code.InvalidRequest &&
    /close_stream is not supported|names no operation this runtime knows/.test(reason.message);
}

/**
 * stream-hash.wasm started first, reading `/input/stream` while the owner writes `data` into it
 * through a stream writer on its own connection and then closes it; timed until the result is read.
 */
function streamWhileRunning(data: Uint8Array, program: Uint8Array, expected: string) {
  return async (owner: VeracruzClient, runner: VeracruzClient): Promise<Phases> => {
    if (typeof owner.openStreamWriter !== 'function') throw new StreamsUnavailable('the SDK has no openStreamWriter');
    await runner.writeFile('/program/stream-hash.wasm', program);
    const started = performance.now();
    const run = runner.execute('/program/stream-hash.wasm');
    run.catch(() => {}); // judged below, after the writer
    try {
      await pipeline(Readable.from(slices(data)), owner.openStreamWriter(STREAM));
    } catch (reason) {
      if (!streamsMissing(reason)) throw reason;
      // The program may wait for an end that never comes: stopping the isolate (next) ends its run.
      throw new StreamsUnavailable((reason as Error).message);
    }
    const written = performance.now();
    const code = await run;
    if (code !== 0) throw new Error(`stream-hash.wasm exited with ${code} on the stream`);
    const ran = performance.now();
    checkStreamHash(expected, data.length, 'streaming')(await runner.readFile('/output/stream-hash'));
    return { upload: (written - started) / 1000, run: (ran - written) / 1000, read: seconds(ran), total: seconds(started) };
  };
}

/** Seconds each way for one pass over the slabs. */
interface BothWays {
  forth: number;
  back: number;
}

/** Seconds for N MiB, each the fastest of {@link SEALING_ROUNDS}. */
interface SealingCost {
  seal: number;
  unseal: number;
  aesEncrypt: number;
  aesDecrypt: number;
  /** Writing the same slabs, unsealed, to a file in the same directory: the host's part of sealing. */
  hostWrite: number;
}

/**
 * SealedStore sealing then unsealing `data` in 1 MiB slabs (as chunks of one file, to a directory of
 * this host), against node:crypto AES-256-GCM encrypting and decrypting the same slabs in memory.
 */
async function sealingCost(data: Uint8Array, work: string): Promise<SealingCost> {
  const directory = await mkdtemp(join(work, 'sealing-'));
  const slabs = Math.ceil(data.length / MIB);
  const slab = (index: number): Uint8Array => data.subarray(index * MIB, (index + 1) * MIB);
  const store = new SealedStore({ directory, maxBytes: 2 * data.length });
  const sealed = (round: number): BothWays => {
    const file = round + 1;
    let started = performance.now();
    for (let index = 0; index < slabs; index++) store.seal(file, index, index * MIB, 1, slab(index));
    const forth = seconds(started);
    let back = 0;
    for (let index = 0; index < slabs; index++) {
      started = performance.now();
      const unsealed = store.unseal(file, index, index * MIB, 1, slab(index).length);
      back += seconds(started);
      if (Buffer.compare(unsealed, slab(index)) !== 0) throw new Error(`sealing cost: slab ${index} came back different`);
    }
    store.discard(file);
    return { forth, back };
  };
  const key = randomBytes(32);
  const iv = Buffer.alloc(12);
  const inMemory = (): BothWays => {
    let forth = 0;
    let back = 0;
    for (let index = 0; index < slabs; index++) {
      iv.writeUInt32BE(index, 8);
      let started = performance.now();
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const encrypted = cipher.update(slab(index));
      cipher.final();
      const tag = cipher.getAuthTag();
      forth += seconds(started);
      started = performance.now();
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAuthTag(tag);
      const decrypted = decipher.update(encrypted);
      decipher.final();
      back += seconds(started);
      if (Buffer.compare(decrypted, slab(index)) !== 0) throw new Error(`AES-GCM baseline: slab ${index} came back different`);
    }
    return { forth, back };
  };
  const written = (): number => {
    const path = join(directory, 'plain');
    const fd = openSync(path, 'w', 0o600);
    const started = performance.now();
    for (let index = 0; index < slabs; index++) writeSync(fd, slab(index), 0, slab(index).length, index * MIB);
    const elapsed = seconds(started);
    closeSync(fd);
    unlinkSync(path);
    return elapsed;
  };
  try {
    const rounds: { store: BothWays; aes: BothWays; hostWrite: number }[] = [];
    for (let round = 0; round < SEALING_ROUNDS; round++) {
      globalThis.gc?.();
      rounds.push({ store: sealed(round), aes: inMemory(), hostWrite: written() });
    }
    const fastest = (pick: (round: (typeof rounds)[number]) => number): number => Math.min(...rounds.map(pick));
    return {
      seal: fastest((round) => round.store.forth), unseal: fastest((round) => round.store.back),
      aesEncrypt: fastest((round) => round.aes.forth), aesDecrypt: fastest((round) => round.aes.back),
      hostWrite: fastest((round) => round.hostWrite),
    };
  } finally {
    store.close();
    await rm(directory, { recursive: true, force: true });
  }
}

async function deploy(): Promise<{ deployment: Deployment; close(): Promise<void> }> {
  const work = await mkdtemp(join(tmpdir(), 'veracruz-bench-large-'));
  const pas = await startPas({ dir: join(work, 'pas'), initialize: true, listen: '127.0.0.1:0' });
  const devKey = await loadOrCreateDevKey(join(work, 'host', 'dev-key.pem'));
  const publicKeyPem = await readFile(devKey.publicKeyPath, 'utf8');
  pas.store.enrollDevKey('bench', Buffer.from(await devKeyId(publicKeyPem)).toString('hex'), publicKeyPem, new Date());
  const bundle = await buildRuntimeBundle();
  const principal = async (name: string, rights: FileRights[]): Promise<Principal> => ({ name, rights, ...(await createIdentity(name)) });
  const deployment: Deployment = {
    pasUrl: pas.url, pasAddress: pas.url.replace('http://', ''), pasCertificatePem: pas.caCertificatePem,
    devKeyPath: devKey.privateKeyPath, runtimePath: bundle.path, measurement: bundle.measurement,
    owner: await principal('data-owner', [{ file_name: '/input/', rights: RIGHTS_READ | RIGHTS_WRITE }]),
    runner: await principal('runner', [
      { file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE }, { file_name: '/output/', rights: RIGHTS_READ }, { file_name: 'stdout', rights: RIGHTS_READ },
    ]),
    programs: { sha256: await exampleProgram('sha256'), streamHash: await exampleProgram('stream-hash') },
    work,
  };
  return {
    deployment,
    close: async () => {
      await pas.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const mib = mibSetting('BENCH_LARGE_MIB', 1024);
  const budgetMib = mibSetting('BENCH_LARGE_BUDGET_MIB', 96);
  const largeBudgetMib = mib * 2 + 256;
  console.log(`large-data benchmark: ${mib} MiB of random data; small isolates' budget ${budgetMib} MiB, in-memory isolates' ${largeBudgetMib} MiB`);
  const data = randomBytes(mib * MIB);
  const digest = createHash('sha256').update(data).digest('hex');
  const { deployment, close } = await deploy();
  const sha256 = { name: 'sha256', binary: deployment.programs.sha256 };
  try {
    const inMemory = await withIsolate(deployment, policyFor(deployment, largeBudgetMib, false), false,
      uploadThenRun(data, '/input/data.bin', sha256, 'stdout', checkDigest(digest, 'in memory')));
    const sealed = await withIsolate(deployment, policyFor(deployment, budgetMib, false), true,
      uploadThenRun(data, '/input/data.bin', sha256, 'stdout', checkDigest(digest, 'sealed')));
    const streamBaseline = await withIsolate(deployment, policyFor(deployment, largeBudgetMib, false), false,
      uploadThenRun(data, STREAM, { name: 'stream-hash', binary: deployment.programs.streamHash }, '/output/stream-hash', checkStreamHash(digest, data.length, 'stream-hash in memory')));
    let streaming: Measured | string;
    try {
      streaming = await withIsolate(deployment, policyFor(deployment, budgetMib, true), true, streamWhileRunning(data, deployment.programs.streamHash, digest));
    } catch (reason) {
      if (!(reason instanceof StreamsUnavailable)) throw reason;
      streaming = `streams unavailable: skipped (${reason.message})`;
    }
    const cost = await sealingCost(data, deployment.work);
    report(mib, { budgetMib, largeBudgetMib }, { inMemory, sealed, streamBaseline, streaming, cost });
  } finally {
    await close();
  }
}

/** A size in MiB from the environment: a positive integer, or `fallback` when unset. */
function mibSetting(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number of MiB, got ${JSON.stringify(process.env[name])}`);
  return value;
}

function report(mib: number, { budgetMib, largeBudgetMib }: { budgetMib: number; largeBudgetMib: number }, results: {
  inMemory: Measured; sealed: Measured; streamBaseline: Measured; streaming: Measured | string;
  cost: SealingCost;
}): void {
  const { inMemory, sealed, streamBaseline, streaming, cost } = results;
  const line = (name: string, secs: string, rate: string, ratio: string, peak: string, idle: string, goal: string): void =>
    console.log(`${name.padEnd(44)} ${secs.padStart(8)} ${rate.padStart(11)} ${ratio.padStart(6)} ${peak.padStart(9)} ${idle.padStart(9)}  ${goal}`);
  /**
   * A row: `secs` its seconds, `baseline` those of the ratio's baseline for the same work; MiB/s only
   * where the N MiB moved, peak and idle RSS on a scenario's row.
   */
  const row = (name: string, secs: number | undefined, options: { baseline?: number | undefined; moved?: boolean; isolate?: Measured; goal?: string } = {}): void => {
    const { baseline, moved = true, isolate, goal = '' } = options;
    line(name, secs === undefined ? '' : `${secs.toFixed(2)} s`, secs === undefined || !moved ? '' : `${(mib / secs).toFixed(0)} MiB/s`,
      secs === undefined || baseline === undefined ? '' : (baseline / secs).toFixed(2),
      isolate === undefined ? '' : `${isolate.peakMib.toFixed(0)} MiB`, isolate === undefined ? '' : `${isolate.idleMib.toFixed(0)} MiB`, goal);
  };
  const phases = (name: string, measured: Measured, baseline: Measured): void => {
    row(`  ${name}: upload`, measured.upload, { baseline: baseline.upload });
    row(`  ${name}: run`, measured.run, { baseline: baseline.run });
    row(`  ${name}: read the result`, measured.read, { moved: false });
  };
  const met = (ok: boolean): string => (ok ? 'met' : 'not met');
  const peakGoal = (measured: Measured): string => `peak RSS < ${GOAL_PEAK_RSS_MIB} MiB: ${met(measured.peakMib < GOAL_PEAK_RSS_MIB)}`;

  console.log('');
  line('scenario', 'seconds', 'MiB/s', 'ratio', 'peak RSS', 'idle RSS', 'goal (ratio: throughput to the in-memory baseline)');
  row('in memory: sha256 (baseline)', inMemory.total, { baseline: inMemory.total, isolate: inMemory, goal: `(budget ${largeBudgetMib} MiB, no sealed storage)` });
  phases('in memory', inMemory, inMemory);
  const sealedRatio = inMemory.total / sealed.total;
  const sealedGoals = `${peakGoal(sealed)}; ratio >= ${GOAL_SEALED_RATIO}: ${met(sealedRatio >= GOAL_SEALED_RATIO)}`;
  row(`sealed: sha256, budget ${budgetMib} MiB`, sealed.total, { baseline: inMemory.total, isolate: sealed, goal: sealedGoals });
  phases('sealed', sealed, inMemory);
  row('in memory: stream-hash (baseline)', streamBaseline.total, { baseline: streamBaseline.total, isolate: streamBaseline, goal: '(uploaded whole, then run)' });
  phases('in memory', streamBaseline, streamBaseline);
  let streamingGoals: string;
  if (typeof streaming === 'string') {
    streamingGoals = streaming;
    console.log(`streaming: ${streaming}`);
  } else {
    const streamingRatio = streamBaseline.total / streaming.total;
    streamingGoals = `${peakGoal(streaming)}; ratio >= ${GOAL_STREAMING_RATIO}: ${met(streamingRatio >= GOAL_STREAMING_RATIO)}`;
    row(`streaming: stream-hash, budget ${budgetMib} MiB`, streaming.total, { baseline: streamBaseline.total, isolate: streaming, goal: streamingGoals });
    streamingGoals += ` (${streaming.peakMib.toFixed(0)} MiB, ${streamingRatio.toFixed(2)})`;
    row('  streaming: written and closed', streaming.upload, { goal: '(the program reads as it arrives)' });
    row('  streaming: run on after the close', streaming.run, { moved: false });
    row('  streaming: read the result', streaming.read, { moved: false });
  }
  const sealBoth = cost.seal + cost.unseal;
  const aesBoth = cost.aesEncrypt + cost.aesDecrypt;
  row('SealedStore: seal, 1 MiB slabs', cost.seal, { baseline: cost.aesEncrypt, goal: '(ratio: to AES-256-GCM encrypting in memory)' });
  row('SealedStore: unseal', cost.unseal, { baseline: cost.aesDecrypt, goal: '(ratio: to AES-256-GCM decrypting in memory)' });
  row('SealedStore: seal + unseal', sealBoth, { baseline: aesBoth, goal: '(ratio: to AES-256-GCM both ways)' });
  row('node:crypto AES-256-GCM both ways, one core', aesBoth, { goal: '(1 MiB calls, in memory)' });
  row('  writing the same slabs to the host, plain', cost.hostWrite,
    { goal: `(${((100 * cost.hostWrite) / cost.seal).toFixed(0)}% of sealing's time; these five: fastest of ${SEALING_ROUNDS} rounds)` });
  console.log(`\ngoals: sealed: ${sealedGoals} (${sealed.peakMib.toFixed(0)} MiB, ${sealedRatio.toFixed(2)}); streaming: ${streamingGoals}; ` +
    `sealing + unsealing runs at ${(aesBoth / sealBoth).toFixed(2)} of AES-GCM's throughput`);
}
