/**
 * Builds AssemblyScript programs for Veracruz-ts isolates with the AssemblyScript compiler's JS API.
 *
 *   node packages/sdk-assemblyscript/src/build.ts <entry.ts> [-o <out.wasm>] [--force]
 *
 * Programs are WASI preview1 commands (`_start`): the compiler runs with @assemblyscript/wasi-shim's
 * configuration, which routes `abort`, `trace`, `seed` and the console to WASI, so no `env` import remains. An
 * output is rebuilt only when the compiler, the options or one of the files the compiler read (the program, its
 * imports, this SDK, the shim) changed: a stamp next to the output records them with their SHA-256.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directory of this package. */
export const SDK_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the package's own builds (its examples, its tests' programs) go; not committed. */
export const BUILD_DIR = join(SDK_DIR, 'build');
/** The example programs (`examples/<name>.ts`). */
export const EXAMPLES_DIR = join(SDK_DIR, 'examples');

/** How {@link buildAssemblyScript} compiles. */
export interface AssemblyScriptBuildOptions {
  /** Binaryen optimisation level, 0-3. @default 3 */
  optimizeLevel?: 0 | 1 | 2 | 3;
  /** Binaryen shrink level, 0-2. @default 0 */
  shrinkLevel?: 0 | 1 | 2;
  /** The AssemblyScript runtime (garbage collector). @default 'incremental' */
  runtime?: 'incremental' | 'minimal' | 'stub';
  /** More asc command-line options, appended as given (e.g. `['--noAssert']`). @default [] */
  ascArgs?: readonly string[];
  /** Rebuild even when the stamp says the output is up to date. @default false */
  force?: boolean;
}

/** What {@link buildAssemblyScript} did. */
export interface AssemblyScriptBuild {
  /** The module written (the `outFile` given, resolved). */
  outFile: string;
  /** False when the output was up to date and left as it was. */
  built: boolean;
}

/** The compiler rejected a program (its diagnostics in the message), or the module is not runnable in an isolate (an `env` import, say). */
export class AssemblyScriptBuildError extends Error {
  override readonly name = 'AssemblyScriptBuildError';
}

/**
 * Stamp stored at `<outFile>.stamp`: the build's options, and every file the compiler looked for with its hash
 * (null: absent) and every directory it listed (path ending in `/`) with the hash of its listing.
 */
interface Stamp {
  key: string;
  files: Record<string, string | null>;
}

