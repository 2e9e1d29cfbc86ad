#!/usr/bin/env node
// vc-server: the untrusted host. Launches an isolate, has it certified by the policy's PAS, and passes
// clients' TLS connections to it. See packages/server/README.md, or vc-server --help.
import { parseArgs } from 'node:util';
import { VeracruzError } from '@veracruz-ts/core';
import { EXIT_USAGE, UsageError, asUsageError, formatOptions, timestamped, usageErrorLine, versionLine, type OptionHelp } from '@veracruz-ts/policy';
import packageJson from '../package.json' with { type: 'json' };
import { countBufferMemoryInHeapLimit, DEFAULT_MAX_SESSIONS, DEFAULT_RUNTIME_BUNDLE, DEFAULT_SEALED_STORAGE_BYTES, defaultDevKeyPath, loadOrCreateDevKey, startServer } from '../src/index.ts';
import type { ServerPlatform } from '../src/index.ts';
import { devKeyName, enrollCommand } from '../src/operator-hints.ts';
import { runWarmHost } from '../src/warm-cli.ts';

const OPTIONS: readonly OptionHelp[] = [
  { names: ['--platform'], value: 'linux|sev-snp|tdx', help: "where the isolate runs; 'linux' is for development (a sandboxed process, not hardware-protected)", default: 'linux' },
  { names: ['--runtime'], value: 'PATH', help: "the runtime bundle to launch: its SHA-256 is the policy's runtime_manager_hash_linux", default: DEFAULT_RUNTIME_BUNDLE },
  {
    names: ['--dev-key'], value: 'PATH',
    help: "linux: this host's development key, which signs its evidence; created (mode 0600, public key beside it as .pub.pem) on first use. A PAS accepts the evidence once the public key is enrolled: see 'vc-server dev-key'",
    default: '$XDG_CONFIG_HOME/veracruz-ts/dev-key.pem, else ~/.config/veracruz-ts/dev-key.pem',
  },
  { names: ['--pas'], value: 'HOST:PORT|URL', help: 'the PAS to certify the isolate with', default: "the policy's proxy_attestation_server_url" },
  { names: ['--listen'], value: 'HOST:PORT', help: 'where to listen for clients (port 0 picks a free one); clients use the policy\'s address, so change it only behind a forwarder', default: "the policy's veracruz_server_url" },
  { names: ['--network'], value: 'auto|required|off', help: 'linux: keep the isolate off the network in its own namespace; auto uses it when the host allows, required refuses to start without it', default: 'auto' },
  { names: ['--max-sessions'], value: 'N', help: 'client connections served at once; more are closed at once (the log counts them)', default: String(DEFAULT_MAX_SESSIONS) },
  {
    names: ['--relay'],
    help: "linux: relay clients' TLS bytes to the isolate through vc-server, as sev-snp and tdx always do, instead of handing each client's connection to the isolate process (which then terminates TLS on it, several times faster); vc-server holds no key either way",
    default: 'off on linux',
  },
  {
    names: ['--spill-dir'], value: 'DIR',
    help: "linux: where the isolate may seal file data its memory budget cannot hold (a fresh directory is made in DIR and removed at exit); this host sees the sealed chunks' sizes and access order, never their contents, and any change it makes is caught",
    default: "a directory beside the isolate's bundle",
  },
  { names: ['--spill-max-mib'], value: 'N', help: 'most MiB the sealed storage may take; 0: none (files must fit in the memory budget)', default: String(DEFAULT_SEALED_STORAGE_BYTES / (1024 * 1024)) },
  { names: ['--isolate-flag'], value: 'FLAG', help: 'a Node/V8 flag for the isolate process, e.g. --isolate-flag=--max-semi-space-size=16 (repeat)', default: 'none' },
  { names: ['--control'], value: 'HOST:PORT', help: 'warm: where the control port listens (health, assign, stop; token in VC_CONTROL_TOKEN)', default: '127.0.0.1:0' },
  { names: ['--memory-mib'], value: 'N', help: "warm: the isolate's memory budget; a policy asking for more is refused", default: '512' },
  { names: ['--termination-log'], value: 'PATH', help: 'warm: where to write why the isolate ended (a pod\'s /dev/termination-log)', default: 'none' },
  { names: ['--exit-with-stdin'], help: 'warm: stop when stdin ends, so the process that started this host takes it along when it dies', default: 'off' },
  { names: ['-V', '--version'], help: 'print the version and exit' },
  { names: ['-h', '--help'], help: 'this text' },
];

