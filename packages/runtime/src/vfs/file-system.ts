import type { FileRights, StdStream } from '@veracruz-ts/policy';
import { VeracruzError } from '@veracruz-ts/core';
import { normalizePath, resolveRights } from '@veracruz-ts/policy';
import { totalmem } from 'node:os';
import { BudgetExceeded, MemoryBudget } from '../budget/memory-budget.ts';
import { ChunkedData } from './chunked-data.ts';
import { StorageQuota } from './storage-quota.ts';
import { SealedDataRejected } from './sealed-store.ts';
import type { SlabPager } from './slab-pager.ts';
import { Errno, FsFailure } from './errno.ts';
import type { DirectoryNode, FileNode, LinkableNode, NodeTimes, SymlinkNode, VfsNode } from './nodes.ts';
import { DEFAULT_FILE_TIME } from './nodes.ts';
import type { Resolution, ResolveOptions } from './path-resolution.ts';
import { MAX_PATH_BYTES, byteLength, nameTooLong, resolvePath } from './path-resolution.ts';
import { PrincipalView } from './principal-view.ts';
import { type CreatedDirectory, type FileTree, joinComponents, NODE_BYTES } from './file-tree.ts';

export { type CreatedDirectory, joinComponents, NODE_BYTES } from './file-tree.ts';
import type { ServiceSpec } from '../services/native-service.ts';
import { createService } from '../services/registry.ts';

/** Options of a {@link VirtualFileSystem}. */
export interface VirtualFileSystemOptions {
  /** Native services to mount at their special files (from the policy's `native_modules`). @default [] */
  services?: readonly ServiceSpec[];
  /**
   * The memory budget files draw on, shared with whatever else the isolate holds (the isolate passes
   * the policy's). Writes beyond it fail with ENOSPC (programs) or LimitExceeded (host requests).
   * @default a budget of `maxBytes`
   */
  budget?: MemoryBudget;
  /**
   * Most bytes all files together (std streams included) may hold, when no `budget` is given.
   * @default three quarters of the machine's memory
   */
  maxBytes?: number;
  /**
   * Sealed storage: file contents the budget cannot hold (or above the pager's resident limit) are
   * sealed out to the host instead of refused. @default none: every file lives in memory
   */
  pager?: SlabPager;
}

/**
 * Most names one file may have (POSIX LINK_MAX; more is EMLINK). Bounds the work of checking a
 * hard-linked file's rights, which looks at every one of its names.
 */
export const MAX_LINKS = 1024;

function defaultTimes(): NodeTimes {
  return { accessed: DEFAULT_FILE_TIME, modified: DEFAULT_FILE_TIME, changed: DEFAULT_FILE_TIME };
}

/** Splits a normalized absolute path into its components (`/` gives none). */
export function pathComponents(path: string): string[] {
  return normalizePath(path).split('/').filter((part) => part !== '');
}

/**
 * The in-memory file tree shared by every principal of a runtime (identities, programs, pipelines),
 * plus the three standard streams, which live outside the tree as in Veracruz. Rights are not
 * checked here: each principal reaches the tree through its own {@link PrincipalView} (host side)
 * or descriptor table (programs), built from its policy rights.
 */
export class VirtualFileSystem implements FileTree {
  /** The root directory. */
  readonly root: DirectoryNode;
  readonly #streams: Record<StdStream, FileNode>;
  #nextInode = 3;
  /** The memory budget of the computation this tree belongs to. */
  readonly budget: MemoryBudget;
  /** The files' account of the budget (contents and NODE_BYTES per name). */
  readonly quota: StorageQuota;

