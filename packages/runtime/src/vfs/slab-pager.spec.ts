import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BudgetExceeded, MemoryBudget } from '../budget/memory-budget.ts';
import { ChunkedData } from './chunked-data.ts';
import { SealedDataRejected, SealedStorageFull, SealedStore } from './sealed-store.ts';
import { SlabPager } from './slab-pager.ts';
import { StorageQuota } from './storage-quota.ts';

const MIB = 1024 * 1024;
const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function paged(options: { budget: number; resident: number; storeBytes?: number; collect?: () => void }) {
  const directory = mkdtempSync(join(tmpdir(), 'slab-pager-'));
  directories.push(directory);
  const budget = new MemoryBudget(options.budget, 0);
  const store = new SealedStore({ directory, maxBytes: options.storeBytes ?? 1 << 30 });
  const pager = new SlabPager(store, options.resident, options.collect);
  budget.relieve = (bytes, resource) => pager.makeRoom(budget, bytes, resource);
  const quota = new StorageQuota(budget, 'files', pager);
  return { budget, store, pager, quota, directory };
}

/** Deterministic bytes: `length` of them for `seed`. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed * 2654435761 >>> 0 || 1;
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[index] = state & 0xff;
  }
  return out;
}

/** Appends `data` a MiB at a time, as sessions and programs write (one write must fit the budget whole). */
function appendInPieces(file: ChunkedData, data: Uint8Array): void {
  for (let offset = 0; offset < data.length; offset += MIB) file.append(data.subarray(offset, offset + MIB));
}

