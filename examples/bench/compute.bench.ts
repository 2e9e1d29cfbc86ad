/**
 * Compute benchmark: the heavy examples and two kernels, built natively with gcc -O2 from the same C sources
 * (the baseline) and run by our execution engine, on the same inputs. Prints execution times and the ratio
 * engine / native (wall-clock, and CPU time, which other load on the machine disturbs less), the module compile
 * time separately, and the cost of fuel metering (a huge budget vs none, in CPU time: wall time of a
 * run that touches hundreds of MiB of fresh memory swings with page faults).
 *
 *   node --no-liftoff --expose-gc examples/bench/compute.bench.ts [program ...]
 *
 * Native runs read their inputs from the page cache (each is run once to warm it up); engine runs read them
 * from the virtual file system. Each figure is the best of RUNS runs, after a warm-up run; the runs of the
 * three variants alternate so that other load on the machine spreads over all of them.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProgramLimits } from '@veracruz-ts/policy';
import { ExecutionEngine } from '@veracruz-ts/runtime';
import { buildExamples, nativePath, wasmPath } from '../build.ts';
import { writeGeneratedFiles, type GeneratedFiles } from '../generators/files.ts';
import { generateIntersectionSetSum } from '../generators/intersection-set-sum.ts';
import { generateLinearRegression } from '../generators/linear-regression.ts';
import { generateLogisticRegression } from '../generators/logistic-regression.ts';
import { generateMacd } from '../generators/macd.ts';
import { generateSha256 } from '../generators/sha256.ts';
import { generateShamirSecretSharing } from '../generators/shamir-secret-sharing.ts';
import { generateSortIntegers } from '../generators/sort-integers.ts';
import { generateStringEditDistance } from '../generators/string-edit-distance.ts';
import { createFileSystem, PROGRAM_RIGHTS, testView } from '../tests/harness.ts';

const RUNS = 5;
const LIMITS: ProgramLimits = { maxMemoryMib: 3072, timeoutMs: 600_000 };
const HUGE_FUEL = 10n ** 15n;

interface BenchCase {
  program: string;
  size: string;
  generate: () => GeneratedFiles;
  /** Output paths compared between the native and the engine run ('stdout' for the stream). */
  outputs: string[];
}

const CASES: BenchCase[] = [
  { program: 'linear-regression', size: '20 M points', generate: () => generateLinearRegression({ seed: 1, size: 20_000_000 }), outputs: ['/output/linear-regression.dat'] },
  { program: 'intersection-set-sum', size: '2 M ids', generate: () => generateIntersectionSetSum({ seed: 1, size: 2_000_000 }), outputs: ['/output/intersection-set-sum.dat'] },
  { program: 'logistic-regression', size: '400 k x 4, 100 it', generate: () => generateLogisticRegression({ seed: 1, size: 400_000 }), outputs: ['/output/logistic-regression.dat'] },
  { program: 'macd', size: '3 x 4 M prices', generate: () => generateMacd({ seed: 1, size: 4_000_000 }), outputs: ['/output/macd/series-0.dat', '/output/macd/series-2.dat'] },
  { program: 'string-edit-distance', size: '15 k chars', generate: () => generateStringEditDistance({ seed: 1, size: 15_000 }), outputs: ['/output/string-edit-distance.dat'] },
  { program: 'shamir-secret-sharing', size: '3 x 96 MiB', generate: () => generateShamirSecretSharing({ seed: 1, size: 96 << 20 }), outputs: ['/output/shamir.dat'] },
  { program: 'sha256', size: '64 MiB', generate: () => generateSha256({ seed: 1, size: 64 << 20 }), outputs: ['stdout'] },
  { program: 'sort-integers', size: '4 M u32', generate: () => generateSortIntegers({ seed: 1, size: 4 << 20 }), outputs: ['/output/sorted.bin'] },
];

/** The WebAssembly JS API (the TypeScript lib here declares its types but not the global value). */
const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> } }).WebAssembly;

interface Measurement {
  /** Wall-clock seconds. */
  time: number;
  /** CPU seconds (user + system; for the engine, the whole process: worker plus the thread serving its calls). */
  cpu: number;
  results: Map<string, Uint8Array>;
}

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

/**
 * Runs the native build once under `root`; returns its wall time, its CPU time (user + system, reported by
 * bash's `time` on stderr) and its outputs.
 */
function runNative(program: string, root: string, outputs: string[]): Measurement {
  rmSync(join(root, 'output'), { recursive: true, force: true });
  mkdirSync(join(root, 'output'));
  const start = performance.now();
  const run = spawnSync('bash', ['-c', 'TIMEFORMAT="%3U %3S"; time "$0" 2>/dev/null', nativePath(program)], {
    env: { VC_NATIVE_ROOT: root }, maxBuffer: 1 << 20,
  });
  const time = seconds(start);
  if (run.status !== 0) throw new Error(`native ${program} failed: ${run.stderr.toString()}`);
  const [user, system] = run.stderr.toString().trim().split(/\s+/).slice(-2).map(Number);
  const results = new Map(outputs.map((path) => [path, path === 'stdout' ? new Uint8Array(run.stdout) : new Uint8Array(readFileSync(join(root, path)))]));
  return { time, cpu: user! + system!, results };
}

