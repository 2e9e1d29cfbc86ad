import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { FileRights, PipelineExpr } from '@veracruz-ts/policy';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { Right, missingRights, resolveRights } from '@veracruz-ts/policy';
import { type MemoryBudget, formatBytes } from '../budget/memory-budget.ts';
import type { VirtualFileSystem } from '../vfs/file-system.ts';
import { SYSTEM_CALLS } from '../wasi/signatures.ts';
import type { ProgramAbi, StraceSink } from '../wasi/process-options.ts';
import type { StreamHooks } from '../wasi/wasi-process.ts';
import { WasiProcess } from '../wasi/wasi-process.ts';
import { checkImports } from './check-imports.ts';
import { PAGE_SIZE, prepareModule } from './prepare-module.ts';
import type { RunMessage, WorkerResult } from './worker.ts';
import { COLLECT_AFTER_MEMORY_BYTES, CONTROL_BYTES, Control, ControlState, ENGINE_WORKER_MARKER } from './worker.ts';

/** How a program run ended. */
export type ExecutionOutcome =
  | { kind: 'exited'; exitCode: number }
  | { kind: 'limit'; limit: 'memory' | 'time' | 'fuel' | 'budget'; message: string }
  | { kind: 'trapped'; message: string }
  | { kind: 'rejected'; message: string }
  /** Sealed file data the host gave back was forged (the program got EIO and nothing of it). */
  | { kind: 'integrity'; message: string };

/** Resource limits of one run (the policy's ProgramLimits); absent fields take {@link DEFAULT_LIMITS}. */
export interface ExecutionLimits {
  /** Linear memory cap in MiB (the program's memory.grow fails beyond it). */
  maxMemoryMib?: number;
  /** Wall-clock limit in milliseconds. */
  timeoutMs?: number;
  /** Instruction budget (basic-block instruction counts); absent = unmetered. */
  fuel?: bigint | number;
}

/** Limits used when a request gives none: the whole 32-bit memory (4096 MiB) and ten minutes. */
export const DEFAULT_LIMITS = { maxMemoryMib: 4096, timeoutMs: 600_000 } as const;

/** V8's collector, when the process was started with --expose-gc (the isolate, vc-fee, benchmarks). */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

/** One program run. */
export interface ExecuteRequest {
  vfs: VirtualFileSystem;
  /** The program binary. */
  program: Uint8Array;
  /** The rights it runs with (its policy entry's, or a pipeline's). */
  rights: readonly FileRights[];
  /** argv after argv[0]; argv[0] is `programName`. @default [] */
  args?: readonly string[];
  /** argv[0]. @default 'program.wasm' */
  programName?: string;
  /** Environment. @default {} (Veracruz passes none) */
  env?: Readonly<Record<string, string>>;
  limits?: ExecutionLimits;
  /** Whether clocks may be read (policy `enable_clock`). @default false */
  enableClock?: boolean;
  /** Receives each system call (`straceLines(sink)` makes `name(args) = ERRNO` lines). */
  strace?: StraceSink;
  /** Live std streams instead of the VFS stream files (vc-fee). */
  streams?: StreamHooks;
  /** The computation the program runs in (`veracruz_v1`); its calls are ENOTSUP without it. */
  abi?: ProgramAbi;
  /**
   * Empty the stdout/stderr stream files before the run (when the program may write them), so they
   * hold this run's output only. @default true
   */
  resetStdStreams?: boolean;
}

/** A pipeline run (Veracruz §5 semantics). */
export interface PipelineRequest {
  vfs: VirtualFileSystem;
  pipeline: PipelineExpr;
  /** Rights of the principal who asked: program binaries are read, and conditions tested, with these. */
  callerRights: readonly FileRights[];
  /** Rights of the pipeline principal: every program runs with these. */
  pipelineRights: readonly FileRights[];
  limits?: ExecutionLimits;
  enableClock?: boolean;
  strace?: StraceSink;
  streams?: StreamHooks;
  /** The computation; each program sees itself as `abi.program`. */
  abi?: ProgramAbi;
}

/** Options of an {@link ExecutionEngine}. */
export interface ExecutionEngineOptions {
  /** Compiled programs kept (by hash and limits). @default 16 */
  moduleCacheSize?: number;
  /** Idle workers kept for reuse. @default 2 */
  idleWorkers?: number;
  /**
   * Keep one idle worker started ahead of need (right after construction, and after a run whose
   * worker had to be stopped), so a run does not wait for a worker thread to boot. Idle workers
   * never keep the process alive. @default true
   */
  prewarm?: boolean;
  /** Script the workers run (this package's worker.ts; a bundle passes its own URL). */
  workerUrl?: URL | string;
}

