/**
 * Runs the example programs on the execution engine for the tests: one engine per test file, a fresh virtual
 * file system per run unless the test passes one (to keep state across runs, as streaming does).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALL_RIGHTS, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE, type FileRights, type PipelineExpr, type ProgramLimits } from '@veracruz-ts/policy';
import { ExecutionEngine, VirtualFileSystem, straceLines, type ExecutionOutcome, type ProgramAbi } from '@veracruz-ts/runtime';
import { buildExamples, wasmPath } from '../build.ts';
import type { GeneratedFiles } from '../generators/files.ts';

/** What an example program may do by default: read /input/, read and write /output/, write stdout and stderr. */
export const PROGRAM_RIGHTS: readonly FileRights[] = [
  { file_name: '/input/', rights: RIGHTS_READ },
  { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE },
  { file_name: 'stdout', rights: RIGHTS_WRITE },
  { file_name: 'stderr', rights: RIGHTS_WRITE },
];

/** The test's own principal: uploads inputs and programs, reads every result. */
const TEST_PRINCIPAL_RIGHTS: readonly FileRights[] = [
  { file_name: '/', rights: ALL_RIGHTS },
  { file_name: 'stdin', rights: ALL_RIGHTS },
  { file_name: 'stdout', rights: ALL_RIGHTS },
  { file_name: 'stderr', rights: ALL_RIGHTS },
];

/** The AES-CTR service at the path vc-fee also uses, for the aes-ctr example. */
export const AES_CTR_SERVICE = { name: 'Counter mode AES Service', specialFile: '/services/aesctr.dat' } as const;

/** What a program needs to call the services: write their special files. */
const SERVICE_RIGHTS: FileRights = { file_name: '/services/', rights: RIGHTS_WRITE };

/** The result of one run, with helpers to read what the program left behind. */
export interface ExampleRun {
  outcome: ExecutionOutcome;
  /** The exit code if the program exited, otherwise undefined (trap, limit, rejection). */
  exitCode: number | undefined;
  vfs: VirtualFileSystem;
  read(path: string): Uint8Array;
  text(path: string): string;
  exists(path: string): boolean;
  stdout: string;
  stderr: string;
  /** With `trace`: the system calls made, one a line (`name(args) = ERRNO`); otherwise empty. */
  calls: string;
}

let built: Promise<void> | undefined;

/** Makes sure the modules are built (a no-op when `npm run build:examples` already ran). */
function ensureBuilt(): Promise<void> {
  built ??= buildExamples().then((report) => {
    if (report.failed.length > 0) throw new Error(`examples failed to build: ${report.failed.map((f) => `${f.name}\n${f.diagnostics}`).join('\n')}`);
  });
  return built;
}

/** Reads a program's WebAssembly module (after building it if needed). */
export async function programBytes(name: string): Promise<Uint8Array> {
  await ensureBuilt();
  return new Uint8Array(readFileSync(wasmPath(name)));
}

/** Creates a file system with the test principal's files written in. */
export function createFileSystem(files: GeneratedFiles = {}, options: { services?: boolean } = {}): VirtualFileSystem {
  const vfs = new VirtualFileSystem(options.services ? { services: [AES_CTR_SERVICE] } : {});
  writeFiles(vfs, files);
  return vfs;
}

/** Writes (creating or truncating) `files` into `vfs` as the test principal. */
export function writeFiles(vfs: VirtualFileSystem, files: GeneratedFiles): void {
  const view = vfs.view(TEST_PRINCIPAL_RIGHTS);
  for (const [path, data] of Object.entries(files)) view.writeFile(path, data);
}

/** Appends `files` to the existing files in `vfs` as the test principal (streaming). */
export function appendFiles(vfs: VirtualFileSystem, files: GeneratedFiles): void {
  const view = vfs.view(TEST_PRINCIPAL_RIGHTS);
  for (const [path, data] of Object.entries(files)) view.appendFile(path, data);
}

