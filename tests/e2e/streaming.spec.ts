// Streams end to end: real vc-pas, vc-server on the linux platform, the runtime bundle in its own
// process, and the SDK's stream writer and follower. Each test has a computation of its own, since a
// stream that has ended (or was aborted) stays so for the computation's life.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { VeracruzClient } from '@veracruz-ts/client';
import { Code } from '@veracruz-ts/core';
import { type FileRights, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import type { RunningServer } from '@veracruz-ts/server';
import { encodeF64 } from '../../examples/generators/files.ts';
import { sensorReadings } from '../../examples/generators/sensor-readings.ts';
import { aggregateReadings, type SensorAggregate } from '../../examples/reference/sensor-aggregation.ts';
import { connect, e2ePolicy, exampleProgram, party, type Party, rejectsWith, startComputation, startTestPas, type TestPas, text } from './harness.ts';

const PROGRAM_RIGHTS: FileRights[] = [{ file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_WRITE }];
const AGGREGATION = '/program/sensor-aggregation.wasm';
const STREAM_HASH = '/program/stream-hash.wasm';

/** Resolves once `check` holds, polling; fails after `ms`. */
async function eventually(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

describe('streams through vc-server (linux isolate)', { timeout: 180_000 }, () => {
  let pas: TestPas;
  let provider: Party;
  let analyst: Party;
  const programs: Record<string, Uint8Array> = {};
  const running: RunningServer[] = [];
  const clients: VeracruzClient[] = [];

  before(async () => {
    pas = await startTestPas();
    programs[AGGREGATION] = await exampleProgram('sensor-aggregation');
    programs[STREAM_HASH] = await exampleProgram('stream-hash');
    provider = await party('program-provider', [{ file_name: '/program/', rights: RIGHTS_WRITE }]);
    analyst = await party('analyst', [{ file_name: '/program/', rights: RIGHTS_EXECUTE }, { file_name: '/output/', rights: RIGHTS_READ }]);
  });
  after(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    for (const server of running) await server.close().catch(() => {});
    await pas?.close();
  });

  /** Starts a computation for `parties` (plus the provider and analyst) with `streams`, the programs uploaded. */
  async function computation(parties: Party[], streams: Record<string, unknown>[], limits: Record<string, Record<string, number>> = {}) {
    const base = await e2ePolicy(pas, {
      parties: [provider, analyst, ...parties],
      programs: Object.entries(programs).map(([path, binary]) => ({ path, binary, rights: PROGRAM_RIGHTS, ...(limits[path] ? { limits: limits[path] } : {}) })),
    });
    const policy = JSON.stringify({ ...JSON.parse(base), streams }, null, 2);
    const server = await startComputation(policy, pas);
    running.push(server);
    const open = async (who: Party): Promise<VeracruzClient> => {
      const client = await connect(server, policy, who);
      clients.push(client);
      return client;
    };
    const uploader = await open(provider);
    for (const [path, binary] of Object.entries(programs)) await uploader.writeFile(path, binary);
    await uploader.close();
    return { server, policy, open };
  }

  it('lets a follower see a program\'s output as it grows, before the program ends', async () => {
    const sensor = await party('sensor', [{ file_name: '/input/readings', rights: RIGHTS_WRITE }]);
    const { open } = await computation([sensor], [{ path: '/input/readings' }, { path: '/output/aggregate' }]);
    const [runner, watcher, writerClient] = await Promise.all([open(analyst), open(analyst), open(sensor)]);
    const lines: (SensorAggregate & { final: boolean })[] = [];
    let pending = '';
    const follower = watcher.followStream('/output/aggregate');
    follower.on('data', (part: Uint8Array) => {
      pending += Buffer.from(part).toString('utf8');
      const complete = pending.split('\n');
      pending = complete.pop()!;
      for (const line of complete) lines.push(JSON.parse(line) as SensorAggregate & { final: boolean });
    });
    const followed = once(follower, 'end');
    let finished = false;
    const run = runner.execute(AGGREGATION).finally(() => (finished = true));
    run.catch(() => {});

    const readings = sensorReadings({ seed: 5, size: 3 * 4096, sensor: 0 });
    const writer = writerClient.openStreamWriter('/input/readings', { recordBytes: 8 });
    writer.write(encodeF64(readings.slice(0, 2 * 4096)));
    await eventually(() => lines.length >= 2, 'two aggregate lines were followed');
    assert.deepEqual(lines.map((line) => [line.count, line.final]), [[4096, false], [8192, false]]);
    assert.equal(finished, false, 'the program still runs: the stream is open');

    writer.end(encodeF64(readings.slice(2 * 4096)));
    await once(writer, 'finish');
    assert.equal(await run, 0);
    await followed;
    assert.deepEqual(lines.map((line) => [line.count, line.final]), [[4096, false], [8192, false], [12288, false], [12288, true]]);
    const final = lines.at(-1)!;
    const clear = aggregateReadings(readings);
    assert.deepEqual([final.histogram, final.under, final.over], [clear.histogram, clear.under, clear.over]);
    assert.ok(Math.abs(final.mean! - clear.mean!) <= 1e-9 * Math.abs(clear.mean!));
  });

  it('aborts a stream whose writer disconnects without closing it: the run fails naming the stream, others\' data intact', async () => {
    const left = await party('sensor-left', [{ file_name: '/input/stream', rights: RIGHTS_WRITE }]);
    const stays = await party('sensor-stays', [{ file_name: '/input/stream', rights: RIGHTS_WRITE }]);
    const keeper = await party('keeper', [{ file_name: '/input/kept.dat', rights: RIGHTS_READ | RIGHTS_WRITE }]);
    const { open } = await computation([left, stays, keeper], [{ path: '/input/stream' }]);
    const [runner, leaving, staying, keeping] = await Promise.all([open(analyst), open(left), open(stays), open(keeper)]);
    const kept = new Uint8Array(300_000).map((_, index) => (index * 17) & 0xff);
    await keeping.writeFile('/input/kept.dat', kept);
    const run = runner.execute(STREAM_HASH);
    run.catch(() => {});

    const staysWriter = staying.openStreamWriter('/input/stream');
    staysWriter.write(text('from the party that stays '));
    await once(staysWriter, 'progress');
    const leavingWriter = leaving.openStreamWriter('/input/stream');
    leavingWriter.write(text('from the party that leaves'));
    await once(leavingWriter, 'progress');
    // Gone without close_stream: under the default policy (on_writer_disconnect abort) the stream fails.
    await leaving.close();
    // The program got EIO; the run's outcome names the stream and the writer who left (identity 2: after provider and analyst).
    await assert.rejects(run, rejectsWith(Code.Unavailable, /stream \/input\/stream failed \(writer identity 2 left without closing it\)/));
    // The party that stayed cannot go on with an aborted stream; the isolate serves everyone else as before.
    staysWriter.write(text('more'));
    const [refused] = await once(staysWriter, 'error');
    assert.match(String((refused as Error).message), /\/input\/stream/);
    assert.equal(createHash('sha256').update(await keeping.readFile('/input/kept.dat')).digest('hex'), createHash('sha256').update(kept).digest('hex'));
  });

  it('stops a program waiting on a stream at its time limit, and serves on: another run succeeds', async () => {
    const sensor = await party('sensor', [{ file_name: '/input/', rights: RIGHTS_WRITE }]);
    const { open } = await computation([sensor], [{ path: '/input/readings' }, { path: '/input/stream' }], { [AGGREGATION]: { timeout_ms: 1500 } });
    const [runner, writerClient] = await Promise.all([open(analyst), open(sensor)]);
    const started = Date.now();
    // Nobody writes /input/readings: the program waits until its time limit stops it.
    await assert.rejects(runner.execute(AGGREGATION), rejectsWith(Code.LimitExceeded, /time/));
    assert.ok(Date.now() - started >= 1400, 'stopped by the limit, not earlier');

    const data = new Uint8Array(200_000).map((_, index) => (index * 29 + (index >> 9)) & 0xff);
    const writer = writerClient.openStreamWriter('/input/stream', { chunkBytes: 32 * 1024 });
    writer.end(data);
    await once(writer, 'finish');
    assert.equal(await runner.execute(STREAM_HASH), 0);
    const result = JSON.parse(new TextDecoder().decode(await runner.readFile('/output/stream-hash'))) as { sha256: string; bytes: number };
    assert.deepEqual([result.sha256, result.bytes], [createHash('sha256').update(data).digest('hex'), data.length]);
  });
});
