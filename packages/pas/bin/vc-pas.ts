#!/usr/bin/env node
// vc-pas: the proxy attestation service and its operator commands. See packages/pas/README.md.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { Code, VeracruzError } from '@veracruz-ts/policy';
import {
  enrollCommand,
  initCommand,
  issuedCommand,
  keysCommand,
  referenceCommand,
  unenrollCommand,
  verifyCommand,
} from '../src/commands.ts';
import { parsePlatform } from '../src/platforms.ts';
import { startPas } from '../src/server.ts';
import { startLimitProblem, type StartLimits } from '../src/start-limits.ts';

const USAGE = `usage:
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
`;

class UsageError extends Error {}

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
} satisfies ParseArgsOptionsConfig;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function required(values: Values, name: 'dir' | 'name' | 'platform' | 'evidence'): string {
  const value = values[name];
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function allowedOnly(values: Values, command: string, allowed: readonly string[]): void {
  const defaults: Record<string, unknown> = { deny: false, json: false, 'allow-debug': false, help: false };
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

async function serve(dir: string, listen: string | undefined, limits: Partial<StartLimits>): Promise<number> {
  const pas = await startPas({ dir, ...(listen === undefined ? {} : { listen }), limits, log: (line) => process.stderr.write(`${line}\n`) });
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`vc-pas: ${signal}, shutting down\n`);
      pas.close().then(() => resolve(0), () => resolve(1));
    };
    // Handlers before the line: a supervisor may signal as soon as it reads it.
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.stdout.write(`vc-pas listening on ${pas.url}\n`);
  });
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
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
      if (action === undefined || extra.length > 0) throw new UsageError('reference takes one action: add, remove or list');
      return out(
        await referenceCommand(
          action,
          required(values, 'dir'),
          {
            ...(values.platform === undefined ? {} : { platform: parsePlatform(values.platform) }),
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
          platform: parsePlatform(required(values, 'platform')),
          evidencePath: required(values, 'evidence'),
          endorsementPaths: values.endorsement,
          trustAnchorPaths: values['trust-anchor'],
          allowDebug: values['allow-debug'],
          ...(at === undefined ? {} : { at }),
          ...(values.nonce === undefined ? {} : { nonceHex: values.nonce }),
          ...(values['csr-hash'] === undefined ? {} : { csrHashHex: values['csr-hash'] }),
        }),
      );
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`vc-pas: ${error.message}\n${USAGE}`);
    process.exitCode = 2;
  } else {
    const failure = VeracruzError.from(error);
    // Internal errors keep their text off the terminal beyond the message: no stack, no data.
    process.stderr.write(failure.code === Code.AttestationFailed ? `vc-pas: refused: ${failure.message}\n` : `vc-pas: ${failure.message}\n`);
    process.exitCode = 1;
  }
}
