import { readFileSync } from 'node:fs';
import type { FileRights, PipelineExpr, Policy } from '@veracruz-ts/policy';
import {
  ALL_RIGHTS, Code, Right, VeracruzError, findIdentity, findPipeline, findProgram, normalizePath, parsePipeline, parsePolicy, programLimits,
} from '@veracruz-ts/policy';
import type { ExecutionLimits, ExecutionOutcome, ServiceSpec, StreamHooks } from '@veracruz-ts/runtime';
import { DEFAULT_SERVICES, ExecutionEngine, VirtualFileSystem, servicesFromPolicy } from '@veracruz-ts/runtime';
import type { DirMapping, LoadSnapshot } from './host-dirs.ts';
import { loadHostDirectory, parseDirArgument, writeBackHostDirectory } from './host-dirs.ts';
import { createStdinReader } from './stdin-reader.ts';

/** Exit status for a program stopped by a limit (fuel, time, memory). */
export const EXIT_LIMIT = 125;
/** Exit status for a program rejected before it ran (imports, format). */
export const EXIT_REJECTED = 126;
/** Exit status for a trapped program (as a SIGABRT-killed process). */
export const EXIT_TRAPPED = 134;
/** Exit status for a usage or setup error of vc-fee itself. */
export const EXIT_USAGE = 2;

/** Where the CLI talks to. */
export interface FeeIo {
  stdout: (data: Uint8Array | string) => void;
  stderr: (data: Uint8Array | string) => void;
  stdin: NodeJS.ReadableStream & AsyncIterable<Buffer>;
  cwd: string;
  /** Which host streams are terminals: those are given to the program as terminals too. */
  terminals?: { stdin: boolean; stdout: boolean; stderr: boolean };
}

export const USAGE = `usage:
  vc-fee run [OPTIONS] PROGRAM.wasm [ARGS...]
  vc-fee pipeline [OPTIONS] "SCRIPT"

Runs a WebAssembly/WASI program (or a Veracruz pipeline) on the Veracruz execution engine, without
an isolate: the same VFS, WASI, rights checks, limits and services as inside the runtime.

options (before PROGRAM):
  --dir HOST[::GUEST]    load host directory HOST into the VFS at GUEST (default: HOST as written,
                         made absolute: 'in' -> /in, '.' -> /); changes are written back after the run
  --env KEY=VALUE        environment variable for the program (repeatable)
  --fuel N               instruction budget (deterministic); exhausted -> exit 125
  --max-memory-mib N     linear memory cap (default 4096)
  --timeout-ms N         wall-clock limit (default 600000; 0 = none)
  --strace               log each system call to stderr as name(args) = ERRNO
  --enable-clock         allow clock reads (the default here)
  --disable-clock        clock reads return EACCES, as under a policy without enable_clock
  --policy FILE --as program:PATH|identity:N|pipeline:NAME
                         run with that principal's rights, the policy's limits, clock setting and
                         native modules, instead of full rights on every --dir
exit status: the program's; 125 limit; 126 rejected; 134 trapped; 2 usage error.
`;

interface FeeOptions {
  dirs: DirMapping[];
  env: Record<string, string>;
  limits: ExecutionLimits;
  strace: boolean;
  enableClock: boolean | undefined;
  policyFile?: string;
  as?: string;
  rest: string[];
}

function parseNumber(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || !Number.isSafeInteger(value) || value < 0) throw new VeracruzError(Code.InvalidRequest, `${flag}: expected a non-negative integer`);
  return value;
}

