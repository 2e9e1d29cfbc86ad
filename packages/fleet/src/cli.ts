/**
 * vc-fleet's command line. `up` runs a fleet's controller in the foreground (PAS, warm pool,
 * reconciler, API) until SIGINT, SIGTERM or `down`; with a topology it also submits it and prints
 * one readiness line once it is ready. `status`, `submit`, `scale`, `cancel` and `down` talk to the
 * controller of the fleet directory (controller.json, control-token). The work is in controller.ts.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { failedCommand, formatOptions, helpOrVersion, type OptionHelp, timestamped, UsageError } from '@veracruz-ts/policy';
import { waitForStopSignal, writeFileAtomically } from '@veracruz-ts/policy/node';
import { callJsonApi, DEFAULT_RUNTIME_BUNDLE, JsonApiUnreachable } from '@veracruz-ts/server';
import packageJson from '../package.json' with { type: 'json' };
import { CONTROLLER_FILE, type ControllerFile, startController, TOKEN_FILE } from './controller.ts';
import { readNamed, readTopologyFiles, runtimeHashOf } from './fleet-setup.ts';
import { computationManifest } from './manifest.ts';
import type { ComputationStatus, FleetStatus } from './status.ts';
import { formatStatus } from './status-table.ts';
import { parseTopology } from './topology.ts';

/** Where the CLI writes, and how it learns it should stop; replaceable for tests. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Settles when the fleet should stop. @default the first SIGINT or SIGTERM */
  stopRequested?: Promise<unknown>;
}

const DIR_OPTION: OptionHelp = { names: ['--dir'], value: 'DIR', help: 'the fleet directory: PAS (pas/, pas-ca.pem), identities (parties/, host/), computations/ (policies), controller.json and control-token; reused when it exists, so parties keep their keys', default: './fleet' };
const JSON_OPTION: OptionHelp = { names: ['--json'], help: 'print the answer as JSON instead of text' };

const UP_OPTIONS: readonly OptionHelp[] = [
  DIR_OPTION,
  { names: ['--pool'], value: 'N', help: 'members to keep warm: started, attested and certified, waiting for a computation', default: '2, or 0 with a topology' },
  { names: ['--max-members'], value: 'N', help: 'most members alive at once (warm, starting and serving); computations beyond wait', default: 'the larger of 16 and the pool' },
  { names: ['--memory-mib'], value: 'N', help: "each member's memory budget; an isolate whose max_memory_mib is larger cannot be assigned", default: '512' },
  { names: ['--runtime'], value: 'PATH', help: "the runtime bundle every member runs: its SHA-256 is each policy's runtime_manager_hash_linux", default: DEFAULT_RUNTIME_BUNDLE },
  { names: ['--days'], value: 'N', help: "days from assignment to each policy's enclave_cert_expiry", default: '30' },
  { names: ['--id'], value: 'ID', help: "the topology's computation id", default: "the topology file's name" },
  {
    names: ['--no-provision'],
    help: "do not upload the programs: the policies then give no one but the parties the write right on them, so a party needs it in the topology's rights and uploads them",
    default: 'the fleet uploads each isolate\'s programs as a principal of its own (host/provisioner.pem) that may write exactly those files',
  },
];

const SUBMIT_OPTIONS: readonly OptionHelp[] = [
  DIR_OPTION,
  { names: ['--id'], value: 'ID', help: "the computation's id (lowercase letters, digits, inner hyphens); ids are never reused", default: "the file's name, with -2, -3, ... when taken" },
  { names: ['--wait'], help: 'wait until it is ready (or failed) and print where its isolates listen', default: 'return once accepted' },
  JSON_OPTION,
];

const COMMON_OPTIONS: readonly OptionHelp[] = [
  { names: ['--help'], help: 'print this help' },
  { names: ['-V', '--version'], help: 'print the version' },
];

/** vc-fleet's help text. */
export const USAGE = `Usage:
  vc-fleet up [TOPOLOGY.json] [--dir DIR] [--pool N] [--max-members N] [--memory-mib N] [--runtime PATH] [--days N] [--id ID] [--no-provision]
  vc-fleet status [--dir DIR] [--json]
  vc-fleet submit TOPOLOGY.json [--dir DIR] [--id ID] [--wait] [--json]
  vc-fleet scale --pool N [--dir DIR] [--json]
  vc-fleet cancel ID [--dir DIR] [--json]
  vc-fleet down [--dir DIR]

A fleet runs computations (networks of isolates, each described by a topology file) on a pool of
isolates on this host, for development (the linux platform): a PAS of its own that trusts this
host's development key, and members that are each a vc-server (vc-server warm) with its isolate.
Members are started, attested and certified before any computation exists; a submitted computation
takes one warm member per isolate, which installs the policy generated for it (re-attesting with
the policy bound in its certificate, which every party checks), and the pool is refilled. A member
that dies (its isolate or its host, or a host that stops answering health checks) is replaced; the
computation it served is marked lost with the reason, and nothing takes its place.

up runs the fleet's controller in the foreground until SIGINT, SIGTERM or vc-fleet down. Given a
topology, it submits it and, once ready, writes DIR/fleet.json (addresses, policy files and hashes,
identity files) and prints one line "Veracruz fleet running: ..." on stdout. Its log goes to stderr.
status prints the members (state, computation, address, attested when, uptime), the computations
and the last events. submit sends a topology (relative paths start at its file's directory); the
parties' identities are made in DIR/parties unless the topology gives certificates. scale sets the
pool. cancel stops a computation's isolates (their data goes with them). down stops everything.
The topology format: packages/fleet/README.md.

Options of up:
${formatOptions(UP_OPTIONS)}

Options of submit:
${formatOptions(SUBMIT_OPTIONS)}

Options of the other commands: --dir DIR (as above), --json, and for scale --pool N.

${formatOptions(COMMON_OPTIONS)}

Exit status: 0 done (up: stopped by a signal or down); 1 refused, failed, or no controller answers in
DIR; 2 a usage error.`;

