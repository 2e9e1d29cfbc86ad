/**
 * vc-fee's command line: its own form (`vc-fee run|pipeline [OPTIONS] ...`, like `wasmtime run`)
 * and Veracruz's freestanding-execution-engine form (`vc-fee -i DIR... -o DIR... -r SCRIPT [-x jit]
 * [-d] [-e] [-c]`), parsed into one request. Pure: no file is read here.
 */
import { formatOptions, UsageError, type OptionHelp } from '@veracruz-ts/policy';
import type { ExecutionLimits } from '@veracruz-ts/runtime';
import { parseDirArgument, type DirMapping } from './host-dirs.ts';

/** What the program or pipeline is run with. */
export interface FeeOptions {
  /** `run` a program, or a `pipeline` script (Veracruz's form always runs a pipeline). */
  command: 'run' | 'pipeline';
  /**
   * Veracruz's form (no command word): its defaults apply. The clock is off unless -c, and the
   * program's stdout and stderr are printed only as the -d and -e dumps.
   */
  veracruzForm: boolean;
  /** `--dir`: loaded before the run and written back after it. */
  dirs: DirMapping[];
  /** `-i`: loaded before the run, not written back. */
  inputs: DirMapping[];
  /** `-o`: written back after the run, not loaded (unless also an input). */
  outputs: DirMapping[];
  env: Record<string, string>;
  limits: ExecutionLimits;
  strace: boolean;
  /** Undefined: the default of the form (on for `run`/`pipeline`, off in Veracruz's form, or the policy's). */
  enableClock: boolean | undefined;
  /** `-d`: print the program's stdout after the run, between Veracruz's dump markers, instead of as it comes. */
  dumpStdout: boolean;
  /** `-e`: the same for stderr. */
  dumpStderr: boolean;
  /** `-r`: the pipeline script. */
  script?: string;
  policyFile?: string;
  as?: string;
  /** `run`: PROGRAM.wasm and its arguments; `pipeline`: the script, if not given with -r. */
  rest: string[];
}

/** What vc-fee was asked to do. */
export type FeeRequest = { kind: 'help' } | { kind: 'version' } | { kind: 'execute'; options: FeeOptions };

interface FeeOption extends OptionHelp {
  /** The key in {@link apply}. */
  key: string;
}

const OPTIONS: readonly FeeOption[] = [
  {
    key: 'dir', names: ['--dir'], value: 'HOST[::GUEST]',
    help: "load host directory HOST into the VFS at GUEST, and write the changes back after the run (repeat). Without ::GUEST, HOST as written, made absolute: 'in' is /in, '.' is /",
    default: 'no directories',
  },
  {
    key: 'input', names: ['-i', '--input-source'], value: 'DIR',
    help: "Veracruz's: load DIR into the VFS at /DIR (as --dir does), without writing it back (repeat; in Veracruz's form, several directories may follow one -i)",
    default: 'none',
  },
  {
    key: 'output', names: ['-o', '--output-source'], value: 'DIR',
    help: "Veracruz's: after the run, write the VFS's /DIR back to DIR (new and changed files; nothing is deleted); not loaded before, unless it is also an -i (repeat; several may follow one -o in Veracruz's form)",
    default: 'none',
  },
  { key: 'pipeline', names: ['-r', '--pipeline'], value: 'SCRIPT', help: "Veracruz's: the pipeline to run (required in Veracruz's form; 'vc-fee pipeline' also takes it as its argument)", default: 'none' },
  { key: 'strategy', names: ['-x', '--execution-strategy'], value: 'interp|jit', help: "Veracruz's: accepted for compatibility; both mean the same engine here", default: 'jit' },
  {
    key: 'dump-stdout', names: ['-d', '--dump-stdout'],
    help: "Veracruz's: print the program's stdout after the run, between '---- stdout dump ----' and '---- stdout dump end ----', instead of as it comes",
    default: "as it comes (in Veracruz's form: not at all)",
  },
  { key: 'dump-stderr', names: ['-e', '--dump-stderr'], help: "Veracruz's: the same for stderr, on stderr", default: "as it comes (in Veracruz's form: not at all)" },
  { key: 'enable-clock', names: ['-c', '--enable-clock'], help: 'allow clock reads', default: "allowed (in Veracruz's form: refused, as Veracruz did; under --policy: the policy's enable_clock)" },
  { key: 'disable-clock', names: ['--disable-clock'], help: 'clock reads return EACCES, as under a policy without enable_clock', default: 'allowed' },
  { key: 'env', names: ['--env'], value: 'KEY=VALUE', help: 'an environment variable for the program (repeat)', default: 'none' },
  { key: 'fuel', names: ['--fuel'], value: 'N', help: 'instruction budget (deterministic); when it runs out, exit 125', default: "unlimited (under --policy: the policy's)" },
  { key: 'max-memory-mib', names: ['--max-memory-mib'], value: 'N', help: 'linear memory cap', default: "4096 (under --policy: the policy's)" },
  { key: 'timeout-ms', names: ['--timeout-ms'], value: 'N', help: 'wall-clock limit; 0 means none', default: "600000 (under --policy: the policy's)" },
  { key: 'strace', names: ['--strace'], help: 'log each WASI call to stderr as name(args) = ERRNO', default: 'off' },
  { key: 'policy', names: ['--policy'], value: 'FILE', help: "with --as: run with that principal's rights, the policy's limits, clock setting, memory budget and native modules, instead of full rights on every directory", default: 'no policy' },
  { key: 'as', names: ['--as'], value: 'program:PATH|identity:N|pipeline:NAME', help: 'the principal of --policy to run as', default: 'none' },
  { key: 'version', names: ['-V', '--version'], help: 'print the version and exit' },
  { key: 'help', names: ['-h', '--help'], help: "this text (-h is help here: Veracruz's freestanding-execution-engine has no other -h)" },
];

