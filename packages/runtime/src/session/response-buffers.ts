import type { MemoryBudget } from '../budget/memory-budget.ts';

/** Buffers a session keeps between responses: one being written and one being filled. */
const MAX_IDLE_BUFFERS = 2;

/**
 * Largest buffer kept: a ranged read of the SDK's chunk size (1 MiB) with its headers fits; larger
 * one-off replies are left to the collector rather than held, so an idle session holds little.
 */
export const MAX_KEPT_BUFFER_BYTES = 2 * 1024 * 1024;

/** How long idle buffers are kept after the last response: a stream of reads reuses them, a pause frees them. */
export const KEEP_IDLE_MS = 1000;

/**
 * Where one session's read responses are copied to: buffers it used before, once TLS has taken
 * them, instead of new ones. A stream of ranged reads otherwise allocates a fresh buffer per range
 * and leaves the last ones to the collector, so the isolate's memory keeps moving to pages it has not
 * touched yet, which cost more to fault in than the copy itself. An idle buffer is charged to the
 * memory budget (as `responses`) for as long as it is kept: at most two, of at most
 * {@link MAX_KEPT_BUFFER_BYTES} each, for at most {@link KEEP_IDLE_MS} after the last response, so
 * that an idle session cannot keep memory other principals' requests need; one the budget cannot
 * hold is dropped. In use, a buffer is the response's, and its reservation covers it: `take` hands
 * out one of exactly the length asked (its earlier contents are this session's own, and the caller
 * overwrites them), `give` keeps a written one for the next response (the oldest goes beyond two),
 * and `clear` drops them all, with their charge, when the session ends.
 */
export class ResponseBuffers {
  readonly #budget: MemoryBudget;
  #idle: ArrayBuffer[] = [];
  #expiry: ReturnType<typeof setTimeout> | undefined;

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
    if (buffer.byteLength > MAX_KEPT_BUFFER_BYTES) return;
    if (this.#idle.length >= MAX_IDLE_BUFFERS) {
      this.#budget.release(this.#idle.shift()!.byteLength, 'responses');
    }
    if (this.#budget.tryReserve(buffer.byteLength, 'responses')) this.#idle.push(buffer);
    clearTimeout(this.#expiry);
    this.#expiry = setTimeout(() => this.clear(), KEEP_IDLE_MS).unref();
  }

  /** Drops the idle buffers with their charge (when the session ends, or has been idle a while). */
  clear(): void {
    clearTimeout(this.#expiry);
    for (const buffer of this.#idle) this.#budget.release(buffer.byteLength, 'responses');
    this.#idle = [];
  }
}
