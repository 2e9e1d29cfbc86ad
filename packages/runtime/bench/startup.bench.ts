/**
 * Startup benchmark: time from program bytes to a finished run of a ~1 MB program whose `_start`
 * returns at once: uncached with a fresh engine (rewrite, compile, worker boot), a new program on a
 * warm engine (rewrite, compile), and cached (compiled module reused, warm worker). Baseline: compiling and instantiating the same bytes in this
 * thread with the plain WebAssembly API (and instantiating an already compiled module).
 */
import { ExecutionEngine } from '../src/engine/engine.ts';
import { concatBytes, encodeName, encodeSection, encodeU32 } from '../src/engine/wasm-binary.ts';
import { VirtualFileSystem } from '../src/vfs/file-system.ts';

/** A valid module of about `targetBytes`: many functions of integer arithmetic, _start, memory. */
function largeModule(targetBytes: number, variant = 5): Uint8Array {
  const body = [0x00]; // no locals
  for (let index = 0; index < 80; index++) body.push(0x20, 0x00, 0x41, variant, 0x6a, 0x21, 0x00); // x = x + variant
  body.push(0x20, 0x00, 0x0b);
  const bodyBytes = [...encodeU32(body.length), ...body];
  const functions = Math.ceil(targetBytes / bodyBytes.length);
  const types = [2, 0x60, 0, 0, 0x60, 1, 0x7f, 1, 0x7f];
  const functionSection = [...encodeU32(functions + 1), 0, ...Array.from({ length: functions }, () => 1)];
  const exports = [1, ...encodeName('_start'), 0, 0];
  const exportsWithMemory = [2, ...exports.slice(1), ...encodeName('memory'), 2, 0];
  const startBody = [2, 0, 0x0b];
  const code = concatBytes([
    Uint8Array.from(encodeU32(functions + 1)), Uint8Array.from(startBody),
    ...Array.from({ length: functions }, () => Uint8Array.from(bodyBytes)),
  ]);
  return concatBytes([
    Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0),
    encodeSection(1, types), encodeSection(3, functionSection), encodeSection(5, [1, 0, 1]),
    encodeSection(7, exportsWithMemory), encodeSection(10, code),
  ]);
}

const program = largeModule(1_000_000);
const rounds = 5;
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

const baselineCold: number[] = [];
const baselineWarm: number[] = [];
for (let round = 0; round < rounds; round++) {
  const copy = program.slice();
  let start = performance.now();
  const module = await WebAssembly.compile(copy);
  (new WebAssembly.Instance(module, {}).exports._start as () => void)();
  baselineCold.push(performance.now() - start);
  start = performance.now();
  (new WebAssembly.Instance(module, {}).exports._start as () => void)();
  baselineWarm.push(performance.now() - start);
}

const uncached: number[] = [];
const cached: number[] = [];
for (let round = 0; round < rounds; round++) {
  const engine = new ExecutionEngine();
  const vfs = new VirtualFileSystem();
  let start = performance.now();
  const first = await engine.execute({ vfs, program, rights: [] });
  uncached.push(performance.now() - start);
  start = performance.now();
  const second = await engine.execute({ vfs, program, rights: [] });
  cached.push(performance.now() - start);
  if (first.kind !== 'exited' || second.kind !== 'exited') throw new Error(JSON.stringify([first, second]));
  await engine.close();
}

// The isolate's case: a long-running engine (worker already started) meets a program it has not
// seen: rewrite + compile + instantiate, no worker boot.
const warmEngine = new ExecutionEngine();
const warmVfs = new VirtualFileSystem();
await warmEngine.execute({ vfs: warmVfs, program: largeModule(1_000_000, 1), rights: [] });
const newProgram: number[] = [];
for (let round = 0; round < rounds; round++) {
  const variant = largeModule(1_000_000, 10 + round);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const start = performance.now();
  const outcome = await warmEngine.execute({ vfs: warmVfs, program: variant, rights: [] });
  newProgram.push(performance.now() - start);
  if (outcome.kind !== 'exited') throw new Error(JSON.stringify(outcome));
}
await warmEngine.close();

const coldBase = median(baselineCold);
const warmBase = median(baselineWarm);
console.log(`program: ${(program.length / 1e6).toFixed(2)} MB; median of ${rounds}`);
console.log('case                    | engine ms | baseline ms | ratio');
// uncached = a fresh engine: includes booting its worker thread.
console.log(`uncached (compile+run)  | ${median(uncached).toFixed(1).padStart(9)} | ${coldBase.toFixed(1).padStart(11)} | ${(median(uncached) / coldBase).toFixed(2)}`);
console.log(`new program, warm engine| ${median(newProgram).toFixed(1).padStart(9)} | ${coldBase.toFixed(1).padStart(11)} | ${(median(newProgram) / coldBase).toFixed(2)}`);
console.log(`cached (instantiate+run)| ${median(cached).toFixed(1).padStart(9)} | ${warmBase.toFixed(1).padStart(11)} | ${(median(cached) / warmBase).toFixed(2)}`);