function parseOptions(argv: readonly string[], cwd: string): FeeOptions {
  const options: FeeOptions = { dirs: [], env: {}, limits: {}, strace: false, enableClock: undefined, rest: [] };
  let index = 0;
  for (; index < argv.length; index++) {
    const argument = argv[index] as string;
    if (!argument.startsWith('--')) break;
    if (argument === '--') {
      index++;
      break;
    }
    const equals = argument.indexOf('=');
    const flag = equals === -1 ? argument : argument.slice(0, equals);
    const takeValue = (): string => {
      if (equals !== -1) return argument.slice(equals + 1);
      const value = argv[++index];
      if (value === undefined) throw new VeracruzError(Code.InvalidRequest, `${flag}: missing value`);
      return value;
    };
    switch (flag) {
      case '--dir':
        options.dirs.push(parseDirArgument(takeValue(), cwd));
        break;
      case '--env': {
        const pair = takeValue();
        const at = pair.indexOf('=');
        if (at <= 0) throw new VeracruzError(Code.InvalidRequest, `--env ${pair}: expected KEY=VALUE`);
        options.env[pair.slice(0, at)] = pair.slice(at + 1);
        break;
      }
      case '--fuel': {
        const text = takeValue();
        if (!/^[0-9]+$/.test(text)) throw new VeracruzError(Code.InvalidRequest, '--fuel: expected a non-negative integer');
        options.limits.fuel = BigInt(text);
        break;
      }
      case '--max-memory-mib':
        options.limits.maxMemoryMib = parseNumber(flag, takeValue());
        break;
      case '--timeout-ms': {
        const value = parseNumber(flag, takeValue());
        options.limits.timeoutMs = value === 0 ? 2 ** 31 - 1 : value;
        break;
      }
      case '--strace':
        options.strace = true;
        break;
      case '--enable-clock':
        options.enableClock = true;
        break;
      case '--disable-clock':
        options.enableClock = false;
        break;
      case '--policy':
        options.policyFile = takeValue();
        break;
      case '--as':
        options.as = takeValue();
        break;
      default:
        throw new VeracruzError(Code.InvalidRequest, `unknown option ${flag}`);
    }
  }
  options.rest = argv.slice(index);
  return options;
}

/**
 * Full rights on the std streams. A stream that is a terminal on the host loses FD_SEEK and FD_TELL:
 * wasi-libc's isatty() then says yes, so the program line-buffers its output as it would natively.
 */
function streamRights(terminals: FeeIo['terminals']): FileRights[] {
  return (['stdin', 'stdout', 'stderr'] as const).map((name) => ({
    file_name: name,
    rights: terminals?.[name] === true ? ALL_RIGHTS & ~(Right.FD_SEEK | Right.FD_TELL) : ALL_RIGHTS,
  }));
}

/** The principal a `--as` names, resolved in the policy. */
interface PolicyPrincipal {
  rights: readonly FileRights[];
  limits?: ExecutionLimits;
  pipeline?: PipelineExpr;
}

function principalFromPolicy(policy: Policy, spec: string): PolicyPrincipal {
  const colon = spec.indexOf(':');
  const kind = spec.slice(0, colon);
  const name = spec.slice(colon + 1);
  if (colon === -1) throw new VeracruzError(Code.InvalidRequest, `--as ${spec}: expected program:PATH, identity:N or pipeline:NAME`);
  if (kind === 'program') {
    const program = findProgram(policy, name);
    if (program === undefined) throw new VeracruzError(Code.NotFound, `--as ${spec}: the policy has no program ${name}`);
    return { rights: program.file_rights, limits: programLimits(policy, program.program_file_name) };
  }
  if (kind === 'identity') {
    const identity = findIdentity(policy, Number(name));
    if (identity === undefined) throw new VeracruzError(Code.NotFound, `--as ${spec}: the policy has no identity ${name}`);
    return { rights: identity.file_rights };
  }
  if (kind === 'pipeline') {
    const pipeline = findPipeline(policy, name);
    if (pipeline === undefined) throw new VeracruzError(Code.NotFound, `--as ${spec}: the policy has no pipeline ${name}`);
    return { rights: pipeline.file_rights, pipeline: pipeline.expr };
  }
  throw new VeracruzError(Code.InvalidRequest, `--as ${spec}: expected program:PATH, identity:N or pipeline:NAME`);
}

function reportOutcome(outcome: ExecutionOutcome, io: FeeIo): number {
  switch (outcome.kind) {
    case 'exited':
      return outcome.exitCode;
    case 'limit':
      io.stderr(`vc-fee: ${outcome.message}\n`);
      return EXIT_LIMIT;
    case 'trapped':
      io.stderr(`vc-fee: program trapped: ${outcome.message}\n`);
      return EXIT_TRAPPED;
    case 'rejected':
      io.stderr(`vc-fee: program rejected: ${outcome.message}\n`);
      return EXIT_REJECTED;
  }
}

