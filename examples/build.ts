/**
 * Builds the example programs.
 *
 *   node examples/build.ts            every examples/programs/<name>/*.c  ->  examples/build/wasm/<name>.wasm
 *   node examples/build.ts --native   the same sources with the system gcc ->  examples/build/native/<name>
 *                                     (absolute paths re-rooted under $VC_NATIVE_ROOT, see native/root-prefix.c)
 *   node examples/build.ts --force    rebuild even when the sources are unchanged
 *
 * WebAssembly builds use clang compiled to WebAssembly (@yowasp/clang), so they need nothing but npm.
 * A program is rebuilt only when the hash of its sources, the shared headers and the compiler flags differs
 * from the stamp stored next to its output. At most two programs are compiled at once, each in its own
 * worker thread (the compiler is synchronous WebAssembly, so threads are what makes it parallel).
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** Directory of the examples package (where this file lives). */
export const EXAMPLES_DIR = dirname(fileURLToPath(import.meta.url));
/** One sub-directory per program, each holding that program's C sources. */
export const PROGRAMS_DIR = join(EXAMPLES_DIR, 'programs');
/** Headers shared by every program (`#include "vc_io.h"`). */
export const INCLUDE_DIR = join(EXAMPLES_DIR, 'include');
/** The C SDK's headers (`#include "vc.h"`), on the include path beside INCLUDE_DIR's. */
export const SDK_INCLUDE_DIR = join(EXAMPLES_DIR, '..', 'packages', 'sdk-c', 'include');
/** Where the WebAssembly modules are written. */
export const WASM_DIR = join(EXAMPLES_DIR, 'build', 'wasm');
/** Where the native executables (for benchmarks) are written. */
export const NATIVE_DIR = join(EXAMPLES_DIR, 'build', 'native');

/** Linked into native builds: maps the programs' absolute paths under $VC_NATIVE_ROOT (see the file). */
const NATIVE_ROOT_PREFIX = join(EXAMPLES_DIR, 'native', 'root-prefix.c');
const NATIVE_WRAPPED = ['fopen', 'open', 'opendir', 'mkdir'] as const;

/** Compiler flags shared by both targets. */
const COMMON_FLAGS = ['-O2', '-std=gnu17', '-Wall', '-Wextra', '-Werror', '-Iinclude'] as const;
const WASM_FLAGS = ['--target=wasm32-wasip1', ...COMMON_FLAGS] as const;
const MAX_PARALLEL = 2;

/** Path of the WebAssembly module built for program `name`. */
export function wasmPath(name: string): string {
  return join(WASM_DIR, `${name}.wasm`);
}

/** Path of the native executable built for program `name` (with `--native`). */
export function nativePath(name: string): string {
  return join(NATIVE_DIR, name);
}

/** One program's sources: file name (within its directory) to text. */
export interface ProgramSources {
  name: string;
  sources: Record<string, string>;
}

/** Lists every program directory with at least one `.c` file, with its sources, sorted by name. */
export function listPrograms(programsDir: string = PROGRAMS_DIR): ProgramSources[] {
  if (!existsSync(programsDir)) return [];
  const programs: ProgramSources[] = [];
  for (const entry of readdirSync(programsDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(programsDir, entry.name);
    const files = readdirSync(dir).filter((f) => f.endsWith('.c') || f.endsWith('.h')).sort();
    if (!files.some((f) => f.endsWith('.c'))) continue;
    const sources: Record<string, string> = {};
    for (const file of files) sources[file] = readFileSync(join(dir, file), 'utf8');
    programs.push({ name: entry.name, sources });
  }
  return programs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Reads the shared headers and the SDK's (one directory for the compiler): file name to text. */
function readIncludes(): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const dir of [INCLUDE_DIR, SDK_INCLUDE_DIR]) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      if (file.endsWith('.h')) headers[file] = readFileSync(join(dir, file), 'utf8');
    }
  }
  return headers;
}