const BY_NAME: ReadonlyMap<string, FeeOption> = new Map(OPTIONS.flatMap((option) => option.names.map((name) => [name, option] as const)));

/** vc-fee's `--help` text: both forms, every option with its default. */
export const USAGE = `Usage:
  vc-fee run [OPTIONS] PROGRAM.wasm [ARGS...]
  vc-fee pipeline [OPTIONS] "SCRIPT"
  vc-fee -r "SCRIPT" [-i DIR...] [-o DIR...] [-x interp|jit] [-d] [-e] [-c] [OPTIONS]

Runs a WebAssembly/WASI program (or a Veracruz pipeline) on the Veracruz execution engine, without
an isolate: the same VFS, WASI, rights checks, limits and services as inside the runtime. The third
form is Veracruz's freestanding-execution-engine's, with its defaults: no clock unless -c, and the
program's output shown only by -d and -e. In the first two forms options come before PROGRAM or
SCRIPT.

Options:
${formatOptions(OPTIONS)}

Exit status: the program's (the pipeline's: the first non-zero step's); 125 a limit was reached;
126 the program was rejected before it ran; 134 it trapped; 2 a usage error.`;

function takesValue(option: FeeOption): boolean {
  return option.value !== undefined;
}

function parseCount(flag: string, text: string): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value)) throw new UsageError(`${flag}: expected a non-negative integer, got '${text}'`);
  return value;
}

/** `HOST[::GUEST]` as a mapping; a malformed one is a usage error. */
function mapping(spelling: string, value: string, cwd: string): DirMapping {
  try {
    return parseDirArgument(value, cwd);
  } catch (error) {
    throw new UsageError(`${spelling} ${value}: expected HOST[::GUEST]`, { cause: error });
  }
}

/** Applies one option to `options`. */
function apply(options: FeeOptions, option: FeeOption, spelling: string, value: string, cwd: string): void {
  const directory = (): DirMapping => {
    if (value.includes('::')) throw new UsageError(`${spelling} ${value}: takes a directory; map it elsewhere with --dir HOST::GUEST`);
    return mapping(spelling, value, cwd);
  };
  switch (option.key) {
    case 'dir':
      options.dirs.push(mapping(spelling, value, cwd));
      return;
    case 'input':
      options.inputs.push(directory());
      return;
    case 'output':
      options.outputs.push(directory());
      return;
    case 'pipeline':
      if (options.script !== undefined) throw new UsageError(`${spelling} given twice`);
      options.script = value;
      return;
    case 'strategy':
      if (value !== 'interp' && value !== 'jit') throw new UsageError(`${spelling}: expected interp or jit, got '${value}'`);
      return;
    case 'dump-stdout':
      options.dumpStdout = true;
      return;
    case 'dump-stderr':
      options.dumpStderr = true;
      return;
    case 'enable-clock':
      options.enableClock = true;
      return;
    case 'disable-clock':
      options.enableClock = false;
      return;
    case 'env': {
      const at = value.indexOf('=');
      if (at <= 0) throw new UsageError(`--env ${value}: expected KEY=VALUE`);
      options.env[value.slice(0, at)] = value.slice(at + 1);
      return;
    }
    case 'fuel':
      if (!/^[0-9]+$/.test(value)) throw new UsageError(`--fuel: expected a non-negative integer, got '${value}'`);
      options.limits.fuel = BigInt(value);
      return;
    case 'max-memory-mib':
      options.limits.maxMemoryMib = parseCount(spelling, value);
      return;
    case 'timeout-ms': {
      const milliseconds = parseCount(spelling, value);
      options.limits.timeoutMs = milliseconds === 0 ? 2 ** 31 - 1 : milliseconds;
      return;
    }
    case 'strace':
      options.strace = true;
      return;
    case 'policy':
      options.policyFile = value;
      return;
    case 'as':
      options.as = value;
      return;
    default:
      throw new UsageError(`unknown option '${spelling}'`);
  }
}

