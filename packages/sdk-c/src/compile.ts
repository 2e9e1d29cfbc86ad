/**
 * Compiles C programs against vc.h to wasm32-wasip1 with the project's clang (@yowasp/clang, clang
 * compiled to WebAssembly: nothing to install but npm). Compiled modules are cached by the hash of
 * the sources, headers and flags in `os.tmpdir()/veracruz-ts-sdk-c-cache`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_USAGE, helpOrVersion, usageErrorLine } from '@veracruz-ts/policy';
import { writeFileAtomically } from '@veracruz-ts/policy/node';
import packageJson from '../package.json' with { type: 'json' };

/** The directory holding vc.h. */
export const SDK_INCLUDE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'include');

/** Flags used when a caller gives none. */
export const DEFAULT_FLAGS: readonly string[] = ['-O2', '-std=c17', '-Wall', '-Wextra', '-Werror'];

/** Directory of the compiled-module cache. */
export const SDK_CACHE_DIRECTORY = join(tmpdir(), 'veracruz-ts-sdk-c-cache');

/** Name of the SDK's include directory inside the compiler's file tree. */
const SDK_TREE_DIR = 'vc-sdk-include';

/** A file tree as @yowasp/clang takes it: file name to text, or a directory. */
export interface SourceTree {
  [name: string]: string | SourceTree;
}

/** What to compile. */
export interface CompileRequest {
  /** Files at the tree's root: every `.c` among them is compiled and linked; headers may sit beside them. */
  sources: Readonly<Record<string, string>>;
  /** More directories in the tree (e.g. `{ include: { 'x.h': ... } }` with flag `-Iinclude`). */
  directories?: Readonly<Record<string, SourceTree>>;
  /** Compiler flags besides the target, vc.h's directory and the output. @default DEFAULT_FLAGS */
  flags?: readonly string[];
}

type ClangCommand = typeof import('@yowasp/clang').commands.clang;
let compilerReady: Promise<ClangCommand> | undefined;

function loadCompiler(): Promise<ClangCommand> {
  compilerReady ??= import('@yowasp/clang').then(async ({ commands }) => {
    // The first call loads the compiler; `--version` is the call that honours a silent progress callback.
    await commands.clang(['--version'], {}, { stdout: null, stderr: null, fetchProgress: () => undefined });
    return commands.clang;
  });
  return compilerReady;
}

/** Reads the SDK's headers (name to text). */
export function sdkHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of readdirSync(SDK_INCLUDE_DIR).sort()) {
    if (name.endsWith('.h')) headers[name] = readFileSync(join(SDK_INCLUDE_DIR, name), 'utf8');
  }
  return headers;
}

/**
 * Compiles and links the request's `.c` files into one WASI program with vc.h on the include path.
 * Throws with clang's diagnostics when compilation fails.
 */
export async function compileProgram(request: CompileRequest): Promise<Uint8Array> {
  const flags = request.flags ?? DEFAULT_FLAGS;
  const cFiles = Object.keys(request.sources).filter((name) => name.endsWith('.c')).sort();
  if (cFiles.length === 0) throw new Error('no .c file to compile');
  const tree: SourceTree = { ...request.sources, ...request.directories, [SDK_TREE_DIR]: sdkHeaders() };
  const args = ['--target=wasm32-wasip1', `-I${SDK_TREE_DIR}`, ...flags, ...cFiles, '-o', 'program.wasm'];
  const key = createHash('sha256').update(JSON.stringify([args, tree])).digest('hex');
  const cached = join(SDK_CACHE_DIRECTORY, `${key}.wasm`);
  try {
    return new Uint8Array(readFileSync(cached));
  } catch {
    // Not cached yet.
  }
  const clang = await loadCompiler();
  const diagnostics: Uint8Array[] = [];
  const collect = (bytes: Uint8Array | null): void => {
    if (bytes !== null) diagnostics.push(new Uint8Array(bytes));
  };
  const text = (): string => Buffer.concat(diagnostics).toString('utf8');
  let output;
  try {
    output = await clang(args, tree, { stdout: collect, stderr: collect, fetchProgress: () => undefined });
  } catch (reason) {
    throw new Error(`clang failed:\n${text()}`, { cause: reason });
  }
  const bytes = output?.['program.wasm'];
  if (!(bytes instanceof Uint8Array)) throw new Error(`clang produced no program.wasm:\n${text()}`);
  mkdirSync(SDK_CACHE_DIRECTORY, { recursive: true });
  const temporary = `${cached}.${process.pid}.tmp`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, cached);
  return bytes;
}

