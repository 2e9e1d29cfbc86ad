import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Code } from '@veracruz-ts/core';
import { RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { ANALYST_RIGHTS, copyProgram, gatedCountProgram, isError, patterned, streamComputationForSuite } from './test-fixture.ts';
import type { StreamWriter } from './stream-writer.ts';

/** `data` cut into pieces of `size` bytes (the last shorter). */
function pieces(data: Uint8Array, size: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += size) parts.push(data.subarray(offset, offset + size));
  return parts;
}

/** The error a writer emits. */
async function writerError(writer: StreamWriter): Promise<unknown> {
  const [error] = await once(writer, 'error');
  return error;
}

const HEAD = 4096;
const HELD_BOUND = 64 * 1024;

describe('StreamWriter against an in-process session manager', { timeout: 120_000 }, () => {
  const setup = streamComputationForSuite(async () => ({
    principals: {
      alice: [{ file_name: '/input/', rights: RIGHTS_WRITE }],
      bob: [{ file_name: '/input/shared', rights: RIGHTS_WRITE }],
      analyst: [...ANALYST_RIGHTS, { file_name: '/input/', rights: RIGHTS_READ }],
    },
    streams: [
      { path: '/input/one' },
      { path: '/input/shared' },
      { path: '/input/held', max_buffered_bytes: HELD_BOUND },
      { path: '/input/gate' },
      { path: '/input/ended' },
      { path: '/input/partial' },
    ],
    programs: [
      { path: '/program/copy.wasm', binary: await copyProgram('/input/one', '/output/one-copy') },
      { path: '/program/gated.wasm', binary: await gatedCountProgram('/input/held', '/input/gate', HEAD, '/output/held-count') },
    ],
  }));

  it('appends what is written in requests of at most chunkBytes, reports progress, and closes the stream at the end', async () => {
    const alice = await setup.connect('alice');
    const data = patterned(100_000);
    const writer = alice.openStreamWriter('/input/one', { chunkBytes: 10_000 });
    const progress: number[] = [];
    writer.on('progress', ({ bytes }: { bytes: number }) => progress.push(bytes));
    await pipeline(Readable.from(pieces(data, 7_777)), writer);
    assert.equal(writer.acceptedBytes, data.length);
    assert.equal(progress.at(-1), data.length);
    assert.ok(progress.length >= 10, `${progress.length} appends`);
    assert.ok(progress.every((bytes, index) => index === 0 || bytes > progress[index - 1]!), 'progress only grows');
    assert.ok(progress.every((bytes, index) => bytes - (progress[index - 1] ?? 0) <= 10_000), 'no append above chunkBytes');
    await alice.close();

    // alice, its only writer, closed it: a follower ends, and a program reading it reaches end of file.
    const analyst = await setup.connect('analyst');
    const followed: Uint8Array[] = [];
    for await (const part of analyst.followStream('/input/one')) followed.push(part);
    assert.ok(Buffer.concat(followed).equals(data));
    await analyst.writeFile('/program/copy.wasm', await copyProgram('/input/one', '/output/one-copy'));
    assert.equal(await analyst.execute('/program/copy.wasm'), 0);
    assert.ok(Buffer.from(await analyst.readFile('/output/one-copy')).equals(data));
    await analyst.close();
  });

  it('keeps records whole when two writers append to one stream at once, and the stream ends when both have closed', async () => {
    const [alice, bob, analyst] = await Promise.all([setup.connect('alice'), setup.connect('bob'), setup.connect('analyst')]);
    const RECORDS = 5000;
    const records = (writer: number): Uint8Array => {
      const bytes = new Uint8Array(RECORDS * 8);
      const view = new DataView(bytes.buffer);
      for (let sequence = 0; sequence < RECORDS; sequence++) {
        view.setUint32(sequence * 8, writer, true);
        view.setUint32(sequence * 8 + 4, sequence, true);
      }
      return bytes;
    };
    const follower = analyst.followStream('/input/shared');
    const followed: Uint8Array[] = [];
    follower.on('data', (part: Uint8Array) => followed.push(part));
    const ended = once(follower, 'end');
    // Pieces of 1001 bytes split records; 4000-byte appends each carry 500 of them.
    await Promise.all([
      pipeline(Readable.from(pieces(records(1), 1001)), alice.openStreamWriter('/input/shared', { recordBytes: 8, chunkBytes: 4000 })),
      pipeline(Readable.from(pieces(records(2), 1001)), bob.openStreamWriter('/input/shared', { recordBytes: 8, chunkBytes: 4003 })),
    ]);
    await ended;
    const all = Buffer.concat(followed);
    assert.equal(all.length, 2 * RECORDS * 8);
    const next = new Map([[1, 0], [2, 0]]);
    for (let offset = 0; offset < all.length; offset += 8) {
      const writer = all.readUInt32LE(offset);
      const sequence = all.readUInt32LE(offset + 4);
      assert.equal(sequence, next.get(writer), `record at ${offset}: writer ${writer}, sequence ${sequence}`);
      next.set(writer, sequence + 1);
    }
    await Promise.all([alice.close(), bob.close(), analyst.close()]);
  });

  it('holds the producer back while a running program is behind on the stream, and lets it go when the program reads on', async () => {
    const [alice, gatekeeper, analyst, watcher] = await Promise.all([
      setup.connect('alice', { window: 2 }), setup.connect('alice'), setup.connect('analyst'), setup.connect('analyst'),
    ]);
    await analyst.writeFile('/program/gated.wasm', await gatedCountProgram('/input/held', '/input/gate', HEAD, '/output/held-count'));
    const run = analyst.execute('/program/gated.wasm');
    run.catch(() => {});
    // Appends made before any program reads the stream are simply stored: wait until it runs.
    while (!(await watcher.fileSize('/output/held-count.started').then(() => true, () => false))) await sleep(20);
    await sleep(100);
    const writer = alice.openStreamWriter('/input/held', { chunkBytes: 16 * 1024, highWaterMark: 16 * 1024 });
    const total = 1024 * 1024;
    const piece = patterned(16 * 1024);
    // A producer that honours write()'s answer: it waits for 'drain'. Held means no drain for 1.5 s.
    let offered = 0;
    let drained: Promise<unknown> | undefined;
    while (offered < total && drained === undefined) {
      offered += piece.length;
      if (writer.write(piece)) continue;
      const drain = once(writer, 'drain');
      if (!(await Promise.race([drain.then(() => true), sleep(1500).then(() => false)]))) drained = drain;
    }
    assert.ok(drained !== undefined, `the producer was never held back: it wrote all ${total} bytes`);
    assert.ok(writer.acceptedBytes <= HEAD + HELD_BOUND + 16 * 1024,
      `${writer.acceptedBytes} bytes accepted while the program had read ${HEAD} and the bound is ${HELD_BOUND}`);
    // What the producer got rid of: the accepted bytes, a window of 2 appends, the writable's buffer and the last piece.
    assert.ok(offered <= writer.acceptedBytes + 4 * 16 * 1024, `${offered} bytes offered, ${writer.acceptedBytes} accepted`);

    // Ending the gate lets the program read the rest: the held appends go through, and so does the producer.
    await pipeline(Readable.from([]), gatekeeper.openStreamWriter('/input/gate'));
    await drained;
    while (offered < total) {
      if (!writer.write(piece)) await once(writer, 'drain');
      offered += piece.length;
    }
    writer.end();
    await once(writer, 'finish');
    assert.equal(writer.acceptedBytes, total);
    assert.equal(await run, 0);
    assert.equal(new TextDecoder().decode(await watcher.readFile('/output/held-count')), String(total));
    await Promise.all([alice.close(), gatekeeper.close(), analyst.close(), watcher.close()]);
  });

  it('fails with the isolate\'s error: a stream that has ended, a path without the write right', async () => {
    const [alice, bob] = await Promise.all([setup.connect('alice'), setup.connect('bob')]);
    await pipeline(Readable.from([patterned(10)]), alice.openStreamWriter('/input/ended'));
    const late = alice.openStreamWriter('/input/ended');
    late.write(patterned(10));
    isError(Code.InvalidRequest, /stream \/input\/ended has ended/)(await writerError(late));
    assert.equal(late.acceptedBytes, 0);

    const refused = bob.openStreamWriter('/input/one');
    refused.end(patterned(10));
    isError(Code.PermissionDenied, /\/input\/one/)(await writerError(refused));
    await Promise.all([alice.close(), bob.close()]);
  });

  it('refuses locally a path the policy declares no stream at, bad options, and data that ends inside a record', async () => {
    const [alice, analyst] = await Promise.all([setup.connect('alice'), setup.connect('analyst')]);
    assert.throws(() => alice.openStreamWriter('/input/plain'), isError(Code.InvalidRequest, /\/input\/plain is not a stream in the policy/));
    assert.throws(() => alice.openStreamWriter('/input/one', { recordBytes: 0 }), isError(Code.InvalidRequest, /recordBytes must be a positive integer/));
    assert.throws(() => alice.openStreamWriter('/input/one', { window: 1.5 }), isError(Code.InvalidRequest, /window must be a positive integer/));

    const writer = alice.openStreamWriter('/input/partial', { recordBytes: 8 });
    writer.end(patterned(13));
    isError(Code.InvalidRequest, /stream \/input\/partial: the data ended inside a record \(5 of 8 bytes\); .*not closed/)(await writerError(writer));
    assert.equal(writer.acceptedBytes, 8);
    // Not closed: a follower gets the whole record and keeps waiting.
    const follower = analyst.followStream('/input/partial', { waitMs: 100 });
    let ended = false;
    follower.on('end', () => (ended = true));
    const [first] = await once(follower, 'data');
    assert.deepEqual(new Uint8Array(first as Uint8Array), patterned(8));
    await sleep(500);
    assert.equal(ended, false);
    follower.destroy();
    await Promise.all([alice.close(), analyst.close()]);
  });
});
