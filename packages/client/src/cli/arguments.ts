import { formatOptions, normalizePath, type OptionHelp, UsageError } from '@veracruz-ts/policy';

/** A transfer between a local file (or `-`, stdin/stdout) and a path in the computation. */
export interface Transfer {
  /** The path in the computation, normalized (`/program/lr.wasm`, or `stdout`/`stderr`). */
  remote: string;
  /** The local file, or `-` for stdin (uploads) or stdout (results). */
  local: string;
}

/** What one `vc-client` invocation is to do, in Veracruz's order. */
export interface ClientPlan {
  policyPath: string;
  identityPath: string;
  keyPath: string;
  /** Programs to upload (write_file). */
  programs: Transfer[];
  /** Data to upload (write_file). */
  data: Transfer[];
  /** Streams to append to from a local file or stdin (`-`), each closed at the end of its data. */
  feeds: Transfer[];
  /** Bytes per record of the fed data: each append carries whole records. */
  recordBytes: number;
  /** Programs to execute (request_result), in order. */
  computes: string[];
  /** Paths to follow to stdout as they grow, each until its stream ends (read_stream). */
  follows: string[];
  /** Results to read (read_file) into local files or `-`. */
  results: Transfer[];
  /** Request shutdown at the end. */
  shutdown: boolean;
  /**
   * The shutdown is Veracruz's implicit one after reading results (no `-s`, no `-n`): announced
   * before anything happens, and skipped if a result could not be read.
   */
  shutdownAfterResults: boolean;
  /** No status lines, no progress bar. */
  quiet: boolean;
  /** Server address instead of the policy's veracruz_server_url. */
  server: string | undefined;
  /** The fleet's API (`http://host:port`), asked to explain a connection that failed. */
  fleet: string | undefined;
  /** Print the rights in force and the narrowings made, after executions. */
  rights: boolean;
  /** Print one JSON document describing the run on stdout. */
  json: boolean;
  /** Exit with the programs' exit code (the last non-zero one) instead of 0. */
  exitCode: boolean;
}

interface OptionSpec extends OptionHelp {
  /** May be given more than once. */
  repeatable?: boolean;
}

/**
 * Every option, in help order. Veracruz's vc-client spellings (`-p/--program/--programs`,
 * `-d/--data/--datas`, `-c/--compute/--computes`, `-o/--output/--outputs/--result/--results`,
 * `-n`, `-s`, `-q`, `-i`, `-k`) all work; the rest are additions.
 */
