import type { BudgetResource, MemoryBudget } from './memory-budget.ts';

/**
 * A reservation in the memory budget whose size follows what one holder keeps now (a session's
 * partial request, say): {@link set} reserves growth first and gives shrinkage back.
 */
export class BudgetHold {
  readonly #budget: MemoryBudget;
  readonly #resource: BudgetResource;
  #bytes = 0;

  constructor(budget: MemoryBudget, resource: BudgetResource) {
    this.#budget = budget;
    this.#resource = resource;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Holds `bytes` from now on; throws BudgetExceeded (holding what it held before) when growth does not fit. */
  set(bytes: number): void {
    if (bytes > this.#bytes) this.#budget.reserve(bytes - this.#bytes, this.#resource);
    else this.#budget.release(this.#bytes - bytes, this.#resource);
    this.#bytes = bytes;
  }
}
