import { randomInt } from 'node:crypto';
import type { FileRights } from '@veracruz-ts/policy';
import { Errno } from '../vfs/errno.ts';
import type { VirtualFileSystem } from '../vfs/file-system.ts';
import type { DirectoryNode, FileNode } from '../vfs/nodes.ts';
import type { Descriptor, OpenDirectory, OpenFile, OpenStream } from './descriptors.ts';
import { DescriptorTable } from './descriptors.ts';
import { fail } from './fail.ts';
import { GuestMemory } from './guest-memory.ts';
import type { ProgramKey } from './program-keys.ts';
import type { ProgramAbi, StreamHooks, WasiProcessOptions } from './process-options.ts';

const encoder = new TextEncoder();

/**
 * What the system calls of one running program act on: the shared VFS, the program's rights and
 * descriptor table, its memory, its arguments and environment. Every handler receives it first;
 * the checks that every family repeats (is `fd` open, of the right type, with the rights?) live here.
 */
export class ProcessContext {
  /** The shared file system every principal's programs see. */
  readonly vfs: VirtualFileSystem;
  /** The rights the program runs with. */
  readonly rights: readonly FileRights[];
  /** The program's open descriptors. */
  readonly table: DescriptorTable;
  /** The program's linear memory, once attached. */
  readonly memory = new GuestMemory();
  /** argv, each NUL-terminated, ready to copy into memory. */
  readonly args: Uint8Array[];
  /** The environment as `KEY=value`, each NUL-terminated. */
  readonly env: Uint8Array[];
  /** Whether the clocks may be read (policy `enable_clock`). */
  readonly enableClock: boolean;
  /** Live standard streams, where they replace the VFS stream files. */
  readonly streams: StreamHooks;
  /** The computation (`veracruz_v1`), when the program runs in one. */
  readonly abi: ProgramAbi | undefined;
  /** The keys this run made (`veracruz_crypto_v1`), by handle; gone with the run. */
  readonly keys = new Map<number, ProgramKey>();
  /**
   * The handle the next key gets: handles count up from a random start, so a run never gives one out
   * twice and another run's handles name nothing here (but by a chance of about one in a million).
   */
  nextKey = randomInt(1, 2 ** 30);
  /** Set once the program called proc_exit. */
  exitCode: number | undefined;
  /** Set once the run is over (see WasiProcess.close): a call that waited then ends ECANCELED. */
  ended = false;

  constructor(options: WasiProcessOptions) {
    this.vfs = options.vfs;
    this.rights = options.rights;
    this.table = new DescriptorTable(options.vfs, options.rights);
    this.args = options.args.map((arg) => encoder.encode(`${arg}\0`));
    this.env = Object.entries(options.env).map(([key, value]) => encoder.encode(`${key}=${value}\0`));
    this.enableClock = options.enableClock;
    this.streams = options.streams ?? {};
    this.abi = options.abi;
  }

  /** The open descriptor `fd` holding `need`: EBADF if not open, ENOTCAPABLE without the rights. */
  descriptor(fd: number, need: number): Descriptor {
    const descriptor = this.table.get(fd);
    if (descriptor === undefined) fail(Errno.BADF);
    if ((descriptor.rightsBase & need) !== need) fail(Errno.NOTCAPABLE);
    return descriptor;
  }

  /** A file or stream descriptor: a directory is EBADF, as wasmtime answers for file operations on one. */
  file(fd: number, need: number): OpenFile | OpenStream {
    const descriptor = this.table.get(fd);
    if (descriptor === undefined || descriptor.type === 'directory') fail(Errno.BADF);
    if ((descriptor.rightsBase & need) !== need) fail(Errno.NOTCAPABLE);
    return descriptor;
  }

  /** A directory descriptor: ENOTDIR for any other. */
  directory(fd: number, need: number): OpenDirectory {
    const descriptor = this.table.get(fd);
    if (descriptor === undefined) fail(Errno.BADF);
    if (descriptor.type !== 'directory') fail(Errno.NOTDIR);
    if ((descriptor.rightsBase & need) !== need) fail(Errno.NOTCAPABLE);
    return descriptor;
  }

  /** The directory an open directory descriptor names now (looked up by path, see OpenDirectory). */
  openDirectoryNode(directory: OpenDirectory): DirectoryNode {
    const node = this.vfs.lookup(directory.components);
    if (node === undefined) fail(Errno.NOENT);
    if (node.kind !== 'directory') fail(Errno.NOTDIR);
    return node;
  }

  /** The VFS file behind a standard stream descriptor. */
  streamNode(descriptor: OpenStream): FileNode {
    return this.vfs.stream(descriptor.stream);
  }

  /** Installs a file descriptor, counting it on its file (see VirtualFileSystem.opened); EMFILE when the table is full. */
  addFile(descriptor: OpenFile): number {
    this.vfs.opened(descriptor.node);
    try {
      return this.table.add(descriptor);
    } catch (reason) {
      this.vfs.closed(descriptor.node);
      throw reason;
    }
  }

  /** What closing a descriptor does besides forgetting it. */
  closed(descriptor: Descriptor): void {
    if (descriptor.type !== 'file') return;
    // Veracruz: closing a service file discards a partial request.
    if (descriptor.node.service !== undefined) descriptor.node.data.truncate(0);
    // An anonymous (fd_create) or unlinked file is gone with its last descriptor: its bytes return.
    this.vfs.closed(descriptor.node);
  }
}