const OPTIONS = {
  identity: { names: ['-i', '--identity'], value: 'CERT', help: "this principal's certificate (PEM), one of the policy's identities", default: 'required' },
  key: { names: ['-k', '--key'], value: 'KEY', help: "this principal's private key (PEM); used by TLS only, never sent", default: 'required' },
  program: {
    names: ['-p', '--program', '--programs'], value: '[REMOTE=]LOCAL', repeatable: true,
    help: "upload a program (repeat, or comma-separated). Without REMOTE=, the path as given: '-p build/lr.wasm' uploads to /build/lr.wasm. LOCAL '-' reads stdin ('-p -' uploads to /-, as in Veracruz; name it with '-p /program/x.wasm=-')",
    default: 'no programs',
  },
  data: {
    names: ['-d', '--data', '--datas'], value: '[REMOTE=]LOCAL', repeatable: true,
    help: "upload data (repeat, or comma-separated); names as for --program; stdin can be read once",
    default: 'no data',
  },
  compute: {
    names: ['-c', '--compute', '--computes'], value: 'REMOTE', repeatable: true,
    help: 'execute a program already uploaded (repeat, or comma-separated); its exit code is printed',
    default: 'no executions',
  },
  feed: {
    names: ['--feed'], value: '[REMOTE=]LOCAL', repeatable: true,
    help: "append to a stream the policy declares, from LOCAL or stdin '-', then close this principal's side of it (repeat, or comma-separated); names as for --program. Runs after the uploads, before executions; several feeds run at once, each on a connection of its own",
    default: 'no feeds',
  },
  'record-bytes': {
    names: ['--record-bytes'], value: 'N',
    help: 'bytes per record of fed data: every append carries whole records, so records of writers feeding one stream at once never interleave (8 for f64 readings)',
    default: '1',
  },
  follow: {
    names: ['--follow'], value: 'REMOTE', repeatable: true,
    help: 'write REMOTE to stdout as it grows, until its stream ends (repeat, or comma-separated; any readable file works: one that is not a stream has ended already). Runs after executions, before results',
    default: 'no follows',
  },
  output: {
    names: ['-o', '-r', '--output', '--outputs', '--result', '--results'], value: '[REMOTE=]LOCAL', repeatable: true,
    help: "read a result into LOCAL, replaced only once the whole result has arrived (repeat, or comma-separated). Without REMOTE=, one name for both, as in Veracruz: '--result out.dat' reads /out.dat into ./out.dat. LOCAL '-' is stdout. Reading results also shuts the computation down afterwards, unless -n",
    default: 'no results',
  },
  rights: {
    names: ['--rights'],
    help: "after executions, print the rights in force on stdout as JSON: every subject's (the policy's, less what programs narrowed) and each narrowing made (when, by which program, on which path, before and after)",
    default: 'not printed',
  },
  'no-shutdown': { names: ['-n', '--no-shutdown'], help: 'keep the computation running after reading results (for other readers)', default: 'shut down after reading results' },
  shutdown: { names: ['-s', '--shutdown'], help: 'shut the computation down at the end, for every party (any identity may)', default: 'only after reading results' },
  server: { names: ['--server'], value: 'HOST:PORT', help: 'connect here instead of the address in the policy', default: "the policy's veracruz_server_url" },
  fleet: {
    names: ['--fleet'], value: 'URL',
    help: "the API of the fleet running the computation (http://host:port): when the isolate cannot be reached or the connection drops, ask it what became of the isolate serving this policy (lost, failed, ended) and say so. That is the fleet's unauthenticated report, as the host's word, not a verified fact",
    default: 'no fleet is asked',
  },
  quiet: { names: ['-q', '--quiet'], help: 'no status lines and no progress bar on stderr (errors and warnings still appear)', default: 'status lines on stderr' },
  json: {
    names: ['--json'],
    help: 'print one JSON document on stdout: the attestation facts, each operation with its result, and the error that ended the run (code and message). Results must then go to files, not to -',
    default: 'no JSON',
  },
  'exit-code': {
    names: ['--exit-code'],
    help: "exit with the programs' own exit code (the last non-zero one, as 'set -o pipefail'; above 255 becomes 255) when vc-client itself succeeded",
    default: 'exit 0 whatever the programs returned',
  },
  version: { names: ['-V', '--version'], help: 'print the version and exit' },
  help: { names: ['-h', '--help'], help: "this text ('-h' is help here, as in Veracruz's vc-client; only vc-pgen uses -h for --hashes)" },
} as const satisfies Record<string, OptionSpec>;

type OptionName = keyof typeof OPTIONS;

const BY_SPELLING: ReadonlyMap<string, OptionName> = new Map(
  (Object.entries(OPTIONS) as [OptionName, OptionSpec][]).flatMap(([name, spec]) => spec.names.map((spelling) => [spelling, name] as const)),
);

function spellings(name: OptionName): string {
  return OPTIONS[name].names.join('/');
}

/** The `--help` text: every option with what it does and its default. */
export const USAGE = `Usage: vc-client <policy.json> -i CERT -k KEY [options]
       vc-client verify --policy POLICY.json --signature RESULT.sig [RESULT]

Connects to the computation the policy describes and verifies the isolate (certificate chain to
the policy's PAS CA, runtime hash, policy hash) before sending anything; then, in this order:
uploads programs, uploads data, feeds streams, executes programs, follows streams, reads results,
and shuts down.

Options:
${formatOptions(Object.values(OPTIONS))}

A REMOTE without a leading '/' gets one. An option's value may follow it ('-p x', '-px', '--program
x', '--program=x'); write '--program=-x' for a value that starts with '-'.
Reading results shuts the computation down for every party afterwards (Veracruz's default), unless
-n; vc-client says so before it starts, and does not shut down if a result could not be read.
Exit status: 0 success; 1 an error (printed with its code) or a result that could not be read;
2 a usage error or nothing to do; with --exit-code, the programs' exit code when it is not 0.`;