/** Describes the test principal's view for reading results. */
export function testView(vfs: VirtualFileSystem) {
  return vfs.view(TEST_PRINCIPAL_RIGHTS);
}

/** Wraps an outcome and its file system for assertions. */
function describeRun(outcome: ExecutionOutcome, vfs: VirtualFileSystem): Omit<ExampleRun, 'calls'> {
  const view = testView(vfs);
  const decoder = new TextDecoder();
  const stream = (name: string) => (view.exists(name) ? decoder.decode(view.readFile(name)) : '');
  return {
    outcome,
    exitCode: outcome.kind === 'exited' ? outcome.exitCode : undefined,
    vfs,
    read: (path) => view.readFile(path),
    text: (path) => decoder.decode(view.readFile(path)),
    exists: (path) => view.exists(path),
    stdout: stream('stdout'),
    stderr: stream('stderr'),
  };
}

/** Runs example programs; close it at the end of the test file. */
export class ExampleRunner {
  readonly engine = new ExecutionEngine();

  /**
   * Runs program `name` with `files` written into a fresh file system (or into `vfs` if given, keeping its
   * state), with PROGRAM_RIGHTS (plus write on /services/ with `services`) unless `rights` says otherwise,
   * the engine's default limits unless `limits` are given, in the computation `abi` (veracruz_v1) if
   * given, and with its system calls traced into the run's `calls` with `trace`.
   */
  async run(
    name: string,
    options: { files?: GeneratedFiles; vfs?: VirtualFileSystem; rights?: readonly FileRights[]; services?: boolean; limits?: ProgramLimits; abi?: ProgramAbi; trace?: boolean } = {},
  ): Promise<ExampleRun> {
    const program = await programBytes(name);
    const vfs = options.vfs ?? createFileSystem({}, options.services ? { services: true } : {});
    writeFiles(vfs, options.files ?? {});
    const rights = options.rights ?? (options.services ? [...PROGRAM_RIGHTS, SERVICE_RIGHTS] : PROGRAM_RIGHTS);
    const calls: string[] = [];
    const outcome = await this.engine.execute({
      vfs, program, rights,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.abi ? { abi: options.abi } : {}),
      ...(options.trace ? { strace: straceLines((line) => calls.push(line)) } : {}),
    });
    return { ...describeRun(outcome, vfs), calls: calls.join('\n') };
  }

  /** Uploads the named programs to `/program/<name>.wasm` and runs `pipeline` (a parsed pipeline expression). */
  async runPipeline(programs: readonly string[], pipeline: PipelineExpr, vfs: VirtualFileSystem = createFileSystem()): Promise<ExampleRun> {
    for (const name of programs) writeFiles(vfs, { [`/program/${name}.wasm`]: await programBytes(name) });
    const callerRights: FileRights[] = [{ file_name: '/program/', rights: RIGHTS_EXECUTE | RIGHTS_READ }, ...PROGRAM_RIGHTS];
    const outcome = await this.engine.runPipeline({ vfs, pipeline, callerRights, pipelineRights: PROGRAM_RIGHTS });
    return { ...describeRun(outcome, vfs), calls: '' };
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

/** Asserts-friendly summary of an outcome for failure messages. */
export function describeOutcome(run: ExampleRun): string {
  return `${JSON.stringify(run.outcome)}; stderr: ${run.stderr.trim()}`;
}

/** Fails unless the program exited with `code` (the message shows the outcome and stderr). */
export function assertExit(run: ExampleRun, code: number): void {
  assert.equal(run.exitCode, code, describeOutcome(run));
}

/** Fails unless `actual` is within `relative` of `expected` (or within `relative` absolutely near zero). */
export function assertClose(actual: number, expected: number, message: string, relative = 1e-9): void {
  const tolerance = relative * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tolerance, `${message}: ${actual} is not within ${tolerance} of ${expected}`);
}
