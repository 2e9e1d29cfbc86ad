#!/usr/bin/env node
// vc-pas: the proxy attestation service and its operator commands. See packages/pas/README.md.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { EXIT_USAGE, UsageError, asUsageError, formatOptions, timestamped, usageErrorLine, versionLine, type OptionHelp } from '@veracruz-ts/policy';
import packageJson from '../package.json' with { type: 'json' };
import {
  enrollCommand,
  initCommand,
  issuedCommand,
  keysCommand,
  referenceCommand,
  unenrollCommand,
  verifyCommand,
} from '../src/commands.ts';
import { parseMeasurementHex } from '../src/measurement-policy.ts';
import { parsePlatform } from '../src/platforms.ts';
import { startPas } from '../src/server.ts';
import { DEFAULT_START_LIMITS, startLimitProblem, type StartLimits } from '../src/start-limits.ts';

const OPTION_HELP: readonly OptionHelp[] = [
  { names: ['--dir'], value: 'DIR', help: 'the PAS directory (CA, database, pas.json) that vc-pas init creates', default: 'required, except for verify' },
  { names: ['--listen'], value: 'HOST:PORT', help: 'serve: where to listen; port 0 picks a free one', default: "pas.json's listen, 127.0.0.1:3010 as init writes it" },
  { names: ['--max-open-sessions'], value: 'N', help: 'serve: attestation sessions open at once; more Starts get 429', default: `pas.json's maxOpenSessions (${DEFAULT_START_LIMITS.maxOpenSessions})` },
  { names: ['--start-rate-per-second'], value: 'N', help: 'serve: Starts per second from one client address (may be fractional)', default: `pas.json's startRatePerSecond (${DEFAULT_START_LIMITS.startRatePerSecond})` },
  { names: ['--start-burst'], value: 'N', help: 'serve: Starts one address may make at once before the rate applies', default: `pas.json's startBurst (${DEFAULT_START_LIMITS.startBurst})` },
  { names: ['--start-rate-max-clients'], value: 'N', help: 'serve: client addresses the rate limiter remembers', default: `pas.json's startRateMaxClients (${DEFAULT_START_LIMITS.startRateMaxClients})` },
  { names: ['--name'], value: 'NAME', help: 'enroll, unenroll: the development key\'s name (1-64 letters, digits, ".", "_", "@", "-")', default: 'required' },
  { names: ['--platform'], value: 'P', help: 'reference, verify: linux, nitro, psa, sev-snp, tdx or sgx (route names such as SEV also work)', default: 'required, except for reference list (all platforms)' },
  { names: ['--measurement'], value: 'HEX', help: 'reference add, remove: 64 or 96 hex digits (the first 32 bytes of a measurement, or all 48)', default: 'required' },
  { names: ['--deny'], help: 'reference add, remove: a denied measurement instead of an accepted one', default: 'accepted' },
  { names: ['--json'], help: 'keys, reference list, issued: print JSON', default: 'tab-separated text' },
  { names: ['--evidence'], value: 'FILE', help: 'verify: the evidence, raw or base64', default: 'required' },
  { names: ['--at'], value: 'ISO_TIME', help: 'verify: the time to verify at (for archived evidence)', default: 'now' },
  { names: ['--nonce'], value: 'HEX', help: 'verify: the nonce the evidence must carry', default: 'not checked' },
  { names: ['--csr-hash'], value: 'HEX', help: 'verify: the CSR hash the evidence must bind', default: 'not checked' },
  {
    names: ['--endorsement'], value: 'FILE',
    help: 'verify: an endorsement (VCEK/VLEK, DCAP collateral, PSA key or CoMID; for linux an enrolled development public key); repeat',
    default: 'none',
  },
  { names: ['--trust-anchor'], value: 'FILE', help: 'verify: a root certificate (PEM) to trust; repeat', default: "the vendors' pinned roots" },
  { names: ['--allow-debug'], help: 'verify: accept debug evidence', default: 'refused' },
  { names: ['-V', '--version'], help: 'print the version and exit' },
  { names: ['-h', '--help'], help: 'this text' },
];

