/**
 * Bounded resources, end to end: programs the parties agreed to run that flood stdout, one output
 * file, many output files or their own memory, against a real vc-server and isolate process. Each run
 * must end with `limit_exceeded` naming the resource, the isolate's peak memory must stay under its
 * budget plus the launcher's stated overhead, and another party's file and later runs must be intact.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import type { VeracruzClient } from '@veracruz-ts/client';
import { ISOLATE_MEMORY_OVERHEAD_BYTES, type RunningServer } from '@veracruz-ts/server';
import { residentMemory } from '@veracruz-ts/server/testing';
import { compileC } from '@veracruz-ts/runtime/testing';
import { type Party, type TestPas, connect, e2ePolicy, party, rejectsWith, startComputation, startTestPas } from './harness.ts';

const MIB = 1024 * 1024;
/** The isolate's budget in this test: small, so that each flood meets it within a second or two. */
const BUDGET_MIB = 64;
const PROGRAMS = ['stdout-flood', 'append-flood', 'file-flood', 'memory-flood', 'write-ok'] as const;

describe('bounded resources: no permitted program can exhaust the isolate (real processes)', () => {
  let pas: TestPas;
  let server: RunningServer;
  let policy: string;
  let provider: Party;
  let other: Party;
  let runner: Party;
  let runnerClient: VeracruzClient;
  const theirs = new Uint8Array(4 * MIB).map((_, index) => index * 7);
  const theirsHash = createHash('sha256').update(theirs).digest('hex');

  before(async () => {
    pas = await startTestPas();
    const binaries = Object.fromEntries(await Promise.all(PROGRAMS.map(async (name) =>
      [name, await compileC(readFileSync(new URL(`./programs/${name}.c`, import.meta.url), 'utf8'))] as const)));
    provider = await party('program-provider', [{ file_name: '/program/', rights: RIGHTS_WRITE }]);
    other = await party('other-party', [{ file_name: '/input/', rights: RIGHTS_WRITE | RIGHTS_READ }]);
    runner = await party('runner', [
      { file_name: '/program/', rights: RIGHTS_EXECUTE }, { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE },
      { file_name: 'stdout', rights: RIGHTS_READ }, { file_name: 'stderr', rights: RIGHTS_READ },
    ]);
    const programRights = [
      { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE }, { file_name: 'stdout', rights: RIGHTS_WRITE }, { file_name: 'stderr', rights: RIGHTS_WRITE },
    ];
    policy = await e2ePolicy(pas, {
      parties: [provider, other, runner],
      maxMemoryMib: BUDGET_MIB,
      programs: PROGRAMS.map((name) => ({ path: `/program/${name}.wasm`, binary: binaries[name]!, rights: programRights, limits: { timeout_ms: 60_000 } })),
    });
    // The memory budget alone: no sealed storage to page file data out to.
    server = await startComputation(policy, pas, { sealedStorage: false });
    const uploader = await connect(server, policy, provider);
    for (const name of PROGRAMS) await uploader.writeFile(`/program/${name}.wasm`, binaries[name]!);
    await uploader.close();
    const owner = await connect(server, policy, other);
    await owner.writeFile('/input/theirs.dat', theirs);
    await owner.close();
    runnerClient = await connect(server, policy, runner);
  });

  after(async () => {
    await runnerClient?.close();
    await server?.close();
    await pas?.close();
  });

  /** Runs a flood program; it must end with limit_exceeded naming `resource`; reports the isolate's memory. */
  async function flood(t: TestContext, name: string, resource: RegExp): Promise<void> {
    await assert.rejects(runnerClient.execute(`/program/${name}.wasm`), rejectsWith('limit_exceeded', resource));
    const memory = await residentMemory(server.isolatePid!);
    t.diagnostic(`${name}: isolate RSS ${(memory.rss / MIB).toFixed(0)} MiB, peak ${(memory.peak / MIB).toFixed(0)} MiB (budget ${BUDGET_MIB} MiB + overhead ${ISOLATE_MEMORY_OVERHEAD_BYTES / MIB} MiB)`);
    assert.ok(memory.peak < BUDGET_MIB * MIB + ISOLATE_MEMORY_OVERHEAD_BYTES, `peak RSS ${memory.peak} bytes`);
  }

  /** The other party's file is intact, and a well-behaved program still runs. */
  async function unaffected(): Promise<void> {
    const owner = await connect(server, policy, other);
    assert.equal(createHash('sha256').update(await owner.readFile('/input/theirs.dat')).digest('hex'), theirsHash);
    await owner.close();
    assert.equal(await runnerClient.execute('/program/write-ok.wasm'), 0);
    assert.equal(new TextDecoder().decode(await runnerClient.readFile('/output/ok.txt')), 'ok\n');
  }

  it('a program writing 1 MiB to stdout for ever is stopped; stdout holds what fitted', async (t) => {
    await flood(t, 'stdout-flood', /memory budget \(\d+ MiB\) refused 1048576 more bytes of stdout; the program kept writing after the refusal/);
    const stdout = await runnerClient.readFile('stdout');
    assert.ok(stdout.length > 16 * MIB && stdout.length < BUDGET_MIB * MIB, `${stdout.length} bytes of stdout`);
    await unaffected();
  });

  it('a program appending 1 MiB at a time to one file gets ENOSPC, handles it, and the run ends as a limit', async (t) => {
    await flood(t, 'append-flood', /memory budget \(\d+ MiB\) refused 1048576 more bytes of files; the program then exited with code 0/);
    const stderr = new TextDecoder().decode(await runnerClient.readFile('stderr'));
    assert.match(stderr, /append: No space left on device\nappended \d+ MiB\n/);
    // A party's write that would not fit is refused before any byte is stored; the file is kept.
    const size = (await runnerClient.readFile('/output/big.dat')).length;
    // One message (below the client's chunk size), larger than what the program's freed memory left.
    const oneMessage = await connect(server, policy, runner, { chunkBytes: 16 * MIB });
    await assert.rejects(oneMessage.writeFile('/output/extra.dat', new Uint8Array(8 * MIB)), rejectsWith('limit_exceeded', /^\[limit_exceeded\] write \/output\/extra.dat: the isolate's memory budget \(\d+ MiB\) cannot hold \d+ more bytes of files$/));
    await oneMessage.close();
    await assert.rejects(runnerClient.readFile('/output/extra.dat'), rejectsWith('not_found', /no such file/));
    assert.equal((await runnerClient.readFile('/output/big.dat')).length, size);
    await runnerClient.writeFile('/output/big.dat', new Uint8Array(0));
    // A write streamed in chunks is refused at the chunk that does not fit; the SDK says how far it got.
    await assert.rejects(runnerClient.writeFile('/output/extra.dat', new Uint8Array(BUDGET_MIB * MIB)),
      rejectsWith('limit_exceeded', /^\[limit_exceeded\] append \/output\/extra.dat: .* \(the first \d+ bytes of \/output\/extra.dat were stored before the refusal\)$/));
    await runnerClient.writeFile('/output/extra.dat', new Uint8Array(0));
    await unaffected();
  });

  it('a program creating 1 MiB files in a loop is stopped with files named as the resource', async (t) => {
    await flood(t, 'file-flood', /memory budget \(\d+ MiB\) refused \d+ more bytes of files; the program kept writing after the refusal/);
    // Free some room the way a party can: by overwriting outputs it may write.
    for (let index = 0; index < 8; index++) await runnerClient.writeFile(`/output/f${index}.dat`, new Uint8Array(0));
    await unaffected();
  });

  it('a program allocating without end gets a failed malloc, and its memory is returned after the run', async (t) => {
    for (let index = 8; index < 64; index++) await runnerClient.writeFile(`/output/f${index}.dat`, new Uint8Array(0)).catch(() => {});
    await flood(t, 'memory-flood', /memory budget \(\d+ MiB\) refused more program memory; the program then exited with code 3/);
    assert.match(new TextDecoder().decode(await runnerClient.readFile('stdout')), /^malloc failed after \d+ MiB\n$/);
    await unaffected();
  });
});
