import { readFileSync } from 'node:fs';
import type { FileRights, PipelineExpr, Policy } from '@veracruz-ts/policy';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { ALL_RIGHTS, Right, UsageError, findIdentity, findPipeline, findProgram, normalizePath, parsePipeline, parsePolicy, programLimits, usageErrorLine, versionLine } from '@veracruz-ts/policy';
import type { ExecutionLimits, ExecutionOutcome, ServiceSpec, StreamHooks } from '@veracruz-ts/runtime';
import { DEFAULT_SERVICES, ExecutionEngine, VirtualFileSystem, pathComponents, servicesFromPolicy, straceLines } from '@veracruz-ts/runtime';
import type { DirMapping, LoadSnapshot } from './host-dirs.ts';
import { loadHostDirectory, writeBackHostDirectory } from './host-dirs.ts';
import { USAGE, parseFeeArguments, type FeeOptions } from './arguments.ts';
import packageJson from '../../package.json' with { type: 'json' };
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

export { USAGE };

/** A host directory in the VFS: loaded before the run (--dir, -i), written back after it (--dir, -o), or both. */
interface Mount {
  mapping: DirMapping;
  load: boolean;
  writeBack: boolean;
}

/** The directories of `options`, one mount per guest path. */
function mountsOf(options: FeeOptions): Mount[] {
  const mounts = new Map<string, Mount>();
  const add = (mapping: DirMapping, load: boolean, writeBack: boolean) => {
    const known = mounts.get(mapping.guest);
    if (known !== undefined && known.mapping.host !== mapping.host) {
      throw new UsageError(`${mapping.guest} is mapped from both ${known.mapping.host} and ${mapping.host}`);
    }
    mounts.set(mapping.guest, { mapping: known?.mapping ?? mapping, load: load || (known?.load ?? false), writeBack: writeBack || (known?.writeBack ?? false) });
  };
  for (const mapping of options.dirs) add(mapping, true, true);
  for (const mapping of options.inputs) add(mapping, true, false);
  for (const mapping of options.outputs) add(mapping, false, true);
  return [...mounts.values()];
}

/** Veracruz's freestanding-execution-engine dump of a captured stream (`-d`, `-e`). */
function dump(name: 'stdout' | 'stderr', chunks: readonly Uint8Array[]): Uint8Array {
  const text = (marker: string) => new TextEncoder().encode(marker);
  return Buffer.concat([text(`---- ${name} dump ----\n`), ...chunks, text(`---- ${name} dump end ----\n`)]);
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
    case 'integrity':
      // vc-fee keeps files in memory: only an isolate with sealed storage meets this.
      io.stderr(`vc-fee: ${outcome.message}\n`);
      return EXIT_TRAPPED;
  }
}

/** Runs vc-fee with `argv` (without node and script); resolves to the exit status. */
export async function main(argv: readonly string[], io: FeeIo): Promise<number> {
  let options: FeeOptions;
  let mounts: Mount[];
  try {
    const request = parseFeeArguments(argv, io.cwd);
    if (request.kind === 'help') {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    if (request.kind === 'version') {
      io.stdout(versionLine('vc-fee', packageJson.version));
      return 0;
    }
    options = request.options;
    mounts = mountsOf(options);
  } catch (reason) {
    if (!(reason instanceof UsageError)) throw reason;
    io.stderr(usageErrorLine('vc-fee', reason.message));
    return EXIT_USAGE;
  }
  const command = options.command;
  let policy: Policy | undefined;
  let principal: PolicyPrincipal | undefined;
  let services: readonly ServiceSpec[] = DEFAULT_SERVICES;
  try {
    if (options.policyFile !== undefined && options.as !== undefined) {
      policy = await parsePolicy(readFileSync(options.policyFile, 'utf8'));
      // A native module this runtime cannot run refuses the policy here, as the isolate would.
      services = servicesFromPolicy(policy.native_modules);
      principal = principalFromPolicy(policy, options.as);
    }
  } catch (reason) {
    io.stderr(`vc-fee: ${reason instanceof VeracruzError ? reason.rawMessage : String(reason)}\n`);
    return EXIT_USAGE;
  }

  let vfs: VirtualFileSystem;
  const snapshots = new Map<DirMapping, LoadSnapshot>();
  try {
    // Under a policy, the isolate's memory budget (max_memory_mib) applies as it would in the isolate.
    vfs = new VirtualFileSystem({ services, ...(policy === undefined ? {} : { maxBytes: policy.max_memory_mib * 1024 * 1024 }) });
    for (const { mapping, load, writeBack } of mounts) {
      const snapshot: LoadSnapshot = new Map();
      if (load) loadHostDirectory(vfs, mapping, snapshot);
      else vfs.makeDirectories(pathComponents(mapping.guest));
      if (writeBack) snapshots.set(mapping, snapshot);
    }
  } catch (reason) {
    io.stderr(`vc-fee: ${reason instanceof Error ? reason.message : String(reason)}\n`);
    return EXIT_USAGE;
  }
  const fullRights: FileRights[] = [
    ...streamRights(io.terminals),
    ...mounts.map(({ mapping }) => ({ file_name: mapping.guest, rights: ALL_RIGHTS })),
    ...[...new Set(services.map((spec) => normalizePath(spec.specialFile).replace(/\/[^/]*$/, '') || '/'))].map((directory) => ({ file_name: directory, rights: ALL_RIGHTS })),
  ];
  const rights = principal?.rights ?? fullRights;
  const limits: ExecutionLimits = { ...principal?.limits, ...options.limits };
  // Veracruz's form keeps Veracruz's default: no clock unless -c.
  const enableClock = options.enableClock ?? policy?.enable_clock ?? !options.veracruzForm;
  // -d/-e: captured and printed after the run; in Veracruz's form, otherwise not shown at all.
  const captured = { stdout: [] as Uint8Array[], stderr: [] as Uint8Array[] };
  const output = (name: 'stdout' | 'stderr', dumped: boolean) => (data: Uint8Array): void => {
    if (dumped) captured[name].push(new Uint8Array(data));
    else if (!options.veracruzForm) io[name](data);
  };
  const streams: StreamHooks = {
    stdout: output('stdout', options.dumpStdout),
    stderr: output('stderr', options.dumpStderr),
    stdin: createStdinReader(io.stdin as unknown as import('node:stream').Readable),
  };
  const strace = options.strace ? straceLines((line) => io.stderr(`${line}\n`)) : undefined;
  const engine = new ExecutionEngine();
  let outcome: ExecutionOutcome;
  try {
    if (command === 'run') {
      const [programPath, ...args] = options.rest;
      if (programPath === undefined) {
        io.stderr(usageErrorLine('vc-fee', 'run needs a PROGRAM.wasm'));
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
      const script = options.script ?? options.rest[0];
      let pipeline: PipelineExpr;
      try {
        if (script !== undefined) pipeline = parsePipeline(script);
        else if (principal?.pipeline !== undefined) pipeline = principal.pipeline;
        else throw new VeracruzError(Code.InvalidRequest, 'pipeline needs a SCRIPT (as its argument or with -r)');
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
  if (options.dumpStdout) io.stdout(dump('stdout', captured.stdout));
  if (options.dumpStderr) io.stderr(dump('stderr', captured.stderr));
  for (const [mapping, snapshot] of snapshots) writeBackHostDirectory(vfs, mapping, snapshot);
  return reportOutcome(outcome, io);
}