/** Hash identifying one build: sources, shared headers and the exact compiler command. */
export function buildHash(program: ProgramSources, includes: Record<string, string>, command: readonly string[]): string {
  const hash = createHash('sha256');
  const feed = (label: string, text: string) => hash.update(`${label}\0${text.length}\0${text}\0`);
  feed('command', command.join(' '));
  for (const [file, text] of Object.entries(program.sources)) feed(`src/${file}`, text);
  for (const [file, text] of Object.entries(includes)) feed(`include/${file}`, text);
  return hash.digest('hex');
}

/** True when a program needs the isolate (Veracruz host functions, the SDK's or native services), so has no native build. */
function needsIsolate(program: ProgramSources): boolean {
  const markers = ['import_module("veracruz_si")', '#include "vc.h"', '"/services/'];
  return Object.values(program.sources).some((text) => markers.some((marker) => text.includes(marker)));
}

interface CompileJob {
  name: string;
  sources: Record<string, string>;
  includes: Record<string, string>;
}

/** A compilation's result: the module for WebAssembly builds (gcc writes native executables itself), or why it failed. */
type CompileResult = { ok: true; module?: Uint8Array } | { ok: false; diagnostics: string };

let compilerReady: Promise<ClangCommand> | undefined;

type ClangCommand = typeof import('@yowasp/clang').commands.clang;

/** Loads clang once per worker thread. */
function loadCompiler(): Promise<ClangCommand> {
  compilerReady ??= import('@yowasp/clang').then(async ({ commands }) => {
    // The first run fetches the compiler's resources; `--version` is the one call that passes our (silent)
    // progress callback through, so it runs first to keep the build output clean.
    await commands.clang(['--version'], {}, { stdout: null, stderr: null, fetchProgress: () => {} });
    return commands.clang;
  });
  return compilerReady;
}

