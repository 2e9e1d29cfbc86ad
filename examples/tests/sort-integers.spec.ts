import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { generateSortIntegers } from '../generators/sort-integers.ts';
import { assertExit, ExampleRunner } from './harness.ts';

const INPUT = '/input/ints.bin';
const OUTPUT = '/output/sorted.bin';

function sortedCopy(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(i * 4, true)).sort((a, b) => a - b);
  const out = new Uint8Array(bytes.length);
  values.forEach((value, i) => {
    new DataView(out.buffer).setUint32(i * 4, value, true);
  });
  return out;
}

describe('sort-integers', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('sorts generated u32s', async () => {
    const files = generateSortIntegers({ seed: 13, size: 200000 });
    const run = await runner.run('sort-integers', { files });
    assertExit(run, 0);
    assert.deepEqual(run.read(OUTPUT), sortedCopy(files[INPUT]!));
  });

  it('sorts an empty input to an empty output', async () => {
    const run = await runner.run('sort-integers', { files: { [INPUT]: new Uint8Array() } });
    assertExit(run, 0);
    assert.equal(run.read(OUTPUT).length, 0);
  });

  it('exits 1 with a message, not a trap, when its memory cap is too small for the input', async () => {
    const files = generateSortIntegers({ seed: 14, size: 1 << 20 });
    const run = await runner.run('sort-integers', { files, limits: { maxMemoryMib: 4, timeoutMs: 60_000 } });
    assertExit(run, 1);
    assert.match(run.stderr, /out of memory/);
    assert.equal(run.exists(OUTPUT), false);
  });

  it('exits 2 without its input and 3 on a partial integer', async () => {
    assertExit(await runner.run('sort-integers'), 2);
    assertExit(await runner.run('sort-integers', { files: { [INPUT]: new Uint8Array(6) } }), 3);
  });
});