/** Edit distance, to suggest the option a typo meant. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function unknownOption(spelling: string): UsageError {
  const near = spelling.startsWith('--')
    ? [...BY_SPELLING.keys()].filter((known) => known.startsWith('--') && distance(known, spelling) <= 2).sort((a, b) => distance(a, spelling) - distance(b, spelling))[0]
    : undefined;
  return new UsageError(`unknown option '${spelling}'${near === undefined ? '' : ` (did you mean ${near}?)`}`);
}

/** `[REMOTE=]LOCAL` items, comma-separated or repeated. Without `REMOTE=`, one name serves both (Veracruz). */
function transfers(values: readonly string[]): Transfer[] {
  return values.flatMap((value) => value.split(',')).filter((item) => item !== '').map((item) => {
    const equals = item.indexOf('=');
    const remote = equals < 0 ? item : item.slice(0, equals);
    const local = equals < 0 ? item : item.slice(equals + 1);
    if (remote === '' || local === '') throw new UsageError(`${JSON.stringify(item)}: empty name`);
    return { remote: normalizePath(remote), local };
  });
}

/** Whether `value` is an absolute http(s) URL (the fleet's API). */
function isHttpUrl(value: string): boolean {
  const url = URL.parse(value);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
}

/** What the command line asks for, before its meaning is checked. */
type Collected = { [Name in OptionName]?: (typeof OPTIONS)[Name] extends { value: string } ? string[] : boolean };

function collect(argv: readonly string[]): { values: Collected; positionals: string[] } {
  const values: Collected = {};
  const positionals: string[] = [];
  const set = (name: OptionName, spelling: string, value: string | undefined): void => {
    const spec: OptionSpec = OPTIONS[name];
    if (value === undefined) {
      (values as Record<string, boolean>)[name] = true;
      return;
    }
    const lists = values as Record<string, string[]>;
    lists[name] ??= [];
    const list = lists[name];
    if (list.length > 0 && spec.repeatable !== true) throw new UsageError(`${spellings(name)} given twice (${spelling})`);
    list.push(value);
  };
  let index = 0;
  const next = (name: OptionName, spelling: string): string => {
    const value = argv[index + 1];
    const spec: OptionSpec = OPTIONS[name];
    if (value === undefined) throw new UsageError(`${spelling} needs a value: ${spec.value}`);
    if (value.length > 1 && value.startsWith('-')) {
      throw new UsageError(`${spelling} needs a value (${spec.value}), not the option '${value}'; write ${spelling.startsWith('--') ? `${spelling}=${value}` : `${spelling}${value}`} if that is the value`);
    }
    index++;
    return value;
  };
  let optionsEnded = false;
  for (; index < argv.length; index++) {
    const argument = argv[index]!;
    if (optionsEnded || argument === '-' || !argument.startsWith('-')) {
      positionals.push(argument);
    } else if (argument === '--') {
      optionsEnded = true;
    } else if (argument.startsWith('--')) {
      const equals = argument.indexOf('=');
      const spelling = equals < 0 ? argument : argument.slice(0, equals);
      const name = BY_SPELLING.get(spelling);
      if (name === undefined) throw unknownOption(spelling);
      const spec: OptionSpec = OPTIONS[name];
      if (spec.value === undefined) {
        if (equals >= 0) throw new UsageError(`${spelling} takes no value`);
        set(name, spelling, undefined);
      } else {
        set(name, spelling, equals >= 0 ? argument.slice(equals + 1) : next(name, spelling));
      }
    } else {
      // Short options: clustered flags (-qn), then at most one that takes a value (-pFILE, -p=FILE, -p FILE).
      for (let position = 1; position < argument.length; position++) {
        const spelling = `-${argument[position]}`;
        const name = BY_SPELLING.get(spelling);
        if (name === undefined) throw unknownOption(spelling);
        const spec: OptionSpec = OPTIONS[name];
        if (spec.value === undefined) {
          set(name, spelling, undefined);
          continue;
        }
        const rest = argument.slice(position + 1).replace(/^=/, '');
        set(name, spelling, rest !== '' ? rest : next(name, spelling));
        break;
      }
    }
  }
  return { values, positionals };
}

