import type { FileRights, StdStream } from '@veracruz-ts/policy';
import { STD_STREAMS, isStdStream, normalizePath } from '@veracruz-ts/policy';
import { Errno, FsFailure } from '../vfs/errno.ts';
import type { VirtualFileSystem } from '../vfs/file-system.ts';
import { pathComponents } from '../vfs/file-system.ts';
import type { FileNode } from '../vfs/nodes.ts';
import type { StreamState } from '../vfs/streams.ts';

/** An open regular file (or service special file, or an anonymous `fd_create` file). */
export interface OpenFile {
  type: 'file';
  node: FileNode;
  /** Absolute path at open time ('' for an anonymous file); for messages only. */
  path: string;
  rightsBase: number;
  rightsInheriting: number;
  offset: number;
  /** WASI fdflags (APPEND, NONBLOCK, ...). */
  flags: number;
  /** The policy stream whose file this is, when it was one at open time: a read at its end waits. */
  stream?: StreamState;
}

/**
 * An open directory. Directories are resolved by path, never by node, so that a directory fd stays
 * confined to its pre-open even if something renames the tree around it.
 */
export interface OpenDirectory {
  type: 'directory';
  /** Absolute path components of this directory. */
  components: string[];
  /** Components of the pre-open this descriptor descends from: `..` may not climb above it. */
  root: string[];
  /** For a pre-open: the name `fd_prestat_dir_name` reports. */
  preopenName?: string;
  rightsBase: number;
  rightsInheriting: number;
  flags: number;
}

/** A standard stream (fd 0-2 where the principal's rights name it). */
export interface OpenStream {
  type: 'stream';
  stream: StdStream;
  rightsBase: number;
  rightsInheriting: number;
  offset: number;
  flags: number;
}

/** Any open descriptor. */
export type Descriptor = OpenFile | OpenDirectory | OpenStream;

/** Largest number of simultaneously open descriptors per program. */
export const MAX_DESCRIPTORS = 1 << 16;

/**
 * One principal's descriptor table (Veracruz's per-principal "spawn" of the file system):
 * fds 0-2 are the std streams its rights name, then one pre-opened directory per non-stream
 * rights entry (created if missing), in path order.
 */
export class DescriptorTable {
  readonly #descriptors = new Map<number, Descriptor>();

  constructor(vfs: VirtualFileSystem, rights: readonly FileRights[]) {
    STD_STREAMS.forEach((stream, fd) => {
      const entry = rights.find((candidate) => candidate.file_name === stream);
      if (entry !== undefined) {
        this.#descriptors.set(fd, { type: 'stream', stream, rightsBase: entry.rights, rightsInheriting: entry.rights, offset: 0, flags: 0 });
      }
    });
    const preopens = new Map<string, number>();
    for (const entry of rights) {
      if (isStdStream(entry.file_name)) continue;
      const path = normalizePath(entry.file_name);
      if (!preopens.has(path)) preopens.set(path, entry.rights);
    }
    let fd = 3;
    for (const [path, bits] of [...preopens].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const components = pathComponents(path);
      try {
        // Veracruz creates each pre-open directory on demand; an entry naming an existing file
        // cannot be a pre-open and is reachable through a shorter entry only.
        vfs.makeDirectories(components);
      } catch (reason) {
        if (reason instanceof FsFailure) continue;
        throw reason;
      }
      this.#descriptors.set(fd++, { type: 'directory', components, root: components, preopenName: path, rightsBase: bits, rightsInheriting: bits, flags: 0 });
    }
  }

  /** The descriptor at `fd`, or undefined. */
  get(fd: number): Descriptor | undefined {
    return this.#descriptors.get(fd);
  }

  /** Installs `descriptor` at the lowest free fd from 3 up; EMFILE when the table is full. */
  add(descriptor: Descriptor): number {
    for (let fd = 3; fd < MAX_DESCRIPTORS; fd++) {
      if (!this.#descriptors.has(fd)) {
        this.#descriptors.set(fd, descriptor);
        return fd;
      }
    }
    throw new FsFailure(Errno.MFILE, 'descriptor table full');
  }

  /** Closes `fd`; EBADF if it is not open. */
  close(fd: number): Descriptor {
    const descriptor = this.#descriptors.get(fd);
    if (descriptor === undefined) throw new FsFailure(Errno.BADF, `fd ${fd}`);
    this.#descriptors.delete(fd);
    return descriptor;
  }

  /** Closes every descriptor (the program's run is over) and returns what they were. */
  closeAll(): Descriptor[] {
    const descriptors = [...this.#descriptors.values()];
    this.#descriptors.clear();
    return descriptors;
  }

  /** Moves `from` onto `to`, closing what `to` held; EBADF unless both are open (as wasmtime). */
  renumber(from: number, to: number): void {
    const descriptor = this.#descriptors.get(from);
    if (descriptor === undefined || !this.#descriptors.has(to)) throw new FsFailure(Errno.BADF, `fd ${from} -> ${to}`);
    if (from === to) return;
    this.#descriptors.set(to, descriptor);
    this.#descriptors.delete(from);
  }
}