/** vc-pas's `--help` text: every command, every option with its default. */
const USAGE = `Usage:
  vc-pas init --dir DIR
  vc-pas serve --dir DIR [--listen HOST:PORT] [--max-open-sessions N] [--start-rate-per-second N]
               [--start-burst N] [--start-rate-max-clients N]
  vc-pas enroll --dir DIR --name NAME PUBLIC_KEY.pem
  vc-pas unenroll --dir DIR --name NAME
  vc-pas keys --dir DIR [--json]
  vc-pas reference add|remove --dir DIR --platform P --measurement HEX [--deny]
  vc-pas reference list --dir DIR [--platform P] [--json]
  vc-pas issued --dir DIR [--json]
  vc-pas verify --platform linux|nitro|psa|sev-snp|tdx|sgx --evidence FILE [--at ISO_TIME] [--nonce HEX]
                [--csr-hash HEX] [--endorsement FILE]... [--trust-anchor FILE]... [--allow-debug]

The proxy attestation service (PAS): it verifies isolates' platform evidence and certifies their
keys. init creates its directory (CA key 0600, database, pas.json). serve runs it until SIGINT or
SIGTERM: "vc-pas listening on URL" on stdout once ready, then one log line per issuance or refusal
on stderr, each led by an ISO 8601 time. enroll and unenroll trust, or stop trusting, a vc-server
host's linux development key (vc-server dev-key prints the enroll command to run); keys lists
them. reference manages accepted and denied measurements; issued lists the certificates issued.
verify checks evidence by hand, without a PAS directory. Changes take effect on a running service.

Options:
${formatOptions(OPTION_HELP)}

Exit status: 0 success; 1 a refusal or an operational error (the reason on stderr); 2 a usage error.`;

const OPTIONS = {
  dir: { type: 'string' },
  listen: { type: 'string' },
  'max-open-sessions': { type: 'string' },
  'start-rate-per-second': { type: 'string' },
  'start-burst': { type: 'string' },
  'start-rate-max-clients': { type: 'string' },
  name: { type: 'string' },
  platform: { type: 'string' },
  measurement: { type: 'string' },
  deny: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  evidence: { type: 'string' },
  at: { type: 'string' },
  nonce: { type: 'string' },
  'csr-hash': { type: 'string' },
  endorsement: { type: 'string', multiple: true, default: [] as string[] },
  'trust-anchor': { type: 'string', multiple: true, default: [] as string[] },
  'allow-debug': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'V', default: false },
} satisfies ParseArgsOptionsConfig;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function required(values: Values, name: 'dir' | 'name' | 'platform' | 'evidence'): string {
  const value = values[name];
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function allowedOnly(values: Values, command: string, allowed: readonly string[]): void {
  const defaults: Record<string, unknown> = { deny: false, json: false, 'allow-debug': false, help: false, version: false };
  for (const [name, value] of Object.entries(values)) {
    const isDefault = Array.isArray(value) ? value.length === 0 : defaults[name] === value;
    if (!allowed.includes(name) && !isDefault) throw new UsageError(`${command} does not take --${name}`);
  }
}

/** `serve` flags for the Start limits; each overrides the same-named `pas.json` field. */
const LIMIT_FLAGS = {
  'max-open-sessions': 'maxOpenSessions',
  'start-rate-per-second': 'startRatePerSecond',
  'start-burst': 'startBurst',
  'start-rate-max-clients': 'startRateMaxClients',
} as const satisfies Record<string, keyof StartLimits>;

function limitFlags(values: Values): Partial<StartLimits> {
  const limits: Partial<StartLimits> = {};
  for (const [flag, name] of Object.entries(LIMIT_FLAGS)) {
    const text = values[flag as keyof typeof LIMIT_FLAGS];
    if (text === undefined) continue;
    // Number('') is 0 and Number(' 5') is 5: only plain decimal numbers are meant.
    const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
    const reason = startLimitProblem(name, value);
    if (reason !== undefined) throw new UsageError(`--${flag} ${JSON.stringify(text)}: ${reason.replace(name, 'it')}`);
    limits[name] = value;
  }
  return limits;
}

/** A line of the service's log on stderr, led by the time (ISO 8601, UTC). */
function logLine(line: string): void {
  process.stderr.write(`${timestamped(line, new Date())}\n`);
}

async function serve(dir: string, listen: string | undefined, limits: Partial<StartLimits>): Promise<number> {
  const pas = await startPas({ dir, ...(listen === undefined ? {} : { listen }), limits, log: logLine });
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logLine(`vc-pas: ${signal}, shutting down`);
      pas.close().then(() => resolve(0), () => resolve(1));
    };
    // Handlers before the line: a supervisor may signal as soon as it reads it.
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // The readiness line on stdout stays as it is (scripts wait for it); the log is on stderr.
    process.stdout.write(`vc-pas listening on ${pas.url}\n`);
    logLine(`listening on ${pas.url}`);
  });
}

/** A flag value checked by `parse`, where a bad one is a usage error. */
function checked<T>(flag: string, text: string, parse: (text: string) => T): T {
  try {
    return parse(text);
  } catch (error) {
    throw new UsageError(`--${flag}: ${error instanceof VeracruzError ? error.rawMessage : String(error)}`);
  }
}

