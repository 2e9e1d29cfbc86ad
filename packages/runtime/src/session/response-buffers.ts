import type { MemoryBudget } from '../budget/memory-budget.ts';

/** Buffers a session keeps between responses: one being written and one being filled. */
const MAX_IDLE_BUFFERS = 2;

/**
 * Where one session's read responses are copied to: buffers it used before, once TLS has taken
 * them, instead of new ones. A stream of ranged reads otherwise allocates a fresh buffer per range
 * and leaves the last ones to the collector, so the isolate's memory keeps moving to pages it has not
 * touched yet, which cost more to fault in than the copy itself. An idle buffer is charged to the
 * memory budget (as `responses`) for as long as it is kept; one that the budget cannot hold is
 * dropped instead. In use, a buffer is the response's, and its reservation covers it: `take` hands
 * out one of exactly the length asked (its earlier contents are this session's own, and the caller
 * overwrites them), `give` keeps a written one for the next response (the oldest goes beyond two),
 * and `clear` drops them all, with their charge, when the session ends.
 */
export class ResponseBuffers {
  readonly #budget: MemoryBudget;
  #idle: ArrayBuffer[] = [];

  constructor(budget: MemoryBudget) {
    this.#budget = budget;
  }

  /** An array of exactly `length` bytes, to overwrite. */
  take(length: number): Uint8Array {
    const index = this.#idle.findIndex((buffer) => buffer.byteLength === length);
    if (index < 0) return new Uint8Array(length);
    const [buffer] = this.#idle.splice(index, 1);
    this.#budget.release(length, 'responses');
    return new Uint8Array(buffer!);
  }

  /** A response's buffer that TLS has taken whole. */
  give(buffer: ArrayBuffer): void {
    if (this.#idle.length >= MAX_IDLE_BUFFERS) {
      this.#budget.release(this.#idle.shift()!.byteLength, 'responses');
    }
    if (this.#budget.tryReserve(buffer.byteLength, 'responses')) this.#idle.push(buffer);
  }

  /** The session is over. */
  clear(): void {
    for (const buffer of this.#idle) this.#budget.release(buffer.byteLength, 'responses');
    this.#idle = [];
  }
}