/**
 * Parses vc-fee's arguments (without node and script). Throws {@link UsageError} saying what is
 * wrong. `--help`/`-h` and `-V`/`--version` win wherever they appear among the options.
 */
export function parseFeeArguments(argv: readonly string[], cwd: string): FeeRequest {
  const [first] = argv;
  if (first === undefined) throw new UsageError('nothing to do');
  if (first === 'help') return { kind: 'help' };
  const veracruzForm = first.startsWith('-');
  if (!veracruzForm && first !== 'run' && first !== 'pipeline') throw new UsageError(`unknown command '${first}' (run, pipeline, or Veracruz's -r SCRIPT form)`);
  const options: FeeOptions = {
    command: veracruzForm ? 'pipeline' : (first as 'run' | 'pipeline'),
    veracruzForm,
    dirs: [], inputs: [], outputs: [], env: {}, limits: {}, strace: false, enableClock: undefined, dumpStdout: false, dumpStderr: false, rest: [],
  };
  const args = veracruzForm ? argv : argv.slice(1);
  let index = 0;
  let asked: 'help' | 'version' | undefined;
  for (; index < args.length; index++) {
    const argument = args[index]!;
    if (argument === '--') {
      index++;
      break;
    }
    if (!argument.startsWith('-') || argument === '-') {
      if (veracruzForm) throw new UsageError(`unexpected argument '${argument}' (in Veracruz's form, give the script with -r)`);
      break;
    }
    // `--name=value`, `-n value`, `-nvalue`, `-n=value`, and bundles of flags such as `-dec`.
    let spelling = argument;
    let attached: string | undefined;
    if (argument.startsWith('--')) {
      const equals = argument.indexOf('=');
      if (equals > 0) [spelling, attached] = [argument.slice(0, equals), argument.slice(equals + 1)];
    } else if (argument.length > 2) {
      const head = BY_NAME.get(argument.slice(0, 2));
      if (head !== undefined && takesValue(head)) [spelling, attached] = [argument.slice(0, 2), argument.slice(2).replace(/^=/, '')];
      else {
        const bundle = [...argument.slice(1)].map((letter) => BY_NAME.get(`-${letter}`));
        if (bundle.every((option) => option !== undefined && !takesValue(option))) {
          for (const option of bundle) {
            if (option!.key === 'help' || option!.key === 'version') asked ??= option!.key;
            else apply(options, option!, option!.names[0]!, '', cwd);
          }
          continue;
        }
        throw new UsageError(`unknown option '${argument}'`);
      }
    }
    const option = BY_NAME.get(spelling);
    if (option === undefined) throw new UsageError(`unknown option '${spelling}'`);
    if (option.key === 'help' || option.key === 'version') {
      asked ??= option.key;
      continue;
    }
    if (!takesValue(option)) {
      if (attached !== undefined) throw new UsageError(`option '${spelling}' takes no value`);
      apply(options, option, spelling, '', cwd);
      continue;
    }
    const values: string[] = [];
    if (attached !== undefined) values.push(attached);
    else {
      const next = args[index + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-')) throw new UsageError(`option '${spelling}' needs a value (${option.value})`);
      values.push(next);
      index++;
    }
    // Veracruz's -i and -o take every directory up to the next option (clap's num_args(0..)).
    if (veracruzForm && (option.key === 'input' || option.key === 'output')) {
      while (index + 1 < args.length && !args[index + 1]!.startsWith('-')) values.push(args[++index]!);
    }
    for (const value of values) apply(options, option, spelling, value, cwd);
  }
  if (asked !== undefined) return { kind: asked };
  options.rest = args.slice(index);
  if (options.command === 'run') {
    if (options.script !== undefined) throw new UsageError("-r/--pipeline runs a pipeline: use 'vc-fee pipeline' or Veracruz's form 'vc-fee -r SCRIPT'");
    if (options.rest.length === 0) throw new UsageError('run needs a PROGRAM.wasm');
  } else if (options.script !== undefined && options.rest.length > 0) {
    throw new UsageError(`the script was given with -r already; unexpected argument '${options.rest[0]}'`);
  } else if (options.rest.length > 1) {
    throw new UsageError('pipeline takes one SCRIPT argument (quote it)');
  }
  if ((options.policyFile === undefined) !== (options.as === undefined)) throw new UsageError('--policy and --as go together');
  return { kind: 'execute', options };
}
