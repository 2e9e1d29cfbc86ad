/**
 * Compiles C sources to wasm32-wasip1 with @yowasp/clang (clang as WebAssembly), for tests and
 * benchmarks. Results are cached by source hash in `os.tmpdir()/veracruz-ts-wasm-cache`, so a
 * program is compiled once per machine, not once per test run.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Directory of the compiled-program cache. */
export const WASM_CACHE_DIRECTORY = join(tmpdir(), 'veracruz-ts-wasm-cache');

/** Compiles one C source file (`-O2` unless `flags` say otherwise) to a WASI program. */
export async function compileC(source: string, flags: readonly string[] = ['-O2']): Promise<Uint8Array> {
  const key = createHash('sha256').update(JSON.stringify([source, flags])).digest('hex');
  const cached = join(WASM_CACHE_DIRECTORY, `${key}.wasm`);
  try {
    return new Uint8Array(readFileSync(cached));
  } catch {
    // Not cached yet.
  }
  const clang = (await import('@yowasp/clang')).commands.clang;
  // The first call loads the compiler; `--version` is the call that honours a silent progress callback.
  await clang(['--version'], {}, { stdout: null, stderr: null, fetchProgress: () => undefined });
  const diagnostics: Uint8Array[] = [];
  const collect = (bytes: Uint8Array | null): void => {
    if (bytes !== null) diagnostics.push(new Uint8Array(bytes));
  };
  let output;
  try {
    output = await clang(['--target=wasm32-wasip1', ...flags, 'program.c', '-o', 'program.wasm'], { 'program.c': source }, { stdout: collect, stderr: collect, fetchProgress: () => undefined });
  } catch (reason) {
    throw new Error(`clang failed: ${Buffer.concat(diagnostics).toString('utf8')}`, { cause: reason });
  }
  const bytes = output?.['program.wasm'];
  if (!(bytes instanceof Uint8Array)) throw new Error(`clang produced no program.wasm: ${Buffer.concat(diagnostics).toString('utf8')}`);
  mkdirSync(WASM_CACHE_DIRECTORY, { recursive: true });
  const temporary = `${cached}.${process.pid}.tmp`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, cached);
  return bytes;
}
