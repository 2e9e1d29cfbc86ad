import { Errno, FsFailure } from './errno.ts';
import type { DirectoryNode, VfsNode } from './nodes.ts';

/** Most symbolic links one lookup expands before it fails with ELOOP (Linux's MAXSYMLINKS). */
export const MAX_SYMLINK_HOPS = 40;

/** Longest path or link target accepted, in bytes (PATH_MAX); longer is ENAMETOOLONG. */
export const MAX_PATH_BYTES = 4096;

/** Longest file or directory name accepted, in bytes (NAME_MAX); longer is ENAMETOOLONG. */
export const MAX_NAME_BYTES = 255;

/** Where and how a path is resolved. */
export interface ResolveOptions {
  /** Absolute components of the directory a relative path starts from (a real directory, no links). */
  start: readonly string[];
  /**
   * Components that `..`, in the path or in a link's target, may not climb above: the pre-open of
   * the descriptor the lookup started from ([] for the whole tree). Climbing above it is EPERM.
   */
  root: readonly string[];
  /**
   * Whether a symbolic link in the last component is followed (WASI LOOKUPFLAGS_SYMLINK_FOLLOW).
   * Links in earlier components are always followed, and so is a last one followed by a slash.
   */
  follow: boolean;
  /**
   * Whether a missing directory before the last component ends the lookup with a result (for
   * Veracruz's create-missing-parents) instead of ENOENT. The missing components must be plain names.
   */
  missingParents?: boolean;
}

/** What a path names. */
export interface Resolution {
  /**
   * Absolute components of what the path names, links expanded (a last link that is not followed
   * is named itself). Every component but the last is a real directory, unless `missingFrom` is set.
   */
  components: string[];
  /** The directory holding the last component; undefined when the path ends in `.` or `..` or has missing parents. */
  parent: DirectoryNode | undefined;
  /** The last component; undefined when the path ends in `.` or `..` (it then names a directory by position, not by name). */
  name: string | undefined;
  /** The node; undefined when the last component does not exist. */
  node: VfsNode | undefined;
  /** The path (or the target of a last link) ended with a slash, or in `.`/`..`: only a directory may answer. */
  directoryOnly: boolean;
  /** With `missingParents`: index in `components` of the first directory that does not exist. */
  missingFrom?: number;
}

/**
 * A lookup that failed, with `at`: the components of the point where it failed (the missing or
 * non-directory component, the link that loops or escapes). Callers check the principal's rights
 * there first, so that a failure never tells a principal about paths it has no rights on.
 */
export class PathFailure extends FsFailure {
  /** Absolute components of the failing point. */
  readonly at: readonly string[];
  constructor(errno: number, what: string, at: readonly string[]) {
    super(errno, what);
    this.name = 'PathFailure';
    this.at = at;
  }
}

function split(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

/** The UTF-8 length of `text` in bytes (as TextEncoder encodes it: a lone surrogate takes 3). */
export function byteLength(text: string): number {
  return Buffer.byteLength(text);
}

/** Whether `name` (one path component) is longer than {@link MAX_NAME_BYTES}. */
export function nameTooLong(name: string): boolean {
  return name.length > MAX_NAME_BYTES || byteLength(name) > MAX_NAME_BYTES;
}

/**
 * Resolves `path` (relative; absolute is EPERM) from `options.start`, POSIX-style: components one by
 * one from the real directory reached so far, `..` to that directory's parent, a symbolic link's
 * target spliced in where the link was (resolved from the link's directory). It never leaves
 * `options.root`: an absolute path, an absolute link target or a `..` above the root fails with
 * EPERM (as wasmtime does), so no link or `..` can lead a principal outside its pre-open.
 * Errors, as {@link PathFailure}s: ENOENT (empty path, missing directory on the way), ENOTDIR (a
 * file on the way), ELOOP (more than {@link MAX_SYMLINK_HOPS} links), ENAMETOOLONG (a path over
 * {@link MAX_PATH_BYTES} or a name over {@link MAX_NAME_BYTES}), EPERM (escape).
 */
export function resolvePath(tree: DirectoryNode, options: ResolveOptions, path: string): Resolution {
  if (path === '') throw new PathFailure(Errno.NOENT, 'empty path', options.start);
  if (path.length > MAX_PATH_BYTES || byteLength(path) > MAX_PATH_BYTES) throw new PathFailure(Errno.NAMETOOLONG, 'path', options.start);
  if (path.startsWith('/')) throw new PathFailure(Errno.PERM, `${path}: absolute path`, options.start);
  const current = [...options.start];
  const stack: DirectoryNode[] = [tree];
  for (const name of options.start) {
    const next = stack[stack.length - 1]?.entries.get(name);
    if (next === undefined) throw new PathFailure(Errno.NOENT, 'directory removed', options.start);
    if (next.kind !== 'directory') throw new PathFailure(Errno.NOTDIR, 'directory replaced', options.start);
    stack.push(next);
  }
  const pending = split(path);
  let directoryOnly = path.endsWith('/');
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    const last = pending.length === 0;
    if (nameTooLong(part)) throw new PathFailure(Errno.NAMETOOLONG, 'name', current);
    if (part === '.' || part === '..') {
      if (part === '..') {
        if (current.length <= options.root.length) throw new PathFailure(Errno.PERM, `${path}: leads outside the pre-open`, current);
        current.pop();
        stack.pop();
      }
      if (last) directoryOnly = true;
      continue;
    }
    const directory = stack[stack.length - 1] as DirectoryNode;
    const child = directory.entries.get(part);
    if (child === undefined) {
      if (last) return { components: [...current, part], parent: directory, name: part, node: undefined, directoryOnly };
      if (options.missingParents === true && pending.every((rest) => rest !== '.' && rest !== '..')) {
        return { components: [...current, part, ...pending], parent: undefined, name: pending[pending.length - 1], node: undefined, directoryOnly, missingFrom: current.length };
      }
      throw new PathFailure(Errno.NOENT, path, [...current, part]);
    }
    if (child.kind === 'symlink' && (!last || options.follow || directoryOnly)) {
      if (++hops > MAX_SYMLINK_HOPS) throw new PathFailure(Errno.LOOP, path, [...current, part]);
      if (child.target.startsWith('/')) throw new PathFailure(Errno.PERM, `${path}: link to an absolute path`, [...current, part]);
      if (last && child.target.endsWith('/')) directoryOnly = true;
      pending.unshift(...split(child.target));
      continue;
    }
    if (last) return { components: [...current, part], parent: directory, name: part, node: child, directoryOnly };
    if (child.kind !== 'directory') throw new PathFailure(Errno.NOTDIR, path, [...current, part]);
    current.push(part);
    stack.push(child);
  }
  // The path ended in `.` or `..` (after links): it names the directory reached.
  return { components: current, parent: undefined, name: undefined, node: stack[stack.length - 1], directoryOnly: true };
}
