import type { FileRights } from '@veracruz-ts/policy';
import { Code, Right, VeracruzError, isStdStream, missingRights, normalizePath, resolveRights } from '@veracruz-ts/policy';
import { BudgetExceeded } from '../budget/memory-budget.ts';
import { Errno, FsFailure } from './errno.ts';
import type { FileNode } from './nodes.ts';
import type { VirtualFileSystem } from './file-system.ts';
import { NODE_BYTES, pathComponents } from './file-system.ts';

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
 */
export class PrincipalView {
  readonly #vfs: VirtualFileSystem;
  /** The principal's `file_rights` entries. */
  readonly rights: readonly FileRights[];

  constructor(vfs: VirtualFileSystem, rights: readonly FileRights[]) {
    this.#vfs = vfs;
    this.rights = rights;
  }

  /** Replaces the file's contents (creating it and missing parent directories), or the std stream's. */
  writeFile(path: string, data: Uint8Array): void {
    const { node, undo } = this.#writable('write', path, WRITE_NEEDS, data.length);
    if (node.service !== undefined) {
      this.#serve('write', path, node, data);
      return;
    }
    this.#withinQuota('write', path, () => node.data.replace(data), undo);
  }

  /** Appends to the file (creating it and missing parent directories), or to the std stream. */
  appendFile(path: string, data: Uint8Array): void {
    const { node, undo } = this.#writable('append', path, APPEND_NEEDS, data.length);
    if (node.service !== undefined) {
      this.#serve('append', path, node, data);
      return;
    }
    this.#withinQuota('append', path, () => node.data.append(data), undo);
  }

  /** The whole file (or std stream). */
  readFile(path: string): Uint8Array {
    return this.#readable('read', path, READ_NEEDS).data.toBytes();
  }

  /** The file's (or std stream's) size in bytes. */
  fileSize(path: string): number {
    return this.#readable('read', path, READ_NEEDS).data.size;
  }

  /** Up to `length` bytes of the file starting at `offset` (fewer at its end), for streaming large files. */
  readRange(path: string, offset: number, length: number): Uint8Array {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new VeracruzError(Code.InvalidRequest, `read ${path}: offset and length must be non-negative integers`);
    }
    return this.#readable('read', path, READ_NEEDS).data.read(offset, length);
  }

  /** A program binary, for execution: needs FD_EXECUTE and FD_SEEK (and PATH_OPEN) on its path. */
  readExecutable(path: string): Uint8Array {
    return this.#readable('execute', path, EXECUTE_NEEDS).data.toBytes();
  }

  /**
   * Whether the path exists for this principal (a pipeline `if`): no right covering the path, or no
   * PATH_OPEN, is an error (PermissionDenied); any other failure is `false`.
   */
  exists(path: string): boolean {
    const target = this.#authorize('stat', path, Right.PATH_OPEN);
    if (isStdStream(target)) return true;
    try {
      return this.#vfs.lookup(pathComponents(target)) !== undefined;
    } catch {
      return false;
    }
  }

  /** Checks rights; returns the normalized path. */
  #authorize(operation: string, path: string, need: number): string {
    const target = normalizePath(path);
    const resolved = resolveRights(this.rights, target);
    if (resolved === undefined) {
      throw new VeracruzError(Code.PermissionDenied, `${operation} ${target}: no right covers this path`);
    }
    const missing = missingRights(resolved.rights, need);
    if (missing.length > 0) {
      throw new VeracruzError(Code.PermissionDenied, `${operation} ${target}: missing ${missing.join(', ')}`);
    }
    return target;
  }

  #readable(operation: string, path: string, need: number): FileNode {
    const target = this.#authorize(operation, path, isStdStream(path) ? Right.FD_READ : need);
    if (isStdStream(target)) return this.#vfs.stream(target);
    let node;
    try {
      node = this.#vfs.lookup(pathComponents(target));
    } catch {
      throw new VeracruzError(Code.NotFound, `${operation} ${target}: a parent is not a directory`);
    }
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
    const target = normalizePath(path);
    const components = pathComponents(target);
    let node;
    try {
      node = this.#vfs.lookup(components);
    } catch {
      this.#authorize(operation, target, need);
      throw new VeracruzError(Code.NotFound, `${operation} ${target}: a parent is not a directory`);
    }
    this.#authorize(operation, target, node === undefined ? need | Right.PATH_CREATE_FILE : need);
    if (node !== undefined) {
      if (node.kind !== 'file') throw new VeracruzError(Code.InvalidRequest, `${operation} ${target}: is a directory`);
      return { node };
    }
    const name = components.pop();
    if (name === undefined) throw new VeracruzError(Code.InvalidRequest, `${operation} ${target}: is a directory`);
    return this.#withinQuota(operation, target, () => {
      // A write that cannot fit must not leave an empty new file behind.
      this.#vfs.quota.check(NODE_BYTES * (components.length + 1) + incoming);
      let parent;
      try {
        parent = this.#vfs.makeDirectories(components);
      } catch (reason) {
        if (reason instanceof FsFailure && reason.errno === Errno.NOTDIR) {
          throw new VeracruzError(Code.NotFound, `${operation} ${target}: a parent is not a directory`);
        }
        throw reason;
      }
      const created = this.#vfs.newFile();
      parent.entries.set(name, created);
      const undo = (): void => {
        // The budget is shared with running programs: space checked above may be gone by the write.
        if (parent.entries.get(name) !== created) return;
        parent.entries.delete(name);
        this.#vfs.releaseNode(created);
      };
      return { node: created, undo };
    });
  }

  /** Runs `change`; a refusal by the memory budget becomes LimitExceeded (after `undo`), naming the budget. */
  #withinQuota<T>(operation: string, path: string, change: () => T, undo?: () => void): T {
    try {
      return change();
    } catch (reason) {
      if (reason instanceof FsFailure && reason.errno === Errno.NOSPC) {
        undo?.();
        const why = reason instanceof BudgetExceeded ? reason.sentence : `the file system is full (${this.#vfs.quota.limit} bytes)`;
        throw new VeracruzError(Code.LimitExceeded, `${operation} ${normalizePath(path)}: ${why}`);
      }
      throw reason;
    }
  }

  #serve(operation: string, path: string, node: FileNode, data: Uint8Array): void {
    try {
      this.#vfs.writeNode(node, 0, data, this.rights);
    } catch (reason) {
      if (reason instanceof FsFailure && reason.errno === Errno.CANCELED) {
        throw new VeracruzError(Code.InvalidRequest, `${operation} ${normalizePath(path)}: service failed: ${reason.message}`);
      }
      throw reason;
    }
  }
}
