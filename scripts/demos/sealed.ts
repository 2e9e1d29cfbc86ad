// `npm run demo -- sealed`: sealed storage, on a host that is not trusted. A data owner and an
// analyst agree on a policy whose isolate may hold 64 MiB (max_memory_mib) and on one program,
// sha256 (examples/programs/sha256). The owner uploads 512 MiB, eight times the budget: what the
// budget cannot hold the isolate seals out (AES-256-GCM under a key that never leaves it, each slab's
// file, position and version bound in) to a directory the host provides. The analyst's hash of the
// file is checked against the same hash computed here in the clear. Then the demo plays the
// malicious host: its file holds none of the plaintext; it flips one bit, and the analyst's next run
// ends with integrity_violation naming the file; it puts the byte back, and the run gives the same
// hash again: nothing was lost.
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { VeracruzClient } from '@veracruz-ts/client';
import { VeracruzError } from '@veracruz-ts/core';
import type { PasHandle } from '@veracruz-ts/pas';
import { buildRuntimeBundle, ISOLATE_MEMORY_OVERHEAD_BYTES, REPOSITORY_ROOT, type RunningServer } from '@veracruz-ts/server';
import { residentMemory } from '@veracruz-ts/server/testing';
import { createParties, shutDown, startDemoPas, startDemoServer, tearDown, writeDemoPolicy } from './deployment.ts';
import { narrator, run } from './narration.ts';

const MIB = 1024 * 1024;
const BUDGET_MIB = 64;
const DATA_MIB = 512;
/** The bound on the host's directory (vc-server's --spill-max-mib). */
const SEALED_MAX_MIB = 1024;
const PROGRAM = join(REPOSITORY_ROOT, 'examples/build/wasm/sha256.wasm');
const REMOTE_PROGRAM = '/program/sha256.wasm';
const DATA_PATH = '/input/data.bin';
/** The data: AES-128-CTR over zeros under this key, a fast generator that gives the same bytes every run. */
const SEED = createHash('sha256').update('veracruz-ts sealed storage demo').digest().subarray(0, 16);
const GENERATOR_CHUNK = 4 * MIB;
/** The plaintext looked for in the host's file: 64 bytes from each 64 MiB of the data. */
const PROBE_BYTES = 64;
const PROBE_EVERY = 64 * MIB;

const { bold, step, say, short } = narrator(8);

/** The demo's data, `DATA_MIB` MiB in chunks; the same bytes on every call. */
function* seededData(): Generator<Buffer> {
  const cipher = createCipheriv('aes-128-ctr', SEED, Buffer.alloc(16));
  const zeros = Buffer.alloc(GENERATOR_CHUNK);
  for (let offset = 0; offset < DATA_MIB * MIB; offset += GENERATOR_CHUNK) yield cipher.update(zeros);
}

/** The data's SHA-256, and its probes: PROBE_BYTES from byte 12345 of each PROBE_EVERY (a multiple of the chunk). */
function clearView(): { hash: string; probes: Buffer[] } {
  const hash = createHash('sha256');
  const probes: Buffer[] = [];
  let offset = 0;
  for (const chunk of seededData()) {
    hash.update(chunk);
    if (offset % PROBE_EVERY === 0) probes.push(Buffer.from(chunk.subarray(12345, 12345 + PROBE_BYTES)));
    offset += chunk.length;
  }
  return { hash: hash.digest('hex'), probes };
}

/** How many of `probes` occur in the file at `path`, read in pieces that overlap by a probe's length. */
async function occurrences(path: string, probes: readonly Buffer[]): Promise<number> {
  const found = new Set<number>();
  let tail = Buffer.alloc(0);
  for await (const piece of createReadStream(path, { highWaterMark: 16 * MIB }) as AsyncIterable<Buffer>) {
    const window = Buffer.concat([tail, piece]);
    probes.forEach((probe, index) => {
      if (window.indexOf(probe) >= 0) found.add(index);
    });
    tail = window.subarray(Math.max(0, window.length - (PROBE_BYTES - 1)));
  }
  return found.size;
}

