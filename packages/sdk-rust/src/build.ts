/**
 * Builds Rust programs for the isolate with the system's rustc, without cargo (offline, no crates.io):
 * the `veracruz` crate (../src/lib.rs) as an rlib, then each program against it, for `wasm32-wasi`.
 *
 *   node packages/sdk-rust/src/build.ts <program.rs> [<out.wasm>]
 *
 * rustc is /usr/bin/rustc (Debian's 1.63 with its wasm32-wasi standard library, which
 * scripts/setup-system.sh installs), or `$VC_RUSTC`. Outputs are cached under packages/sdk-rust/build/,
 * keyed by the hash of the sources, the flags and rustc's version, so an unchanged program costs a
 * hash and a copy. A module does not depend on where its source or the crate is (their directories
 * are remapped in the paths it embeds), so a policy can pin its hash.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's directory (holding Cargo.toml and src/lib.rs). */
export const SDK_RUST_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
/** Where the crate and the programs are built (not committed). */
export const BUILD_DIR = join(SDK_RUST_DIR, 'build');
/** The crate's sources. */
const CRATE_DIR = join(SDK_RUST_DIR, 'src');

/** Flags of every compilation: the crate's and the programs'. */
export const RUSTC_FLAGS = ['--edition', '2021', '--target', 'wasm32-wasi', '-C', 'opt-level=2', '-C', 'strip=symbols'] as const;

const SETUP_HINT = 'run scripts/setup-system.sh (it installs rustc, libstd-rust-dev-wasm32 and lld)';

/** The rustc to run: `$VC_RUSTC`, else /usr/bin/rustc (never a rustup toolchain found on PATH). */
export function rustcPath(): string {
  return process.env.VC_RUSTC || '/usr/bin/rustc';
}

/** Runs `command`; resolves with its stdout, rejects with an Error carrying its stderr. */
function run(command: string, args: readonly string[], cwd?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr) }));
      else resolvePromise(String(stdout));
    });
  });
}

/** A usable rustc: its path and `rustc --version --verbose` (part of every cache key). */
export interface RustToolchain {
  rustc: string;
  version: string;
}

const checked = new Map<string, Promise<RustToolchain>>();

/**
 * Checks that `rustc` runs and has the wasm32-wasi standard library; rejects with a message saying
 * to run scripts/setup-system.sh otherwise.
 */
export function checkToolchain(rustc: string = rustcPath()): Promise<RustToolchain> {
  let result = checked.get(rustc);
  if (result === undefined) {
    result = (async () => {
      let version: string;
      try {
        version = await run(rustc, ['--version', '--verbose']);
      } catch (error) {
        throw new Error(`the Rust compiler ${rustc} (VC_RUSTC overrides it) cannot run: ${(error as Error).message.trim()}; ${SETUP_HINT}`);
      }
      let libdir: string;
      try {
        libdir = (await run(rustc, ['--print', 'target-libdir', '--target', 'wasm32-wasi'])).trim();
      } catch (error) {
        throw new Error(`${rustc} does not know the wasm32-wasi target: ${(error as Error).message.trim()}; ${SETUP_HINT}`);
      }
      if (!existsSync(libdir) || !readdirSync(libdir).some((file) => file.startsWith('libstd-') && file.endsWith('.rlib'))) {
        throw new Error(`${rustc} has no wasm32-wasi standard library (no libstd-*.rlib in ${libdir}); ${SETUP_HINT}`);
      }
      return { rustc, version };
    })();
    checked.set(rustc, result);
    // A failed check is not remembered: the toolchain may be installed before the next call.
    result.catch(() => checked.delete(rustc));
  }
  return result;
}