/** Runs the module once on the engine over a fresh file system; returns the execution time and outputs. */
async function runEngine(engine: ExecutionEngine, program: Uint8Array, files: GeneratedFiles, outputs: string[], limits: ProgramLimits): Promise<Measurement> {
  const vfs = createFileSystem(files);
  globalThis.gc?.();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const outcome = await engine.execute({ vfs, program, rights: PROGRAM_RIGHTS, limits });
  const time = seconds(start);
  const cpuUsed = process.cpuUsage(cpuStart);
  if (outcome.kind !== 'exited' || outcome.exitCode !== 0) throw new Error(`engine run failed: ${JSON.stringify(outcome)}`);
  const view = testView(vfs);
  return { time, cpu: (cpuUsed.user + cpuUsed.system) / 1e6, results: new Map(outputs.map((path) => [path, view.readFile(path)])) };
}

/** Keeps the lower wall and CPU times of `best` and `sample`. */
function keepBest(best: Measurement, sample: Measurement): void {
  best.time = Math.min(best.time, sample.time);
  best.cpu = Math.min(best.cpu, sample.cpu);
}

/** One run with a fuel budget too large to run out; undefined (with a note) if the engine refuses fuel. */
async function measureFuel(engine: ExecutionEngine, program: Uint8Array, files: GeneratedFiles, outputs: string[]): Promise<Measurement | undefined> {
  try {
    return await runEngine(engine, program, files, outputs, { ...LIMITS, fuel: HUGE_FUEL });
  } catch (error) {
    process.stderr.write(`fuel metering not measured: ${error instanceof Error ? error.message : String(error)}\n`);
    return undefined;
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  for (const target of ['wasm', 'native'] as const) {
    const report = await buildExamples({ target });
    if (report.failed.length > 0) throw new Error(`build failed: ${report.failed.map((f) => f.name).join(', ')}`);
  }
  const root = mkdtempSync(join(tmpdir(), 'vc-bench-'));
  const engine = new ExecutionEngine();
  const rows: string[][] = [];
  let fuelSupported = true;
  try {
    for (const bench of CASES.filter((c) => only.length === 0 || only.includes(c.program))) {
      const files = bench.generate();
      const caseRoot = join(root, bench.program);
      writeGeneratedFiles(caseRoot, files);
      const wasm = new Uint8Array(readFileSync(wasmPath(bench.program)));
      const compileStart = performance.now();
      await wasmApi.compile(wasm);
      const compile = seconds(compileStart);
      // Warm-up runs (page cache, module cache, workers), then RUNS rounds alternating the three, so that load
      // from elsewhere on the machine falls on all of them alike; the best of each is kept.
      const native = runNative(bench.program, caseRoot, bench.outputs);
      const plain = await runEngine(engine, wasm, files, bench.outputs, LIMITS);
      const identical = bench.outputs.every((path) => sameBytes(native.results.get(path), plain.results.get(path)));
      let fuel = fuelSupported ? await measureFuel(engine, wasm, files, bench.outputs) : undefined;
      native.time = native.cpu = plain.time = plain.cpu = Infinity;
      for (let run = 0; run < RUNS; run++) {
        keepBest(native, runNative(bench.program, caseRoot, bench.outputs));
        keepBest(plain, await runEngine(engine, wasm, files, bench.outputs, LIMITS));
        if (fuel !== undefined) {
          const fueled = await measureFuel(engine, wasm, files, bench.outputs);
          if (fueled === undefined) fuel = undefined;
          else if (run === 0) fuel = fueled;
          else keepBest(fuel, fueled);
        }
      }
      if (fuel === undefined) fuelSupported = false;
      rows.push([
        bench.program, bench.size,
        native.time.toFixed(3), plain.time.toFixed(3), (plain.time / native.time).toFixed(2),
        native.cpu.toFixed(3), plain.cpu.toFixed(3), (plain.cpu / native.cpu).toFixed(2),
        compile.toFixed(3), fuel === undefined ? 'n/a' : (fuel.cpu / plain.cpu).toFixed(2), identical ? 'yes' : 'NO',
      ]);
      rmSync(caseRoot, { recursive: true, force: true });
    }
  } finally {
    await engine.close();
    rmSync(root, { recursive: true, force: true });
  }
  const header = ['program', 'size', 'native s', 'engine s', 'ratio', 'native cpu', 'engine cpu', 'cpu ratio', 'compile s', 'fuel/no fuel cpu', 'same output'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  const geometricMean = (column: number) => Math.exp(rows.reduce((sum, r) => sum + Math.log(Number(r[column])), 0) / rows.length);
  console.log(`\ngeometric mean engine/native: wall ${geometricMean(4).toFixed(2)}, cpu ${geometricMean(7).toFixed(2)} (goal: within 1.25)`);
  if (fuelSupported) console.log(`geometric mean fuel metering overhead (cpu): ${geometricMean(9).toFixed(2)}`);
  if (rows.some((r) => r[10] !== 'yes')) process.exitCode = 1;
}

await main();
