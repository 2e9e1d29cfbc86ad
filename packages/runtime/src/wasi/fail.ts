import { FsFailure } from '../vfs/errno.ts';

/**
 * Ends the current system call with `errno`: thrown from however deep the check sits, and turned
 * into the call's result by `WasiProcess.dispatch`.
 */
export function fail(errno: number, what = ''): never {
  throw new FsFailure(errno, what);
}
