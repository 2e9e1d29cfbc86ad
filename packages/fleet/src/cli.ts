/**
 * vc-fleet's command line: `vc-fleet up TOPOLOGY.json` brings a fleet up, writes `fleet.json`,
 * prints one readiness line and stays until SIGINT or SIGTERM (or until every isolate has ended),
 * then stops everything. The work is in topology.ts, plan.ts and launch.ts.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { EXIT_USAGE, UsageError, formatOptions, parseArgsErrorMessage, timestamped, usageErrorLine, helpOrVersion, type OptionHelp } from '@veracruz-ts/policy';
import { writeFileAtomically } from '@veracruz-ts/policy/node';
import { DEFAULT_RUNTIME_BUNDLE } from '@veracruz-ts/server';
import packageJson from '../package.json' with { type: 'json' };
import { startFleet } from './launch.ts';
import { fleetManifest } from './manifest.ts';
import { parseTopology } from './topology.ts';

/** Where the CLI writes, and how it learns it should stop; replaceable for tests. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Settles when the fleet should stop. @default the first SIGINT or SIGTERM */
  stopRequested?: Promise<unknown>;
}

const UP_OPTIONS: readonly OptionHelp[] = [
  { names: ['--dir'], value: 'DIR', help: 'the fleet directory: PAS (pas/, pas-ca.pem), identities (parties/, host/), policies (policies/) and fleet.json; reused when it exists, so parties keep their keys', default: './fleet' },
  { names: ['--runtime'], value: 'PATH', help: "the runtime bundle every isolate runs: its SHA-256 is each policy's runtime_manager_hash_linux", default: DEFAULT_RUNTIME_BUNDLE },
  { names: ['--days'], value: 'N', help: "days from now to each policy's enclave_cert_expiry", default: '30' },
  {
    names: ['--no-provision'],
    help: "do not upload the programs: the policies then give no one but the parties the write right on them, so a party needs it in the topology's rights and uploads them",
    default: 'the fleet uploads each isolate\'s programs as a principal of its own (host/provisioner.pem) that may write exactly those files',
  },
];

const COMMON_OPTIONS: readonly OptionHelp[] = [
  { names: ['--help'], help: 'print this help' },
  { names: ['-V', '--version'], help: 'print the version' },
];

/** vc-fleet's help text. */
export const USAGE = `Usage:
  vc-fleet up TOPOLOGY.json [--dir DIR] [--runtime PATH] [--days N] [--no-provision]

up brings a network of isolates up on this host, for development (the linux platform): a PAS of
its own that trusts this host's development key, an identity for each party the topology names
(unless it gives a certificate), every isolate's policy (each receiver names its senders by their
identity hashes, each sender names its receivers by their policy hashes), and one vc-server per
isolate on a loopback port of its own. Once every isolate is attested and has its programs, it
writes DIR/fleet.json (addresses, policy files and hashes, identity files), prints one line
"Veracruz fleet running: ..." on stdout, and stays until SIGINT or SIGTERM, or until every isolate
has ended; then it stops everything. Its log goes to stderr. Relative paths in the topology start
at the topology file's directory. The topology format: packages/fleet/README.md.

Options:
${formatOptions(UP_OPTIONS)}

${formatOptions(COMMON_OPTIONS)}

Exit status: 0 stopped by a signal, or every isolate ended well; 1 the topology was refused, the
fleet could not start, or an isolate ended badly; 2 a usage error.`;

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function up(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      runtime: { type: 'string' },
      days: { type: 'string' },
      'no-provision': { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('up takes exactly one topology file');
  const days = values.days === undefined ? 30 : Number(values.days);
  if (!/^[0-9]+$/.test(values.days ?? '30') || days < 1) throw new UsageError(`--days: expected a positive integer, got ${JSON.stringify(values.days)}`);
  const topologyFile = positionals[0]!;
  let text: string;
  try {
    text = await readFile(topologyFile, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new VeracruzError(Code.NotFound, `${topologyFile}: ${reason}`);
  }
  let topology;
  try {
    topology = parseTopology(text);
  } catch (error) {
    const failure = VeracruzError.from(error);
    throw new VeracruzError(failure.code, `${topologyFile}: ${failure.rawMessage}`, { cause: error });
  }
  // Handlers first, so that a signal during the start is a stop, not a kill that leaves isolates behind.
  const stopRequested = io.stopRequested ?? waitForSignal();
  const dir = resolve(values.dir ?? 'fleet');
  const fleet = await startFleet(topology, {
    dir,
    baseDir: dirname(resolve(topologyFile)),
    ...(values.runtime === undefined ? {} : { runtimePath: values.runtime }),
    certificateDays: days,
    provisionPrograms: values['no-provision'] !== true,
    log: (line) => io.stderr(`${timestamped(line, new Date())}\n`),
  });
  try {
    const manifestPath = join(dir, 'fleet.json');
    await writeFileAtomically(manifestPath, `${JSON.stringify(fleetManifest(fleet), null, 2)}\n`, { mode: 0o644 });
    const isolates = Object.values(fleet.isolates);
    const exits = isolates.map((isolate) =>
      isolate.server.exited.then((exit) => {
        io.stderr(`${timestamped(`[${isolate.name}] ended (${exit.code}): ${exit.reason}`, new Date())}\n`);
        return exit.code;
      }),
    );
    io.stdout(`Veracruz fleet running: ${isolates.map((isolate) => `${isolate.name} on ${isolate.address}`).join(', ')}; see ${manifestPath}\n`);
    const ended = await Promise.race([stopRequested.then(() => 'stop' as const), Promise.all(exits)]);
    if (ended === 'stop') return 0;
    return ended.every((code) => code === 0) ? 0 : 1;
  } finally {
    await fleet.close();
  }
}

/** Runs vc-fleet with `argv` (without node and script); returns the exit status. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  try {
    const answer = helpOrVersion(argv, 'vc-fleet', USAGE, packageJson.version);
    if (answer !== undefined) {
      io.stdout(answer);
      return 0;
    }
    const [command, ...rest] = argv;
    if (command === undefined) throw new UsageError('nothing to do');
    if (command === 'up') return await up(rest, io);
    throw new UsageError(`unknown command ${JSON.stringify(command)} (expected up)`);
  } catch (error) {
    const usage = error instanceof UsageError ? error.message : parseArgsErrorMessage(error);
    if (usage !== undefined) {
      io.stderr(usageErrorLine('vc-fleet', usage));
      return EXIT_USAGE;
    }
    io.stderr(`vc-fleet: ${VeracruzError.from(error).message}\n`);
    return 1;
  }
}