describe('ChunkedData with sealed storage', () => {
  it('holds a file many times larger than its budget, and gives it back intact', () => {
    const { budget, pager, quota, store } = paged({ budget: 4 * MIB, resident: 2 * MIB });
    const file = new ChunkedData(quota);
    const expected = bytes(24 * MIB + 12345, 1);
    for (let offset = 0; offset < expected.length; offset += 256 * 1024) file.append(expected.subarray(offset, offset + 256 * 1024));
    assert.equal(file.size, expected.length);
    assert.ok(budget.used <= 4 * MIB, `budget used ${budget.used}`);
    assert.ok(pager.residentBytes <= 2 * MIB, `resident ${pager.residentBytes}`);
    assert.ok(store.used >= 20 * MIB);
    assert.deepEqual(file.toBytes(), expected);
    assert.ok(pager.residentBytes <= 2 * MIB);
    file.discard();
    assert.equal(budget.used, 0);
    assert.equal(store.used, 0);
    assert.equal(pager.residentBytes, pager.spares * MIB, 'only the buffer kept for reuse');
  });

  it('matches a plain array through random writes, reads and truncations across several files', () => {
    const { budget, pager, quota, store } = paged({ budget: 6 * MIB, resident: 3 * MIB });
    const files = [new ChunkedData(quota), new ChunkedData(quota)];
    const models = [new Uint8Array(0), new Uint8Array(0)];
    let seed = 7;
    const next = (bound: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % bound;
    };
    for (let step = 0; step < 300; step++) {
      const which = next(2);
      const file = files[which]!;
      let model = models[which]!;
      const action = next(10);
      if (action < 5) {
        const offset = next(model.length + 2 * MIB);
        const data = bytes(1 + next(900_000), step + 1);
        file.write(offset, data);
        const grown = new Uint8Array(Math.max(model.length, offset + data.length));
        grown.set(model);
        grown.set(data, offset);
        model = grown;
      } else if (action < 8) {
        const offset = next(model.length + 1);
        const length = next(3 * MIB);
        assert.deepEqual(file.read(offset, length), model.slice(offset, offset + length), `step ${step}: read ${offset}+${length}`);
      } else if (action < 9) {
        const size = next(model.length + MIB);
        file.truncate(size);
        const cut = new Uint8Array(size);
        cut.set(model.subarray(0, Math.min(size, model.length)));
        model = cut;
      } else {
        const data = bytes(next(2 * MIB), step + 99);
        file.replace(data);
        model = data.slice();
      }
      models[which] = model;
      assert.equal(file.size, model.length);
      assert.ok(budget.used <= 6 * MIB);
      assert.ok(pager.residentBytes <= 3 * MIB + 2 * MIB, `step ${step}: resident ${pager.residentBytes}`);
    }
    for (const [index, file] of files.entries()) assert.deepEqual(file.toBytes(), models[index]);
    for (const file of files) file.discard();
    assert.equal(budget.used, 0);
    assert.equal(store.used, 0);
  });

  it('starts a collection each time an eighth of its resident limit has left memory', () => {
    let collections = 0;
    const { quota } = paged({ budget: 32 * MIB, resident: 16 * MIB, collect: () => collections++ });
    const file = new ChunkedData(quota);
    appendInPieces(file, bytes(48 * MIB, 4));
    // About 32 MiB left memory: one collection per 2 MiB.
    assert.ok(collections >= 15 && collections <= 17, `${collections} collections`);
  });

  it('gives the buffer of a whole slab it sealed out to the next new slab, zeroed', () => {
    const { pager, quota } = paged({ budget: 8 * MIB, resident: 2 * MIB });
    const file = new ChunkedData(quota);
    appendInPieces(file, bytes(6 * MIB, 12));
    const kept = pager.spares;
    assert.ok(kept >= 1, 'no buffer kept');
    const spare = pager.reuse(MIB);
    assert.equal(pager.spares, kept - 1);
    assert.equal(spare.length, MIB);
    assert.ok(spare.every((byte) => byte === 0), 'a reused buffer kept its old bytes');
    // A slab's bytes stayed its own: the file reads back as written.
    assert.deepEqual(file.toBytes(), bytes(6 * MIB, 12));
  });

  it("cuts the host's file when a file shrinks, so the host's disk holds no more than the store counts", () => {
    const { quota, directory, store } = paged({ budget: 4 * MIB, resident: MIB });
    const file = new ChunkedData(quota);
    appendInPieces(file, bytes(16 * MIB, 13));
    const [name] = readdirSync(directory);
    const hostBytes = (): number => statSync(join(directory, name!)).size;
    assert.ok(hostBytes() > 12 * MIB);
    file.truncate(3 * MIB);
    // Each slab before the cut keeps its 16-byte tag.
    assert.ok(hostBytes() <= 3 * MIB + 1024, `the host file kept ${hostBytes()} bytes`);
    assert.ok(store.used <= 3 * MIB + 1024, `the store counts ${store.used} bytes`);
    file.replace(bytes(100, 14));
    assert.equal(hostBytes(), 0);
    assert.deepEqual(file.toBytes(), bytes(100, 14));
  });

  it('stops counting only the bytes it sealed out: the holes of a sparse file still count', () => {
    const { quota } = paged({ budget: 4 * MIB, resident: MIB, storeBytes: MIB });
    const file = new ChunkedData(quota);
    const one = new Uint8Array([1]);
    // Slabs of one byte each, a MiB apart: sealed out, each would have hidden a MiB of holes.
    assert.throws(() => {
      for (let mib = 1; mib <= 64; mib++) {
        file.write(mib * MIB, one);
        file.write(mib * MIB + 600 * 1024, one);
        file.truncate(mib * MIB + 1);
      }
    }, BudgetExceeded);
    assert.ok(file.size <= 5 * MIB, `the file reached ${file.size} bytes`);
  });

  it('makes room for other reservations by sealing file data out', () => {
    const { budget, quota } = paged({ budget: 8 * MIB, resident: 8 * MIB });
    const file = new ChunkedData(quota);
    appendInPieces(file, bytes(7 * MIB, 3));
    assert.ok(budget.tryReserve(4 * MIB, 'responses'), 'a response could not be reserved');
    assert.deepEqual(file.read(0, 7 * MIB).subarray(0, 1000), bytes(7 * MIB, 3).subarray(0, 1000));
  });

  it('catches each forgery of the host on the next read, and the file stays refused', () => {
    const { quota, directory } = paged({ budget: 4 * MIB, resident: 2 * MIB });
    const file = new ChunkedData(quota);
    const other = new ChunkedData(quota);
    appendInPieces(file, bytes(8 * MIB, 5));
    appendInPieces(other, bytes(8 * MIB, 6));
    const [first, second] = readdirSync(directory).sort();
    // Another file's chunks in place of this one's.
    writeFileSync(join(directory, first!), readFileSync(join(directory, second!)));
    assert.throws(() => file.read(0, MIB), SealedDataRejected);
    assert.throws(() => file.read(0, MIB), SealedDataRejected, 'refused once, then accepted');
    assert.throws(() => file.write(10, new Uint8Array(10)), SealedDataRejected);
    assert.equal(file.size, 8 * MIB);
    assert.deepEqual(other.read(0, 1000), bytes(8 * MIB, 6).subarray(0, 1000));
  });

  it('catches a replayed chunk after the data changed, whether or not anyone had the file open', () => {
    const { quota, directory } = paged({ budget: 4 * MIB, resident: MIB });
    const file = new ChunkedData(quota);
    appendInPieces(file, bytes(6 * MIB, 8));
    const [name] = readdirSync(directory);
    const before = readFileSync(join(directory, name!));
    file.write(3 * MIB, bytes(MIB, 9));
    appendInPieces(file, bytes(4 * MIB, 10));
    // The host puts the whole old file back.
    writeFileSync(join(directory, name!), Buffer.concat([before, readFileSync(join(directory, name!)).subarray(before.length)]));
    assert.throws(() => file.read(3 * MIB, 16), SealedDataRejected);
  });

  it('refuses with ENOSPC naming both limits when the sealed storage is full, keeping what it holds', () => {
    const { budget, quota } = paged({ budget: 4 * MIB, resident: 4 * MIB, storeBytes: 3 * MIB });
    const file = new ChunkedData(quota);
    const data = bytes(10 * MIB, 11);
    assert.throws(() => {
      for (let offset = 0; offset < data.length; offset += MIB) file.append(data.subarray(offset, offset + MIB));
    }, (error: unknown) => error instanceof SealedStorageFull && error instanceof BudgetExceeded && /sealed storage on the host is full/.test(error.sentence));
    const kept = file.size;
    assert.ok(kept >= 4 * MIB, `kept ${kept}`);
    assert.deepEqual(file.toBytes(), data.subarray(0, kept));
    assert.ok(budget.used <= 4 * MIB);
  });
});