const USAGE = `Usage:
  vc-server POLICY.json [options]
  vc-server dev-key [--dev-key PATH]
  vc-server warm --pas URL --listen HOST:PORT [--control HOST:PORT] [--memory-mib N] [options]

Starts an isolate for the policy, has the policy's PAS certify it, and passes clients' TLS
connections to it (TLS ends inside the isolate). Prints "Veracruz server running on HOST:PORT" on
stdout once ready; its log goes to stderr, one line per event (boot steps, each client connection
opened and closed with its peer, bytes each way, duration and reason; never what it carried), each
led by an ISO 8601 time. Stops on SIGINT or SIGTERM, or when a principal shuts the computation down.

vc-server dev-key creates this host's development key if it has none, and prints its public key's
path and the vc-pas enroll command that makes a PAS accept it: run that before the first boot.
vc-server warm is a host for a fleet's pool: it starts an isolate and has the PAS certify it
without a policy, then waits on its control port for the one policy it will serve (the isolate
re-attests with that policy bound in its certificate, so parties verify it as usual). It prints one
JSON line per event on stdout (warm, serving, exit) and exits when its isolate ends. The control
token is read from VC_CONTROL_TOKEN. vc-fleet runs these; you rarely start one by hand.

(A policy file named dev-key or warm is given as ./dev-key or ./warm.)

Options:
${formatOptions(OPTIONS)}

Exit status: 0 stopped by a signal or a principal's shutdown; 1 the isolate could not start or died;
2 a usage error.`;

/** A line of vc-server's log on stderr, led by the time (ISO 8601, UTC). */
function logLine(line: string): void {
  process.stderr.write(`${timestamped(line, new Date())}\n`);
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        platform: { type: 'string', default: 'linux' },
        runtime: { type: 'string' },
        'dev-key': { type: 'string' },
        pas: { type: 'string' },
        listen: { type: 'string' },
        network: { type: 'string', default: 'auto' },
        'max-sessions': { type: 'string' },
        relay: { type: 'boolean' },
        'spill-dir': { type: 'string' },
        'spill-max-mib': { type: 'string' },
        'isolate-flag': { type: 'string', multiple: true },
        control: { type: 'string' },
        'memory-mib': { type: 'string' },
        'termination-log': { type: 'string' },
        'exit-with-stdin': { type: 'boolean' },
        version: { type: 'boolean', short: 'V' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw asUsageError(error);
  }
}

/** `vc-server dev-key`: the key, its public half, and the command that enrolls it. */
async function devKey(path: string | undefined): Promise<number> {
  const key = await loadOrCreateDevKey(path ?? defaultDevKeyPath());
  process.stdout.write(
    `dev key ${key.privateKeyPath} (${key.created ? 'created now' : 'exists'}; keep it private: it signs this host's evidence)\n` +
      `public key ${key.publicKeyPath}\n` +
      `Enroll it once in each PAS this host uses: on the PAS host (copy the public key there first if it is another\n` +
      `machine), with PAS_DIR set to the directory of its vc-pas init, run\n` +
      `  ${enrollCommand(key.publicKeyPath, await devKeyName(key.publicKeyPath))}\n`,
  );
  return 0;
}

function checkedPlatform(platform: string): ServerPlatform {
  if (platform !== 'linux' && platform !== 'sev-snp' && platform !== 'tdx') throw new UsageError(`--platform: expected linux, sev-snp or tdx, got '${platform}'`);
  return platform;
}

