import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EXIT_USAGE, UsageError, formatOptions, parseArgsErrorMessage, usageErrorLine, versionLine, type OptionHelp } from '@veracruz-ts/policy';
import { checkImports, COMPUTATION_MODULE, CRYPTO_MODULE } from '@veracruz-ts/runtime';
import packageJson from '../../package.json' with { type: 'json' };

const ABI_MODULES: readonly string[] = [CRYPTO_MODULE, COMPUTATION_MODULE];

/** Where the CLI talks to. */
export interface WcIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const OPTIONS: readonly OptionHelp[] = [
  {
    names: ['-c', '--configuration'], value: 'FILE',
    help: 'a configuration as Veracruz\'s wasm-checker reads it: JSON with "allowed_imports", the import names a program may use (module names are not checked, as in Veracruz). Each import not listed is reported as forbidden',
    default: "no list: only what the runtime provides is checked (Veracruz's wasm-checker read ./wasm-checker-config.json)",
  },
  { names: ['-V', '--version'], help: 'print the version and exit' },
  { names: ['-h', '--help'], help: 'this text' },
];

/** vc-wc's `--help` text. */
export const USAGE = `Usage: vc-wc [-c CONFIG.json] PROGRAM.wasm

Checks that the runtime can run PROGRAM.wasm: every import must be a function the runtime provides,
with the right signature: wasi_snapshot_preview1, veracruz_si.fd_create, and the programs' ABI
(veracruz_crypto_v1, veracruz_v1: docs/program-abi.md); and it must export _start and memory.
With -c, its imports must also be in the configuration's allow-list.

Options:
${formatOptions(OPTIONS)}

Prints "ok" (then, if the program uses the ABI, which modules), or one line per problem: "unsupported: MODULE.NAME" (the runtime cannot satisfy it) or
"forbidden: MODULE.NAME (not in CONFIG's allowed_imports)".
Exit status: 0 ok; 1 problems found; 2 a usage error or a file that cannot be read.`;

/** Reads a wasm-checker configuration: the allowed import names. Throws UsageError naming the fault. */
function readAllowedImports(path: string): ReadonlySet<string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`--configuration ${path}: cannot be read`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--configuration ${path}: not JSON (${(error as Error).message})`);
  }
  const allowed = typeof config === 'object' && config !== null ? (config as Record<string, unknown>)['allowed_imports'] : undefined;
  if (!Array.isArray(allowed) || !allowed.every((name) => typeof name === 'string')) {
    throw new UsageError(`--configuration ${path}: expected {"allowed_imports": ["fd_write", ...]}`);
  }
  return new Set(allowed);
}

/** `WebAssembly.Module.imports`, which the project's WebAssembly declarations (runtime package) leave out. */
const moduleImports = (WebAssembly.Module as unknown as { imports(module: WebAssembly.Module): { module: string; name: string }[] }).imports;

/** The imports a module declares, or undefined when it does not compile. */
function declaredImports(bytes: Uint8Array): { module: string; name: string }[] | undefined {
  try {
    return moduleImports(new WebAssembly.Module(bytes));
  } catch {
    return undefined;
  }
}

function run(argv: readonly string[], io: WcIo): number {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { configuration: { type: 'string', short: 'c' }, version: { type: 'boolean', short: 'V' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if (values.version === true) {
    io.stdout(versionLine('vc-wc', packageJson.version));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing PROGRAM.wasm' : 'takes one PROGRAM.wasm');
  const allowed = values.configuration === undefined ? undefined : readAllowedImports(values.configuration);
  const path = positionals[0]!;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new UsageError(`cannot read ${path}`);
  }
  const problems = checkImports(bytes).unsupported.map((problem) => `unsupported: ${problem}`);
  if (allowed !== undefined) {
    for (const entry of declaredImports(bytes) ?? []) {
      if (!allowed.has(entry.name)) problems.push(`forbidden: ${entry.module}.${entry.name} (not in ${values.configuration}'s allowed_imports)`);
    }
  }
  if (problems.length === 0) {
    const abi = [...new Set((declaredImports(bytes) ?? []).map((entry) => entry.module).filter((module) => ABI_MODULES.includes(module)))];
    io.stdout(abi.length === 0 ? 'ok\n' : `ok\nuses the programs' ABI: ${abi.join(', ')}\n`);
    return 0;
  }
  for (const problem of problems) io.stdout(`${problem}\n`);
  return 1;
}

/** Runs vc-wc with `argv` (without node and script); returns the exit status. */
export function main(argv: readonly string[], io: WcIo): number {
  try {
    return run(argv, io);
  } catch (error) {
    const usage = error instanceof UsageError ? error.message : parseArgsErrorMessage(error);
    if (usage === undefined) throw error;
    io.stderr(usageErrorLine('vc-wc', usage));
    return EXIT_USAGE;
  }
}
