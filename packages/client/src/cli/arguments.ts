import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { Code, VeracruzError } from '@veracruz-ts/policy';

/** A transfer between a local file (or `-`, stdin/stdout) and a path in the computation. */
export interface Transfer {
  remote: string;
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
  /** Programs to execute (request_result), in order. */
  computes: string[];
  /** Results to read (read_file) into local files or `-`. */
  results: Transfer[];
  /** Request shutdown at the end. */
  shutdown: boolean;
  /** No status lines, no progress bar. */
  quiet: boolean;
  /** Server address instead of the policy's veracruz_server_url. */
  server: string | undefined;
}

/** The usage text. */
export const USAGE = `Usage: vc-client <policy.json> --identity CERT --key KEY [options]

Connects to the computation the policy describes, verifies the isolate (certificate chain to the
policy's PAS CA, runtime hash, policy hash) before sending anything, then, in this order:
uploads programs, uploads data, executes programs, reads results, and shuts down.

Options:
  -i, --identity CERT            this principal's certificate (PEM)
  -k, --key KEY                  this principal's private key (PEM)
  -p, --program [REMOTE=]LOCAL   upload a program (repeatable, or comma-separated)
  -d, --data [REMOTE=]LOCAL      upload a data file (repeatable, or comma-separated)
  -c, --compute REMOTE           execute a program (repeatable)
  -r, -o, --result, --results, --output REMOTE=LOCAL
                                 read a result into LOCAL (repeatable; LOCAL '-' is stdout)
  -s, --shutdown                 shut the computation down at the end
  -n, --no-shutdown              do not shut down after reading results
      --server HOST:PORT         connect here instead of the policy's veracruz_server_url
  -q, --quiet                    no status lines and no progress bar
  -h, --help                     this text

A REMOTE without a leading '/' gets one; without REMOTE, a file is uploaded under its base name.
LOCAL '-' means stdin (uploads) or stdout (results).
Exit status: 0 success, 1 error, 2 nothing to do.`;

/** `[remote=]local` items, comma-separated or repeated. */
function transfers(values: readonly string[], requireRemote: string | undefined): Transfer[] {
  return values.flatMap((value) => value.split(',')).filter((item) => item !== '').map((item) => {
    const equals = item.indexOf('=');
    if (equals < 0) {
      if (requireRemote !== undefined) {
        throw new VeracruzError(Code.InvalidRequest, `${requireRemote} ${JSON.stringify(item)}: expected REMOTE=LOCAL`);
      }
      if (item === '-') throw new VeracruzError(Code.InvalidRequest, "an upload from stdin ('-') needs a REMOTE= name");
      return { remote: basename(item), local: item };
    }
    const remote = item.slice(0, equals);
    const local = item.slice(equals + 1);
    if (remote === '' || local === '') throw new VeracruzError(Code.InvalidRequest, `${JSON.stringify(item)}: empty name`);
    return { remote, local };
  });
}

/**
 * Parses `vc-client`'s arguments (Veracruz's flags). Returns `'help'` for -h. Throws
 * VeracruzError(InvalidRequest) with the reason for a bad command line.
 */
export function parseClientArguments(argv: readonly string[]): ClientPlan | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        identity: { type: 'string', short: 'i' },
        key: { type: 'string', short: 'k' },
        program: { type: 'string', short: 'p', multiple: true },
        data: { type: 'string', short: 'd', multiple: true },
        compute: { type: 'string', short: 'c', multiple: true },
        result: { type: 'string', short: 'r', multiple: true },
        results: { type: 'string', multiple: true },
        output: { type: 'string', short: 'o', multiple: true },
        shutdown: { type: 'boolean', short: 's' },
        'no-shutdown': { type: 'boolean', short: 'n' },
        server: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (reason) {
    throw new VeracruzError(Code.InvalidRequest, reason instanceof Error ? reason.message : String(reason));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  if (positionals.length !== 1) {
    throw new VeracruzError(Code.InvalidRequest, positionals.length === 0 ? 'missing the policy file' : `expected one policy file, got ${positionals.length} arguments`);
  }
  if (values.identity === undefined) throw new VeracruzError(Code.InvalidRequest, 'missing --identity CERT');
  if (values.key === undefined) throw new VeracruzError(Code.InvalidRequest, 'missing --key KEY');
  if (values.shutdown === true && values['no-shutdown'] === true) {
    throw new VeracruzError(Code.InvalidRequest, '--shutdown and --no-shutdown contradict each other');
  }
  const results = transfers([...(values.result ?? []), ...(values.results ?? []), ...(values.output ?? [])], 'result');
  const plan: ClientPlan = {
    policyPath: positionals[0] as string,
    identityPath: values.identity,
    keyPath: values.key,
    programs: transfers(values.program ?? [], undefined),
    data: transfers(values.data ?? [], undefined),
    computes: (values.compute ?? []).flatMap((value) => value.split(',')).filter((item) => item !== ''),
    results,
    // As Veracruz: shut down after reading results unless told not to, or when asked.
    shutdown: values.shutdown === true || (results.length > 0 && values['no-shutdown'] !== true),
    quiet: values.quiet === true,
    server: values.server,
  };
  const stdinUses = [...plan.programs, ...plan.data].filter((transfer) => transfer.local === '-').length;
  if (stdinUses > 1) throw new VeracruzError(Code.InvalidRequest, 'stdin (-) can be read for one upload only');
  return plan;
}

/** Whether the plan does anything at all (else vc-client exits with 2, "Nothing to do"). */
export function planHasWork(plan: ClientPlan): boolean {
  return plan.programs.length + plan.data.length + plan.computes.length + plan.results.length > 0 || plan.shutdown;
}
