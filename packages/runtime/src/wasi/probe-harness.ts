/**
 * Test harness around the WASI probe program: a fresh VFS with `/input/data.txt`, the usual program
 * rights (read-only /input, full /output, stdout, stderr) and a run helper returning the outcome
 * and the std streams. Used by the WASI and engine tests.
 */
import type { FileRights } from '@veracruz-ts/policy';
import { ALL_RIGHTS, RIGHTS_READ } from '@veracruz-ts/policy';
import type { ExecuteRequest, ExecutionEngine, ExecutionOutcome } from '../engine/engine.ts';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import type { PrincipalView } from '../vfs/principal-view.ts';

/** Rights of the probe in most tests. */
export const PROBE_RIGHTS: readonly FileRights[] = [
  { file_name: '/input', rights: RIGHTS_READ },
  { file_name: '/output', rights: ALL_RIGHTS },
  { file_name: 'stdout', rights: ALL_RIGHTS },
  { file_name: 'stderr', rights: ALL_RIGHTS },
];

/** Rights over everything (to inspect the tree in assertions). */
export const SUPERUSER: readonly FileRights[] = [
  { file_name: '/', rights: ALL_RIGHTS },
  { file_name: 'stdin', rights: ALL_RIGHTS },
  { file_name: 'stdout', rights: ALL_RIGHTS },
  { file_name: 'stderr', rights: ALL_RIGHTS },
];

/** A VFS prepared for the probe, and a superuser view of it. */
export function probeFileSystem(): { vfs: VirtualFileSystem; root: PrincipalView } {
  const vfs = new VirtualFileSystem();
  const root = vfs.view(SUPERUSER);
  root.writeFile('/input/data.txt', new TextEncoder().encode('secret-data'));
  return { vfs, root };
}

/** Result of one probe run. */
export interface ProbeRun {
  outcome: ExecutionOutcome;
  stdout: string;
  stderr: string;
}

/** Runs the probe with `args` and returns its outcome and std streams (read from the VFS). */
export async function runProbe(
  engine: ExecutionEngine,
  program: Uint8Array,
  vfs: VirtualFileSystem,
  args: readonly string[],
  extra: Partial<ExecuteRequest> = {},
): Promise<ProbeRun> {
  const outcome = await engine.execute({ vfs, program, args, rights: PROBE_RIGHTS, ...extra });
  const root = vfs.view(SUPERUSER);
  const decoder = new TextDecoder();
  return { outcome, stdout: decoder.decode(root.readFile('stdout')), stderr: decoder.decode(root.readFile('stderr')) };
}
