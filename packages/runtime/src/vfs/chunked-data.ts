import type { StorageQuota } from './storage-quota.ts';

/** Size of one storage chunk of a file: writes and reads touch only the chunks they cover. */
export const CHUNK_SIZE = 64 * 1024;

/** Most chunks carved from one allocation (1 MiB): fewer, larger buffers keep the GC's work small. */
const MAX_SLAB_CHUNKS = 16;
/** Smallest buffer a small file gets. */
const MIN_SMALL_CAPACITY = 256;

/**
 * The bytes of one file, stored as fixed-size chunks so that a write, an append or a read costs time
 * proportional to the bytes moved, never a copy of the whole file. Chunks never written (holes left by
 * a seek past the end) are not allocated and read as zeros. A file within its first chunk gets a
 * buffer that grows with it (small files stay small); larger files take whole chunks carved from
 * slabs that double in size up to 1 MiB.
 */
export class ChunkedData {
  #chunks: (Uint8Array | undefined)[] = [];
  #size = 0;
  #slab: Uint8Array | undefined;
  #slabUsed = 0;
  #fullChunks = 0;
  readonly #quota: StorageQuota | undefined;
  #detached = false;

  /** `quota`: the VFS budget this file's length counts against (none: unlimited). */
  constructor(quota?: StorageQuota) {
    this.#quota = quota;
  }

  /** Throws ENOSPC (changing nothing) unless the file may grow to `end` bytes. */
  checkGrowth(end: number): void {
    this.#quota?.check(end - this.#size);
  }

  /**
   * The file left the tree (unlinked or replaced): its bytes are returned to the quota now; later
   * growth (through a descriptor still open) is still counted, shrinking no longer returns anything.
   */
  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#quota?.release(this.#size);
  }

  /** Replaces the whole contents, all or nothing (ENOSPC leaves the file as it was). */
  replace(data: Uint8Array): void {
    // The difference is settled with the budget first, so a refusal leaves the old contents whole.
    if (data.length > this.#size) this.#quota?.reserve(data.length - this.#size);
    else if (!this.#detached) this.#quota?.release(this.#size - data.length);
    this.#chunks = [];
    this.#slab = undefined;
    this.#size = 0;
    this.#store(0, data);
    this.#size = data.length;
  }

  /** Reserves the growth to `end` before anything is stored (ENOSPC changes nothing). */
  #reserveTo(end: number): void {
    if (end > this.#size) this.#quota?.reserve(end - this.#size);
  }

  /** Sets the length after a change whose growth {@link #reserveTo} already reserved. */
  #resize(size: number): void {
    if (size < this.#size && !this.#detached) this.#quota?.release(this.#size - size);
    this.#size = size;
  }

  /** The file's length in bytes. */
  get size(): number {
    return this.#size;
  }

  /** Copies up to `target.length` bytes starting at `offset` into `target`; returns how many were copied. */
  readInto(offset: number, target: Uint8Array): number {
    if (offset >= this.#size) return 0;
    const length = Math.min(target.length, this.#size - offset);
    let done = 0;
    while (done < length) {
      const position = offset + done;
      const index = Math.floor(position / CHUNK_SIZE);
      const within = position - index * CHUNK_SIZE;
      const count = Math.min(CHUNK_SIZE - within, length - done);
      const chunk = this.#chunks[index];
      const stored = chunk === undefined ? 0 : Math.max(0, Math.min(count, chunk.length - within));
      if (stored > 0) target.set((chunk as Uint8Array).subarray(within, within + stored), done);
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
    const end = Math.max(this.#size, offset + data.length);
    // Reserved first: the budget is shared with programs growing their memory in other threads.
    this.#reserveTo(end);
    this.#store(offset, data);
    this.#resize(end);
  }

  /** Copies `data` into the chunks at `offset` (the caller accounts for the length). */
  #store(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const position = offset + done;
      const index = Math.floor(position / CHUNK_SIZE);
      const within = position - index * CHUNK_SIZE;
      const count = Math.min(CHUNK_SIZE - within, data.length - done);
      const chunk = this.#chunkFor(index, within + count);
      chunk.set(data.subarray(done, done + count), within);
      done += count;
    }
  }

  /** The chunk at `index`, allocated or grown so that it holds at least `length` bytes. */
  #chunkFor(index: number, length: number): Uint8Array {
    const chunk = this.#chunks[index];
    if (chunk !== undefined && chunk.length >= length) return chunk;
    while (this.#chunks.length < index) this.#chunks.push(undefined);
    let grown: Uint8Array;
    if (index === 0 && length < CHUNK_SIZE && this.#size <= CHUNK_SIZE) {
      let capacity = MIN_SMALL_CAPACITY;
      while (capacity < length) capacity *= 2;
      grown = new Uint8Array(Math.min(capacity, CHUNK_SIZE));
    } else {
      grown = this.#fullChunk();
    }
    if (chunk !== undefined) grown.set(chunk);
    this.#chunks[index] = grown;
    return grown;
  }

  /** A zeroed full-size chunk carved from the current slab (a new, larger slab when it is used up). */
  #fullChunk(): Uint8Array {
    if (this.#slab === undefined || this.#slabUsed + CHUNK_SIZE > this.#slab.length) {
      const chunks = Math.min(MAX_SLAB_CHUNKS, Math.max(1, this.#fullChunks));
      this.#slab = new Uint8Array(chunks * CHUNK_SIZE);
      this.#slabUsed = 0;
    }
    const chunk = this.#slab.subarray(this.#slabUsed, this.#slabUsed + CHUNK_SIZE);
    this.#slabUsed += CHUNK_SIZE;
    this.#fullChunks++;
    return chunk;
  }

  /** Appends `data` at the end of the file. */
  append(data: Uint8Array): void {
    this.write(this.#size, data);
  }

  /** Sets the length: shrinking drops bytes (zeroing the tail of the last kept chunk), growing adds zeros. */
  truncate(size: number): void {
    this.#reserveTo(size);
    if (size < this.#size) {
      const keep = Math.ceil(size / CHUNK_SIZE);
      this.#chunks.length = Math.min(this.#chunks.length, keep);
      const last = this.#chunks[keep - 1];
      if (last !== undefined) last.fill(0, Math.min(last.length, size - (keep - 1) * CHUNK_SIZE));
      // Chunks dropped from the current slab are not reused: a slab is freed when all its chunks are.
      if (keep === 0) this.#slab = undefined;
    }
    this.#resize(size);
  }
}
