import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Code } from '@veracruz-ts/core';
import { RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { ANALYST_RIGHTS, copyProgram, isError, patterned, streamComputationForSuite } from './test-fixture.ts';
import type { StreamFollower } from './stream-follower.ts';

/** Collects what a follower delivers; `ended` resolves with all of it, or rejects with its error. */
function collect(follower: StreamFollower): { received: () => Buffer; ended: Promise<Buffer> } {
  const parts: Uint8Array[] = [];
  follower.on('data', (part: Uint8Array) => parts.push(part));
  const ended = once(follower, 'end').then(() => Buffer.concat(parts));
  ended.catch(() => {});
  return { received: () => Buffer.concat(parts), ended };
}

/** Resolves once `check` holds, polling; fails after `ms`. */
async function eventually(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

describe('StreamFollower against an in-process session manager', { timeout: 120_000 }, () => {
  const setup = streamComputationForSuite(async () => ({
    principals: {
      sensor: [{ file_name: '/input/', rights: RIGHTS_WRITE }],
      analyst: [...ANALYST_RIGHTS, { file_name: '/data/', rights: RIGHTS_READ | RIGHTS_WRITE }, { file_name: '/input/', rights: RIGHTS_READ }],
      outsider: [{ file_name: '/data/', rights: RIGHTS_WRITE }],
    },
    // /output/copy: no identity may write it, so it is an output stream, open while the copy runs.
    streams: [{ path: '/input/source' }, { path: '/output/copy' }, { path: '/input/dropped' }],
    programs: [{ path: '/program/copy.wasm', binary: await copyProgram('/input/source', '/output/copy') }],
  }));

  it('delivers a file that is not a stream, and ends: it has ended already', async () => {
    const analyst = await setup.connect('analyst');
    const data = patterned(150_000);
    await analyst.writeFile('/data/plain', data);
    const follower = analyst.followStream('/data/plain', { chunkBytes: 40_000 });
    const progress: number[] = [];
    follower.on('progress', ({ bytes }: { bytes: number }) => progress.push(bytes));
    const { ended } = collect(follower);
    assert.ok((await ended).equals(data));
    assert.deepEqual(progress, [40_000, 80_000, 120_000, 150_000]);
    assert.equal(follower.offset, data.length);
    // From an offset: the rest only.
    const { ended: rest } = collect(analyst.followStream('/data/plain', { offset: 149_990 }));
    assert.ok((await rest).equals(data.subarray(149_990)));
    await analyst.close();
  });

  it('sees a program\'s output stream grow before the program ends, and ends when the run finishes', async () => {
    const [sensor, runner, analyst] = await Promise.all([setup.connect('sensor'), setup.connect('analyst'), setup.connect('analyst')]);
    await runner.writeFile('/program/copy.wasm', await copyProgram('/input/source', '/output/copy'));
    // Before any run, the output stream is open: the follower waits rather than ending empty.
    const follower = analyst.followStream('/output/copy', { waitMs: 200 });
    const { received, ended } = collect(follower);
    let finished = false;
    const run = runner.execute('/program/copy.wasm').finally(() => (finished = true));
    run.catch(() => {});
    const writer = sensor.openStreamWriter('/input/source');
    const first = patterned(30_000, 1);
    writer.write(first);
    await eventually(() => received().length >= first.length, 'the first part was followed');
    assert.ok(received().equals(first));
    assert.equal(finished, false, 'the program is still running, waiting for more');
    const second = patterned(50_000, 2);
    writer.end(second);
    await once(writer, 'finish');
    assert.equal(await run, 0);
    assert.ok((await ended).equals(Buffer.concat([first, second])));
    await Promise.all([sensor.close(), runner.close(), analyst.close()]);
  });

  it('fails with the isolate\'s error: no read right, a stream aborted by its writer\'s disconnect', async () => {
    const [outsider, analyst, sensor] = await Promise.all([setup.connect('outsider'), setup.connect('analyst'), setup.connect('sensor')]);
    const refused = outsider.followStream('/data/plain');
    refused.resume();
    const [denied] = await once(refused, 'error');
    isError(Code.PermissionDenied, /\/data\/plain/)(denied);

    // /input/dropped's writer appends, then goes away without closing: under the default policy the stream is aborted.
    const writer = sensor.openStreamWriter('/input/dropped');
    writer.write(patterned(100));
    await once(writer, 'progress');
    await sensor.close();
    const follower = analyst.followStream('/input/dropped');
    follower.resume();
    const [aborted] = await once(follower, 'error');
    isError(Code.Unavailable, /\/input\/dropped/)(aborted);
    await Promise.all([outsider.close(), analyst.close()]);
  });

  it('refuses bad options at once', async () => {
    const analyst = await setup.connect('analyst');
    assert.throws(() => analyst.followStream('/data/plain', { offset: -1 }), isError(Code.InvalidRequest, /offset must be an integer of at least 0/));
    assert.throws(() => analyst.followStream('/data/plain', { waitMs: 0 }), isError(Code.InvalidRequest, /waitMs must be an integer of at least 1/));
    await analyst.close();
  });
});