function checkedNetwork(network: string): 'auto' | 'required' | 'off' {
  if (network !== 'auto' && network !== 'required' && network !== 'off') throw new UsageError(`--network: expected auto, required or off, got '${network}'`);
  return network;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(versionLine('vc-server', packageJson.version));
    return 0;
  }
  if (positionals[0] === 'dev-key') {
    // --platform and --network always have a value (their defaults); only a changed one was given.
    const given = Object.keys(values).filter((name) => name !== 'dev-key' && !(name === 'platform' && values.platform === 'linux') && !(name === 'network' && values.network === 'auto'));
    if (given.length > 0) throw new UsageError(`dev-key takes only --dev-key PATH, not --${given[0]}`);
    if (positionals.length > 1) throw new UsageError(`dev-key takes no argument '${positionals[1]}'`);
    return devKey(values['dev-key']);
  }
  if (positionals[0] === 'warm') {
    if (positionals.length > 1) throw new UsageError(`warm takes no argument '${positionals[1]}'`);
    const unsupported = ['max-sessions', 'relay', 'spill-dir', 'spill-max-mib'].find((name) => name in values);
    if (unsupported !== undefined) throw new UsageError(`warm does not take --${unsupported}`);
    return runWarmHost({
      platform: checkedPlatform(values.platform), network: checkedNetwork(values.network), pas: values.pas, listen: values.listen, control: values.control,
      memoryMib: values['memory-mib'], terminationLog: values['termination-log'], runtime: values.runtime, devKey: values['dev-key'], nodeFlags: values['isolate-flag'],
      exitWithStdin: values['exit-with-stdin'] === true, log: logLine,
    });
  }
  const warmOnly = ['control', 'memory-mib', 'termination-log', 'exit-with-stdin'].find((name) => name in values);
  if (warmOnly !== undefined) throw new UsageError(`--${warmOnly} is for vc-server warm`);
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the policy file' : `expected one policy file, got ${positionals.length} arguments`);
  const platform = checkedPlatform(values.platform);
  const network = checkedNetwork(values.network);
  const maxSessions = values['max-sessions'] === undefined ? undefined : Number(values['max-sessions']);
  if (maxSessions !== undefined && (!/^\d+$/.test(values['max-sessions']!) || !Number.isSafeInteger(maxSessions) || maxSessions < 1)) {
    throw new UsageError(`--max-sessions: expected a positive integer, got '${values['max-sessions']}'`);
  }
  const spillMib = values['spill-max-mib'] === undefined ? undefined : Number(values['spill-max-mib']);
  if (spillMib !== undefined && (!/^\d+$/.test(values['spill-max-mib']!) || !Number.isSafeInteger(spillMib))) {
    throw new UsageError(`--spill-max-mib: expected a whole number of MiB, got '${values['spill-max-mib']}'`);
  }
  if (spillMib === 0 && values['spill-dir'] !== undefined) throw new UsageError('--spill-dir: sealed storage is off (--spill-max-mib 0)');
  const sealedStorage = spillMib === 0 ? false : { directory: values['spill-dir'], maxBytes: spillMib === undefined ? undefined : spillMib * 1024 * 1024 };
  // vc-server moves bulk TLS data (when it relays) and allocates a buffer per socket read.
  countBufferMemoryInHeapLimit();
  let server;
  try {
    server = await startServer({
      policyPath: positionals[0]!,
      platform,
      network,
      sealedStorage,
      log: logLine,
      ...(values.runtime === undefined ? {} : { runtimePath: values.runtime }),
      ...(values['dev-key'] === undefined ? {} : { devKeyPath: values['dev-key'] }),
      ...(values.pas === undefined ? {} : { pasUrl: values.pas }),
      ...(values.listen === undefined ? {} : { listen: values.listen }),
      ...(maxSessions === undefined ? {} : { maxSessions }),
      ...(values.relay === true ? { relay: true } : {}),
      ...(values['isolate-flag'] === undefined ? {} : { nodeFlags: values['isolate-flag'] }),
    });
  } catch (error) {
    logLine(`vc-server: ${error instanceof VeracruzError ? error.message : String(error)}`);
    return 1;
  }
  if (server.devPublicKeyPath !== undefined) {
    logLine(`dev key: public key ${server.devPublicKeyPath} (a PAS enrolls it with: ${enrollCommand(server.devPublicKeyPath, await devKeyName(server.devPublicKeyPath))})`);
  }
  logLine(`runtime measurement ${server.measurement}${server.isolatePid === undefined ? '' : `, isolate pid ${server.isolatePid}`}`);
  const timings = server.bootTimings;
  logLine(`ready in ${timings.ready.toFixed(0)} ms (isolate started ${timings.launched.toFixed(0)}, attested ${timings.attested.toFixed(0)}, certified ${timings.certified.toFixed(0)}, initialized ${timings.initialized.toFixed(0)})`);
  // Handlers first: stdout to a pipe is written synchronously, so whoever waits for the line below
  // may signal before the next statement runs, and an unhandled SIGTERM would kill the process.
  const stop = (): void => void server.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // The readiness line on stdout stays as it is (scripts wait for it); the log is on stderr.
  process.stdout.write(`Veracruz server running on ${server.url}\n`);
  logLine(`listening on ${server.url}`);
  const exit = await server.exited;
  if (exit.code === 0) logLine(`vc-server: ${exit.reason}`);
  else logLine(`vc-server: ${exit.reason}; stopping`);
  return exit.code;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(usageErrorLine('vc-server', error.message));
  process.exitCode = EXIT_USAGE;
}
