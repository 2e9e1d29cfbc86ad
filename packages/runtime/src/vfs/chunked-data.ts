import type { StorageQuota } from './storage-quota.ts';

/** Size of the first slab of a file, and the unit its slabs are measured in (see {@link ChunkedData}). */
export const CHUNK_SIZE = 64 * 1024;

/** Largest slab (1 MiB): fewer, larger buffers keep the GC's work small. */
const MAX_SLAB = 16 * CHUNK_SIZE;

/** The slab holding byte `offset`: 0 for [0, 64 KiB), 1-4 for the doubling ranges below 1 MiB, then one per MiB. */
function slabOf(offset: number): number {
  if (offset < CHUNK_SIZE) return 0;
  if (offset < MAX_SLAB) return 32 - Math.clz32(Math.floor(offset / CHUNK_SIZE));
  return 4 + Math.floor(offset / MAX_SLAB);
}

/** First byte of slab `index`. */
function slabStart(index: number): number {
  if (index === 0) return 0;
  return index <= 4 ? CHUNK_SIZE * 2 ** (index - 1) : (index - 4) * MAX_SLAB;
}

/** Bytes slab `index` covers. */
function slabLength(index: number): number {
  if (index === 0) return CHUNK_SIZE;
  return index <= 4 ? CHUNK_SIZE * 2 ** (index - 1) : MAX_SLAB;
}

/**
 * The bytes of one file, stored in slabs that each cover a fixed range of it (64 KiB, 64 KiB,
 * 128 KiB, 256 KiB, 512 KiB, then 1 MiB each), so that a write, an append or a read costs time
 * proportional to the bytes moved, never a copy of the whole file. A slab holds the start of its range
 * (what was written there); the rest of the range, and ranges never written (holes left by a seek past
 * the end), read as zeros. The first slab grows with a small file; a later slab is allocated whole when
 * first written, so appends never move data. Shrinking gives back whole slabs, and a slab left mostly
 * empty is copied into one of the size it still needs.
 *
 * A file counts against its quota the larger of its length and the bytes its slabs hold, reserved
 * before anything is stored: the count follows the storage the file really holds, never less (holes
 * count too, so that nothing derived from the length, such as reading the whole file, escapes the
 * budget).
 */
export class ChunkedData {
  /** Slab i holds the first `length` bytes of its range; beyond that, and where undefined, zeros. */
  #slabs: (Uint8Array | undefined)[] = [];
  #size = 0;
  /** Bytes the slabs hold. */
  #capacity = 0;
  /** Bytes reserved in the quota now. */
  #charged = 0;
  readonly #quota: StorageQuota | undefined;

  /** `quota`: the account this file's storage counts against (none: unlimited). */
  constructor(quota?: StorageQuota) {
    this.#quota = quota;
  }

  /** The file's length in bytes. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of storage the file holds (its slabs). */
  get capacity(): number {
    return this.#capacity;
  }

  /** Bytes the file counts against its quota now. */
  get charged(): number {
    return this.#charged;
  }

  /** Reserves growth of the count to what `size` bytes held in `capacity` need (ENOSPC changing nothing), or gives back what it no longer needs. */
  #settle(size: number, capacity: number): void {
    const charge = Math.max(size, capacity);
    if (charge > this.#charged) this.#quota?.reserve(charge - this.#charged);
    else this.#quota?.release(this.#charged - charge);
    this.#charged = charge;
  }

