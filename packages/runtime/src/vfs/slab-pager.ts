import type { BudgetResource, MemoryBudget } from '../budget/memory-budget.ts';
import type { SealedStore } from './sealed-store.ts';

/** The size of buffer kept for reuse: a whole slab past a file's first MiB (see `ChunkedData`). */
const REUSED_BYTES = 1024 * 1024;
/** Buffers kept for reuse: a write that seals a slab out to make room reuses its buffer at once. */
const SPARE_BUFFERS = 1;

/** A file whose slabs can be sealed out of memory (a `ChunkedData` with sealed storage). */
export interface PagedFile {
  /** Whether slab `index` is in memory and may leave it now. */
  spillable(index: number): boolean;
  /** Seals slab `index` out (or drops it, if its sealed copy is current); returns the bytes freed. */
  spill(index: number): number;
}

/** One slab in memory, as the pager knows it. */
export interface ResidentSlab {
  readonly file: PagedFile;
  readonly index: number;
}

/**
 * Decides which file data stays in the isolate's memory when sealed storage is on: every slab in
 * memory is known here, least recently used first. When a reservation of the memory budget would
 * fail, or file data in memory exceeds `residentLimit`, the least recently used slabs are sealed out
 * to the host ({@link SealedStore}) until it fits. A slab whose sealed copy is current leaves
 * without being written again, so data read but not changed costs nothing to page out.
 */
export class SlabPager {
  /** Where slabs go. */
  readonly store: SealedStore;
  /** Most bytes of file data kept in memory; the rest is sealed out. */
  readonly residentLimit: number;
  /** Slabs in memory (least recently used first) → their length. */
  readonly #resident = new Map<ResidentSlab, number>();
  #residentBytes = 0;
  /** Set when the store refused a slab: nothing more can leave until something is dropped. */
  #storeFull = false;
  /** Buffers of whole slabs that left memory, for new slabs. */
  readonly #spare: Uint8Array[] = [];
  /** Bytes of slabs that left memory since the last collection. */
  #churn = 0;
  readonly #collect: (() => void) | undefined;

  /**
   * `collect`: starts a garbage collection. V8 left alone collects only near its heap limit, far above
   * what sealed storage keeps in memory, so the buffers of slabs paged out would pile up to it.
   */
  constructor(store: SealedStore, residentLimit: number, collect?: () => void) {
    this.store = store;
    this.residentLimit = residentLimit;
    this.#collect = collect;
  }

  /** Bytes of file data in memory now, the buffer kept for reuse included. */
  get residentBytes(): number {
    return this.#residentBytes + this.#spare.length * REUSED_BYTES;
  }

  /** Whether the last attempt to free memory found the sealed storage full. */
  get storeFull(): boolean {
    return this.#storeFull;
  }

  /** A number no other file sealed under the store's key has (sealed chunks are bound to it). */
  newFileId(): number {
    return this.store.newFile();
  }

  /** The slab is in memory with `length` bytes and was just used. */
  touch(slab: ResidentSlab, length: number): void {
    const before = this.#resident.get(slab);
    if (before !== undefined) this.#resident.delete(slab);
    this.#resident.set(slab, length);
    this.#residentBytes += length - (before ?? 0);
  }

  /**
   * The slab left memory (sealed out or dropped). `buffer`: its bytes, no longer used by anyone, kept
   * for {@link reuse} when it is a whole slab and few are kept.
   */
  forget(slab: ResidentSlab, buffer?: Uint8Array): void {
    const length = this.#resident.get(slab);
    if (length === undefined) return;
    this.#resident.delete(slab);
    this.#residentBytes -= length;
    this.#storeFull = false;
    if (buffer !== undefined && buffer.length === REUSED_BYTES && this.#spare.length < SPARE_BUFFERS) this.#spare.push(buffer);
    // Paging makes garbage in step with the bytes that leave memory (the buffers that sealed them,
    // the slabs not reused, the requests that brought the data): collected in step (every eighth of
    // what the pager keeps in memory), it never piles up far beyond that.
    this.#churn += length;
    if (this.#collect !== undefined && this.#churn >= this.residentLimit / 8) {
      this.#churn = 0;
      this.#collect();
    }
  }

  /** Buffers kept for new slabs (at most one). */
  get spares(): number {
    return this.#spare.length;
  }

  /**
   * A zeroed buffer of `length` bytes for a new slab: one a slab sealed out left behind, when there
   * is one (no allocation, no fresh pages to fault in, no garbage), else a new one.
   */
  reuse(length: number): Uint8Array {
    const spare = length === REUSED_BYTES ? this.#spare.pop() : undefined;
    return spare === undefined ? new Uint8Array(length) : spare.fill(0);
  }

  /**
   * Seals slabs out, least recently used first, until `budget` could reserve `bytes` for `resource`;
   * returns whether it can. Slabs that may not leave now (in use, or a file's last) are skipped.
   */
  makeRoom(budget: MemoryBudget, bytes: number, resource: BudgetResource): boolean {
    return this.#evict(() => budget.available(resource) >= bytes);
  }

  /** Seals slabs out until file data in memory is within {@link residentLimit}. */
  trim(): void {
    if (this.residentBytes > this.residentLimit) this.#evict(() => this.residentBytes <= this.residentLimit);
  }

  #evict(enough: () => boolean): boolean {
    if (enough()) return true;
    // Spilling deletes the slab from the map, which iteration tolerates; nothing is added meanwhile.
    for (const slab of this.#resident.keys()) {
      if (!slab.file.spillable(slab.index)) continue;
      try {
        slab.file.spill(slab.index);
      } catch {
        // The store is full (or the host's disk): nothing else can leave either.
        this.#storeFull = true;
        return enough();
      }
      if (enough()) return true;
    }
    return enough();
  }
}
