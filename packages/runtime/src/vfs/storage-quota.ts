import { MemoryBudget } from '../budget/memory-budget.ts';
import type { BudgetResource } from '../budget/memory-budget.ts';
import type { SlabPager } from './slab-pager.ts';

/**
 * One account of the isolate's {@link MemoryBudget}: the bytes of the files (or of one std stream) of a
 * VFS. A write that does not fit fails with ENOSPC ({@link BudgetExceeded}) before anything changes,
 * so a program writing without end meets a full disk instead of exhausting the isolate. A file counts
 * until it is gone: no name and no open descriptor left.
 */
export class StorageQuota {
  /** The budget this account draws on. */
  readonly budget: MemoryBudget;
  /** What the account's bytes are for. */
  readonly resource: BudgetResource;
  #used = 0;

  /** Seals the account's file data out of memory when it is needed elsewhere (sealed storage); none: it stays. */
  readonly pager: SlabPager | undefined;

  /** `budget`: a shared budget, or a byte limit for a budget of this account's own. */
  constructor(budget: MemoryBudget | number, resource: BudgetResource = 'files', pager?: SlabPager) {
    this.budget = typeof budget === 'number' ? new MemoryBudget(budget, 0) : budget;
    this.resource = resource;
    this.pager = pager;
  }

  /** The whole budget, in bytes. */
  get limit(): number {
    return this.budget.limit;
  }

  /** Bytes this account holds now. */
  get used(): number {
    return this.#used;
  }

  /** Throws ENOSPC unless `bytes` more would fit now (reserves nothing). */
  check(bytes: number): void {
    this.budget.check(bytes, this.resource);
  }

  /** Reserves `bytes` more, or throws ENOSPC having reserved nothing. */
  reserve(bytes: number): void {
    if (bytes <= 0) return;
    this.budget.reserve(bytes, this.resource);
    this.#used += bytes;
  }

  /**
   * Returns `bytes`. Returning more than the account holds is a bug in the accounting: what it
   * holds is returned and an error is thrown, so that the bug is seen rather than hidden.
   */
  release(bytes: number): void {
    if (bytes <= 0) return;
    const returned = Math.min(bytes, this.#used);
    this.#used -= returned;
    this.budget.release(returned, this.resource);
    if (returned < bytes) throw new Error(`internal: ${bytes} bytes of ${this.resource} returned to the memory budget, but only ${returned} were held`);
  }
}