  /** Copies up to `target.length` bytes starting at `offset` into `target`; returns how many were copied. */
  readInto(offset: number, target: Uint8Array): number {
    if (offset >= this.#size) return 0;
    const length = Math.min(target.length, this.#size - offset);
    let done = 0;
    while (done < length) {
      const position = offset + done;
      const index = slabOf(position);
      const within = position - slabStart(index);
      const count = Math.min(slabLength(index) - within, length - done);
      const slab = this.#slabs[index];
      const stored = slab === undefined ? 0 : Math.max(0, Math.min(count, slab.length - within));
      if (stored > 0) target.set((slab as Uint8Array).subarray(within, within + stored), done);
      if (stored < count) target.fill(0, done + stored, done + count);
      done += count;
    }
    return length;
  }

  /** A copy of up to `length` bytes starting at `offset` (shorter at the end of the file). */
  read(offset: number, length: number): Uint8Array {
    const available = Math.max(0, Math.min(length, this.#size - offset));
    const target = new Uint8Array(available);
    this.readInto(offset, target);
    return target;
  }

  /** The whole file as one new array. */
  toBytes(): Uint8Array {
    return this.read(0, this.#size);
  }

  /** Writes `data` at `offset`, growing the file (zero-filled) as needed; ENOSPC changes nothing. */
  write(offset: number, data: Uint8Array): void {
    this.writeAll(offset, [data]);
  }

  /** Appends `data` at the end of the file. */
  append(data: Uint8Array): void {
    this.writeAll(this.#size, [data]);
  }

  /**
   * Writes `buffers` one after the other from `offset`, all or nothing: the growth of the whole write
   * is reserved once, before anything is stored, so a refusal (ENOSPC) changes nothing and a
   * reservation made meanwhile by another thread cannot leave it half applied. An empty write changes
   * nothing, not even the length.
   */
  writeAll(offset: number, buffers: readonly Uint8Array[]): void {
    let total = 0;
    for (const buffer of buffers) total += buffer.length;
    if (total === 0) return;
    const end = offset + total;
    const size = Math.max(this.#size, end);
    // Slabs are allocated whole so that appends never move data; near the end of the budget, only
    // what the write needs, so that a write is refused only when its bytes do not fit.
    const growth = this.#growth(offset, end, false);
    let exact = false;
    try {
      this.#settle(size, this.#capacity + growth);
    } catch (reason) {
      const tight = this.#growth(offset, end, true);
      if (tight === growth) throw reason;
      this.#settle(size, this.#capacity + tight);
      exact = true;
    }
    this.#allocate(offset, end, exact);
    let at = offset;
    for (const buffer of buffers) {
      this.#store(at, buffer);
      at += buffer.length;
    }
    this.#size = size;
  }

  /** The length slab `index` must grow to for bytes up to `end` (its length now if it need not grow). */
  #grownLength(index: number, end: number, exact: boolean): number {
    const start = slabStart(index);
    const length = slabLength(index);
    const needed = Math.min(end, start + length) - start;
    const current = this.#slabs[index]?.length ?? 0;
    if (needed <= current) return current;
    if (exact) return needed;
    // The first slab doubles from what a small file needs; the others are taken whole.
    return index === 0 ? Math.min(length, Math.max(needed, 2 * current)) : length;
  }

  /** Bytes the slabs covering [start, end) must grow by. */
  #growth(start: number, end: number, exact: boolean): number {
    let growth = 0;
    for (let index = slabOf(start), last = slabOf(end - 1); index <= last; index++) {
      growth += this.#grownLength(index, end, exact) - (this.#slabs[index]?.length ?? 0);
    }
    return growth;
  }

  /** Grows the slabs covering [start, end) as {@link #growth} reserved. */
  #allocate(start: number, end: number, exact: boolean): void {
    const last = slabOf(end - 1);
    while (this.#slabs.length <= last) this.#slabs.push(undefined);
    for (let index = slabOf(start); index <= last; index++) {
      const slab = this.#slabs[index];
      const length = this.#grownLength(index, end, exact);
      if (length === (slab?.length ?? 0)) continue;
      const grown = new Uint8Array(length);
      if (slab !== undefined) grown.set(slab);
      this.#slabs[index] = grown;
      this.#capacity += length - (slab?.length ?? 0);
    }
  }

  /** Copies `data` into the slabs at `offset` (already allocated by {@link #allocate}). */
  #store(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const position = offset + done;
      const index = slabOf(position);
      const within = position - slabStart(index);
      const count = Math.min(slabLength(index) - within, data.length - done);
      (this.#slabs[index] as Uint8Array).set(data.subarray(done, done + count), within);
      done += count;
    }
  }

  /** Replaces the whole contents, all or nothing (ENOSPC leaves the file as it was); holds no more than needed. */
  replace(data: Uint8Array | readonly Uint8Array[]): void {
    const pieces = data instanceof Uint8Array ? [data] : data;
    let length = 0;
    for (const piece of pieces) length += piece.length;
    // The difference is settled with the budget first, so a refusal leaves the old contents whole.
    this.#settle(length, length);
    this.#slabs = [];
    this.#capacity = 0;
    this.#size = 0;
    if (length > 0) {
      this.#allocate(0, length, true);
      let at = 0;
      for (const piece of pieces) {
        this.#store(at, piece);
        at += piece.length;
      }
    }
    this.#size = length;
  }

  /**
   * Sets the length: growing adds zeros (a hole: counted, not allocated); shrinking drops the bytes,
   * gives back the slabs past the new end, and copies a slab left at most a quarter full into one of
   * the size it still needs (at most 256 KiB copied, and only after three times as much was dropped
   * from it or never used).
   */
  truncate(size: number): void {
    if (size >= this.#size) {
      this.#settle(size, this.#capacity);
      this.#size = size;
      return;
    }
    const keep = size === 0 ? 0 : slabOf(size - 1) + 1;
    for (let index = keep; index < this.#slabs.length; index++) this.#capacity -= this.#slabs[index]?.length ?? 0;
    if (this.#slabs.length > keep) this.#slabs.length = keep;
    const slab = this.#slabs[keep - 1];
    if (slab !== undefined) {
      const start = slabStart(keep - 1);
      const kept = size - start;
      if (kept <= slab.length / 4) {
        this.#slabs[keep - 1] = slab.slice(0, kept);
        this.#capacity -= slab.length - kept;
      } else if (kept < slab.length) {
        // Bytes past the end read as zeros if the file grows again.
        slab.fill(0, kept, Math.min(slab.length, this.#size - start));
      }
    }
    this.#size = size;
    this.#settle(size, this.#capacity);
  }

  /**
   * The file is gone (no name and no open descriptor is left): its storage is dropped and everything
   * it counted goes back to the quota.
   */
  discard(): void {
    this.#slabs = [];
    this.#capacity = 0;
    this.#size = 0;
    this.#settle(0, 0);
  }
}
