import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { encodeF64 } from '../generators/files.ts';
import { numberStreams } from '../generators/number-stream-accumulation.ts';
import { appendFiles, assertExit, createFileSystem, ExampleRunner, type ExampleRun } from './harness.ts';

const STATE = '/output/accumulation.dat';
const INIT = '/input/number-stream-init.dat';
const STREAM1 = '/input/number-stream-1.dat';
const STREAM2 = '/input/number-stream-2.dat';

function readState(run: ExampleRun): { count: bigint; sum: number } {
  const bytes = run.read(STATE);
  assert.equal(bytes.length, 16);
  const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return { count: view.getBigUint64(0, true), sum: view.getFloat64(8, true) };
}

describe('number-stream-accumulation', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('accumulates rounds of appended numbers, keeping its state across runs', async () => {
    const { init, stream1, stream2 } = numberStreams({ seed: 4, size: 6 });
    const vfs = createFileSystem({ [INIT]: encodeF64([init]), [STREAM1]: new Uint8Array(), [STREAM2]: new Uint8Array() });
    // Rounds of 1, 2 and 3 new numbers per stream.
    const rounds = [[0, 1], [1, 3], [3, 6]] as const;
    let expected = init;
    for (const [from, to] of rounds) {
      appendFiles(vfs, { [STREAM1]: encodeF64(stream1.slice(from, to)), [STREAM2]: encodeF64(stream2.slice(from, to)) });
      const run = await runner.run('number-stream-accumulation', { vfs });
      assertExit(run, 0);
      for (let i = from; i < to; i++) expected = expected + stream1[i]! + stream2[i]!;
      assert.deepEqual(readState(run), { count: BigInt(to), sum: expected });
    }
  });

  it('only consumes pairs: a longer stream waits for the other', async () => {
    const vfs = createFileSystem({ [INIT]: encodeF64([1]), [STREAM1]: encodeF64([10, 20, 30]), [STREAM2]: encodeF64([100]) });
    assert.deepEqual(readState(await runner.run('number-stream-accumulation', { vfs })), { count: 1n, sum: 111 });
    appendFiles(vfs, { [STREAM2]: encodeF64([200]) });
    assert.deepEqual(readState(await runner.run('number-stream-accumulation', { vfs })), { count: 2n, sum: 331 });
    // Nothing new: the state stays.
    assert.deepEqual(readState(await runner.run('number-stream-accumulation', { vfs })), { count: 2n, sum: 331 });
  });

  it('exits 2 on the first run without the starting value', async () => {
    const run = await runner.run('number-stream-accumulation', { files: { [STREAM1]: encodeF64([1]), [STREAM2]: encodeF64([2]) } });
    assertExit(run, 2);
    assert.equal(run.exists(STATE), false);
  });

  it('exits 3 on a partial number or a corrupt state', async () => {
    const streams = { [INIT]: encodeF64([0]), [STREAM1]: encodeF64([1]), [STREAM2]: encodeF64([2]) };
    assertExit(await runner.run('number-stream-accumulation', { files: { ...streams, [STREAM2]: encodeF64([2]).subarray(0, 5) } }), 3);
    assertExit(await runner.run('number-stream-accumulation', { files: { ...streams, [STATE]: new Uint8Array(15) } }), 3);
    const beyond = new Uint8Array(16);
    new DataView(beyond.buffer).setBigUint64(0, 5n, true);
    assertExit(await runner.run('number-stream-accumulation', { files: { ...streams, [STATE]: beyond } }), 3);
  });
});