/**
 * Parses `vc-client`'s arguments (Veracruz's flags and a few more; see {@link USAGE}). Returns
 * `'help'` or `'version'` when asked, wherever the request appears. Throws a UsageError saying
 * what is wrong (the caller prints it with `usageErrorLine` and exits with `EXIT_USAGE`).
 */
export function parseClientArguments(argv: readonly string[]): ClientPlan | 'help' | 'version' {
  const options = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length);
  if (options.some((argument) => argument === '-h' || argument === '--help')) return 'help';
  if (options.some((argument) => argument === '-V' || argument === '--version')) return 'version';
  const { values, positionals } = collect(argv);
  if (values.help === true) return 'help'; // inside a cluster such as -qh
  if (values.version === true) return 'version';
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'missing the policy file' : `expected one policy file, got ${positionals.length} arguments (${positionals.map((item) => `'${item}'`).join(' ')})`);
  }
  const identity = values.identity?.[0];
  const key = values.key?.[0];
  if (identity === undefined) throw new UsageError('missing -i/--identity CERT');
  if (key === undefined) throw new UsageError('missing -k/--key KEY');
  if (values.shutdown === true && values['no-shutdown'] === true) throw new UsageError('-s/--shutdown and -n/--no-shutdown contradict each other');
  const results = transfers(values.output ?? []);
  const programs = transfers(values.program ?? []);
  const data = transfers(values.data ?? []);
  const json = values.json === true;
  const feeds = transfers(values.feed ?? []);
  const follows = (values.follow ?? []).flatMap((value) => value.split(',')).filter((item) => item !== '').map(normalizePath);
  if (json && results.some((result) => result.local === '-')) {
    throw new UsageError('--json prints its document on stdout, so results cannot go to stdout too: read them into files');
  }
  if (json && follows.length > 0) {
    throw new UsageError('--json prints its document on stdout, and --follow writes there too: use one or the other');
  }
  const recordBytesText = values['record-bytes']?.[0];
  const recordBytes = recordBytesText === undefined ? 1 : Number(recordBytesText);
  if (!/^[1-9][0-9]*$/.test(recordBytesText ?? '1') || !Number.isSafeInteger(recordBytes)) {
    throw new UsageError(`--record-bytes needs a positive integer, got '${recordBytesText}'`);
  }
  if (recordBytesText !== undefined && feeds.length === 0) throw new UsageError('--record-bytes applies to --feed, and there is none');
  if ([...programs, ...data, ...feeds].filter((transfer) => transfer.local === '-').length > 1) {
    throw new UsageError('stdin (-) can be read for one upload only');
  }
  const fleet = values.fleet?.[0];
  if (fleet !== undefined && !isHttpUrl(fleet)) throw new UsageError(`--fleet needs the fleet's API as http://host:port, got '${fleet}'`);
  const shutdownAfterResults = results.length > 0 && values.shutdown !== true && values['no-shutdown'] !== true;
  return {
    policyPath: positionals[0]!,
    identityPath: identity,
    keyPath: key,
    programs,
    data,
    feeds,
    recordBytes,
    computes: (values.compute ?? []).flatMap((value) => value.split(',')).filter((item) => item !== '').map(normalizePath),
    follows,
    results,
    // As Veracruz: shut down after reading results unless told not to, or when asked.
    shutdown: values.shutdown === true || shutdownAfterResults,
    shutdownAfterResults,
    quiet: values.quiet === true,
    server: values.server?.[0],
    fleet,
    rights: values.rights === true,
    json,
    exitCode: values['exit-code'] === true,
  };
}

/** Whether the plan does anything at all (else vc-client exits with 2, "Nothing to do"). */
export function planHasWork(plan: ClientPlan): boolean {
  return plan.programs.length + plan.data.length + plan.feeds.length + plan.computes.length + plan.follows.length + plan.results.length > 0 ||
    plan.shutdown || plan.rights;
}
