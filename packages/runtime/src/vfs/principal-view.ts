import type { FileRights } from '@veracruz-ts/policy';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { Right, isStdStream, missingRights, normalizePath, resolveRights } from '@veracruz-ts/policy';
import { BudgetExceeded } from '../budget/memory-budget.ts';
import { Errno, FsFailure } from './errno.ts';
import { SealedDataRejected } from './sealed-store.ts';
import type { DirectoryNode, FileNode } from './nodes.ts';
import { type CreatedDirectory, type FileTree, joinComponents, NODE_BYTES } from './file-tree.ts';
import type { Resolution } from './path-resolution.ts';
import { MAX_NAME_BYTES, MAX_PATH_BYTES, PathFailure, byteLength, nameTooLong } from './path-resolution.ts';

/** Rights a whole-file write needs (Veracruz: open, truncate, write, seek). */
const WRITE_NEEDS = Right.PATH_OPEN | Right.FD_WRITE | Right.FD_SEEK | Right.PATH_FILESTAT_SET_SIZE;
/** Rights an append needs. */
const APPEND_NEEDS = Right.PATH_OPEN | Right.FD_WRITE | Right.FD_SEEK;
/** Rights a read needs. */
const READ_NEEDS = Right.PATH_OPEN | Right.FD_READ | Right.FD_SEEK;
/** Rights reading a program binary to execute it needs. */
const EXECUTE_NEEDS = Right.PATH_OPEN | Right.FD_EXECUTE | Right.FD_SEEK;

/**
 * One principal's rights over the shared tree, for host-side requests (a client's write, append or
 * read, a program binary read before execution, a pipeline condition). Every method checks the
 * principal's rights as Veracruz does (longest whole-component prefix; no match is a denial) and
 * fails with a VeracruzError naming the operation, the path and the missing rights, never contents.
 * A write or an append may take its data in pieces (a request's payload as it arrived, not joined):
 * they are stored one after the other, all or nothing.
 */
export class PrincipalView {
  readonly #vfs: FileTree;
  /** The principal's `file_rights` entries. */
  readonly rights: readonly FileRights[];

  constructor(vfs: FileTree, rights: readonly FileRights[]) {
    this.#vfs = vfs;
    this.rights = rights;
  }

  /** Replaces the file's contents (creating it and missing parent directories), or the std stream's. */
  writeFile(path: string, data: Uint8Array | readonly Uint8Array[]): void {
    this.#put('write', path, data, WRITE_NEEDS, (node, pieces) => node.data.replace(pieces));
  }

  /** Appends to the file (creating it and missing parent directories), or to the std stream. */
  appendFile(path: string, data: Uint8Array | readonly Uint8Array[]): void {
    this.#put('append', path, data, APPEND_NEEDS, (node, pieces) => node.data.writeAll(node.data.size, pieces));
  }

