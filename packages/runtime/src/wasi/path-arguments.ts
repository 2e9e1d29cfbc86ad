import { resolveRights } from '@veracruz-ts/policy';
import { Errno } from '../vfs/errno.ts';
import { joinComponents } from '../vfs/file-system.ts';
import type { Resolution } from '../vfs/path-resolution.ts';
import { MAX_PATH_BYTES, PathFailure } from '../vfs/path-resolution.ts';
import type { OpenDirectory } from './descriptors.ts';
import { fail } from './fail.ts';
import type { ProcessContext } from './process-context.ts';

/** A rights test: all of `need`. */
export function has(need: number): (rights: number) => boolean {
  return (rights) => (rights & need) === need;
}

/** A path argument: UTF-8 (else EILSEQ) without NUL (EINVAL, as wasmtime answers on Unix). */
export function pathString(context: ProcessContext, pointer: number, length: number): string {
  // Measured before it is decoded: a hostile length costs nothing.
  if (length > MAX_PATH_BYTES) fail(Errno.NAMETOOLONG);
  const path = context.memory.string(pointer, length);
  if (path.includes('\0')) fail(Errno.INVAL);
  return path;
}

/** How {@link lookupPath} resolves a path and which rights it wants. */
export interface PathLookup {
  /** Whether a last symbolic link is followed. */
  follow: boolean;
  /** Whether the rights held (of the descriptor, and over what the path reaches) allow the call. */
  permitted: (rights: number) => boolean;
  /** Rights over the node (the default), or `false`: over the name. */
  content?: boolean;
  /** Whether missing parent directories resolve (to be created), instead of failing. */
  missingParents?: boolean;
}

/**
 * Resolves a path argument from a directory descriptor (see `resolvePath`: symbolic links are
 * followed within the descriptor's pre-open, never outside it: EPERM) and checks the rights
 * `permitted` wants: those of the descriptor, and the policy's over what the path reaches. With
 * `content` (operations on the node: open, stat, set times, link source, readlink) these are the
 * rights over the node, which for a file with several names means on every name
 * (`VirtualFileSystem.rightsOver`); without it (operations on the name: create, unlink, rename)
 * those of the path. A lookup that fails is reported only where the rights allow, else
 * ENOTCAPABLE, so that errors tell nothing about paths the principal has no rights on.
 */
export function lookupPath(context: ProcessContext, directory: OpenDirectory, pointer: number, length: number, options: PathLookup): Resolution {
  if (!options.permitted(directory.rightsBase)) fail(Errno.NOTCAPABLE);
  const path = pathString(context, pointer, length);
  let resolution: Resolution;
  try {
    resolution = context.vfs.resolve({ start: directory.components, root: directory.root, follow: options.follow, missingParents: options.missingParents ?? false }, path);
  } catch (reason) {
    if (reason instanceof PathFailure && !options.permitted(directory.rightsBase & pathRights(context, reason.at))) fail(Errno.NOTCAPABLE);
    throw reason;
  }
  const granted = options.content === false ? pathRights(context, resolution.components) : context.vfs.rightsOver(context.rights, resolution.components, resolution.node);
  if (!options.permitted(directory.rightsBase & granted)) fail(Errno.NOTCAPABLE);
  return resolution;
}

/**
 * The rights the principal's policy grants over an absolute path (longest entry). Intersected
 * with every descriptor-derived right, so that a path reached through a shorter pre-open never
 * gets more than the entry that covers it most closely.
 */
export function pathRights(context: ProcessContext, components: readonly string[]): number {
  return resolveRights(context.rights, joinComponents(components))?.rights ?? 0;
}
