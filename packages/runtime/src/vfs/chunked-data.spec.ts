import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CHUNK_SIZE, ChunkedData } from './chunked-data.ts';
import { StorageQuota } from './storage-quota.ts';

// The collector, exposed here when the test runner did not start this process with --expose-gc.
const collect = (globalThis as { gc?: () => void }).gc ?? ((): () => void => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** Bytes of ArrayBuffers that `run` leaves allocated (after full collections). */
function measureArrayBuffers(run: () => void): number {
  const gc = collect as () => void;
  gc();
  gc();
  const before = process.memoryUsage().arrayBuffers;
  run();
  gc();
  gc();
  return process.memoryUsage().arrayBuffers - before;
}

function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => (index * 31 + seed) & 0xff);
}

describe('ChunkedData', () => {
  it('reads back writes that straddle chunk boundaries', () => {
    const data = new ChunkedData();
    const first = pattern(CHUNK_SIZE + 100, 1);
    data.write(0, first);
    const second = pattern(2 * CHUNK_SIZE, 7);
    data.write(CHUNK_SIZE - 10, second);
    assert.equal(data.size, 3 * CHUNK_SIZE - 10);
    const expected = new Uint8Array(data.size);
    expected.set(first);
    expected.set(second, CHUNK_SIZE - 10);
    assert.deepEqual(data.toBytes(), expected);
    assert.deepEqual(data.read(CHUNK_SIZE - 5, 20), expected.subarray(CHUNK_SIZE - 5, CHUNK_SIZE + 15));
  });

  it('zero-fills holes left by writing past the end and reads short at the end', () => {
    const data = new ChunkedData();
    data.write(3 * CHUNK_SIZE + 5, Uint8Array.of(9));
    assert.equal(data.size, 3 * CHUNK_SIZE + 6);
    assert.deepEqual(data.read(CHUNK_SIZE, 4), new Uint8Array(4));
    assert.deepEqual(data.read(3 * CHUNK_SIZE + 4, 100), Uint8Array.of(0, 9));
    assert.equal(data.read(data.size + 10, 5).length, 0);
  });

  it('truncates, zeroing the dropped tail so growing again reads zeros', () => {
    const data = new ChunkedData();
    data.write(0, pattern(CHUNK_SIZE * 2, 3));
    data.truncate(10);
    assert.equal(data.size, 10);
    data.truncate(CHUNK_SIZE + 10);
    assert.deepEqual(data.read(10, 20), new Uint8Array(20));
    assert.deepEqual(data.read(0, 10), pattern(10, 3));
  });

  it('grows a small file\'s buffer and mixes small and full chunks correctly', () => {
    const data = new ChunkedData();
    data.write(0, pattern(10, 1));
    data.write(CHUNK_SIZE + 5, pattern(3, 2));
    data.write(300, pattern(500, 3));
    const expected = new Uint8Array(CHUNK_SIZE + 8);
    expected.set(pattern(10, 1));
    expected.set(pattern(500, 3), 300);
    expected.set(pattern(3, 2), CHUNK_SIZE + 5);
    assert.deepEqual(data.toBytes(), expected);
    data.write(CHUNK_SIZE - 2, pattern(4, 4));
    expected.set(pattern(4, 4), CHUNK_SIZE - 2);
    assert.deepEqual(data.toBytes(), expected);
  });

  it('counts the larger of its length and its storage, all or nothing, and gives all of it back when discarded', () => {
    const quota = new StorageQuota(CHUNK_SIZE + 10);
    const data = new ChunkedData(quota);
    data.write(0, pattern(CHUNK_SIZE, 1));
    assert.throws(() => data.write(CHUNK_SIZE - 5, pattern(20, 2)), /ENOSPC/);
    assert.deepEqual(data.toBytes(), pattern(CHUNK_SIZE, 1));
    data.write(CHUNK_SIZE, pattern(10, 2));
    assert.equal(quota.used, CHUNK_SIZE + 10, 'near the end of the budget a slab holds only what is written');
    data.truncate(5);
    assert.equal(quota.used, 5);
    // A hole counts (its length), though nothing is allocated for it.
    data.truncate(CHUNK_SIZE);
    assert.deepEqual([quota.used, data.capacity], [CHUNK_SIZE, 5]);
    data.discard();
    assert.deepEqual([quota.used, data.size, data.capacity], [0, 0, 0]);
  });

  it('writes all buffers of a gathered write or none of them', () => {
    const quota = new StorageQuota(100);
    const data = new ChunkedData(quota);
    assert.throws(() => data.writeAll(0, [pattern(60, 1), pattern(41, 2)]), /ENOSPC/);
    assert.deepEqual([data.size, quota.used], [0, 0]);
    data.writeAll(10, [pattern(60, 1), pattern(30, 2)]);
    assert.deepEqual(data.toBytes(), Uint8Array.from([...new Uint8Array(10), ...pattern(60, 1), ...pattern(30, 2)]));
    data.writeAll(500, []);
    assert.equal(data.size, 100, 'an empty write does not extend the file');
  });

  it('charges the storage a file holds: a file just past a slab boundary pays for the slab it started', () => {
    const data = new ChunkedData(new StorageQuota(1 << 30));
    for (let index = 0; index < 17; index++) data.append(pattern(CHUNK_SIZE, index));
    // 1 MiB in slabs of 64, 64, 128, 256 and 512 KiB, then a 1 MiB slab for the 17th chunk.
    assert.equal(data.capacity, 2 * 16 * CHUNK_SIZE);
    assert.equal(data.charged, data.capacity);
    // A whole replacement holds only what it needs.
    data.replace(pattern(17 * CHUNK_SIZE, 3));
    assert.deepEqual([data.capacity, data.charged], [17 * CHUNK_SIZE, 17 * CHUNK_SIZE]);
    assert.deepEqual(data.toBytes(), pattern(17 * CHUNK_SIZE, 3));
  });

  it('gives storage back when it shrinks: a kept byte does not pin its slab, and regrowing reads zeros', () => {
    const quota = new StorageQuota(1 << 30);
    const data = new ChunkedData(quota);
    for (let index = 0; index < 20; index++) data.append(pattern(CHUNK_SIZE, index));
    data.truncate(1);
    assert.deepEqual([data.capacity, data.charged, quota.used], [1, 1, 1]);
    assert.deepEqual(data.toBytes(), pattern(1, 0));
    // A shrink inside a slab that stays mostly used keeps the slab and zeroes the dropped bytes.
    data.replace(pattern(3 * CHUNK_SIZE, 5));
    data.truncate(3 * CHUNK_SIZE - 100);
    assert.equal(data.capacity, 3 * CHUNK_SIZE);
    data.truncate(3 * CHUNK_SIZE);
    assert.deepEqual(data.read(3 * CHUNK_SIZE - 100, 100), new Uint8Array(100));
    // Shrinking to a quarter of a slab or less copies what is kept into a buffer of that size.
    data.truncate(2 * CHUNK_SIZE + 1000);
    assert.equal(data.capacity, 2 * CHUNK_SIZE + 1000);
    data.write(2 * CHUNK_SIZE + 2000, pattern(10, 6));
    assert.deepEqual(data.read(2 * CHUNK_SIZE, 2010), Uint8Array.from([...pattern(3 * CHUNK_SIZE, 5).subarray(2 * CHUNK_SIZE, 2 * CHUNK_SIZE + 1000), ...new Uint8Array(1000), ...pattern(10, 6)]));
  });

  it('holds no more memory than it is charged (measured after full collections)', () => {
    const quota = new StorageQuota(1 << 30);
    const kept: ChunkedData[] = [];
    const block = new Uint8Array(CHUNK_SIZE).fill(7);
    const held = measureArrayBuffers(() => {
      // 100 one-byte files that were 1 MiB, and 20 files just past 16 chunks.
      for (let file = 0; file < 100; file++) {
        const data = new ChunkedData(quota);
        for (let index = 0; index < 16; index++) data.append(block);
        data.truncate(1);
        kept.push(data);
      }
      for (let file = 0; file < 20; file++) {
        const data = new ChunkedData(quota);
        for (let index = 0; index < 17; index++) data.append(block);
        kept.push(data);
      }
    });
    assert.ok(held <= quota.used + CHUNK_SIZE, `held ${held} bytes, charged ${quota.used}`);
    assert.equal(kept.length, 120);
  });

  it('appends', () => {
    const data = new ChunkedData();
    data.append(Uint8Array.of(1, 2));
    data.append(Uint8Array.of(3));
    assert.deepEqual(data.toBytes(), Uint8Array.of(1, 2, 3));
  });
});