/** Runs the demo; throws if the hash differs from the clear, plaintext reaches the host, or a forgery is not caught. */
export async function sealedDemo(): Promise<void> {
  console.log(bold(`Veracruz-ts demo: ${DATA_MIB} MiB through an isolate of ${BUDGET_MIB} MiB, sealed out to a host that cannot change it unseen`));
  const work = await mkdtemp(join(tmpdir(), 'veracruz-demo-'));
  let pas: PasHandle | undefined;
  let server: RunningServer | undefined;
  const clients: VeracruzClient[] = [];
  try {
    step('Building the runtime bundle and the program (C to wasm32-wasip1)');
    const bundle = await buildRuntimeBundle();
    run(process.execPath, ['examples/build.ts'], 'building the examples');
    const program = await readFile(PROGRAM);
    say(`runtime ${relative(REPOSITORY_ROOT, bundle.path)}; ${relative(REPOSITORY_ROOT, PROGRAM)} (${program.length} bytes): prints the SHA-256 of ${DATA_PATH}`);

    step(`Identities, the proxy attestation service, and a policy with max_memory_mib ${BUDGET_MIB} (vc-pgen)`);
    const parties = await createParties(work, ['data-owner', 'analyst'] as const);
    const deployed = await startDemoPas(work);
    pas = deployed.pas;
    const programPath = join(work, 'sha256.wasm');
    await writeFile(programPath, program);
    const { text: policyText } = await writeDemoPolicy(work, deployed, bundle, [
      '-c', parties['data-owner'].certificatePath, '-p', '/input/:w',
      '-c', parties.analyst.certificatePath, '-p', '/program/:wx,stdout:r',
      '-w', `${REMOTE_PROGRAM}=${programPath}`, '-p', '/input/:r,stdout:w',
      '-m', String(BUDGET_MIB),
    ]);
    say('data-owner: /input/ w (it writes its data; only the program reads it)');
    say(`analyst: ${REMOTE_PROGRAM} w x (its hash is fixed by the policy), stdout r; the program: /input/ r, stdout w`);
    say(`the isolate may hold ${BUDGET_MIB} MiB; nothing in the policy mentions sealed storage`);

    step('Starting vc-server, with sealed storage in a directory of the host');
    const hostDirectory = join(work, 'host', 'sealed');
    await mkdir(hostDirectory, { recursive: true });
    server = await startDemoServer(policyText, bundle, deployed.devKey, pas, { sealedStorage: { directory: hostDirectory, maxBytes: SEALED_MAX_MIB * MIB } });
    const isolatePid = server.isolatePid!;
    const made = await readdir(hostDirectory);
    if (made.length !== 1 || !made[0]!.startsWith('vc-sealed-')) throw new Error(`expected one vc-sealed-* directory in ${hostDirectory}, found [${made.join(', ')}]`);
    const sealed = join(hostDirectory, made[0]!);
    const bound = BUDGET_MIB + ISOLATE_MEMORY_OVERHEAD_BYTES / MIB;
    say(`isolate pid ${isolatePid}, measured ${short(server.measurement)}, listening at ${server.url}`);
    say(`the host's directory: ${relative(work, sealed)} (at most ${SEALED_MAX_MIB} MiB); the key that seals it never leaves the isolate`);
    const connect = async (name: keyof typeof parties): Promise<VeracruzClient> => {
      const client = await VeracruzClient.connect({ policy: policyText, ...parties[name], address: server!.url });
      clients.push(client);
      return client;
    };

    step(`The analyst uploads the program; the data owner streams ${DATA_MIB} MiB, ${DATA_MIB / BUDGET_MIB} times the isolate's memory budget`);
    const analyst = await connect('analyst');
    await analyst.writeFile(REMOTE_PROGRAM, program);
    const owner = await connect('data-owner');
    const started = performance.now();
    await owner.writeFileStream(DATA_PATH, seededData(), { total: DATA_MIB * MIB });
    const uploaded = (performance.now() - started) / 1000;
    await owner.close();
    const hostFiles = await readdir(sealed);
    if (hostFiles.length !== 1 || !/^f\d+$/.test(hostFiles[0]!)) throw new Error(`expected one host file f<N> for ${DATA_PATH}, found [${hostFiles.join(', ')}]`);
    const hostFile = join(sealed, hostFiles[0]!);
    const onDisk = await stat(hostFile);
    let memory = await residentMemory(isolatePid);
    say(`data-owner: streamed ${DATA_MIB} MiB (AES-128-CTR over zeros, a fixed key) in ${uploaded.toFixed(1)} s`);
    say(`the host's disk: one file, ${hostFiles[0]} (not the file's name), ${(onDisk.size / MIB).toFixed(1)} MiB (${(onDisk.blocks * 512 / MIB).toFixed(1)} MiB allocated)`);
    say(`isolate resident ${(memory.rss / MIB).toFixed(0)} MiB, peak ${(memory.peak / MIB).toFixed(0)} MiB (bound: budget ${BUDGET_MIB} MiB + overhead ${bound - BUDGET_MIB} MiB)`);
    if (memory.peak > bound * MIB) throw new Error(`the isolate's peak was ${(memory.peak / MIB).toFixed(0)} MiB, over its bound of ${bound} MiB`);
    if (onDisk.size < (DATA_MIB - BUDGET_MIB) * MIB) throw new Error(`only ${onDisk.size} bytes were sealed out`);

    step('The analyst runs sha256 over the whole file; the result is checked in the clear');
    const clear = clearView();
    const runSha256 = async (): Promise<string> => {
      const exitCode = await analyst.execute(REMOTE_PROGRAM);
      if (exitCode !== 0) throw new Error(`${REMOTE_PROGRAM} exited ${exitCode}`);
      return new TextDecoder().decode(await analyst.readFile('stdout')).trim();
    };
    const ranAt = performance.now();
    const computed = await runSha256();
    say(`analyst: ${REMOTE_PROGRAM} exited 0 in ${((performance.now() - ranAt) / 1000).toFixed(1)} s: ${computed}`);
    if (computed !== clear.hash) throw new Error(`the isolate computed ${computed}, the clear ${clear.hash}`);
    say(`matches the SHA-256 computed here in the clear: ${clear.hash}`);
    memory = await residentMemory(isolatePid);
    say(`isolate resident ${(memory.rss / MIB).toFixed(0)} MiB, peak ${(memory.peak / MIB).toFixed(0)} MiB, after reading all ${DATA_MIB} MiB back from the host`);
    if (memory.peak > bound * MIB) throw new Error(`the isolate's peak was ${(memory.peak / MIB).toFixed(0)} MiB, over its bound of ${bound} MiB`);

    step('The host turns malicious: it looks for the data, then flips one bit of its file');
    const seen = await occurrences(hostFile, clear.probes);
    say(`host: searched ${hostFiles[0]} for ${clear.probes.length} pieces of ${PROBE_BYTES} bytes of the plaintext (one from each ${PROBE_EVERY / MIB} MiB): ${seen} found`);
    if (seen !== 0) throw new Error(`${seen} pieces of the plaintext are on the host's disk`);
    // An eighth of the way in (long sealed out, not cached), so the run that catches it stops early.
    const position = Math.floor((await stat(hostFile)).size / 8);
    const handle = await open(hostFile, 'r+');
    const original = Buffer.alloc(1);
    try {
      await handle.read(original, 0, 1, position);
      await handle.write(Buffer.from([original[0]! ^ 0x10]), 0, 1, position);
    } finally {
      await handle.close();
    }
    say(`host: flipped bit 4 of byte ${position} of ${hostFiles[0]} (0x${original[0]!.toString(16).padStart(2, '0')} -> 0x${(original[0]! ^ 0x10).toString(16).padStart(2, '0')})`);
    try {
      const forged = await runSha256();
      throw new Error(`the forged file was not caught: the program printed ${forged}`);
    } catch (reason) {
      if (!(reason instanceof VeracruzError) || reason.code !== 'integrity_violation') throw reason;
      if (!reason.message.includes(DATA_PATH)) throw new Error(`the integrity violation does not name ${DATA_PATH}: ${reason.message}`);
      say(`analyst: ${reason.message}`);
    }

    step('The host puts the byte back: nothing was lost');
    const restore = await open(hostFile, 'r+');
    try {
      await restore.write(original, 0, 1, position);
    } finally {
      await restore.close();
    }
    const again = await runSha256();
    say(`analyst: ${REMOTE_PROGRAM} exited 0: ${again}`);
    if (again !== clear.hash) throw new Error(`after the host put the byte back the isolate computed ${again}, the clear ${clear.hash}`);
    say('the same SHA-256 as before, and as computed here in the clear');

    step('Shutting down');
    const ended = await shutDown(analyst, server);
    server = undefined;
    say(ended);
    console.log(`\n${bold('Done.')}`);
  } finally {
    await tearDown({ clients, server, pas, work });
  }
}