const SHIM_CONFIG = fileURLToPath(import.meta.resolve('@assemblyscript/wasi-shim/asconfig.json'));
/** The compiler's version, read without loading the compiler (loading it takes a second; an up-to-date build needs none). */
const ASC_VERSION = (JSON.parse(readFileSync(fileURLToPath(import.meta.resolve('assemblyscript/package.json')), 'utf8')) as { version: string }).version;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The AssemblyScript sources in directory `path` (asc's own rule for library directories), or null. */
function listSources(path: string): string[] | null {
  try {
    return readdirSync(path).filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts')).sort();
  } catch {
    return null;
  }
}

function fingerprint(path: string): string | null {
  if (path.endsWith('/')) {
    const names = listSources(path);
    return names === null ? null : sha256(names.join('\n'));
  }
  const text = readText(path);
  return text === null ? null : sha256(text);
}

function readStamp(path: string): Stamp | undefined {
  const text = readText(path);
  if (text === null) return undefined;
  try {
    const stamp = JSON.parse(text) as Stamp;
    return typeof stamp.key === 'string' && typeof stamp.files === 'object' && stamp.files !== null ? stamp : undefined;
  } catch {
    return undefined;
  }
}

function upToDate(outFile: string, stampPath: string, key: string): boolean {
  if (!existsSync(outFile)) return false;
  const stamp = readStamp(stampPath);
  if (stamp === undefined || stamp.key !== key) return false;
  return Object.entries(stamp.files).every(([path, hash]) => fingerprint(path) === hash);
}

/**
 * Compiles the AssemblyScript program `entry` to the WebAssembly module `outFile` (directories made as needed),
 * unless the stamp next to it shows the same compiler, options and sources. Package imports (such as
 * `@veracruz-ts/sdk-assemblyscript/assembly`) resolve through the `node_modules` directories above `entry`.
 * Throws {@link AssemblyScriptBuildError} with the compiler's diagnostics when it fails.
 */
export async function buildAssemblyScript(entry: string, outFile: string, options: AssemblyScriptBuildOptions = {}): Promise<AssemblyScriptBuild> {
  const source = resolve(entry);
  const output = resolve(outFile);
  const baseDir = dirname(source);
  const args = [
    basename(source), '--baseDir', baseDir, '--outFile', 'program.wasm', '--config', SHIM_CONFIG,
    '--optimizeLevel', String(options.optimizeLevel ?? 3), '--shrinkLevel', String(options.shrinkLevel ?? 0),
    '--runtime', options.runtime ?? 'incremental', '--noColors', ...(options.ascArgs ?? []),
  ];
  const key = sha256(JSON.stringify({ version: ASC_VERSION, args }));
  const stampPath = `${output}.stamp`;
  if (!options.force && upToDate(output, stampPath, key)) return { outFile: output, built: false };

  const { default: asc } = await import('assemblyscript/asc');
  const files: Record<string, string | null> = {};
  let module: Uint8Array | undefined;
  const stderr = asc.createMemoryStream();
  const { error } = await asc.main(args, {
    stdout: asc.createMemoryStream(),
    stderr,
    readFile: (name, dir) => {
      const path = resolve(dir, name);
      const text = readText(path);
      files[path] = text === null ? null : sha256(text);
      return text;
    },
    writeFile: (name, contents) => {
      if (name.endsWith('program.wasm') && typeof contents !== 'string') module = contents;
    },
    listFiles: (name, dir) => {
      const path = join(resolve(dir, name), '/');
      const names = listSources(path);
      files[path] = names === null ? null : sha256(names.join('\n'));
      return names;
    },
  });
  if (error !== null || module === undefined) {
    throw new AssemblyScriptBuildError(`${entry}: asc failed: ${error?.message ?? 'no module written'}\n${stderr.toString()}`);
  }
  // The runtime's own check (vc-wc's): every import provided with its signature, `_start` and `memory` exported.
  const { checkImports } = await import('@veracruz-ts/runtime');
  const { unsupported } = checkImports(module);
  if (unsupported.length > 0) throw new AssemblyScriptBuildError(`${entry}: not runnable in an isolate: ${unsupported.join(', ')}`);

  mkdirSync(dirname(output), { recursive: true });
  // Drop the stamp first, and write the module then rename it: an interrupted build is never taken for a finished
  // one, and a reader sees the old module or the new one.
  rmSync(stampPath, { force: true });
  const partial = `${output}.${process.pid}.partial`;
  writeFileSync(partial, module);
  renameSync(partial, output);
  writeFileSync(stampPath, JSON.stringify({ key, files } satisfies Stamp));
  return { outFile: output, built: true };
}

/** Path of the module built for example `name` (`examples/<name>.ts`). */
export function exampleWasmPath(name: string): string {
  return join(BUILD_DIR, 'examples', `${name}.wasm`);
}

/** Builds example `name` into {@link exampleWasmPath}. */
export function buildExample(name: string, options: AssemblyScriptBuildOptions = {}): Promise<AssemblyScriptBuild> {
  return buildAssemblyScript(join(EXAMPLES_DIR, `${name}.ts`), exampleWasmPath(name), options);
}

async function main(argv: string[]): Promise<number> {
  const usage = 'usage: node packages/sdk-assemblyscript/src/build.ts <entry.ts> [-o <out.wasm>] [--force]\n';
  let entry: string | undefined;
  let out: string | undefined;
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--force') force = true;
    else if (arg === '-o' && i + 1 < argv.length) out = argv[++i];
    else if (!arg.startsWith('-') && entry === undefined) entry = arg;
    else {
      process.stderr.write(`${usage}unexpected argument: ${arg}\n`);
      return 2;
    }
  }
  if (entry === undefined) {
    process.stderr.write(usage);
    return 2;
  }
  const outFile = out ?? `${entry.replace(/\.ts$/, '')}.wasm`;
  try {
    const result = await buildAssemblyScript(entry, outFile, { force });
    process.stdout.write(`${result.outFile}: ${result.built ? 'built' : 'up to date'}\n`);
    return 0;
  } catch (reason) {
    if (!(reason instanceof AssemblyScriptBuildError)) throw reason;
    process.stderr.write(`${reason.message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2));
}