/** Runs vc-fee with `argv` (without node and script); resolves to the exit status. */
export async function main(argv: readonly string[], io: FeeIo): Promise<number> {
  const command = argv[0];
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.stderr : io.stdout)(USAGE);
    return command === undefined ? EXIT_USAGE : 0;
  }
  if (command !== 'run' && command !== 'pipeline') {
    io.stderr(`vc-fee: unknown command ${command}\n${USAGE}`);
    return EXIT_USAGE;
  }
  let options: FeeOptions;
  let policy: Policy | undefined;
  let principal: PolicyPrincipal | undefined;
  try {
    options = parseOptions(argv.slice(1), io.cwd);
    if ((options.policyFile === undefined) !== (options.as === undefined)) {
      throw new VeracruzError(Code.InvalidRequest, '--policy and --as go together');
    }
    if (options.policyFile !== undefined && options.as !== undefined) {
      policy = await parsePolicy(readFileSync(options.policyFile, 'utf8'));
      principal = principalFromPolicy(policy, options.as);
    }
  } catch (reason) {
    io.stderr(`vc-fee: ${reason instanceof VeracruzError ? reason.rawMessage : String(reason)}\n`);
    return EXIT_USAGE;
  }

  let services: readonly ServiceSpec[] = DEFAULT_SERVICES;
  let vfs: VirtualFileSystem;
  const snapshots = new Map<DirMapping, LoadSnapshot>();
  try {
    if (policy !== undefined) services = servicesFromPolicy(policy.native_modules);
    // Under a policy, the isolate's memory budget (max_memory_mib) applies as it would in the isolate.
    vfs = new VirtualFileSystem({ services, ...(policy === undefined ? {} : { maxBytes: policy.max_memory_mib * 1024 * 1024 }) });
    for (const mapping of options.dirs) {
      const snapshot: LoadSnapshot = new Map();
      loadHostDirectory(vfs, mapping, snapshot);
      snapshots.set(mapping, snapshot);
    }
  } catch (reason) {
    io.stderr(`vc-fee: ${reason instanceof Error ? reason.message : String(reason)}\n`);
    return EXIT_USAGE;
  }
  const fullRights: FileRights[] = [
    ...streamRights(io.terminals),
    ...options.dirs.map((mapping) => ({ file_name: mapping.guest, rights: ALL_RIGHTS })),
    ...[...new Set(services.map((spec) => normalizePath(spec.specialFile).replace(/\/[^/]*$/, '') || '/'))].map((directory) => ({ file_name: directory, rights: ALL_RIGHTS })),
  ];
  const rights = principal?.rights ?? fullRights;
  const limits: ExecutionLimits = { ...principal?.limits, ...options.limits };
  const enableClock = options.enableClock ?? policy?.enable_clock ?? true;
  const streams: StreamHooks = {
    stdout: (data) => io.stdout(data),
    stderr: (data) => io.stderr(data),
    stdin: createStdinReader(io.stdin as unknown as import('node:stream').Readable),
  };
  const strace = options.strace ? (line: string) => io.stderr(`${line}\n`) : undefined;
  const engine = new ExecutionEngine();
  let outcome: ExecutionOutcome;
  try {
    if (command === 'run') {
      const [programPath, ...args] = options.rest;
      if (programPath === undefined) {
        io.stderr(`vc-fee: run needs a PROGRAM.wasm\n${USAGE}`);
        return EXIT_USAGE;
      }
      let program: Uint8Array;
      try {
        program = readFileSync(programPath);
      } catch {
        io.stderr(`vc-fee: cannot read ${programPath}\n`);
        return EXIT_USAGE;
      }
      outcome = await engine.execute({
        vfs, program, programName: programPath, args, rights, env: options.env, limits, enableClock, streams,
        ...(strace === undefined ? {} : { strace }),
      });
    } else {
      const script = options.rest[0];
      let pipeline: PipelineExpr;
      try {
        if (options.rest.length > 1) throw new VeracruzError(Code.InvalidRequest, 'pipeline takes one SCRIPT argument (quote it)');
        if (script !== undefined) pipeline = parsePipeline(script);
        else if (principal?.pipeline !== undefined) pipeline = principal.pipeline;
        else throw new VeracruzError(Code.InvalidRequest, 'pipeline needs a SCRIPT');
      } catch (reason) {
        io.stderr(`vc-fee: ${reason instanceof VeracruzError ? reason.rawMessage : String(reason)}\n`);
        return EXIT_USAGE;
      }
      outcome = await engine.runPipeline({
        vfs, pipeline, callerRights: fullRights, pipelineRights: rights, limits, enableClock, streams,
        ...(strace === undefined ? {} : { strace }),
      });
    }
  } catch (reason) {
    io.stderr(`vc-fee: ${reason instanceof VeracruzError ? reason.rawMessage : String(reason)}\n`);
    await engine.close();
    return EXIT_USAGE;
  }
  await engine.close();
  for (const [mapping, snapshot] of snapshots) writeBackHostDirectory(vfs, mapping, snapshot);
  return reportOutcome(outcome, io);
}
