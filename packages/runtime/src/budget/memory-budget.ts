import { Code, VeracruzError } from '@veracruz-ts/core';
import { Errno, FsFailure } from '../vfs/errno.ts';

/**
 * What the isolate holds memory for, on behalf of its principals. Each reservation names one, so a
 * refusal can say what filled the budget and what was refused.
 */
export type BudgetResource =
  | 'files'
  | 'stdin'
  | 'stdout'
  | 'stderr'
  | 'program memory'
  | 'sessions'
  | 'requests'
  | 'responses';

/** Every resource, in the order reports list them. */
export const BUDGET_RESOURCES: readonly BudgetResource[] = ['files', 'stdin', 'stdout', 'stderr', 'program memory', 'sessions', 'requests', 'responses'];

/** What serving principals holds: these may use the whole budget, data may not use the serving reserve. */
const SERVING_RESOURCES: ReadonlySet<BudgetResource> = new Set(['sessions', 'requests', 'responses']);

/** What file contents are held for. */
const FILE_RESOURCES: ReadonlySet<BudgetResource> = new Set(['files', 'stdin', 'stdout', 'stderr']);

/** Pages of the budget's control memory: the free counts (i64) at offsets 0 and 8. */
const CONTROL_PAGES = 1;

/**
 * The part of a budget of `limit` bytes that data (files, streams, program memory) may not use, so
 * that principals can still connect and read results when outputs have filled the rest: an eighth,
 * at least 16 MiB and at most 64 MiB, and never more than half.
 */
export function servingReserve(limit: number): number {
  const mib = 1024 * 1024;
  return Math.min(Math.floor(limit / 2), Math.min(64 * mib, Math.max(16 * mib, Math.floor(limit / 8))));
}

/**
 * A reservation the budget could not make. For programs it is ENOSPC (a write they can handle, as on a
 * full disk); host requests turn it into `limit_exceeded`. The message names the resource and the
 * size, never contents.
 */
export class BudgetExceeded extends FsFailure {
  /** What the refused bytes were for. */
  readonly resource: BudgetResource;
  /** How many bytes were asked for. */
  readonly bytes: number;
  /** The whole budget, in bytes. */
  readonly limit: number;
  constructor(resource: BudgetResource, bytes: number, limit: number) {
    super(Errno.NOSPC, `${resource}: ${bytes} more bytes do not fit in the isolate's memory budget (${formatBytes(limit)})`);
    this.name = 'BudgetExceeded';
    this.resource = resource;
    this.bytes = bytes;
    this.limit = limit;
  }

  /** One sentence for a principal: what was refused and why. */
  get sentence(): string {
    return `the isolate's memory budget (${formatBytes(this.limit)}) cannot hold ${this.bytes} more bytes of ${this.resource}`;
  }
}

/**
 * Takes `amount` from the count at `index` if it is there, with compare-and-exchange: a reservation
 * that does not fit never changes the count, so it cannot make another that fits fail meanwhile.
 */
function take(counters: BigInt64Array, index: number, amount: bigint): boolean {
  for (;;) {
    const current = Atomics.load(counters, index);
    if (current < amount) return false;
    if (Atomics.compareExchange(counters, index, current, current - amount) === current) return true;
  }
}