  /** A write or an append: a service's special file serves the data, any other file stores it within the quota. */
  #put(
    operation: string,
    path: string,
    data: Uint8Array | readonly Uint8Array[],
    need: number,
    store: (node: FileNode, pieces: readonly Uint8Array[]) => void,
  ): void {
    const pieces = data instanceof Uint8Array ? [data] : data;
    const { node, undo } = this.#writable(operation, path, need, totalLength(pieces));
    if (node.service !== undefined) {
      this.#serve(operation, path, node, Buffer.concat(pieces));
      return;
    }
    this.#withinQuota(operation, path, () => store(node, pieces), undo);
  }

  /** The whole file (or std stream). */
  readFile(path: string): Uint8Array {
    return this.#whole('read', path, this.#readable('read', path, READ_NEEDS));
  }

  /** The file's (or std stream's) size in bytes. */
  fileSize(path: string): number {
    return this.#readable('read', path, READ_NEEDS).data.size;
  }

  /** Up to `target.length` bytes of the file starting at `offset` (fewer at its end) into `target`, for streaming large files; returns the bytes read. */
  readRangeInto(path: string, offset: number, target: Uint8Array): number {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new VeracruzError(Code.InvalidRequest, `read ${path}: offset and length must be non-negative integers`);
    }
    const node = this.#readable('read', path, READ_NEEDS);
    return checkedSealedData('read', path, () => node.data.readInto(offset, target));
  }

  /** A program binary, for execution: needs FD_EXECUTE and FD_SEEK (and PATH_OPEN) on its path. */
  readExecutable(path: string): Uint8Array {
    return this.#whole('execute', path, this.#readable('execute', path, EXECUTE_NEEDS));
  }

  /**
   * A copy of the whole file. With sealed storage a file may be far larger than the memory budget;
   * a copy is made only of a file the budget's data part could hold, as any file could before.
   */
  #whole(operation: string, path: string, node: FileNode): Uint8Array {
    const { budget } = this.#vfs.quota;
    const most = budget.limit - budget.reservedForServing;
    if (node.data.size > most) {
      throw new VeracruzError(Code.LimitExceeded, `${operation} ${normalizePath(path)}: the file has ${node.data.size} bytes, more than the isolate's memory budget holds for data (${most}); it can only be read in ranges`);
    }
    return checkedSealedData(operation, path, () => node.data.toBytes());
  }

  /**
   * Whether the path exists for this principal (a pipeline `if`): no right covering the path, or no
   * PATH_OPEN, is an error (PermissionDenied); any other failure is `false`.
   */
  exists(path: string): boolean {
    const target = this.#authorize('stat', path, Right.PATH_OPEN);
    if (isStdStream(target)) return true;
    let resolution: Resolution;
    try {
      resolution = this.#resolve('stat', target, Right.PATH_OPEN);
    } catch (reason) {
      if (reason instanceof VeracruzError && reason.code === Code.PermissionDenied) throw reason;
      return false;
    }
    this.#requireReached('stat', resolution, Right.PATH_OPEN);
    return resolution.node !== undefined;
  }

  /** Checks the path's length and the rights on the path as named; returns the normalized path. */
  #authorize(operation: string, path: string, need: number): string {
    // A path is not echoed when too long: the message would be as long.
    if (path.length > MAX_PATH_BYTES || byteLength(path) > MAX_PATH_BYTES) {
      throw new VeracruzError(Code.LimitExceeded, `${operation}: the path is longer than ${MAX_PATH_BYTES} bytes`);
    }
    const target = normalizePath(path);
    if (target.split('/').some(nameTooLong)) {
      throw new VeracruzError(Code.LimitExceeded, `${operation} ${target}: a name is longer than ${MAX_NAME_BYTES} bytes`);
    }
    const resolved = resolveRights(this.rights, target);
    if (resolved === undefined) {
      throw new VeracruzError(Code.PermissionDenied, `${operation} ${target}: no right covers this path`);
    }
    this.#require(operation, target, resolved.rights, need);
    return target;
  }

  #require(operation: string, shown: string, granted: number, need: number): void {
    const missing = missingRights(granted, need);
    if (missing.length > 0) throw new VeracruzError(Code.PermissionDenied, `${operation} ${shown}: missing ${missing.join(', ')}`);
  }

  /**
   * Resolves a normalized absolute path in the tree, following symbolic links (their `..` may not
   * climb above `/`). A failure is reported only where the principal holds `need`, else as
   * PermissionDenied, so that it tells nothing about paths the principal cannot reach.
   */
  #resolve(operation: string, target: string, need: number, missingParents = false): Resolution {
    try {
      return this.#vfs.resolve({ start: [], root: [], follow: true, missingParents }, target === '/' ? '.' : target.slice(1));
    } catch (reason) {
      if (!(reason instanceof PathFailure)) throw reason;
      const at = joinComponents(reason.at);
      this.#require(operation, at, resolveRights(this.rights, at)?.rights ?? 0, need);
      if (reason.errno === Errno.LOOP) throw new VeracruzError(Code.InvalidRequest, `${operation} ${target}: too many levels of symbolic links`);
      if (reason.errno === Errno.PERM) throw new VeracruzError(Code.InvalidRequest, `${operation} ${target}: a symbolic link leads outside the tree`);
      if (reason.errno === Errno.NOTDIR) throw new VeracruzError(Code.NotFound, `${operation} ${target}: a parent is not a directory`);
      if (reason.errno === Errno.NAMETOOLONG) throw new VeracruzError(Code.LimitExceeded, `${operation} ${target}: a symbolic link leads to a name longer than ${MAX_NAME_BYTES} bytes`);
      throw new VeracruzError(Code.NotFound, `${operation} ${target}: no such file`);
    }
  }

  /**
   * Checks `need` on what a resolution reached: the rights of the reached path (where a link
   * led), and for a file with several names the rights on every name (`VirtualFileSystem.rightsOver`).
   */
  #requireReached(operation: string, resolution: Resolution, need: number): void {
    const reached = joinComponents(resolution.components);
    this.#require(operation, reached, this.#vfs.rightsOver(this.rights, resolution.components, resolution.node), need);
  }

  #readable(operation: string, path: string, need: number): FileNode {
    const target = this.#authorize(operation, path, isStdStream(path) ? Right.FD_READ : need);
    if (isStdStream(target)) return this.#vfs.stream(target);
    const resolution = this.#resolve(operation, target, need);
    this.#requireReached(operation, resolution, need);
    const { node } = resolution;
    if (node === undefined) throw new VeracruzError(Code.NotFound, `${operation} ${target}: no such file`);
    if (node.kind !== 'file') throw new VeracruzError(Code.InvalidRequest, `${operation} ${target}: is a directory`);
    return node;
  }

  /**
   * The file to write (created if needed, only when `incoming` bytes would fit with it), and for a
   * created file how to remove it again should the write still be refused.
   */
  #writable(operation: string, path: string, need: number, incoming: number): { node: FileNode; undo?: () => void } {
    if (isStdStream(path)) {
      this.#authorize(operation, path, Right.FD_WRITE);
      return { node: this.#vfs.stream(path) };
    }
    const target = this.#authorize(operation, path, 0);
    const resolution = this.#resolve(operation, target, need, true);
    const { node, components } = resolution;
    // A new file also needs PATH_CREATE_FILE, on the path named and where a link led.
    const full = node === undefined ? need | Right.PATH_CREATE_FILE : need;
    this.#authorize(operation, target, full);
    this.#requireReached(operation, resolution, full);
    if (node !== undefined) {
      if (node.kind !== 'file') throw new VeracruzError(Code.InvalidRequest, `${operation} ${target}: is a directory`);
      return { node };
    }
    const name = components[components.length - 1];
    if (name === undefined || resolution.directoryOnly) throw new VeracruzError(Code.InvalidRequest, `${operation} ${target}: is a directory`);
    const parents = components.slice(0, -1);
    const missing = components.slice(resolution.missingFrom ?? parents.length);
    // Directories made for this write: a write refused in the end leaves none of them behind.
    const created: CreatedDirectory[] = [];
    return this.#withinQuota(operation, target, () => {
      // A write that cannot fit must not leave an empty new file behind.
      this.#vfs.quota.check(missing.reduce((sum, part) => sum + NODE_BYTES + byteLength(part), 0) + incoming);
      const parent: DirectoryNode = resolution.parent ?? this.#vfs.makeDirectories(parents, created);
      const file = this.#vfs.newFile();
      this.#vfs.insert(parent, name, file);
      const undo = (): void => {
        // The budget is shared with running programs: space checked above may be gone by the write.
        if (parent.entries.get(name) === file) this.#vfs.remove(parent, name);
        this.#vfs.removeCreated(created);
      };
      return { node: file, undo };
    }, () => this.#vfs.removeCreated(created));
  }

  /** Runs `change`; a refusal by the memory budget becomes LimitExceeded (after `undo`), naming the budget. */
  #withinQuota<T>(operation: string, path: string, change: () => T, undo?: () => void): T {
    try {
      return checkedSealedData(operation, path, change);
    } catch (reason) {
      if (reason instanceof FsFailure && reason.errno === Errno.NOSPC) {
        undo?.();
        const why = reason instanceof BudgetExceeded ? reason.sentence : `the file system is full (${this.#vfs.quota.limit} bytes)`;
        throw new VeracruzError(Code.LimitExceeded, `${operation} ${normalizePath(path)}: ${why}`, { cause: reason });
      }
      throw reason;
    }
  }

  #serve(operation: string, path: string, node: FileNode, data: Uint8Array): void {
    try {
      // A service refused by the memory budget is a limit, as for any write.
      this.#withinQuota(operation, path, () => this.#vfs.writeNode(node, 0, data, this.rights));
    } catch (reason) {
      if (reason instanceof FsFailure && reason.errno === Errno.CANCELED) {
        throw new VeracruzError(Code.InvalidRequest, `${operation} ${normalizePath(path)}: service failed: ${reason.message}`);
      }
      throw reason;
    }
  }
}

/** Runs `access`; sealed data the host forged becomes IntegrityViolation naming the file (never its contents). */
function checkedSealedData<T>(operation: string, path: string, access: () => T): T {
  try {
    return access();
  } catch (reason) {
    if (!(reason instanceof SealedDataRejected)) throw reason;
    throw new VeracruzError(Code.IntegrityViolation, `${operation} ${normalizePath(path)}: ${reason.detail}; nothing of it was used`, { cause: reason });
  }
}

/** The bytes of all `pieces`. */
function totalLength(pieces: readonly Uint8Array[]): number {
  return pieces.reduce((length, piece) => length + piece.length, 0);
}