/** A positive (or, with `zero`, whole) number option. */
function count(value: string | undefined, option: string, fallback: number, zero = false): number {
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value) || (!zero && Number(value) < 1)) throw new UsageError(`${option}: expected a ${zero ? 'whole number' : 'positive integer'}, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * A topology file's text, checked here (and its programs and certificates read) so that a refusal
 * names the file before anything starts.
 */
async function readTopologyFile(path: string): Promise<string> {
  const text = (await readNamed(path)).toString('utf8');
  let topology;
  try {
    topology = parseTopology(text);
  } catch (error) {
    const failure = VeracruzError.from(error);
    throw new VeracruzError(failure.code, `${path}: ${failure.rawMessage}`, { cause: error });
  }
  await readTopologyFiles(topology, dirname(resolve(path)));
  return text;
}

/** A computation id from a file name: `map-reduce.json` → `map-reduce`. */
function idFromFile(path: string): string {
  const id = basename(path).replace(/\.[^.]*$/, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 34);
  return id === '' ? 'computation' : id;
}

async function up(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args, strict: true, allowPositionals: true,
    options: {
      dir: { type: 'string' }, pool: { type: 'string' }, 'max-members': { type: 'string' }, 'memory-mib': { type: 'string' },
      runtime: { type: 'string' }, days: { type: 'string' }, id: { type: 'string' }, 'no-provision': { type: 'boolean' },
    },
  });
  if (positionals.length > 1) throw new UsageError('up takes at most one topology file');
  const topologyFile = positionals[0];
  const days = count(values.days, '--days', 30);
  const pool = count(values.pool, '--pool', topologyFile === undefined ? 2 : 0, true);
  const maxMembers = values['max-members'] === undefined ? undefined : count(values['max-members'], '--max-members', 0);
  const memoryMib = values['memory-mib'] === undefined ? undefined : count(values['memory-mib'], '--memory-mib', 0);
  if (values.id !== undefined && topologyFile === undefined) throw new UsageError('--id names the topology\'s computation: give a topology');
  await runtimeHashOf(values.runtime ?? DEFAULT_RUNTIME_BUNDLE);
  const topologyText = topologyFile === undefined ? undefined : await readTopologyFile(topologyFile);
  const stopRequested = io.stopRequested ?? waitForStopSignal();
  const dir = resolve(values.dir ?? 'fleet');
  const controller = await startController({
    dir, pool, certificateDays: days, provisionPrograms: values['no-provision'] !== true,
    ...(maxMembers === undefined ? {} : { maxMembers }),
    ...(memoryMib === undefined ? {} : { memoryMib }),
    ...(values.runtime === undefined ? {} : { runtimePath: values.runtime }),
    log: (line) => io.stderr(`${timestamped(line, new Date())}\n`),
  });
  try {
    if (topologyFile !== undefined) {
      const id = values.id ?? idFromFile(topologyFile);
      // Over the API, as vc-fleet submit does: one path reads a submission's files.
      await callJsonApi(`${controller.url}/v1/computations`, { body: { id, topology: topologyText, baseDir: dirname(resolve(topologyFile)) }, token: controller.token });
      const settled = await Promise.race([controller.reconciler.settled(id), stopRequested.then(() => undefined), controller.closed.then(() => undefined)]);
      if (settled === undefined) return 0;
      if (settled.state !== 'ready') {
        io.stderr(`vc-fleet: computation ${id} ${settled.state}: ${settled.reason ?? ''}\n`);
        return 1;
      }
      const manifestPath = join(dir, 'fleet.json');
      const status = controller.reconciler.status();
      await writeFileAtomically(manifestPath, `${JSON.stringify(computationManifest(settled, { url: status.pas.url, caCertificate: join(dir, 'pas-ca.pem') }), null, 2)}\n`, { mode: 0o644 });
      io.stdout(`Veracruz fleet running: ${settled.isolates.map((isolate) => `${isolate.name} on ${isolate.address}`).join(', ')}; see ${manifestPath}\n`);
    } else {
      io.stdout(`Veracruz fleet controller on ${controller.url} (pool ${pool}); see ${join(dir, CONTROLLER_FILE)}\n`);
    }
    await Promise.race([stopRequested, controller.closed]);
    return 0;
  } finally {
    await controller.close();
  }
}

/** The running controller of `dir`: its URL and token, or an error saying none runs there. */
async function controllerOf(dir: string): Promise<{ url: string; token: string }> {
  let file: ControllerFile;
  let token: string;
  try {
    file = JSON.parse(await readFile(join(dir, CONTROLLER_FILE), 'utf8')) as ControllerFile;
    token = (await readFile(join(dir, TOKEN_FILE), 'utf8')).trim();
  } catch {
    throw new VeracruzError(Code.NotFound, `no fleet controller runs in ${dir} (start one: vc-fleet up --dir ${dir})`);
  }
  return { url: file.url, token };
}

/** Calls the controller, saying which one when it does not answer. */
async function call<T>(dir: string, path: string, body?: unknown, method?: 'POST'): Promise<T> {
  const { url, token } = await controllerOf(dir);
  try {
    return await callJsonApi<T>(`${url}${path}`, { token, ...(body === undefined ? {} : { body }), ...(method === undefined ? {} : { method }) });
  } catch (error) {
    if (!(error instanceof JsonApiUnreachable)) throw error;
    throw new VeracruzError(Code.Unavailable, `the fleet controller of ${dir} (${url}) does not answer: ${error.reason}; if it died, remove ${join(dir, CONTROLLER_FILE)} and start it again`, { cause: error });
  }
}

/** The options every client command takes. */
const CLIENT_OPTIONS = { dir: { type: 'string' }, json: { type: 'boolean' } } as const;

async function status(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: CLIENT_OPTIONS });
  if (positionals.length > 0) throw new UsageError('status takes no argument');
  const answer = await call<FleetStatus>(resolve(values.dir ?? 'fleet'), '/v1/status');
  io.stdout(values.json === true ? `${JSON.stringify(answer, null, 2)}\n` : formatStatus(answer, new Date()));
  return 0;
}

function describeComputation(computation: ComputationStatus): string {
  const isolates = computation.isolates.map((isolate) => `  ${isolate.name}${isolate.address === undefined ? '' : ` on ${isolate.address}`}${isolate.policyPath === undefined ? '' : `, policy ${isolate.policyPath}`}`);
  return [`computation ${computation.id} ${computation.state}${computation.reason === undefined ? '' : `: ${computation.reason}`}`, ...isolates].join('\n');
}

async function submit(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { ...CLIENT_OPTIONS, id: { type: 'string' }, wait: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new UsageError('submit takes exactly one topology file');
  const file = positionals[0]!;
  const dir = resolve(values.dir ?? 'fleet');
  const topology = await readTopologyFile(file);
  let id = values.id;
  if (id === undefined) {
    const taken = new Set((await call<FleetStatus>(dir, '/v1/status')).computations.map((computation) => computation.id));
    const base = idFromFile(file);
    id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  }
  let answer = await call<ComputationStatus>(dir, '/v1/computations', { id, topology, baseDir: dirname(resolve(file)) });
  while (values.wait === true && (answer.state === 'pending' || answer.state === 'assigning')) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    answer = await call<ComputationStatus>(dir, `/v1/computations/${encodeURIComponent(id)}`);
  }
  io.stdout(values.json === true ? `${JSON.stringify(answer, null, 2)}\n` : `${describeComputation(answer)}\n`);
  return answer.state === 'failed' || answer.state === 'lost' ? 1 : 0;
}

async function scale(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { ...CLIENT_OPTIONS, pool: { type: 'string' } } });
  if (positionals.length > 0) throw new UsageError('scale takes no argument');
  if (values.pool === undefined) throw new UsageError('scale needs --pool N');
  const pool = count(values.pool, '--pool', 0, true);
  const answer = await call<FleetStatus['pool']>(resolve(values.dir ?? 'fleet'), '/v1/scale', { pool });
  io.stdout(values.json === true ? `${JSON.stringify(answer)}\n` : `pool ${answer.target}: ${answer.warm} warm, ${answer.starting} starting\n`);
  return 0;
}

async function cancel(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: CLIENT_OPTIONS });
  if (positionals.length !== 1) throw new UsageError('cancel takes exactly one computation id');
  const answer = await call<ComputationStatus>(resolve(values.dir ?? 'fleet'), `/v1/cancel/${encodeURIComponent(positionals[0]!)}`, undefined, 'POST');
  io.stdout(values.json === true ? `${JSON.stringify(answer, null, 2)}\n` : `${describeComputation(answer)}\n`);
  return 0;
}

async function down(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { dir: { type: 'string' } } });
  if (positionals.length > 0) throw new UsageError('down takes no argument');
  const dir = resolve(values.dir ?? 'fleet');
  await call(dir, '/v1/down', undefined, 'POST');
  io.stdout(`fleet ${dir} is stopping\n`);
  return 0;
}

const COMMANDS: Record<string, (args: string[], io: CliIO) => Promise<number>> = { up, status, submit, scale, cancel, down };

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
    const run = COMMANDS[command];
    if (run === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)} (expected ${Object.keys(COMMANDS).join(', ')})`);
    return await run(rest, io);
  } catch (error) {
    return failedCommand('vc-fleet', error, io.stderr);
  }
}