function hexOption(flag: string, text: string | undefined): string | undefined {
  if (text !== undefined && !/^(0x)?([0-9a-fA-F]{2})+$/.test(text.trim())) throw new UsageError(`--${flag}: expected hex digits, got ${JSON.stringify(text)}`);
  return text;
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help' || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === '-V' || command === '--version' || argv.includes('--version')) {
    process.stdout.write(versionLine('vc-pas', packageJson.version));
    return 0;
  }
  if (command === undefined) throw new UsageError('missing a command (init, serve, enroll, unenroll, keys, reference, issued or verify)');
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw asUsageError(error);
  }
  const { values, positionals } = parsed;
  if (values.help || values.version) return run(values.help ? ['--help'] : ['--version']);
  const out = (text: string): number => {
    process.stdout.write(text);
    return 0;
  };
  const noPositionals = (): void => {
    if (positionals.length > 0) throw new UsageError(`${command} takes no argument ${JSON.stringify(positionals[0])}`);
  };
  switch (command) {
    case 'init':
      allowedOnly(values, command, ['dir']);
      noPositionals();
      return out(await initCommand(required(values, 'dir')));
    case 'serve':
      allowedOnly(values, command, ['dir', 'listen', ...Object.keys(LIMIT_FLAGS)]);
      noPositionals();
      return serve(required(values, 'dir'), values.listen, limitFlags(values));
    case 'enroll': {
      allowedOnly(values, command, ['dir', 'name']);
      if (positionals.length !== 1) throw new UsageError('enroll takes exactly one PUBLIC_KEY.pem');
      return out(await enrollCommand(required(values, 'dir'), required(values, 'name'), positionals[0] as string, new Date()));
    }
    case 'unenroll':
      allowedOnly(values, command, ['dir', 'name']);
      noPositionals();
      return out(await unenrollCommand(required(values, 'dir'), required(values, 'name')));
    case 'keys':
      allowedOnly(values, command, ['dir', 'json']);
      noPositionals();
      return out(await keysCommand(required(values, 'dir'), values.json));
    case 'reference': {
      allowedOnly(values, command, ['dir', 'platform', 'measurement', 'deny', 'json']);
      const [action, ...extra] = positionals;
      if (action === undefined || extra.length > 0 || !['add', 'remove', 'list'].includes(action)) {
        throw new UsageError(`reference takes one action: add, remove or list${action === undefined ? '' : `, not ${JSON.stringify([action, ...extra].join(' '))}`}`);
      }
      if (action !== 'list') {
        required(values, 'platform');
        if (values.measurement === undefined) throw new UsageError(`reference ${action}: --measurement is required`);
        checked('measurement', values.measurement, parseMeasurementHex);
      }
      return out(
        await referenceCommand(
          action,
          required(values, 'dir'),
          {
            ...(values.platform === undefined ? {} : { platform: checked('platform', values.platform, parsePlatform) }),
            ...(values.measurement === undefined ? {} : { measurement: values.measurement }),
            deny: values.deny,
            json: values.json,
          },
          new Date(),
        ),
      );
    }
    case 'issued':
      allowedOnly(values, command, ['dir', 'json']);
      noPositionals();
      return out(await issuedCommand(required(values, 'dir'), values.json));
    case 'verify': {
      allowedOnly(values, command, ['platform', 'evidence', 'at', 'nonce', 'csr-hash', 'endorsement', 'trust-anchor', 'allow-debug']);
      noPositionals();
      let at: Date | undefined;
      if (values.at !== undefined) {
        at = new Date(values.at);
        if (Number.isNaN(at.getTime())) throw new UsageError(`--at ${JSON.stringify(values.at)} is not an ISO 8601 time`);
      }
      return out(
        await verifyCommand({
          platform: checked('platform', required(values, 'platform'), parsePlatform),
          evidencePath: required(values, 'evidence'),
          endorsementPaths: values.endorsement,
          trustAnchorPaths: values['trust-anchor'],
          allowDebug: values['allow-debug'],
          ...(at === undefined ? {} : { at }),
          ...(values.nonce === undefined ? {} : { nonceHex: hexOption('nonce', values.nonce)! }),
          ...(values['csr-hash'] === undefined ? {} : { csrHashHex: hexOption('csr-hash', values['csr-hash'])! }),
        }),
      );
    }
    default:
      throw new UsageError(`unknown command '${command}' (init, serve, enroll, unenroll, keys, reference, issued or verify)`);
  }
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(usageErrorLine('vc-pas', error.message));
    process.exitCode = EXIT_USAGE;
  } else {
    const failure = VeracruzError.from(error);
    // Internal errors keep their text off the terminal beyond the message: no stack, no data.
    process.stderr.write(failure.code === Code.AttestationFailed ? `vc-pas: refused: ${failure.message}\n` : `vc-pas: ${failure.message}\n`);
    process.exitCode = 1;
  }
}
