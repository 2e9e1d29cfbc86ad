/**
 * Sealed storage, end to end: an isolate whose memory budget is 32 MiB holds files several times
 * larger, sealed out to a directory its host provides; a program computes over them and principals
 * read them back intact. The test then plays the malicious host on that directory: every forgery
 * (a flipped bit, an older version replayed, two chunks swapped, another file's chunks, a truncated
 * file) is caught on the next read with `integrity_violation` naming the file, for the reader and for
 * a program, and nothing is lost: once the host puts the bytes back, the file reads as before. A
 * bound on the directory gives a clean `limit_exceeded`, keeping what was accepted.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import type { VeracruzClient } from '@veracruz-ts/client';
import { ISOLATE_MEMORY_OVERHEAD_BYTES, type RunningServer } from '@veracruz-ts/server';
import { residentMemory } from '@veracruz-ts/server/testing';
import { type Party, type TestPas, connect, e2ePolicy, exampleProgram, party, rejectsWith, startComputation, startTestPas } from './harness.ts';

const MIB = 1024 * 1024;
const BUDGET_MIB = 32;
/** Bytes of the sealed tag after each chunk in the host's files. */
const TAG = 16;

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe('sealed storage: files larger than the isolate, on a host that can change nothing (real processes)', () => {
  let pas: TestPas;
  let server: RunningServer;
  let policy: string;
  let owner: Party;
  let runner: Party;
  let ownerClient: VeracruzClient;
  let runnerClient: VeracruzClient;
  let parent: string;
  /** The isolate's sealed directory on this host. */
  let sealed: string;
  const data = randomBytes(96 * MIB);

  /** The host files that appeared while `action` ran. */
  async function newHostFiles(action: () => Promise<void>): Promise<string[]> {
    const before = new Set(readdirSync(sealed));
    await action();
    return readdirSync(sealed).filter((name) => !before.has(name)).map((name) => join(sealed, name));
  }

  before(async () => {
    pas = await startTestPas();
    owner = await party('data-owner', [{ file_name: '/input/', rights: RIGHTS_WRITE | RIGHTS_READ }]);
    runner = await party('runner', [{ file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE }, { file_name: 'stdout', rights: RIGHTS_READ }]);
    const program = await exampleProgram('sha256');
    policy = await e2ePolicy(pas, {
      parties: [owner, runner],
      maxMemoryMib: BUDGET_MIB,
      programs: [{ path: '/program/sha256.wasm', binary: program, rights: [{ file_name: '/input/', rights: RIGHTS_READ }, { file_name: 'stdout', rights: RIGHTS_WRITE }] }],
    });
    parent = mkdtempSync(join(tmpdir(), 'sealed-e2e-'));
    server = await startComputation(policy, pas, { sealedStorage: { directory: parent, maxBytes: 512 * MIB } });
    sealed = join(parent, readdirSync(parent)[0]!);
    ownerClient = await connect(server, policy, owner);
    runnerClient = await connect(server, policy, runner);
    await runnerClient.writeFile('/program/sha256.wasm', program);
  });

  after(async () => {
    await ownerClient?.close();
    await runnerClient?.close();
    await server?.close();
    await pas?.close();
    rmSync(parent, { recursive: true, force: true });
  });

  it('holds a file three times its memory budget, computes over it, and gives it back, within its memory', async (t) => {
    const files = await newHostFiles(() => ownerClient.writeFile('/input/data.bin', data));
    assert.equal(files.length, 1, 'one host file for the file sealed out');
    const onHost = readFileSync(files[0]!);
    assert.ok(onHost.length > 64 * MIB, `only ${onHost.length} bytes sealed out`);
    assert.equal(onHost.indexOf(data.subarray(5 * MIB, 5 * MIB + 64)), -1, 'plaintext on the host');
    assert.equal(await runnerClient.execute('/program/sha256.wasm'), 0);
    assert.equal(new TextDecoder().decode(await runnerClient.readFile('stdout')).trim(), sha256(data));
    assert.equal(sha256(await ownerClient.readFile('/input/data.bin')), sha256(data));
    const memory = await residentMemory(server.isolatePid!);
    t.diagnostic(`isolate RSS ${(memory.rss / MIB).toFixed(0)} MiB, peak ${(memory.peak / MIB).toFixed(0)} MiB; 96 MiB file, budget ${BUDGET_MIB} MiB`);
    assert.ok(memory.peak < BUDGET_MIB * MIB + ISOLATE_MEMORY_OVERHEAD_BYTES);
  });

  /** Forges the host file with `forge`, expects the reader and the program refused, then restores it and expects all well. */
  async function caught(path: string, forge: (original: Buffer) => void): Promise<void> {
    const original = readFileSync(path);
    forge(original);
    await assert.rejects(ownerClient.readFile('/input/data.bin'), rejectsWith('integrity_violation', /read \/input\/data\.bin: .*nothing of it was used/));
    await assert.rejects(runnerClient.execute('/program/sha256.wasm'), rejectsWith('integrity_violation', /program \/program\/sha256\.wasm: the host forged sealed data of \/input\/data\.bin/));
    writeFileSync(path, original);
    assert.equal(sha256(await ownerClient.readFile('/input/data.bin')), sha256(data), 'the file was not intact once the host gave its bytes back');
  }

  it('catches a flipped bit, two chunks swapped, and a truncated file, and loses nothing', async () => {
    const [path] = readdirSync(sealed).map((name) => join(sealed, name));
    await caught(path!, (original) => {
      const forged = Buffer.from(original);
      forged[100] = (forged[100] as number) ^ 1;
      writeFileSync(path!, forged);
    });
    // Chunks 5 and 6 are the file's second and third MiB; each is followed by its tag.
    const slot = (index: number): number => (index - 4) * MIB + index * TAG;
    await caught(path!, (original) => {
      const forged = Buffer.from(original);
      original.copy(forged, slot(5), slot(6), slot(6) + MIB + TAG);
      original.copy(forged, slot(6), slot(5), slot(5) + MIB + TAG);
      writeFileSync(path!, forged);
    });
    await caught(path!, (original) => truncateSync(path!, Math.floor(original.length / 2)));
  });

  it("catches another file's chunks and an older version of the same file replayed", async () => {
    const [path] = readdirSync(sealed).map((name) => join(sealed, name));
    const [other] = await newHostFiles(() => ownerClient.writeFile('/input/other.bin', randomBytes(64 * MIB)));
    await caught(path!, () => writeFileSync(path!, readFileSync(other!)));
    // The owner rewrites its file; the host keeps the old sealed bytes and plays them back.
    const old = readFileSync(path!);
    const newer = Buffer.from(data);
    newer.fill(7, 0, 8 * MIB);
    await ownerClient.writeFile('/input/data.bin', newer);
    const current = readFileSync(path!);
    writeFileSync(path!, old);
    await assert.rejects(ownerClient.readFile('/input/data.bin'), rejectsWith('integrity_violation', /\/input\/data\.bin/));
    writeFileSync(path!, current);
    assert.equal(sha256(await ownerClient.readFile('/input/data.bin')), sha256(newer));
  });
});

describe('sealed storage full: a clean refusal that keeps what was accepted (real processes)', () => {
  let pas: TestPas;
  let server: RunningServer;
  let policy: string;
  let owner: Party;

  before(async () => {
    pas = await startTestPas();
    owner = await party('data-owner', [{ file_name: '/input/', rights: RIGHTS_WRITE | RIGHTS_READ }]);
    policy = await e2ePolicy(pas, { parties: [owner], maxMemoryMib: BUDGET_MIB });
    server = await startComputation(policy, pas, { sealedStorage: { maxBytes: 40 * MIB } });
  });

  after(async () => {
    await server?.close();
    await pas?.close();
  });

  it('refuses the write that does not fit with limit_exceeded naming both limits', async () => {
    const client = await connect(server, policy, owner);
    const first = randomBytes(40 * MIB);
    await client.writeFile('/input/first.bin', first);
    await assert.rejects(client.writeFile('/input/second.bin', randomBytes(40 * MIB)),
      rejectsWith('limit_exceeded', /sealed storage on the host is full \(40 MiB\)/));
    assert.equal(sha256(await client.readFile('/input/first.bin')), sha256(first));
    await client.close();
  });
});
