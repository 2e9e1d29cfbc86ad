/**
 * vc-operator's command line: `manifests` prints what installs a fleet (for `kubectl apply -f -`),
 * `run` is the operator itself (in its pod). The work is in manifests.ts and operator.ts.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseHostPort, VeracruzError } from '@veracruz-ts/core';
import { failedCommand, formatOptions, helpOrVersion, type OptionHelp, timestamped, UsageError } from '@veracruz-ts/policy';
import { waitForStopSignal } from '@veracruz-ts/policy/node';
import packageJson from '../package.json' with { type: 'json' };
import { DEFAULTS, type FleetManifestOptions, type FleetOptions, type KubernetesPlatform, kubernetesManifests, manifestsYaml, PLATFORMS, resolveOptions } from './manifests.ts';
import { PORTS } from './names.ts';

/** Where the CLI writes, what environment it reads, and how it learns it should stop; replaceable for tests. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Settles when a long-running command should stop. @default the first SIGINT or SIGTERM */
  stopRequested?: Promise<unknown>;
}

/** The runtime bundle in this repository (and image): what the members run unless told otherwise. */
const DEFAULT_RUNTIME_BUNDLE = fileURLToPath(new URL('../../../build/runtime/veracruz-runtime.mjs', import.meta.url));

const FLEET_OPTIONS: readonly OptionHelp[] = [
  { names: ['--namespace'], value: 'NS', help: 'the namespace of the fleet', default: DEFAULTS.namespace },
  { names: ['--image'], value: 'IMAGE', help: 'the image with vc-server, vc-pas and vc-operator (packages/kubernetes/container/Dockerfile)', default: DEFAULTS.image },
  { names: ['--pool'], value: 'N', help: 'warm members to keep until a VeracruzPool named default says otherwise', default: String(DEFAULTS.pool) },
  { names: ['--memory-mib'], value: 'N', help: "each member's isolate memory budget: the most a policy's max_memory_mib may ask (its pod gets 640 MiB more)", default: String(DEFAULTS.memoryMib) },
  { names: ['--platform'], value: PLATFORMS.join('|'), help: "what the members' isolates run on; linux is for development (its evidence is signed by the vc-dev-key Secret's key)", default: DEFAULTS.platform },
  { names: ['--runtime-class'], value: 'NAME', help: 'the RuntimeClass of member pods, e.g. kata-qemu-snp or kata-qemu-tdx (Kata / Confidential Containers)', default: 'none' },
  { names: ['--device'], value: 'RESOURCE=N', help: "an extended resource each member pod requests, from a TEE device plugin: aws.ec2.nitro/nitro_enclaves=1, amd.com/sev-snp=1 (repeat)", default: 'none' },
];

const MANIFEST_OPTIONS: readonly OptionHelp[] = [
  ...FLEET_OPTIONS,
  { names: ['--pas-storage'], value: 'SIZE', help: "the PAS volume's size (its SQLite store and CA)", default: DEFAULTS.pasStorage },
  { names: ['--storage-class'], value: 'NAME', help: "the PAS volume's StorageClass", default: "the cluster's default" },
  { names: ['--runtime-hash'], value: 'HEX', help: 'the runtime measurement every policy names (sets VC_RUNTIME_HASH in the operator); required for sev-snp and tdx', default: "linux: the SHA-256 of the runtime bundle in the operator's image" },
];

const RUN_OPTIONS: readonly OptionHelp[] = [
  ...FLEET_OPTIONS,
  { names: ['--days'], value: 'N', help: "days from assignment to each policy's enclave_cert_expiry", default: '30' },
  { names: ['--max-members'], value: 'N', help: 'most members alive at once (warm, starting and serving)', default: 'the larger of 16 and --pool' },
  { names: ['--listen'], value: 'HOST:PORT', help: 'where the read-only status API listens', default: `0.0.0.0:${PORTS.status}` },
  { names: ['--runtime'], value: 'PATH', help: 'linux, without VC_RUNTIME_HASH: the runtime bundle whose SHA-256 the policies name (the one the members run)', default: DEFAULT_RUNTIME_BUNDLE },
];

const COMMON_OPTIONS: readonly OptionHelp[] = [
  { names: ['--help'], help: 'print this help' },
  { names: ['-V', '--version'], help: 'print the version' },
];

