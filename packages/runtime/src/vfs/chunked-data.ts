import { BudgetExceeded } from '../budget/memory-budget.ts';
import { SealedStorageFull } from './sealed-store.ts';
import type { PagedFile, ResidentSlab, SlabPager } from './slab-pager.ts';
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
 *
 * With sealed storage (the quota's {@link SlabPager}), slabs may leave memory: sealed out to the
 * host, they count only there, and come back (checked) when read or written. A file's last slab, and
 * the slabs an operation is using, stay in memory.
 */
export class ChunkedData implements PagedFile {
  /** Slab i holds the first `length` bytes of its range; beyond that, and where undefined, zeros. */
  #slabs: (Uint8Array | undefined)[] = [];
  #size = 0;
  /** Bytes the slabs hold. */
  #capacity = 0;
  /** Bytes reserved in the quota now. */
  #charged = 0;
  readonly #quota: StorageQuota | undefined;
  readonly #sealing: Sealing | undefined;

  /** `quota`: the account this file's storage counts against (none: unlimited), and its pager if it has one. */
  constructor(quota?: StorageQuota) {
    this.#quota = quota;
    const pager = quota?.pager;
    if (pager !== undefined) {
      this.#sealing = { pager, file: pager.newFileId(), versions: [], current: [], lengths: [], handles: [], span: 0, pinned: [1, 0] };
    }
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

  /**
   * Reserves growth of the count to what `size` bytes need with `added` more bytes of slabs in memory
   * and `unsealed` fewer bytes of ranges sealed out (ENOSPC changing nothing), or gives back what it
   * no longer needs. With sealed storage, other slabs (this file's too) are sealed out first to make room.
   */
  #settle(size: number, added = 0, unsealed = 0): void {
    let charge = this.#chargeFor(size, added, unsealed);
    const sealing = this.#sealing;
    if (charge > this.#charged && sealing !== undefined) {
      const quota = this.#quota!;
      sealing.pager.makeRoom(quota.budget, charge - this.#charged, quota.resource);
      charge = this.#chargeFor(size, added, unsealed);
    }
    try {
      if (charge > this.#charged) this.#quota?.reserve(charge - this.#charged);
      else this.#quota?.release(this.#charged - charge);
    } catch (reason) {
      if (reason instanceof BudgetExceeded && sealing?.pager.storeFull) throw new SealedStorageFull(reason, sealing.pager.store.maxBytes);
      throw reason;
    }
    this.#charged = charge;
  }

  #chargeFor(size: number, added: number, unsealed: number): number {
    return Math.max(size - ((this.#sealing?.span ?? 0) - unsealed), this.#capacity + added);
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
      const slab = this.#slab(index, true);
      const stored = slab === undefined ? 0 : Math.max(0, Math.min(count, slab.length - within));
      if (stored > 0) target.set((slab as Uint8Array).subarray(within, within + stored), done);
      if (stored < count) target.fill(0, done + stored, done + count);
      done += count;
    }
    this.#sealing?.pager.trim();
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
    const sealing = this.#sealing;
    if (sealing !== undefined) {
      // The slabs written stay in memory until the write is done; those sealed out come back first.
      sealing.pinned = [slabOf(offset), slabOf(end - 1)];
      for (let index = slabOf(offset); index <= slabOf(end - 1) && index < this.#slabs.length; index++) this.#slab(index);
    }
    try {
      // Slabs are allocated whole so that appends never move data; near the end of the budget, only
      // what the write needs, so that a write is refused only when its bytes do not fit.
      const growth = this.#growth(offset, end, false);
      let exact = false;
      try {
        this.#settle(size, growth);
      } catch (reason) {
        const tight = this.#growth(offset, end, true);
        if (tight === growth) throw reason;
        this.#settle(size, tight);
        exact = true;
      }
      this.#allocate(offset, end, exact);
      let at = offset;
      for (const buffer of buffers) {
        this.#store(at, buffer);
        at += buffer.length;
      }
      this.#size = size;
      // The slabs written differ from their sealed copies (which their next sealing overwrites).
      if (sealing !== undefined) for (let index = slabOf(offset); index <= slabOf(end - 1); index++) sealing.current[index] = undefined;
    } finally {
      if (sealing !== undefined) {
        sealing.pinned = [1, 0];
        sealing.pager.trim();
      }
    }
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
      const grown = this.#sealing?.pager.reuse(length) ?? new Uint8Array(length);
      if (slab !== undefined) grown.set(slab);
      this.#slabs[index] = grown;
      this.#capacity += length - (slab?.length ?? 0);
      this.#touch(index);
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
    // The old slabs stay where they are meanwhile: they no longer count once the new contents do.
    const sealing = this.#sealing;
    if (sealing !== undefined) sealing.pinned = [0, Number.MAX_SAFE_INTEGER];
    try {
      this.#settle(length, length - this.#capacity, sealing?.span ?? 0);
    } finally {
      if (sealing !== undefined) sealing.pinned = [1, 0];
    }
    this.#dropFrom(0);
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
    this.#sealing?.pager.trim();
  }

  /**
   * Sets the length: growing adds zeros (a hole: counted, not allocated); shrinking drops the bytes,
   * gives back the slabs past the new end, and copies a slab left at most a quarter full into one of
   * the size it still needs (at most 256 KiB copied, and only after three times as much was dropped
   * from it or never used).
   */
  truncate(size: number): void {
    if (size >= this.#size) {
      this.#settle(size);
      this.#size = size;
      return;
    }
    const keep = size === 0 ? 0 : slabOf(size - 1) + 1;
    // The new last slab stays in memory (a file's last slab always does).
    const slab = keep === 0 ? undefined : this.#slab(keep - 1);
    this.#dropFrom(keep);
    if (this.#slabs.length > keep) this.#slabs.length = keep;
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
      if (this.#sealing !== undefined) {
        this.#sealing.current[keep - 1] = undefined;
        this.#touch(keep - 1);
      }
    }
    this.#size = size;
    this.#settle(size);
  }

  /**
   * The file is gone (no name and no open descriptor is left): its storage is dropped and everything
   * it counted goes back to the quota.
   */
  discard(): void {
    this.#dropFrom(0);
    const sealing = this.#sealing;
    if (sealing !== undefined) sealing.pager.store.discard(sealing.file);
    this.#slabs = [];
    this.#capacity = 0;
    this.#size = 0;
    this.#settle(0);
  }

  /** Whether slab `index` is in memory and may be sealed out now (not in use, not the last). */
  spillable(index: number): boolean {
    const pinned = this.#sealing?.pinned;
    return this.#slabs[index] !== undefined && index !== slabOf(this.#size - 1) && !(pinned !== undefined && pinned[0] <= index && index <= pinned[1]);
  }

  /**
   * Seals slab `index` out of memory (unless its sealed copy is current) and gives back what it
   * counted; returns the bytes given back. ENOSPC (sealed storage full) leaves it in memory.
   */
  spill(index: number): number {
    const sealing = this.#sealing!;
    const slab = this.#slabs[index]!;
    if (sealing.current[index] === undefined) {
      // Each sealing of a chunk has a version of its own, never reused (it is part of the nonce).
      const version = (sealing.versions[index] ?? 0) + 1;
      sealing.versions[index] = version;
      sealing.pager.store.seal(sealing.file, index, slabStart(index), version, slab);
      sealing.current[index] = version;
    }
    sealing.lengths[index] = slab.length;
    this.#slabs[index] = undefined;
    this.#capacity -= slab.length;
    // Only the bytes sealed out leave the count: the rest of the slab's range is a hole, which counts.
    sealing.span += slab.length;
    sealing.pager.forget(this.#handle(index), slab);
    const before = this.#charged;
    this.#settle(this.#size);
    return before - this.#charged;
  }

  /**
   * Slab `index`, brought back into memory (and checked) if it was sealed out; undefined for a hole.
   * `reading`: when memory and sealed storage are both full, the slab is read without being kept.
   */
  #slab(index: number, reading = false): Uint8Array | undefined {
    const slab = this.#slabs[index];
    const sealing = this.#sealing;
    if (sealing === undefined) return slab;
    if (slab !== undefined) {
      this.#touch(index);
      return slab;
    }
    const version = sealing.current[index];
    if (version === undefined) return undefined;
    const length = sealing.lengths[index]!;
    try {
      this.#settle(this.#size, length, length);
    } catch (reason) {
      if (!reading || !(reason instanceof BudgetExceeded)) throw reason;
      return sealing.pager.store.unseal(sealing.file, index, slabStart(index), version, length);
    }
    let data: Uint8Array;
    try {
      data = sealing.pager.store.unseal(sealing.file, index, slabStart(index), version, length);
    } catch (reason) {
      this.#settle(this.#size);
      throw reason;
    }
    this.#slabs[index] = data;
    this.#capacity += length;
    sealing.span -= length;
    this.#touch(index);
    return data;
  }

  /** Forgets slabs `from` on (in memory and sealed out); the caller drops them from `#slabs`. */
  #dropFrom(from: number): void {
    for (let index = from; index < this.#slabs.length; index++) this.#capacity -= this.#slabs[index]?.length ?? 0;
    const sealing = this.#sealing;
    if (sealing === undefined) return;
    for (let index = from; index < sealing.versions.length || index < sealing.handles.length; index++) {
      if (this.#slabs[index] === undefined && sealing.current[index] !== undefined) sealing.span -= sealing.lengths[index]!;
      // A slab written since it was sealed still has its old copy counted in the store.
      if (sealing.versions[index] !== undefined) sealing.pager.store.drop(sealing.file, index);
      sealing.current[index] = undefined;
      const handle = sealing.handles[index];
      if (handle !== undefined) sealing.pager.forget(handle);
    }
    // The host's copies of what was dropped go too (those at the end of its file: all, in practice).
    if (from < sealing.versions.length) sealing.pager.store.trim(sealing.file);
  }

  /** Tells the pager that slab `index` (in memory) was just used. */
  #touch(index: number): void {
    const sealing = this.#sealing;
    const slab = this.#slabs[index];
    if (sealing !== undefined && slab !== undefined) sealing.pager.touch(this.#handle(index), slab.length);
  }

  #handle(index: number): ResidentSlab {
    const handles = this.#sealing!.handles;
    const handle = handles[index] ?? { file: this, index };
    handles[index] = handle;
    return handle;
  }
}

/** Where a file's slabs are when sealed storage is on (see {@link SlabPager}). */
interface Sealing {
  pager: SlabPager;
  /** This file's number in the sealed store. */
  file: number;
  /** The last version each slab was sealed as (never reused). */
  versions: number[];
  /** The version whose sealed copy equals the slab's bytes, if any (for a slab sealed out: the one to ask for). */
  current: (number | undefined)[];
  /** The length of each slab sealed out. */
  lengths: number[];
  handles: (ResidentSlab | undefined)[];
  /** Bytes of the slabs sealed out (they count in the store, not in memory). */
  span: number;
  /** The slabs the current operation uses (first, last; empty when first > last). */
  pinned: [number, number];
}
