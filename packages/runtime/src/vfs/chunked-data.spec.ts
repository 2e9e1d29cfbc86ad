import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHUNK_SIZE, ChunkedData } from './chunked-data.ts';
import { StorageQuota } from './storage-quota.ts';

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

  it('counts its length against a quota, all or nothing, and returns it when detached', () => {
    const quota = new StorageQuota(CHUNK_SIZE + 10);
    const data = new ChunkedData(quota);
    data.write(0, pattern(CHUNK_SIZE, 1));
    assert.throws(() => data.write(CHUNK_SIZE - 5, pattern(20, 2)), /ENOSPC/);
    assert.deepEqual(data.toBytes(), pattern(CHUNK_SIZE, 1));
    data.write(CHUNK_SIZE, pattern(10, 2));
    assert.equal(quota.used, CHUNK_SIZE + 10);
    data.truncate(5);
    assert.equal(quota.used, 5);
    data.detach();
    assert.equal(quota.used, 0);
    data.write(5, pattern(5, 3));
    assert.equal(quota.used, 5, 'growth after detach still counts');
    data.truncate(0);
    assert.equal(quota.used, 5, 'shrinking after detach returns nothing (never undercount)');
  });

  it('appends', () => {
    const data = new ChunkedData();
    data.append(Uint8Array.of(1, 2));
    data.append(Uint8Array.of(3));
    assert.deepEqual(data.toBytes(), Uint8Array.of(1, 2, 3));
  });
});
