import { BudgetExceeded } from '../budget/memory-budget.ts';
import { Errno, FsFailure } from '../vfs/errno.ts';
import { SealedDataRejected } from '../vfs/sealed-store.ts';
import { StreamRegistry } from '../vfs/streams.ts';
import { ProcessContext } from './process-context.ts';
import type { StraceSink, WasiProcessOptions } from './process-options.ts';
import { CRYPTO_MODULE, SYSTEM_CALLS } from './signatures.ts';
import { HANDLERS_BY_CALL } from './system-call-table.ts';

export type { StreamHooks, WasiProcessOptions } from './process-options.ts';

/** Thrown (through the worker) when the program called `proc_exit`. */
export interface ExitRequest {
  exitCode: number;
}

/**
 * The WASI preview1 system calls of one running program, executed in the runtime's thread over the
 * shared VFS, with the program's rights checked on every call. The program's linear memory is
 * shared with this thread, so calls read and write it directly. The calls themselves are in
 * calls/, one file per family, gathered in system-call-table.ts.
 */
export class WasiProcess {
  readonly #context: ProcessContext;
  readonly #strace: StraceSink | undefined;
  #budgetRefusals = 0;
  #firstBudgetRefusal: BudgetExceeded | undefined;
  #integrityViolation: string | undefined;
  /** Set by {@link close}. */
  #ended = false;

  constructor(options: WasiProcessOptions) {
    this.#context = new ProcessContext(options);
    this.#strace = options.strace;
  }

  /** Set once the program called proc_exit. */
  get exitCode(): number | undefined {
    return this.#context.exitCode;
  }

  /** How many calls the memory budget refused (each answered ENOSPC). */
  get budgetRefusals(): number {
    return this.#budgetRefusals;
  }

  /** The first call the memory budget refused: what was asked for, and for which resource. */
  get firstBudgetRefusal(): BudgetExceeded | undefined {
    return this.#firstBudgetRefusal;
  }

  /**
   * The first sealed data the host forged that a call met (answered EIO): which file and what was
   * wrong. The run then ends as an integrity violation, whatever the program did next.
   */
  get integrityViolation(): string | undefined {
    return this.#integrityViolation;
  }

  /**
   * The run is over (however it ended): closes every descriptor the program left open, as process
   * exit does, so that its anonymous (`fd_create`) and unlinked files return their bytes to the budget
   * and partial service requests are discarded. A call still waiting (a read at the end of a policy
   * stream) ends ECANCELED, and the program no longer counts as reading any stream. Call it once the
   * program can make no more calls; any call after it fails (ECANCELED).
   */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#context.ended = true;
    StreamRegistry.of(this.#context.vfs)?.ownerGone(this.#context);
    let failure: unknown;
    for (const descriptor of this.#context.table.closeAll()) {
      try {
        this.#context.closed(descriptor);
      } catch (reason) {
        failure ??= reason;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** Attaches the program's (shared) linear memory. */
  attachMemory(memory: WebAssembly.Memory): void {
    this.#context.memory.attach(memory);
  }

  /** The errno a system call's failure is answered with; anything else is a runtime fault, thrown on. */
  #errno(reason: unknown, args: readonly (number | bigint)[], module: string): number {
    if (reason instanceof BudgetExceeded) {
      this.#budgetRefusals++;
      this.#firstBudgetRefusal ??= reason;
    }
    if (reason instanceof SealedDataRejected) {
      // Calls that reach file data take the descriptor first.
      const descriptor = this.#context.table.get(Number(args[0]));
      const path = descriptor?.type === 'file' && descriptor.path !== '' ? descriptor.path : 'a file';
      this.#integrityViolation ??= `${path}: ${reason.detail}`;
    }
    if (reason instanceof FsFailure) return reason.errno;
    // The crypto calls reach program memory only through checked ranges: anything node:crypto throws is a refused argument.
    if (module === CRYPTO_MODULE) return Errno.INVAL;
    if (reason instanceof RangeError) return Errno.FAULT;
    throw reason;
  }

  /**
   * Runs system call number `call` (an index into SYSTEM_CALLS) with raw arguments (i32 as
   * unsigned numbers, i64 as bigints); returns the errno (or a promise of it for calls that wait).
   */
  dispatch(call: number, args: readonly (number | bigint)[]): number | Promise<number> {
    const entry = SYSTEM_CALLS[call];
    if (entry === undefined) return Errno.NOSYS;
    if (this.#ended) return Errno.CANCELED;
    const handler = HANDLERS_BY_CALL[call];
    let result: number | Promise<number>;
    try {
      result = handler === undefined ? Errno.NOSYS : handler(this.#context, ...args);
    } catch (reason) {
      result = this.#errno(reason, args, entry.module);
    }
    // A call that waited fails as a call that did not: the same errno for the same fault.
    if (typeof result !== 'number') result = result.then(undefined, (reason: unknown) => this.#errno(reason, args, entry.module));
    if (this.#strace !== undefined) {
      const strace = this.#strace;
      const record = (errno: number) => strace({ name: entry.name, args, memory: this.#context.memory, errno });
      if (typeof result === 'number') record(result);
      else result.then(record, () => undefined);
    }
    return result;
  }
}