interface CompiledProgram {
  module: WebAssembly.Module;
  initialPages: number;
  maximumPages: number;
}

const MIB_PAGES = (1024 * 1024) / PAGE_SIZE;
/** System calls served back to back before the runtime thread yields to its event loop. */
const BURST_CALLS = 64;
/** How long the runtime thread waits, blocking, for a program's next system call (ms). */
const SPIN_WAIT_MS = 0.02;

/**
 * Runs WebAssembly/WASI programs over a {@link VirtualFileSystem}: each in a worker thread (killable at
 * any time; the VFS stays in this thread and its calls are served here), compiled once per program
 * hash and limits, in V8's optimizing tier, with memory, time and optional fuel limits.
 */
export class ExecutionEngine {
  readonly #cache = new Map<string, Promise<CompiledProgram>>();
  readonly #cacheSize: number;
  readonly #idle: Worker[] = [];
  readonly #maxIdle: number;
  readonly #workerUrl: URL | string;
  readonly #running = new Set<Worker>();
  readonly #prewarm: boolean;
  /** Settles when every finished run's memory has gone back to its budget. */
  #settling: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: ExecutionEngineOptions = {}) {
    // A program's hot loop often sits in a function called once (main); V8 would keep it in the
    // baseline (Liftoff) tier. Set by the engine that compiles programs, not on import: flags are
    // process-wide and apply to modules compiled afterwards.
    setFlagsFromString('--no-liftoff');
    this.#cacheSize = options.moduleCacheSize ?? 16;
    this.#maxIdle = options.idleWorkers ?? 2;
    this.#workerUrl = options.workerUrl ?? new URL('./worker.ts', import.meta.url);
    this.#prewarm = options.prewarm ?? true;
    this.#keepSpare();
  }

  /** Runs one program to its end (or limit); never throws for anything the program does. */
  async execute(request: ExecuteRequest): Promise<ExecutionOutcome> {
    if (this.#closed) throw new VeracruzError(Code.Unavailable, 'execution engine closed');
    const { unsupported } = checkImports(request.program);
    if (unsupported.length > 0) return { kind: 'rejected', message: `program not runnable: ${unsupported.join(', ')}` };
    const limits = request.limits ?? {};
    const maxMemoryMib = limits.maxMemoryMib ?? DEFAULT_LIMITS.maxMemoryMib;
    const timeoutMs = limits.timeoutMs ?? DEFAULT_LIMITS.timeoutMs;
    const fuel = limits.fuel === undefined ? undefined : BigInt(limits.fuel);
    const maxPages = Math.max(0, Math.min(65536, Math.floor(maxMemoryMib * MIB_PAGES)));
    let compiled: CompiledProgram;
    try {
      compiled = await this.#compile(request.program, maxPages, fuel !== undefined);
    } catch (reason) {
      return { kind: 'rejected', message: `program not runnable: ${reason instanceof Error ? reason.message : String(reason)}` };
    }
    if (compiled.initialPages > compiled.maximumPages) {
      return { kind: 'limit', limit: 'memory', message: `memory limit of ${maxMemoryMib} MiB is below the program's initial ${compiled.initialPages / MIB_PAGES} MiB` };
    }
    const budget = request.vfs.budget;
    const initialBytes = compiled.initialPages * PAGE_SIZE;
    // The last run's memory is given back once it is really free (see #run).
    await this.#settling;
    if (!budget.tryReserve(initialBytes, 'program memory')) {
      // How much is free is not said: it would tell the size of other parties' data.
      return { kind: 'limit', limit: 'budget', message: `the isolate's memory budget (${formatBytes(budget.limit)}) cannot hold the program's initial memory (${formatBytes(initialBytes)})` };
    }
    if (request.resetStdStreams !== false) resetStdStreams(request.vfs, request.rights, request.streams);
    const process = new WasiProcess({
      vfs: request.vfs,
      rights: request.rights,
      args: [request.programName ?? 'program.wasm', ...(request.args ?? [])],
      env: request.env ?? {},
      enableClock: request.enableClock ?? false,
      ...(request.strace === undefined ? {} : { strace: request.strace }),
      ...(request.streams === undefined ? {} : { streams: request.streams }),
      ...(request.abi === undefined ? {} : { abi: request.abi }),
    });
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: compiled.initialPages, maximum: compiled.maximumPages, shared: true });
    } catch (reason) {
      budget.release(initialBytes, 'program memory');
      return { kind: 'limit', limit: 'memory', message: `the program's memory could not be allocated: ${reason instanceof Error ? reason.message : String(reason)}` };
    }
    process.attachMemory(memory);
    return this.#run(compiled, memory, process, budget, { timeoutMs, maxMemoryMib, fuel });
  }

  /**
   * Runs a pipeline: a sequence stops at the first non-zero exit code (or any other outcome) and
   * returns it; `if PATH` tests whether PATH exists for the caller (no right is an error, other
   * failures are false); each program binary is read with the caller's rights (FD_EXECUTE) and run
   * with the pipeline's rights.
   */
  async runPipeline(request: PipelineRequest): Promise<ExecutionOutcome> {
    const caller = request.vfs.view(request.callerRights);
    resetStdStreams(request.vfs, request.pipelineRights, request.streams);
    const evaluate = async (expr: PipelineExpr): Promise<ExecutionOutcome> => {
      switch (expr.kind) {
        case 'program': {
          const program = caller.readExecutable(expr.path);
          return this.execute({
            vfs: request.vfs,
            program,
            programName: expr.path,
            rights: request.pipelineRights,
            resetStdStreams: false,
            ...(request.limits === undefined ? {} : { limits: request.limits }),
            ...(request.enableClock === undefined ? {} : { enableClock: request.enableClock }),
            ...(request.strace === undefined ? {} : { strace: request.strace }),
            ...(request.streams === undefined ? {} : { streams: request.streams }),
            ...(request.abi === undefined ? {} : { abi: { ...request.abi, program: expr.path } }),
          });
        }
        case 'sequence': {
          let last: ExecutionOutcome = { kind: 'exited', exitCode: 0 };
          for (const step of expr.steps) {
            last = await evaluate(step);
            if (last.kind !== 'exited' || last.exitCode !== 0) return last;
          }
          return last;
        }
        case 'if': {
          if (caller.exists(expr.condition)) return evaluate(expr.then);
          return expr.else === undefined ? { kind: 'exited', exitCode: 0 } : evaluate(expr.else);
        }
      }
    };
    return evaluate(request.pipeline);
  }

  /** Stops every running program (each ends `trapped`: "execution engine closed") and idle worker. */
  async close(): Promise<void> {
    this.#closed = true;
    const workers = [...this.#idle, ...this.#running];
    this.#idle.length = 0;
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  #compile(program: Uint8Array, maxPages: number, metered: boolean): Promise<CompiledProgram> {
    const key = `${createHash('sha256').update(program).digest('hex')}:${maxPages}:${metered ? 'fuel' : 'free'}`;
    let entry = this.#cache.get(key);
    if (entry !== undefined) {
      this.#cache.delete(key);
      this.#cache.set(key, entry);
      return entry;
    }
    entry = (async () => {
      const prepared = prepareModule(program, { maxPages, fuel: metered });
      const module = await WebAssembly.compile(prepared.bytes as Uint8Array<ArrayBuffer>);
      return { module, initialPages: prepared.initialPages, maximumPages: prepared.maximumPages };
    })();
    this.#cache.set(key, entry);
    entry.catch(() => this.#cache.delete(key));
    while (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
    return entry;
  }

  #spawnWorker(): Worker {
    return new Worker(this.#workerUrl, {
      workerData: { [ENGINE_WORKER_MARKER]: true },
      resourceLimits: { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 32, stackSizeMb: 8 },
    });
  }

  /** Starts an idle worker if none is waiting and none is running (prewarm). */
  #keepSpare(): void {
    if (!this.#prewarm || this.#closed || this.#idle.length > 0 || this.#running.size > 0 || this.#maxIdle === 0) return;
    const worker = this.#spawnWorker();
    worker.unref();
    // A spare that dies while idle is simply dropped.
    worker.once('exit', () => {
      const index = this.#idle.indexOf(worker);
      if (index !== -1) this.#idle.splice(index, 1);
    });
    this.#idle.push(worker);
  }

  #takeWorker(): Worker {
    const worker = this.#idle.pop() ?? this.#spawnWorker();
    worker.removeAllListeners('exit');
    worker.ref();
    this.#running.add(worker);
    return worker;
  }

  /** Returns the worker to the pool or stops it; resolves once it runs no more of the program. */
  #releaseWorker(worker: Worker, reusable: boolean): Promise<void> {
    this.#running.delete(worker);
    if (reusable && !this.#closed && this.#idle.length < this.#maxIdle) {
      worker.removeAllListeners('message');
      worker.removeAllListeners('error');
      worker.removeAllListeners('exit');
      worker.unref();
      worker.once('exit', () => {
        const index = this.#idle.indexOf(worker);
        if (index !== -1) this.#idle.splice(index, 1);
      });
      this.#idle.push(worker);
      return Promise.resolve();
    }
    // A spare replaces a worker that cannot be reused, once it is gone: one that finished a program
    // goes back to the pool itself, so a spare made while it runs would only hold memory meanwhile.
    return worker.terminate().then(() => this.#keepSpare(), () => this.#keepSpare());
  }

  #run(compiled: CompiledProgram, memory: WebAssembly.Memory, process: WasiProcess, budget: MemoryBudget, limits: { timeoutMs: number; maxMemoryMib: number; fuel: bigint | undefined }): Promise<ExecutionOutcome> {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const state = new Int32Array(control, 0, Control.header);
    const argumentSlots = new BigInt64Array(control, Control.header * 4, Control.argumentSlots);
    const worker = this.#takeWorker();
    return new Promise<ExecutionOutcome>((resolve) => {
      let finished = false;
      const finish = (outcome: ExecutionOutcome, reusable: boolean): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        Atomics.store(state, Control.state, ControlState.shutdown);
        Atomics.notify(state, Control.state);
        // The program reserved its grown pages in the budget itself; all of its memory goes back once
        // it can grow no more (a stopped worker may still be running until terminate() resolves).
        const released = this.#releaseWorker(worker, reusable).then(() => {
          // So do the files only its descriptors kept (anonymous, unlinked): it exited, trapped or was stopped.
          process.close();
          const bytes = memory.buffer.byteLength;
          budget.adopt(bytes - compiled.initialPages * PAGE_SIZE, 'program memory');
          return releaseProgramMemory(budget, bytes);
        });
        // An accounting fault must not stop every later run from starting: it is an uncaught error instead.
        this.#settling = Promise.all([this.#settling, released.catch((reason: unknown) => queueMicrotask(() => { throw reason; }))]).then(() => undefined);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        finish({ kind: 'limit', limit: 'time', message: `time limit of ${limits.timeoutMs} ms reached` }, false);
      }, limits.timeoutMs);

      const serve = async (): Promise<void> => {
        let burst = 0;
        for (;;) {
          const current = Atomics.load(state, Control.state);
          if (current === ControlState.shutdown || finished) return;
          if (current !== ControlState.request) {
            const waiting = Atomics.waitAsync(state, Control.state, current);
            if (waiting.async) await waiting.value;
            continue;
          }
          const call = state[Control.call] as number;
          const args: bigint[] = [];
          for (let index = 0; index < Control.argumentSlots; index++) {
            const value = argumentSlots[index] as bigint;
            args.push(value);
          }
          let errno: number;
          try {
            const result = process.dispatch(call, decodeArguments(call, args));
            errno = typeof result === 'number' ? result : await result;
          } catch (reason) {
            finish({ kind: 'trapped', message: `runtime failure in a system call: ${reason instanceof Error ? reason.message : String(reason)}` }, false);
            return;
          }
          if (finished) return;
          if (process.budgetRefusals > BUDGET_REFUSALS_BEFORE_STOP) {
            finish(budgetOutcome(process, budget, 'kept writing after the refusal'), false);
            return;
          }
          state[Control.result] = errno;
          Atomics.store(state, Control.state, ControlState.response);
          Atomics.notify(state, Control.state);
          // A chatty program's next call usually follows within microseconds: wait for it here,
          // briefly (20 us) and for at most BURST_CALLS calls in a row, then yield to the event loop
          // so that other sessions and programs are served too.
          if (++burst >= BURST_CALLS) {
            burst = 0;
            await new Promise((resolve) => setImmediate(resolve));
          } else {
            const until = performance.now() + SPIN_WAIT_MS;
            while (Atomics.load(state, Control.state) === ControlState.response && performance.now() < until);
            if (Atomics.load(state, Control.state) === ControlState.response) burst = 0;
          }
        }
      };

      worker.on('message', (result: WorkerResult) => finish(this.#outcome(result, process, budget, limits), result.kind !== 'link-error'));
      worker.on('error', (error: Error & { code?: string }) => {
        if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') finish({ kind: 'limit', limit: 'memory', message: 'the program exhausted the engine worker\'s memory' }, false);
        else finish({ kind: 'trapped', message: error.message }, false);
      });
      worker.on('exit', () => finish({ kind: 'trapped', message: this.#closed ? 'execution engine closed' : 'engine worker exited unexpectedly' }, false));
      const message: RunMessage = { module: compiled.module, memory, budget: budget.control, control, ...(limits.fuel === undefined ? {} : { fuel: limits.fuel }) };
      worker.postMessage(message);
      void serve();
    });
  }

  #outcome(result: WorkerResult, process: WasiProcess, budget: MemoryBudget, limits: { maxMemoryMib: number; fuel: bigint | undefined }): ExecutionOutcome {
    // Whatever the program made of the EIO, its outputs may rest on data it never got.
    const violation = process.integrityViolation;
    if (violation !== undefined && result.kind !== 'link-error') return { kind: 'integrity', message: `the host forged sealed data of ${violation}` };
    // A program refused by the memory budget may handle it (ENOSPC, a null malloc) and end as it
    // likes; the run still ends as a limit, so that its callers learn that its outputs may be short.
    if (result.kind !== 'link-error' && (result.budgetRefused || process.budgetRefusals > 0)) {
      const ending = result.kind === 'trap' ? `then trapped: ${result.message}` : `then exited with code ${result.kind === 'exit' ? result.exitCode : process.exitCode ?? 0}`;
      return budgetOutcome(process, budget, ending, result.budgetRefused);
    }
    switch (result.kind) {
      case 'returned':
        return { kind: 'exited', exitCode: process.exitCode ?? 0 };
      case 'exit':
        return { kind: 'exited', exitCode: result.exitCode };
      case 'link-error':
        return { kind: 'rejected', message: `program not runnable: ${result.message}` };
      case 'trap':
        if (process.exitCode !== undefined) return { kind: 'exited', exitCode: process.exitCode };
        if (result.fuelExhausted) return { kind: 'limit', limit: 'fuel', message: `fuel exhausted after ${limits.fuel ?? 0n} units` };
        if (result.growRefused) {
          return { kind: 'limit', limit: 'memory', message: `memory limit of ${limits.maxMemoryMib} MiB reached (the program then trapped: ${result.message})` };
        }
        return { kind: 'trapped', message: result.message };
    }
  }
}

