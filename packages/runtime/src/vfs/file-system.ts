import type { FileRights, StdStream } from '@veracruz-ts/policy';
import { normalizePath } from '@veracruz-ts/policy';
import { totalmem } from 'node:os';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { ChunkedData } from './chunked-data.ts';
import { StorageQuota } from './storage-quota.ts';
import { Errno, FsFailure } from './errno.ts';
import type { DirectoryNode, FileNode, NodeTimes, VfsNode } from './nodes.ts';
import { PrincipalView } from './principal-view.ts';
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
}

/**
 * What each file or directory counts against the byte budget besides its contents, so that a
 * program creating names without end also meets the budget.
 */
export const NODE_BYTES = 256;

function zeroTimes(): NodeTimes {
  return { accessed: 0n, modified: 0n, changed: 0n };
}

/** Splits a normalized absolute path into its components (`/` gives none). */
export function pathComponents(path: string): string[] {
  return normalizePath(path).split('/').filter((part) => part !== '');
}

/** The absolute path of a component list. */
export function joinComponents(components: readonly string[]): string {
  return `/${components.join('/')}`;
}

/**
 * The in-memory file tree shared by every principal of a runtime (identities, programs, pipelines),
 * plus the three standard streams, which live outside the tree as in Veracruz. Rights are not
 * checked here: each principal reaches the tree through its own {@link PrincipalView} (host side)
 * or descriptor table (programs), built from its policy rights.
 */
export class VirtualFileSystem {
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
    this.quota = new StorageQuota(this.budget, 'files');
    this.root = { kind: 'directory', inode: 2, entries: new Map(), times: zeroTimes() };
    // Each stream has an account of its own, so that a refusal names it ("stdout"), not "files".
    this.#streams = {
      stdin: this.newFile(new StorageQuota(this.budget, 'stdin')),
      stdout: this.newFile(new StorageQuota(this.budget, 'stdout')),
      stderr: this.newFile(new StorageQuota(this.budget, 'stderr')),
    };
    for (const spec of options.services ?? []) {
      const components = pathComponents(spec.specialFile);
      const name = components.pop();
      if (name === undefined) throw new FsFailure(Errno.INVAL, `service ${spec.name}: special file is the root`);
      const parent = this.makeDirectories(components);
      const node = this.newFile();
      node.service = createService(spec.name);
      parent.entries.set(name, node);
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

  /** A new detached empty file (not yet linked into the tree); counts NODE_BYTES against the files' quota. */
  newFile(account: StorageQuota = this.quota): FileNode {
    this.quota.reserve(NODE_BYTES);
    return { kind: 'file', inode: this.#nextInode++, data: new ChunkedData(account), times: zeroTimes() };
  }

  /** A new detached empty directory; counts NODE_BYTES against the quota. */
  newDirectory(): DirectoryNode {
    this.quota.reserve(NODE_BYTES);
    return { kind: 'directory', inode: this.#nextInode++, entries: new Map(), times: zeroTimes() };
  }

  /** A node left the tree (unlinked, removed, replaced, or an anonymous file closed): returns its bytes. */
  releaseNode(node: VfsNode): void {
    if (node.kind === 'file') node.data.detach();
    this.quota.release(NODE_BYTES);
  }

  /** The node at `components`, or undefined if absent; ENOTDIR if a file is crossed on the way. */
  lookup(components: readonly string[]): VfsNode | undefined {
    let node: VfsNode = this.root;
    for (const name of components) {
      if (node.kind !== 'directory') throw new FsFailure(Errno.NOTDIR, joinComponents(components));
      const next = node.entries.get(name);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  /** The directory at `components`, creating missing directories on the way (mkdir -p). */
  makeDirectories(components: readonly string[]): DirectoryNode {
    let node: DirectoryNode = this.root;
    for (const name of components) {
      const next = node.entries.get(name);
      if (next === undefined) {
        const created = this.newDirectory();
        node.entries.set(name, created);
        node = created;
      } else if (next.kind === 'directory') {
        node = next;
      } else {
        throw new FsFailure(Errno.NOTDIR, joinComponents(components));
      }
    }
    return node;
  }

  /**
   * Writes `data` to a file node at `offset`. For a service's special file the bytes collect until
   * they form a complete request, which is then served with `writer`'s rights and cleared.
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
      throw new FsFailure(Errno.CANCELED, `${service.name}: ${reason instanceof Error ? reason.message : String(reason)}`);
    }
  }
}