/** Reads a directory's headers (name to text). */
function readHeaders(dir: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.h')) headers[name] = readFileSync(join(dir, name), 'utf8');
  }
  return headers;
}

/** `vc-cc --help`. */
export const USAGE = `Usage: vc-cc [CLANG FLAGS] [-I DIR]... FILE.c... -o PROGRAM.wasm

Compiles C programs to wasm32-wasip1 with the project's clang (@yowasp/clang), with vc.h (the
programs' ABI, docs/program-abi.md) on the include path. The headers beside each FILE.c and in each
-I DIR are visible to the compiler; the output is written only once the compile succeeded.

Options:
  -o PROGRAM.wasm   where to write the module (required)
  -I DIR            another directory of headers (repeatable)
  CLANG FLAGS       passed to clang as given (default: ${DEFAULT_FLAGS.join(' ')})
  -V, --version     print the version and exit
  -h, --help        this text

Exit status: 0 compiled; 1 the compiler refused (its diagnostics on stderr); 2 a usage error.`;

/**
 * The `vc-cc` command: compiles C files from the file system. The sources' directories' headers and
 * every `-I` directory's headers are visible to the compiler; other flags go to clang as given
 * (DEFAULT_FLAGS when there are none). Returns the exit status.
 */
export async function main(
  argv: readonly string[],
  io: { stdout: (text: string) => void; stderr: (text: string) => void } = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) },
): Promise<number> {
  const asked = argv.includes('-h') ? `${USAGE}\n` : helpOrVersion(argv, 'vc-cc', USAGE, packageJson.version);
  if (asked !== undefined) {
    io.stdout(asked);
    return 0;
  }
  const sources: Record<string, string> = {};
  const directories: Record<string, SourceTree> = {};
  const flags: string[] = [];
  let output: string | undefined;
  try {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === '-o' || arg === '-I') {
        const value = argv[++i];
        if (value === undefined) {
          io.stderr(usageErrorLine('vc-cc', `${arg} needs a value`));
          return EXIT_USAGE;
        }
        if (arg === '-o') output = value;
        else {
          const name = `include-${Object.keys(directories).length}`;
          directories[name] = readHeaders(value);
          flags.push(`-I${name}`);
        }
      } else if (arg.startsWith('-I')) {
        const name = `include-${Object.keys(directories).length}`;
        directories[name] = readHeaders(arg.slice(2));
        flags.push(`-I${name}`);
      } else if (arg.endsWith('.c')) {
        sources[basename(arg)] = readFileSync(arg, 'utf8');
        Object.assign(sources, { ...readHeaders(dirname(arg)), ...sources });
      } else {
        flags.push(arg);
      }
    }
  } catch (reason) {
    const failure = reason as NodeJS.ErrnoException;
    if (failure.path === undefined) throw reason;
    io.stderr(`vc-cc: cannot read ${failure.path}: ${failure.code ?? failure.message}\n`);
    return EXIT_USAGE;
  }
  if (output === undefined || Object.keys(sources).length === 0) {
    io.stderr(usageErrorLine('vc-cc', output === undefined ? 'missing -o PROGRAM.wasm' : 'no FILE.c to compile'));
    return EXIT_USAGE;
  }
  const ownFlags = flags.some((flag) => !flag.startsWith('-Iinclude-'));
  try {
    const module = await compileProgram({ sources, directories, flags: ownFlags ? flags : [...DEFAULT_FLAGS, ...flags] });
    await writeFileAtomically(output, module, { mode: 0o644 });
    return 0;
  } catch (error) {
    io.stderr(`vc-cc: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