/**
 * Gives a finished program's memory back to the budget. A large memory is shared with this thread,
 * where V8 does not count it as heap pressure: without a collection it lingers until some unrelated
 * GC (ten runs of a 300 MiB program held 3 GiB and ran 4x slower), so it is collected first, once
 * this run's callers are done with it, and only then given back. (Module level, so that the pending
 * callback holds no reference to the memory; the idle worker collects its side too.) Processes
 * without --expose-gc give it back at once.
 */
function releaseProgramMemory(budget: MemoryBudget, bytes: number): Promise<void> {
  const collect = collectGarbage;
  if (collect === undefined || bytes < COLLECT_AFTER_MEMORY_BYTES) {
    budget.release(bytes, 'program memory');
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    setTimeout(() => {
      collect();
      budget.release(bytes, 'program memory');
      resolve();
    }, 0);
  });
}

/**
 * Refused budget requests a program may make after the first before its run is stopped: enough to
 * handle the error (report it, close files), not to spin on it until the time limit.
 */
const BUDGET_REFUSALS_BEFORE_STOP = 16;

/** The outcome of a run that the memory budget refused something: names what was refused. */
function budgetOutcome(process: WasiProcess, budget: MemoryBudget, ending: string, memoryRefused = false): ExecutionOutcome {
  const refusal = process.firstBudgetRefusal;
  const what = refusal !== undefined ? `${refusal.bytes} more bytes of ${refusal.resource}` : 'more program memory';
  const also = refusal !== undefined && memoryRefused ? ' (and more program memory)' : '';
  return {
    kind: 'limit',
    limit: 'budget',
    message: `the isolate's memory budget (${formatBytes(budget.limit)}) refused ${what}${also}; the program ${ending}`,
  };
}

/** i64 slots as the handler expects them: i32 parameters as unsigned numbers, i64 as bigints. */
function decodeArguments(call: number, slots: readonly bigint[]): (number | bigint)[] {
  const kinds = SYSTEM_CALL_KINDS[call] ?? '';
  const args: (number | bigint)[] = [];
  for (let index = 0; index < kinds.length; index++) {
    const slot = slots[index] ?? 0n;
    args.push(kinds[index] === 'I' ? slot : Number(BigInt.asUintN(32, slot)));
  }
  return args;
}

const SYSTEM_CALL_KINDS = SYSTEM_CALLS.map((entry) => entry.kinds);

/** Empties the stdout/stderr stream files the principal may write (not when live hooks replace them). */
function resetStdStreams(vfs: VirtualFileSystem, rights: readonly FileRights[], streams: StreamHooks | undefined): void {
  for (const name of ['stdout', 'stderr'] as const) {
    if ((name === 'stdout' ? streams?.stdout : streams?.stderr) !== undefined) continue;
    const resolved = resolveRights(rights, name);
    if (resolved !== undefined && missingRights(resolved.rights, Right.FD_WRITE).length === 0) vfs.stream(name).data.truncate(0);
  }
}