/** vc-operator's help text. */
export const USAGE = `Usage:
  vc-operator manifests [--namespace NS] [--image IMAGE] [--pool N] [--memory-mib N] [--platform P]
                        [--runtime-class NAME] [--device RESOURCE=N]... [--pas-storage SIZE]
                        [--storage-class NAME] [--runtime-hash HEX]
  vc-operator run [the fleet options of manifests] [--days N] [--max-members N] [--listen HOST:PORT]
                  [--runtime PATH]

manifests prints, as one YAML stream on stdout, everything that installs a fleet in a namespace:
the namespace, the VeracruzComputation and VeracruzPool definitions, the PAS (a StatefulSet with its
volume), the operator (a Deployment, its ServiceAccount and a Role with only what it does), their
Services and the NetworkPolicies around the members. Apply it with
  vc-operator manifests | kubectl apply -f -
It refers to two Secrets it does not make, vc-control-token and vc-dev-key: see
packages/kubernetes/README.md.

run is the operator, in its pod: it keeps the pool of warm member pods, submits each
VeracruzComputation of its namespace to the fleet's reconciler (its programs read from ConfigMaps),
cancels those deleted, follows the VeracruzPool named default, writes each computation's state to
its status, and serves the fleet's status read-only. It reads the members' control token from
VC_CONTROL_TOKEN and the runtime measurement from VC_RUNTIME_HASH, reads the PAS's CA certificate
from the PAS (GET /ca.pem), and runs until SIGINT or SIGTERM (stopping every member).

Options of manifests:
${formatOptions(MANIFEST_OPTIONS)}

Options of run (besides those of manifests up to --device):
${formatOptions(RUN_OPTIONS.slice(FLEET_OPTIONS.length))}

${formatOptions(COMMON_OPTIONS)}

Exit status: 0 success, or stopped by a signal; 1 the operator could not start; 2 a usage error.`;

const FLEET_FLAGS = {
  namespace: { type: 'string' },
  image: { type: 'string' },
  pool: { type: 'string' },
  'memory-mib': { type: 'string' },
  platform: { type: 'string' },
  'runtime-class': { type: 'string' },
  device: { type: 'string', multiple: true },
} as const;

/** The option names of {@link resolveOptions}'s errors, as the command line spells them. */
const FLAG_OF: Record<string, string> = {
  namespace: '--namespace', image: '--image', pool: '--pool', memoryMib: '--memory-mib', platform: '--platform', runtimeClassName: '--runtime-class',
  devices: '--device', pasStorage: '--pas-storage', storageClassName: '--storage-class', runtimeHash: '--runtime-hash',
};

function wholeNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`${flag}: expected a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

function devices(values: readonly string[] | undefined): Record<string, number> | undefined {
  if (values === undefined) return undefined;
  const result: Record<string, number> = {};
  for (const value of values) {
    const match = /^([^=]+)=([0-9]+)$/.exec(value);
    if (match === null) throw new UsageError(`--device: expected RESOURCE=N such as amd.com/sev-snp=1, got ${JSON.stringify(value)}`);
    result[match[1]!] = Number(match[2]);
  }
  return result;
}

type FleetFlagValues = { [K in keyof typeof FLEET_FLAGS]?: K extends 'device' ? string[] : string };

/** The fleet options a command line gives, checked as {@link resolveOptions} checks them, each fault a usage error naming its flag. */
function fleetOptions(values: FleetFlagValues, more: Partial<FleetManifestOptions> = {}, manifests = false): FleetOptions {
  const given: FleetManifestOptions = { ...more };
  const pool = wholeNumber('--pool', values.pool);
  const memoryMib = wholeNumber('--memory-mib', values['memory-mib']);
  const deviceCounts = devices(values.device);
  if (values.namespace !== undefined) given.namespace = values.namespace;
  if (values.image !== undefined) given.image = values.image;
  if (pool !== undefined) given.pool = pool;
  if (memoryMib !== undefined) given.memoryMib = memoryMib;
  if (values.platform !== undefined) given.platform = values.platform as KubernetesPlatform;
  if (values['runtime-class'] !== undefined) given.runtimeClassName = values['runtime-class'];
  if (deviceCounts !== undefined) given.devices = deviceCounts;
  try {
    const options = resolveOptions(given);
    // The manifests need the same of the options as the objects they make.
    if (manifests) kubernetesManifests(options);
    return options;
  } catch (error) {
    const reason = VeracruzError.from(error).rawMessage;
    const field = /^([A-Za-z]+)/.exec(reason)?.[1] ?? '';
    // devices.NAME: ... is about one --device.
    const named = field === 'devices' ? reason.replace(/^devices\./, '--device ') : `${FLAG_OF[field] ?? field}${reason.slice(field.length)}`;
    throw new UsageError(named);
  }
}

function manifests(args: string[], io: CliIO): number {
  const { values } = parseArgs({
    args, strict: true, allowPositionals: false,
    options: { ...FLEET_FLAGS, 'pas-storage': { type: 'string' }, 'storage-class': { type: 'string' }, 'runtime-hash': { type: 'string' } },
  });
  const options = fleetOptions(values, {
    ...(values['pas-storage'] === undefined ? {} : { pasStorage: values['pas-storage'] }),
    ...(values['storage-class'] === undefined ? {} : { storageClassName: values['storage-class'] }),
    ...(values['runtime-hash'] === undefined ? {} : { runtimeHash: values['runtime-hash'] }),
  }, true);
  io.stdout(manifestsYaml(kubernetesManifests(options)));
  return 0;
}

function checkedListen(listen: string): string {
  try {
    parseHostPort(listen, '--listen');
  } catch (error) {
    throw new UsageError(VeracruzError.from(error).rawMessage);
  }
  return listen;
}

/** The runtime measurement from VC_RUNTIME_HASH, else (linux) the SHA-256 of the bundle the members run. */
async function runtimeHash(env: CliIO['env'] & object, platform: KubernetesPlatform, bundle: string): Promise<string> {
  const given = env['VC_RUNTIME_HASH'];
  if (given !== undefined && given !== '') {
    if (!/^([0-9a-f]{64}|[0-9a-f]{96})$/.test(given)) throw new UsageError('VC_RUNTIME_HASH: expected 64 or 96 lowercase hex digits');
    return given;
  }
  if (platform !== 'linux') throw new UsageError(`VC_RUNTIME_HASH is required for ${platform}: the measurement of the confidential VM the members boot`);
  const bytes = await readFile(bundle).catch(() => {
    throw new UsageError(`VC_RUNTIME_HASH is not set and the runtime bundle ${bundle} cannot be read (give --runtime, or build it with npm run build:runtime)`);
  });
  return createHash('sha256').update(bytes).digest('hex');
}

async function run(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args, strict: true, allowPositionals: false,
    options: { ...FLEET_FLAGS, days: { type: 'string' }, 'max-members': { type: 'string' }, listen: { type: 'string' }, runtime: { type: 'string' } },
  });
  const options = fleetOptions(values);
  const days = wholeNumber('--days', values.days);
  if (days === 0) throw new UsageError('--days: expected a positive whole number, got "0"');
  const maxMembers = wholeNumber('--max-members', values['max-members']);
  if (maxMembers !== undefined && maxMembers < Math.max(1, options.pool)) throw new UsageError(`--max-members: ${maxMembers} is less than the pool (${options.pool})`);
  const statusListen = values.listen === undefined ? undefined : checkedListen(values.listen);
  const env = io.env ?? process.env;
  const controlToken = env['VC_CONTROL_TOKEN'];
  // vc-server warm refuses a shorter one.
  if (controlToken === undefined || controlToken.length < 16) throw new UsageError('VC_CONTROL_TOKEN: set it to the members\' control token, 16 characters at least (the vc-control-token Secret)');
  const hash = await runtimeHash(env, options.platform, values.runtime ?? DEFAULT_RUNTIME_BUNDLE);
  const stopRequested = io.stopRequested ?? waitForStopSignal();
  // Loaded here: the other commands need neither the Kubernetes client nor the fleet.
  const { runOperator } = await import('./operator.ts');
  const operator = await runOperator({
    namespace: options.namespace, image: options.image, pool: options.pool, memoryMib: options.memoryMib, platform: options.platform, devices: options.devices,
    ...(options.runtimeClassName === undefined ? {} : { runtimeClassName: options.runtimeClassName }),
    controlToken, runtimeHash: hash,
    ...(days === undefined ? {} : { certificateDays: days }),
    ...(maxMembers === undefined ? {} : { maxMembers }),
    ...(statusListen === undefined ? {} : { statusListen }),
    log: (line) => io.stderr(`${timestamped(line, new Date())}\n`),
  });
  io.stdout(`vc-operator running in namespace ${options.namespace}; status on ${operator.statusUrl}\n`);
  await stopRequested;
  io.stderr(`${timestamped('vc-operator: stopping every member', new Date())}\n`);
  await operator.close();
  return 0;
}

/** Runs vc-operator with `argv` (without node and script); returns the exit status. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  try {
    const answer = helpOrVersion(argv, 'vc-operator', USAGE, packageJson.version);
    if (answer !== undefined) {
      io.stdout(answer);
      return 0;
    }
    const [command, ...rest] = argv;
    if (command === undefined) throw new UsageError('nothing to do (expected manifests or run)');
    if (command === 'manifests') return manifests(rest, io);
    if (command === 'run') return await run(rest, io);
    throw new UsageError(`unknown command ${JSON.stringify(command)} (expected manifests or run)`);
  } catch (error) {
    return failedCommand('vc-operator', error, io.stderr);
  }
}
