/**
 * The engine's worker thread: instantiates one prepared program and runs `_start`. Every system
 * call is forwarded to the runtime thread through a shared control block (Atomics.wait here,
 * Atomics.waitAsync there); the program's memory is shared, so no buffers are copied. The worker
 * holds no file-system state, so terminating it at any moment loses nothing.
 *
 * Started by the engine with `workerData[ENGINE_WORKER_MARKER] === true`; when this file is part of
 * a bundle, loading the bundle in such a worker starts the loop too.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { SYSTEM_CALLS } from '../wasi/signatures.ts';
import { INSTRUMENT_EXPORTS } from './instrument.ts';
import { BUDGET_IMPORT, MEMORY_IMPORT } from './prepare-module.ts';

/** A finished program's memory from this size on is reclaimed by an explicit collection. */
export const COLLECT_AFTER_MEMORY_BYTES = 64 * 1024 * 1024;

/** Key set in `workerData` of engine workers. */
export const ENGINE_WORKER_MARKER = '__veracruzEngineWorker';

/** Control block layout (Int32 slots) shared between the worker and the runtime thread. */
export const Control = {
  state: 0,
  call: 1,
  result: 2,
  /** Number of Int32 slots before the i64 argument area. */
  header: 4,
  /** Number of i64 argument slots. */
  argumentSlots: 12,
} as const;

/** Values of the state slot. */
export const ControlState = { idle: 0, request: 1, response: 2, shutdown: 3 } as const;

/** Polls of the control block before the worker sleeps waiting for an answer. */
const SPIN_POLLS = 4000;

/** Size in bytes of the shared control block. */
export const CONTROL_BYTES = Control.header * 4 + Control.argumentSlots * 8;

/** What the runtime thread sends to start a program. */
export interface RunMessage {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** The memory budget's control memory (see BUDGET_IMPORT). */
  budget: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** Fuel budget when the module is metered. */
  fuel?: bigint;
}

/** How the program ended, as the worker saw it. */
export type WorkerResult =
  | { kind: 'returned'; budgetRefused: boolean }
  | { kind: 'exit'; exitCode: number; budgetRefused: boolean }
  | { kind: 'trap'; message: string; fuelExhausted: boolean; growRefused: boolean; budgetRefused: boolean; fuelLeft?: bigint }
  | { kind: 'link-error'; message: string };

class ProgramExit {
  readonly exitCode: number;
  constructor(exitCode: number) {
    this.exitCode = exitCode;
  }
}

function run(message: RunMessage): WorkerResult {
  const state = new Int32Array(message.control, 0, Control.header);
  const argumentSlots = new BigInt64Array(message.control, Control.header * 4, Control.argumentSlots);
  const syscall = (call: number, args: ArrayLike<number | bigint>): number => {
    for (let index = 0; index < args.length; index++) {
      const value = args[index] as number | bigint;
      argumentSlots[index] = typeof value === 'bigint' ? value : BigInt(value >>> 0);
    }
    state[Control.call] = call;
    Atomics.store(state, Control.state, ControlState.request);
    Atomics.notify(state, Control.state);
    // Most calls are answered within microseconds: poll briefly before sleeping on the futex.
    for (let spin = 0; spin < SPIN_POLLS && Atomics.load(state, Control.state) === ControlState.request; spin++);
    while (Atomics.load(state, Control.state) === ControlState.request) Atomics.wait(state, Control.state, ControlState.request);
    const result = state[Control.result] as number;
    Atomics.store(state, Control.state, ControlState.idle);
    return result;
  };
  const imports: Record<string, Record<string, unknown>> = {
    [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: message.memory, [BUDGET_IMPORT.name]: message.budget },
  };
  SYSTEM_CALLS.forEach((entry, call) => {
    imports[entry.module] ??= {};
    const module = imports[entry.module] as Record<string, unknown>;
    module[entry.name] = entry.name === 'proc_exit'
      ? (code: number) => {
        syscall(call, [code]);
        throw new ProgramExit(code >>> 0);
      }
      : (...args: (number | bigint)[]) => syscall(call, args);
  });
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(message.module, imports as WebAssembly.Imports);
  } catch (reason) {
    return { kind: 'link-error', message: reason instanceof Error ? reason.message : String(reason) };
  }
  const fuel = instance.exports[INSTRUMENT_EXPORTS.fuel] as WebAssembly.Global | undefined;
  if (fuel !== undefined && message.fuel !== undefined) fuel.value = message.fuel;
  else if (fuel !== undefined) fuel.value = 2n ** 62n;
  const flag = (name: string): boolean => (instance.exports[name] as WebAssembly.Global | undefined)?.value === 1;
  try {
    // Veracruz accepts `_start` as () -> () or (i32, i32) -> i32 (called with 0, 0; the result is the exit code).
    const result = (instance.exports._start as (argc: number, argv: number) => unknown)(0, 0);
    const budgetRefused = flag(INSTRUMENT_EXPORTS.budgetRefused);
    return typeof result === 'number' ? { kind: 'exit', exitCode: result >>> 0, budgetRefused } : { kind: 'returned', budgetRefused };
  } catch (reason) {
    if (reason instanceof ProgramExit) return { kind: 'exit', exitCode: reason.exitCode, budgetRefused: flag(INSTRUMENT_EXPORTS.budgetRefused) };
    const refused = instance.exports[INSTRUMENT_EXPORTS.growRefused] as WebAssembly.Global | undefined;
    const left = fuel?.value as bigint | undefined;
    return {
      kind: 'trap',
      message: reason instanceof Error ? reason.message : String(reason),
      fuelExhausted: message.fuel !== undefined && left !== undefined && left < 0n,
      growRefused: refused !== undefined && refused.value !== 0,
      budgetRefused: flag(INSTRUMENT_EXPORTS.budgetRefused),
      ...(left === undefined ? {} : { fuelLeft: left }),
    };
  }
}

/** Runs the engine worker loop in this thread (a worker started by the engine). */
export function startEngineWorker(): void {
  const port = parentPort;
  if (port === null) throw new Error('startEngineWorker: not in a worker thread');
  // Flags are process-wide; repeated here so a bundle that starts workers first still gets them.
  setFlagsFromString('--no-liftoff');
  port.on('message', (message: RunMessage) => {
    port.postMessage(run(message));
    const large = message.memory.buffer.byteLength >= COLLECT_AFTER_MEMORY_BYTES;
    // This isolate, idle until its next program, would otherwise keep the finished program's
    // shared memory alive (see the engine's collection before a run).
    if (large) setImmediate(() => (globalThis as { gc?: () => void }).gc?.());
  });
}

if (!isMainThread && (workerData as Record<string, unknown> | null)?.[ENGINE_WORKER_MARKER] === true) startEngineWorker();