/** Compiles one program to WebAssembly. Runs inside a worker thread. */
async function compileToWasm(job: CompileJob): Promise<CompileResult> {
  const clang = await loadCompiler();
  const cFiles = Object.keys(job.sources).filter((f) => f.endsWith('.c'));
  const diagnostics: Uint8Array[] = [];
  const collect = (bytes: Uint8Array | null) => {
    if (bytes !== null) diagnostics.push(new Uint8Array(bytes));
  };
  const text = () => Buffer.concat(diagnostics).toString('utf8');
  try {
    const tree = await clang([...WASM_FLAGS, ...cFiles, '-o', 'program.wasm', '-lm'],
      { ...job.sources, include: { ...job.includes } },
      { stdout: collect, stderr: collect, fetchProgress: () => {} });
    const module = tree?.['program.wasm'];
    if (!(module instanceof Uint8Array)) return { ok: false, diagnostics: text() || 'clang produced no output' };
    return { ok: true, module };
  } catch (error) {
    return { ok: false, diagnostics: `${text()}\n${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Compiles one program natively with the system gcc into `output`. */
function compileNative(program: ProgramSources, output: string): Promise<CompileResult> {
  const cFiles = Object.keys(program.sources).filter((f) => f.endsWith('.c'));
  const dir = join(PROGRAMS_DIR, program.name);
  const args = [...COMMON_FLAGS.map((f) => (f === '-Iinclude' ? `-I${INCLUDE_DIR}` : f)), ...cFiles.map((f) => join(dir, f)),
    NATIVE_ROOT_PREFIX, ...NATIVE_WRAPPED.map((name) => `-Wl,--wrap=${name}`), '-o', output, '-lm'];
  return new Promise((resolve) => {
    execFile('gcc', args, (error, stdout, stderr) => {
      if (error) resolve({ ok: false, diagnostics: `${stdout}${stderr}${error.message}` });
      else resolve({ ok: true });
    });
  });
}

/** Runs `tasks` with at most `limit` in flight. */
async function runLimited<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  });
  await Promise.all(lanes);
  return results;
}

/** A pool of compiler worker threads, each running this file. */
class CompilerPool {
  readonly #workers: Worker[] = [];
  readonly #idle: Worker[] = [];
  readonly #waiting: ((worker: Worker) => void)[] = [];

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL(import.meta.url), { workerData: { compilerWorker: true } });
      this.#workers.push(worker);
      this.#idle.push(worker);
    }
  }

  async compile(job: CompileJob): Promise<CompileResult> {
    const worker = this.#idle.pop() ?? (await new Promise<Worker>((resolve) => this.#waiting.push(resolve)));
    try {
      return await new Promise<CompileResult>((resolve, reject) => {
        const onError = (error: Error) => reject(error);
        worker.once('error', onError);
        worker.once('message', (result: CompileResult) => {
          worker.off('error', onError);
          resolve(result);
        });
        worker.postMessage(job);
      });
    } finally {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(worker);
      else this.#idle.push(worker);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** What one build run did. */
export interface BuildReport {
  built: string[];
  upToDate: string[];
  skipped: string[];
  failed: { name: string; diagnostics: string }[];
}

/** Builds every example program for `target`, skipping those whose stamp matches. */
export async function buildExamples(options: { target?: 'wasm' | 'native'; force?: boolean } = {}): Promise<BuildReport> {
  const target = options.target ?? 'wasm';
  const outDir = target === 'wasm' ? WASM_DIR : NATIVE_DIR;
  mkdirSync(outDir, { recursive: true });
  const includes = readIncludes();
  const report: BuildReport = { built: [], upToDate: [], skipped: [], failed: [] };
  const pending: { program: ProgramSources; output: string; stamp: string; hash: string }[] = [];

  for (const program of listPrograms()) {
    if (target === 'native' && needsIsolate(program)) {
      report.skipped.push(program.name);
      continue;
    }
    const output = target === 'wasm' ? wasmPath(program.name) : nativePath(program.name);
    const stamp = `${output}.stamp`;
    const hash = buildHash(program, includes, target === 'wasm' ? WASM_FLAGS : ['gcc', ...COMMON_FLAGS, readFileSync(NATIVE_ROOT_PREFIX, 'utf8')]);
    const upToDate = !options.force && existsSync(output) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash;
    if (upToDate) report.upToDate.push(program.name);
    else pending.push({ program, output, stamp, hash });
  }
  if (pending.length === 0) return report;

  const pool = target === 'wasm' ? new CompilerPool(Math.min(MAX_PARALLEL, pending.length)) : undefined;
  try {
    await runLimited(pending.map(({ program, output, stamp, hash }) => async () => {
      // Drop the stamp first so an interrupted build is never mistaken for an up-to-date one.
      rmSync(stamp, { force: true });
      const result = pool
        ? await pool.compile({ name: program.name, sources: program.sources, includes })
        : await compileNative(program, output);
      if (!result.ok) {
        report.failed.push({ name: program.name, diagnostics: result.diagnostics });
        return;
      }
      if (result.module) {
        // Write then rename, so a concurrent reader sees the old module or the new one, never half of one.
        const partial = `${output}.${process.pid}.partial`;
        writeFileSync(partial, result.module);
        renameSync(partial, output);
      }
      writeFileSync(stamp, hash);
      report.built.push(program.name);
    }), MAX_PARALLEL);
  } finally {
    await pool?.close();
  }
  return report;
}

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== '--native' && a !== '--force');
  if (unknown.length > 0) {
    process.stderr.write(`usage: node examples/build.ts [--native] [--force]\nunknown argument: ${unknown[0]}\n`);
    return 2;
  }
  const target = argv.includes('--native') ? 'native' : 'wasm';
  const started = performance.now();
  const report = await buildExamples({ target, force: argv.includes('--force') });
  for (const failure of report.failed) {
    process.stderr.write(`examples: ${failure.name} failed to build:\n${failure.diagnostics}\n`);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const parts = [`${report.built.length} built`, `${report.upToDate.length} up to date`];
  if (report.skipped.length > 0) parts.push(`${report.skipped.length} skipped (isolate-only: ${report.skipped.join(', ')})`);
  if (report.failed.length > 0) parts.push(`${report.failed.length} FAILED`);
  process.stdout.write(`examples (${target}): ${parts.join(', ')} in ${seconds} s\n`);
  return report.failed.length > 0 ? 1 : 0;
}

const isCompilerWorker = !isMainThread && (workerData as { compilerWorker?: boolean } | null)?.compilerWorker === true;
if (isCompilerWorker && parentPort) {
  const port = parentPort;
  port.on('message', (job: CompileJob) => {
    void compileToWasm(job).then((result) => port.postMessage(result));
  });
} else if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