/** `268435456` -> `256 MiB`; other sizes in bytes. */
export function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB` : `${bytes} bytes`;
}

/**
 * The isolate's one memory budget: everything it holds for principals (file contents and names, the
 * std streams, programs' linear memory, session buffers, requests being received and responses being
 * sent) is reserved here first, and what does not fit is refused before anything is stored.
 *
 * Data (files, streams, program memory) may hold at most the budget less the serving reserve
 * ({@link servingReserve}); everything together at most the budget. So data filling its part cannot
 * lock principals out of connecting and reading it, while serving uses the reserve first.
 *
 * Both counts of free bytes live in a shared WebAssembly memory (all free at offset 0, free for data
 * at offset 8, i64 each) so that a running program's `memory.grow`, rewritten by the engine, reserves
 * from the same counters with atomic instructions in the program's own thread; the runtime thread
 * reserves with `Atomics`. Reservations never wait and never overshoot: each count is taken with
 * compare-and-exchange only when it holds enough, so a refused reservation changes nothing.
 */
export class MemoryBudget {
  /** The whole budget in bytes. */
  readonly limit: number;
  /** The shared control memory programs import (the free counts at offsets 0 and 8). */
  readonly control: WebAssembly.Memory;
  /** Bytes that only serving principals (sessions, requests, responses) may use: see {@link servingReserve}. */
  readonly reservedForServing: number;
  // [0]: bytes free for anything; [1]: bytes free for data.
  readonly #counters: BigInt64Array;
  readonly #used = new Map<BudgetResource, number>();

  /** `reserve`: bytes kept for serving principals. @default servingReserve(limit) */
  constructor(limit: number, reserve = servingReserve(limit)) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`memory budget must be a non-negative integer of bytes, got ${limit}`);
    if (!Number.isSafeInteger(reserve) || reserve < 0 || reserve > limit) throw new RangeError(`serving reserve must be between 0 and the budget, got ${reserve}`);
    this.limit = limit;
    this.reservedForServing = reserve;
    this.control = new WebAssembly.Memory({ initial: CONTROL_PAGES, maximum: CONTROL_PAGES, shared: true });
    this.#counters = new BigInt64Array(this.control.buffer, 0, 2);
    Atomics.store(this.#counters, 0, BigInt(limit));
    Atomics.store(this.#counters, 1, BigInt(limit - reserve));
  }

  /** Bytes not reserved now. */
  get free(): number {
    return Math.max(0, Number(Atomics.load(this.#counters, 0)));
  }

  /** Bytes reserved now, all resources together (program memory reserved by running programs included). */
  get used(): number {
    return this.limit - this.free;
  }

  /**
   * Bytes reserved per resource through this object. Program memory grown by a running program is
   * counted by the engine when the run ends; until then the difference shows in {@link used}.
   */
  usage(): Record<BudgetResource, number> {
    const report = {} as Record<BudgetResource, number>;
    for (const resource of BUDGET_RESOURCES) report[resource] = this.#used.get(resource) ?? 0;
    return report;
  }

  /**
   * Called when a reservation does not fit, before it is refused, to free what it can (sealed storage
   * seals file data out); the reservation is then tried once more. Reservations for file contents are
   * not relieved here: the files make room themselves, knowing which of their slabs are in use.
   */
  relieve: ((bytes: number, resource: BudgetResource) => void) | undefined;

  /** Reserves `bytes` for `resource` if they fit (data within its part); returns whether it did. */
  tryReserve(bytes: number, resource: BudgetResource): boolean {
    if (bytes <= 0) return true;
    if (this.#take(bytes, resource)) return true;
    if (this.relieve === undefined || FILE_RESOURCES.has(resource)) return false;
    this.relieve(bytes, resource);
    return this.#take(bytes, resource);
  }

  #take(bytes: number, resource: BudgetResource): boolean {
    const amount = BigInt(bytes);
    const data = !SERVING_RESOURCES.has(resource);
    if (data && !take(this.#counters, 1, amount)) return false;
    if (!take(this.#counters, 0, amount)) {
      if (data) Atomics.add(this.#counters, 1, amount);
      return false;
    }
    this.#used.set(resource, (this.#used.get(resource) ?? 0) + bytes);
    return true;
  }

  /** Reserves `bytes` for `resource`, or throws {@link BudgetExceeded} having reserved nothing. */
  reserve(bytes: number, resource: BudgetResource): void {
    if (!this.tryReserve(bytes, resource)) throw new BudgetExceeded(resource, bytes, this.limit);
  }

  /** Throws {@link BudgetExceeded} unless `bytes` would fit now (reserves nothing). */
  check(bytes: number, resource: BudgetResource): void {
    if (bytes > 0 && bytes > this.available(resource)) throw new BudgetExceeded(resource, bytes, this.limit);
  }

  /** Bytes `resource` could reserve now. */
  available(resource: BudgetResource): number {
    const dataFree = Math.max(0, Number(Atomics.load(this.#counters, 1)));
    return SERVING_RESOURCES.has(resource) ? this.free : Math.min(this.free, dataFree);
  }

  /** Gives back `bytes` reserved for `resource`. */
  release(bytes: number, resource: BudgetResource): void {
    if (bytes <= 0) return;
    const amount = BigInt(bytes);
    Atomics.add(this.#counters, 0, amount);
    if (!SERVING_RESOURCES.has(resource)) Atomics.add(this.#counters, 1, amount);
    this.#used.set(resource, Math.max(0, (this.#used.get(resource) ?? 0) - bytes));
  }

  /**
   * Records bytes that a program reserved itself (through its rewritten `memory.grow`) under
   * `resource`, so that {@link usage} and a later {@link release} agree with the shared counter.
   */
  adopt(bytes: number, resource: BudgetResource): void {
    if (bytes > 0) this.#used.set(resource, (this.#used.get(resource) ?? 0) + bytes);
  }
}

/** The smallest budget an isolate runs with: below it not even a few sessions and a small program fit. */
export const MIN_ISOLATE_BUDGET_MIB = 16;

/**
 * The memory budget of an isolate enforcing a policy: its `max_memory_mib`. A policy asking for less
 * than {@link MIN_ISOLATE_BUDGET_MIB} is refused, naming the field, rather than started unusable.
 */
export function isolateBudget(policy: { max_memory_mib: number }): MemoryBudget {
  if (policy.max_memory_mib < MIN_ISOLATE_BUDGET_MIB) {
    throw new VeracruzError(Code.InvalidPolicy,
      `max_memory_mib ${policy.max_memory_mib}: the isolate's memory budget must be at least ${MIN_ISOLATE_BUDGET_MIB} MiB (its sessions alone need several)`);
  }
  return new MemoryBudget(policy.max_memory_mib * 1024 * 1024);
}