  constructor(options: VirtualFileSystemOptions = {}) {
    // Without an isolate around it (vc-fee, tests) nothing serves principals: no serving reserve.
    this.budget = options.budget ?? new MemoryBudget(options.maxBytes ?? Math.floor(totalmem() * 0.75), 0);
    const pager = options.pager;
    this.quota = new StorageQuota(this.budget, 'files', pager);
    if (pager !== undefined) this.budget.relieve = (bytes, resource) => pager.makeRoom(this.budget, bytes, resource);
    this.root = { kind: 'directory', inode: 2, entries: new Map(), times: defaultTimes(), nameBytes: 0 };
    // Each stream has an account of its own, so that a refusal names it ("stdout"), not "files".
    this.#streams = {
      stdin: this.newFile(new StorageQuota(this.budget, 'stdin', pager)),
      stdout: this.newFile(new StorageQuota(this.budget, 'stdout', pager)),
      stderr: this.newFile(new StorageQuota(this.budget, 'stderr', pager)),
    };
    const serviceQuota = new StorageQuota(this.budget, 'files');
    for (const spec of options.services ?? []) {
      const components = pathComponents(spec.specialFile);
      const name = components.pop();
      if (name === undefined) throw new FsFailure(Errno.INVAL, `service ${spec.name}: special file is the root`);
      const parent = this.makeDirectories(components);
      // A request collects in memory until it parses: never sealed out, so the budget bounds it.
      const node = this.newFile(serviceQuota);
      node.service = createService(spec.name);
      this.insert(parent, name, node);
    }
  }

  /** A view of the tree with one principal's rights (`file_rights` entries of the policy). */
  view(rights: readonly FileRights[]): PrincipalView {
    return new PrincipalView(this, rights);
  }

  /** The node of a standard stream. */
  stream(name: StdStream): FileNode {
    return this.#streams[name];
  }

  /**
   * A new detached empty file with one name to come (`nlink` 1: the caller puts it in a directory,
   * with {@link insert}); counts NODE_BYTES against the files' quota.
   */
  newFile(account: StorageQuota = this.quota): FileNode {
    this.quota.reserve(NODE_BYTES);
    return { kind: 'file', inode: this.#nextInode++, data: new ChunkedData(account), times: defaultTimes(), nlink: 1, open: 0, nameBytes: 0 };
  }

  /** A new detached empty directory; counts NODE_BYTES against the quota. */
  newDirectory(): DirectoryNode {
    this.quota.reserve(NODE_BYTES);
    return { kind: 'directory', inode: this.#nextInode++, entries: new Map(), times: defaultTimes(), nameBytes: 0 };
  }

  /**
   * A new detached symbolic link to `target` (a relative path; callers refuse absolute ones);
   * counts NODE_BYTES plus the target's bytes against the quota.
   */
  newSymlink(target: string): SymlinkNode {
    const bytes = byteLength(target);
    if (bytes > MAX_PATH_BYTES) throw new FsFailure(Errno.NAMETOOLONG, 'link target');
    this.quota.reserve(NODE_BYTES + bytes);
    return { kind: 'symlink', inode: this.#nextInode++, target, times: defaultTimes(), nlink: 1, nameBytes: 0 };
  }

  /**
   * Puts a new node (just made by {@link newFile}, {@link newDirectory} or {@link newSymlink}) into
   * `parent` as `name`, which must be free, counting the name's bytes. A name over 255 bytes
   * (ENAMETOOLONG) or one the budget cannot hold (ENOSPC) leaves the node out and returns its bytes.
   */
  insert(parent: DirectoryNode, name: string, node: VfsNode): void {
    try {
      if (nameTooLong(name)) throw new FsFailure(Errno.NAMETOOLONG, 'name');
      this.quota.reserve(byteLength(name));
    } catch (reason) {
      this.#drop(node);
      throw reason;
    }
    this.#attach(parent, name, node);
  }

  /** Enters `node` into `parent` as `name` (whose bytes the caller has reserved). */
  #attach(parent: DirectoryNode, name: string, node: VfsNode): void {
    parent.entries.set(name, node);
    node.nameBytes += byteLength(name);
    if (node.kind === 'directory') {
      node.parent = parent;
      node.name = name;
    } else if (node.names !== undefined) {
      addName(node, parent, name);
    }
  }

  /** Returns the bytes of a new node that never got its name. */
  #drop(node: VfsNode): void {
    if (node.kind === 'directory') {
      this.quota.release(NODE_BYTES);
      return;
    }
    node.nlink = 0;
    this.#releaseIfGone(node);
  }

  /**
   * Gives `node`, now named `sourceName` in `sourceParent`, a further name `name` in `parent`
   * (a hard link; `name` must be free). The name's NODE_BYTES and bytes are reserved before anything changes.
   */
  link(node: LinkableNode, sourceParent: DirectoryNode, sourceName: string, parent: DirectoryNode, name: string): void {
    if (node.nlink >= MAX_LINKS) throw new FsFailure(Errno.MLINK, 'too many links');
    if (nameTooLong(name)) throw new FsFailure(Errno.NAMETOOLONG, 'name');
    this.quota.reserve(NODE_BYTES + byteLength(name));
    if (node.names === undefined) {
      node.names = new Map();
      addName(node, sourceParent, sourceName);
    }
    node.nlink++;
    this.#attach(parent, name, node);
  }

  /**
   * Removes the entry `name` from `parent` and returns the node it named (undefined if none), with
   * the name's bytes. A file or link loses one name (and, if it had others, that name's
   * NODE_BYTES); one left without a name is gone, its bytes returned, once no descriptor has it open
   * either (see {@link closed}). A directory leaves the tree with whatever it still holds.
   */
  remove(parent: DirectoryNode, name: string): VfsNode | undefined {
    const node = parent.entries.get(name);
    if (node === undefined) return undefined;
    this.#unname(parent, name, node);
    if (node.kind === 'directory') {
      // Programs remove only empty directories; anything else would otherwise stay counted for good.
      const pending: DirectoryNode[] = [node];
      for (let directory = pending.pop(); directory !== undefined; directory = pending.pop()) {
        for (const [childName, child] of directory.entries) {
          this.#unname(directory, childName, child);
          if (child.kind === 'directory') pending.push(child);
        }
      }
    }
    return node;
  }

  /** Takes the entry `name` (naming `node`) out of `parent`, returning what it counted. */
  #unname(parent: DirectoryNode, name: string, node: VfsNode): void {
    parent.entries.delete(name);
    this.#releaseName(node, name);
    if (node.kind === 'directory') {
      node.parent = undefined;
      node.name = undefined;
      this.quota.release(NODE_BYTES);
      return;
    }
    if (node.names !== undefined) removeName(node, parent, name);
    node.nlink = Math.max(0, node.nlink - 1);
    if (node.nlink > 0) this.quota.release(NODE_BYTES);
    else this.#releaseIfGone(node);
  }

  /**
   * Renames entry `fromName` of `fromParent` to `toName` in `toParent`, replacing what `toName` named
   * (the caller checked that it may). A longer name's extra bytes are reserved before anything changes.
   */
  move(fromParent: DirectoryNode, fromName: string, toParent: DirectoryNode, toName: string): void {
    const node = fromParent.entries.get(fromName);
    // The same name, or another name of the same file: nothing to do (POSIX).
    if (node === undefined || toParent.entries.get(toName) === node) return;
    if (nameTooLong(toName)) throw new FsFailure(Errno.NAMETOOLONG, 'name');
    // The old name's bytes pay for the new name; only the difference is reserved or returned.
    const charged = Math.min(byteLength(fromName), node.nameBytes);
    const growth = byteLength(toName) - charged;
    if (growth > 0) this.quota.reserve(growth);
    if (toParent.entries.has(toName)) this.remove(toParent, toName);
    fromParent.entries.delete(fromName);
    if (node.kind !== 'directory' && node.names !== undefined) removeName(node, fromParent, fromName);
    node.nameBytes -= charged;
    this.#attach(toParent, toName, node);
    if (growth < 0) this.quota.release(-growth);
  }

  /** Returns the bytes counted for one of `node`'s names, `name` (none for a name that was never counted). */
  #releaseName(node: VfsNode, name: string): void {
    const bytes = Math.min(byteLength(name), node.nameBytes);
    node.nameBytes -= bytes;
    this.quota.release(bytes);
  }

  /** A program's descriptor opened `file`: it stays (and counts) while open, even without a name. */
  opened(file: FileNode): void {
    file.open++;
  }

  /**
   * A program's descriptor on `file` was closed (by the program, by `fd_renumber`, or when its run
   * ended). A file left without a name and without a descriptor (unlinked, or anonymous from
   * `fd_create`) is gone: its NODE_BYTES and contents go back to the budget.
   */
  closed(file: FileNode): void {
    if (file.open <= 0) throw new Error('internal: a file closed more often than it was opened');
    file.open--;
    this.#releaseIfGone(file);
  }

  /** Returns everything a file or link counts once it has no name (and, for a file, no descriptor). */
  #releaseIfGone(node: LinkableNode): void {
    if (node.nlink > 0 || (node.kind === 'file' && node.open > 0)) return;
    if (node.kind === 'file') node.data.discard();
    this.quota.release(node.kind === 'symlink' ? NODE_BYTES + byteLength(node.target) : NODE_BYTES);
  }

  /**
   * The node at `components`, or undefined if absent; ENOTDIR if a file or symbolic link is
   * crossed on the way. Structural: links are not followed (see {@link resolve}).
   */
  lookup(components: readonly string[]): VfsNode | undefined {
    let node: VfsNode = this.root;
    for (const name of components) {
      if (node.kind !== 'directory') throw new FsFailure(Errno.NOTDIR, joinComponents(components));
      const next: VfsNode | undefined = node.entries.get(name);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  /** Resolves a relative path, following symbolic links within `options.root` (see {@link resolvePath}). */
  resolve(options: ResolveOptions, path: string): Resolution {
    return resolvePath(this.root, options, path);
  }

  /** The absolute components of a directory in the tree, or undefined once it has been removed. */
  pathOf(directory: DirectoryNode): string[] | undefined {
    const names: string[] = [];
    let node = directory;
    while (node !== this.root) {
      if (node.parent === undefined || node.name === undefined) return undefined;
      names.push(node.name);
      node = node.parent;
    }
    return names.reverse();
  }

  /**
   * The rights a principal's `rights` entries grant over `node`, reached at `components`: the
   * longest entry covering the path, and, for a node with several names (hard links), only what
   * they grant on every one of its names. Rights are per path while a hard link gives one file
   * several paths, possibly under different entries of some principal's policy; intersecting
   * means that no name, whoever made it, lets anyone reach a file with more than each of its names grants.
   */
  rightsOver(rights: readonly FileRights[], components: readonly string[], node: VfsNode | undefined): number {
    let granted = resolveRights(rights, joinComponents(components))?.rights ?? 0;
    if (node === undefined || node.kind === 'directory' || node.names === undefined) return granted;
    for (const [directory, names] of node.names) {
      const base = this.pathOf(directory);
      if (base === undefined) continue;
      for (const name of names) granted &= resolveRights(rights, joinComponents([...base, name]))?.rights ?? 0;
    }
    return granted;
  }

  /**
   * The directory at `components`, creating missing directories on the way (mkdir -p), all or
   * nothing: if one cannot be created, those it created are removed again. The directories it
   * created are added to `created` (in order), for a caller that may have to undo them later
   * ({@link removeCreated}).
   */
  makeDirectories(components: readonly string[], created?: CreatedDirectory[]): DirectoryNode {
    const made: CreatedDirectory[] = [];
    let node: DirectoryNode = this.root;
    try {
      for (const name of components) {
        const next = node.entries.get(name);
        if (next === undefined) {
          const directory = this.newDirectory();
          this.insert(node, name, directory);
          made.push({ parent: node, name, directory });
          node = directory;
        } else if (next.kind === 'directory') {
          node = next;
        } else {
          throw new FsFailure(Errno.NOTDIR, joinComponents(components));
        }
      }
    } catch (reason) {
      this.removeCreated(made);
      throw reason;
    }
    created?.push(...made);
    return node;
  }

  /** Removes directories {@link makeDirectories} created, deepest first, where they are still there and empty. */
  removeCreated(created: readonly CreatedDirectory[]): void {
    for (let index = created.length - 1; index >= 0; index--) {
      const { parent, name, directory } = created[index] as CreatedDirectory;
      if (parent.entries.get(name) === directory && directory.entries.size === 0) this.remove(parent, name);
    }
  }

  /**
   * Writes `data` to a file node at `offset`. For a service's special file the bytes collect until
   * they form a complete request, which is then served with `writer`'s rights and cleared. A service
   * that the memory budget refuses fails with that refusal (ENOSPC, BudgetExceeded), so that the
   * writer learns its outputs may be short, as from any refused write; other failures are ECANCELED.
   */
  writeNode(node: FileNode, offset: number, data: Uint8Array, writer: readonly FileRights[]): void {
    const service = node.service;
    if (service === undefined) {
      node.data.write(offset, data);
      return;
    }
    node.data.append(data);
    let request: unknown;
    try {
      request = service.parse(node.data.toBytes());
    } catch {
      node.data.truncate(0);
      throw new FsFailure(Errno.CANCELED, `${service.name}: malformed request`);
    }
    if (request === undefined) return;
    node.data.truncate(0);
    try {
      service.serve(request, this.view(writer));
    } catch (reason) {
      const refusal = reason instanceof VeracruzError ? reason.cause : reason;
      if (refusal instanceof BudgetExceeded) throw refusal;
      // Forged sealed data of a file the service read: the writer's run must end as a violation.
      if (refusal instanceof SealedDataRejected) throw reason instanceof VeracruzError ? new SealedDataRejected(reason.rawMessage) : refusal;
      throw new FsFailure(Errno.CANCELED, `${service.name}: ${reason instanceof Error ? reason.message : String(reason)}`);
    }
  }
}

function addName(node: LinkableNode, directory: DirectoryNode, name: string): void {
  const names = node.names?.get(directory);
  if (names !== undefined) names.add(name);
  else node.names?.set(directory, new Set([name]));
}

function removeName(node: LinkableNode, directory: DirectoryNode, name: string): void {
  const names = node.names?.get(directory);
  names?.delete(name);
  if (names?.size === 0) node.names?.delete(directory);
}