/** Compiles with `rustc` into a fresh directory under build/, then moves `output` from it to `target`. */
async function compile(toolchain: RustToolchain, args: readonly string[], output: string, target: string): Promise<void> {
  mkdirSync(BUILD_DIR, { recursive: true });
  const scratch = mkdtempSync(join(BUILD_DIR, 'tmp-'));
  try {
    await run(toolchain.rustc, [...RUSTC_FLAGS, ...args, '--out-dir', scratch]);
    // Rename, so a concurrent reader sees a whole file or none.
    renameSync(join(scratch, output), target);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const hint = /linker|rust-lld/.test(stderr) ? `\n(no linker? ${SETUP_HINT})` : '';
    throw new Error(`rustc ${args.join(' ')} failed:\n${stderr || (error as Error).message}${hint}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function hashOf(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.length}\0${part}\0`);
  return hash.digest('hex').slice(0, 16);
}

/** The crate's sources, file name to text, sorted. */
function crateSources(): [string, string][] {
  return readdirSync(CRATE_DIR)
    .filter((file) => file.endsWith('.rs'))
    .sort()
    .map((file) => [file, readFileSync(join(CRATE_DIR, file), 'utf8')]);
}

/** The built crate: its rlib and the hash that names it. */
export interface BuiltCrate {
  rlib: string;
  hash: string;
}

/** Crate builds in progress or done in this process, by hash (programs built at once share one). */
const crateBuilds = new Map<string, Promise<BuiltCrate>>();

/** Builds the `veracruz` crate (unless built already) into build/veracruz-<hash>/libveracruz.rlib. */
export async function buildCrate(): Promise<BuiltCrate> {
  const toolchain = await checkToolchain();
  const args = ['--crate-type', 'rlib', '--crate-name', 'veracruz', '--remap-path-prefix', `${CRATE_DIR}=veracruz`, join(CRATE_DIR, 'lib.rs')];
  const hash = hashOf(toolchain.version, RUSTC_FLAGS.join(' '), args.join(' '), ...crateSources().flat());
  let build = crateBuilds.get(hash);
  if (build === undefined) {
    build = (async () => {
      const dir = join(BUILD_DIR, `veracruz-${hash}`);
      const rlib = join(dir, 'libveracruz.rlib');
      if (!existsSync(rlib)) {
        mkdirSync(dir, { recursive: true });
        await compile(toolchain, args, 'libveracruz.rlib', rlib);
      }
      return { rlib, hash };
    })();
    crateBuilds.set(hash, build);
    build.catch(() => crateBuilds.delete(hash));
  }
  return build;
}

/**
 * Builds the Rust program at `source` (a single file, `use veracruz::...` available) to a WebAssembly
 * module for the isolate. Returns the module's path: `out` when given (copied there from the cache),
 * else the cached file under build/programs/.
 */
export async function buildRustProgram(source: string, out?: string): Promise<string> {
  const crate = await buildCrate();
  const toolchain = await checkToolchain();
  const text = readFileSync(source, 'utf8');
  const name = basename(source, '.rs');
  const crateName = name.replace(/[^A-Za-z0-9_]/g, '_');
  const dir = join(BUILD_DIR, 'programs');
  // Paths the module embeds (panic locations) are relative, so it is the same wherever the source is.
  const remap = `${dirname(resolve(source))}=.`;
  const args = ['--crate-type', 'bin', '--crate-name', crateName, '--remap-path-prefix', remap, '--extern', `veracruz=${crate.rlib}`, resolve(source)];
  // Keyed without the source's directory: the module is the same wherever the source is.
  const cached = join(dir, `${name}-${hashOf(toolchain.version, RUSTC_FLAGS.join(' '), 'bin', crate.hash, name, text)}.wasm`);
  if (!existsSync(cached)) {
    mkdirSync(dir, { recursive: true });
    await compile(toolchain, args, `${crateName}.wasm`, cached);
  }
  if (out === undefined) return cached;
  mkdirSync(dirname(resolve(out)), { recursive: true });
  const partial = `${out}.${process.pid}.partial`;
  copyFileSync(cached, partial);
  renameSync(partial, out);
  return out;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length < 1 || argv.length > 2 || argv[0]!.startsWith('-')) {
    process.stderr.write('usage: node packages/sdk-rust/src/build.ts <program.rs> [<out.wasm>]\n');
    return 2;
  }
  try {
    process.stdout.write(`${await buildRustProgram(argv[0]!, argv[1])}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2));
}
