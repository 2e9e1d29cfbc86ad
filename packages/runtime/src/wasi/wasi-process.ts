import { randomFillSync } from 'node:crypto';
import type { FileRights } from '@veracruz-ts/policy';
import { ALL_RIGHTS, Right, resolveRights } from '@veracruz-ts/policy';
import { BudgetExceeded } from '../budget/memory-budget.ts';
import { Errno, FsFailure, errnoName } from '../vfs/errno.ts';
import type { CreatedDirectory, VirtualFileSystem } from '../vfs/file-system.ts';
import { joinComponents } from '../vfs/file-system.ts';
import type { DirectoryNode, FileNode, VfsNode } from '../vfs/nodes.ts';
import type { Resolution } from '../vfs/path-resolution.ts';
import { MAX_PATH_BYTES, PathFailure } from '../vfs/path-resolution.ts';
import type { Descriptor, OpenDirectory, OpenFile } from './descriptors.ts';
import { DescriptorTable } from './descriptors.ts';
import { SYSTEM_CALLS } from './signatures.ts';

/** Live standard streams (vc-fee): when set, they replace the VFS std stream files. */
export interface StreamHooks {
  /** Next bytes of standard input (at most `max`), an empty array or null at end of input. */
  stdin?: (max: number) => Promise<Uint8Array | null>;
  /** Called with each chunk the program writes to fd 1. */
  stdout?: (data: Uint8Array) => void;
  /** Called with each chunk the program writes to fd 2. */
  stderr?: (data: Uint8Array) => void;
}

/** What a {@link WasiProcess} needs to know about the program it serves. */
export interface WasiProcessOptions {
  vfs: VirtualFileSystem;
  /** The rights the program runs with. */
  rights: readonly FileRights[];
  /** argv, including argv[0]. */
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /**
   * Whether the clocks may be read (policy `enable_clock`); else clock calls return EACCES as in
   * Veracruz (no WASI right governs clocks, so ENOTCAPABLE, the answer to a missing right, would misdescribe it).
   */
  enableClock: boolean;
  strace?: (line: string) => void;
  streams?: StreamHooks;
}

const FILETYPE = { UNKNOWN: 0, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4, SYMBOLIC_LINK: 7 } as const;
const LOOKUP_SYMLINK_FOLLOW = 1;
const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
const FDFLAGS = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
const FSTFLAGS = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;
const WHENCE = { SET: 0, CUR: 1, END: 2 } as const;
/** Most buffers one vectored read or write may name (POSIX IOV_MAX). */
const IOV_MAX = 1024;
/** Most subscriptions one poll_oneoff may name. */
const MAX_SUBSCRIPTIONS = 4096;
/** Largest file offset/size a program may reach (2^53 - 1 bytes). */
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;
const KNOWN_RIGHTS = BigInt(ALL_RIGHTS);
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Argument positions where a (pointer, length) path pair starts, per system call. */
const PATH_ARGUMENTS: Readonly<Record<string, readonly number[]>> = {
  path_create_directory: [1],
  path_filestat_get: [2],
  path_filestat_set_times: [2],
  path_link: [2, 5],
  path_open: [2],
  path_readlink: [1],
  path_remove_directory: [1],
  path_rename: [1, 4],
  path_symlink: [0, 3],
  path_unlink_file: [1],
};

/** A byte string as a C string literal, cut at 32 bytes (`"..."` marks the cut). */
function cString(bytes: Uint8Array): string {
  let out = '"';
  for (const byte of bytes.subarray(0, 32)) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else if (byte === 0x0a) out += '\\n';
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}"${bytes.length > 32 ? '...' : ''}`;
}

/** Thrown (through the worker) when the program called `proc_exit`. */
export interface ExitRequest {
  exitCode: number;
}

function fail(errno: number, what = ''): never {
  throw new FsFailure(errno, what);
}

/** A rights test: all of `need`. */
function has(need: number): (rights: number) => boolean {
  return (rights) => (rights & need) === need;
}

function nowNanoseconds(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/**
 * The WASI preview1 system calls of one running program, executed in the runtime's thread over the
 * shared VFS, with the program's rights checked on every call. The program's linear memory is
 * shared with this thread, so calls read and write it directly.
 */
export class WasiProcess {
  readonly #vfs: VirtualFileSystem;
  readonly #rights: readonly FileRights[];
  readonly #table: DescriptorTable;
  readonly #args: Uint8Array[];
  readonly #env: Uint8Array[];
  readonly #enableClock: boolean;
  readonly #strace: ((line: string) => void) | undefined;
  readonly #streams: StreamHooks;
  #memory: WebAssembly.Memory | undefined;
  #budgetRefusals = 0;
  #firstBudgetRefusal: BudgetExceeded | undefined;
  /** Set by {@link close}. */
  #ended = false;
  /** Set once the program called proc_exit. */
  exitCode: number | undefined;

  constructor(options: WasiProcessOptions) {
    this.#vfs = options.vfs;
    this.#rights = options.rights;
    this.#table = new DescriptorTable(options.vfs, options.rights);
    this.#args = options.args.map((arg) => encoder.encode(`${arg}\0`));
    this.#env = Object.entries(options.env).map(([key, value]) => encoder.encode(`${key}=${value}\0`));
    this.#enableClock = options.enableClock;
    this.#strace = options.strace;
    this.#streams = options.streams ?? {};
  }

  /** How many calls the memory budget refused (each answered ENOSPC). */
  get budgetRefusals(): number {
    return this.#budgetRefusals;
  }

  /** The first call the memory budget refused: what was asked for, and for which resource. */
  get firstBudgetRefusal(): BudgetExceeded | undefined {
    return this.#firstBudgetRefusal;
  }

  /**
   * The run is over (however it ended): closes every descriptor the program left open, as process
   * exit does, so that its anonymous (`fd_create`) and unlinked files return their bytes to the budget
   * and partial service requests are discarded. Call it once the program can make no more calls;
   * any call after it fails (ECANCELED).
   */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    let failure: unknown;
    for (const descriptor of this.#table.closeAll()) {
      try {
        this.#closed(descriptor);
      } catch (reason) {
        failure ??= reason;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** Attaches the program's (shared) linear memory. */
  attachMemory(memory: WebAssembly.Memory): void {
    this.#memory = memory;
  }

  /**
   * Runs system call number `call` (an index into SYSTEM_CALLS) with raw arguments (i32 as
   * unsigned numbers, i64 as bigints); returns the errno (or a promise of it for calls that wait).
   */
  dispatch(call: number, args: readonly (number | bigint)[]): number | Promise<number> {
    const entry = SYSTEM_CALLS[call];
    if (entry === undefined) return Errno.NOSYS;
    if (this.#ended) return Errno.CANCELED;
    const handler = this.#handlers[entry.name];
    let result: number | Promise<number>;
    try {
      result = handler === undefined ? Errno.NOSYS : handler(...args);
    } catch (reason) {
      if (reason instanceof BudgetExceeded) {
        this.#budgetRefusals++;
        this.#firstBudgetRefusal ??= reason;
      }
      if (reason instanceof FsFailure) result = reason.errno;
      else if (reason instanceof RangeError) result = Errno.FAULT;
      else throw reason;
    }
    if (this.#strace !== undefined) {
      const strace = this.#strace;
      const line = `${entry.name}(${this.#straceArguments(entry.name, args)})`;
      if (typeof result === 'number') strace(`${line} = ${errnoName(result)}`);
      else result.then((errno) => strace(`${line} = ${errnoName(errno)}`), () => undefined);
    }
    return result;
  }

  /** Arguments for an strace line: numbers as they are, (pointer, length) path pairs as C strings. */
  #straceArguments(name: string, args: readonly (number | bigint)[]): string {
    const pairs = PATH_ARGUMENTS[name] ?? [];
    const parts: string[] = [];
    for (let index = 0; index < args.length; index++) {
      if ((name === 'fd_write' || name === 'fd_pwrite') && index === 1) {
        // The data written, gathered from the iovecs, instead of the iovec array's address.
        let text: string;
        try {
          const buffers = this.#iovecs(args[1] as number, Math.min(args[2] as number, 64));
          const head = new Uint8Array(33);
          let filled = 0;
          for (const buffer of buffers) {
            const count = Math.min(buffer.length, head.length - filled);
            head.set(buffer.subarray(0, count), filled);
            filled += count;
          }
          text = cString(head.subarray(0, filled));
        } catch {
          text = '<bad pointer>';
        }
        parts.push(text);
        continue;
      }
      if (pairs.includes(index)) {
        let text: string;
        try {
          text = cString(this.#range(args[index] as number, args[index + 1] as number));
        } catch {
          text = '<bad pointer>';
        }
        parts.push(text);
        index++;
      } else {
        parts.push(String(args[index]));
      }
    }
    return parts.join(', ');
  }

  // ---- memory helpers ----

  #bytes(): Uint8Array {
    if (this.#memory === undefined) throw new Error('memory not attached');
    return new Uint8Array(this.#memory.buffer);
  }

  #view(): DataView {
    if (this.#memory === undefined) throw new Error('memory not attached');
    return new DataView(this.#memory.buffer);
  }

  #range(pointer: number, length: number): Uint8Array {
    const bytes = this.#bytes();
    if (pointer + length > bytes.length) fail(Errno.FAULT);
    return bytes.subarray(pointer, pointer + length);
  }

  #string(pointer: number, length: number): string {
    try {
      return decoder.decode(this.#range(pointer, length).slice());
    } catch (reason) {
      if (reason instanceof FsFailure) throw reason;
      return fail(Errno.ILSEQ);
    }
  }

  #u32(pointer: number, value: number): void {
    this.#view().setUint32(pointer, value, true);
  }

  #u64(pointer: number, value: bigint | number): void {
    this.#view().setBigUint64(pointer, BigInt(value), true);
  }

  #iovecs(pointer: number, count: number): Uint8Array[] {
    // POSIX IOV_MAX: also keeps a hostile count from building millions of views in this thread.
    if (count > IOV_MAX) fail(Errno.INVAL);
    const view = this.#view();
    const buffers: Uint8Array[] = [];
    for (let index = 0; index < count; index++) {
      const base = view.getUint32(pointer + index * 8, true);
      const length = view.getUint32(pointer + index * 8 + 4, true);
      buffers.push(this.#range(base, length));
    }
    return buffers;
  }

  // ---- descriptor helpers ----

  /** The open descriptor `fd` holding `need`: EBADF if not open, ENOTCAPABLE without the rights. */
  #descriptor(fd: number, need: number): Descriptor {
    const descriptor = this.#table.get(fd);
    if (descriptor === undefined) fail(Errno.BADF);
    if ((descriptor.rightsBase & need) !== need) fail(Errno.NOTCAPABLE);
    return descriptor;
  }

  /** A file or stream descriptor: a directory is EBADF, as wasmtime answers for file operations on one. */
  #file(fd: number, need: number): OpenFile | Extract<Descriptor, { type: 'stream' }> {
    const descriptor = this.#table.get(fd);
    if (descriptor === undefined || descriptor.type === 'directory') fail(Errno.BADF);
    if ((descriptor.rightsBase & need) !== need) fail(Errno.NOTCAPABLE);
    return descriptor;
  }

  #directory(fd: number, need: number): OpenDirectory {
    const descriptor = this.#table.get(fd);
    if (descriptor === undefined) fail(Errno.BADF);
    if (descriptor.type !== 'directory') fail(Errno.NOTDIR);
    if ((descriptor.rightsBase & need) !== need) fail(Errno.NOTCAPABLE);
    return descriptor;
  }

  /** A path argument: UTF-8 (else EILSEQ) without NUL (EINVAL, as wasmtime answers on Unix). */
  #pathString(pointer: number, length: number): string {
    // Measured before it is decoded: a hostile length costs nothing.
    if (length > MAX_PATH_BYTES) fail(Errno.NAMETOOLONG);
    const path = this.#string(pointer, length);
    if (path.includes('\0')) fail(Errno.INVAL);
    return path;
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
  #lookupPath(
    directory: OpenDirectory,
    pointer: number,
    length: number,
    options: { follow: boolean; permitted: (rights: number) => boolean; content?: boolean; missingParents?: boolean },
  ): Resolution {
    if (!options.permitted(directory.rightsBase)) fail(Errno.NOTCAPABLE);
    const path = this.#pathString(pointer, length);
    let resolution: Resolution;
    try {
      resolution = this.#vfs.resolve({ start: directory.components, root: directory.root, follow: options.follow, missingParents: options.missingParents ?? false }, path);
    } catch (reason) {
      if (reason instanceof PathFailure && !options.permitted(directory.rightsBase & this.#pathRights(reason.at))) fail(Errno.NOTCAPABLE);
      throw reason;
    }
    const granted = options.content === false ? this.#pathRights(resolution.components) : this.#vfs.rightsOver(this.#rights, resolution.components, resolution.node);
    if (!options.permitted(directory.rightsBase & granted)) fail(Errno.NOTCAPABLE);
    return resolution;
  }

  /**
   * The rights the principal's policy grants over an absolute path (longest entry). Intersected
   * with every descriptor-derived right, so that a path reached through a shorter pre-open never
   * gets more than the entry that covers it most closely.
   */
  #pathRights(components: readonly string[]): number {
    return resolveRights(this.#rights, joinComponents(components))?.rights ?? 0;
  }

  #lookup(components: readonly string[]): VfsNode | undefined {
    return this.#vfs.lookup(components);
  }

  #filestat(pointer: number, node: VfsNode | undefined, filetype: number, size: number): void {
    const view = this.#view();
    view.setBigUint64(pointer, 0n, true);
    view.setBigUint64(pointer + 8, BigInt(node?.inode ?? 0), true);
    view.setUint8(pointer + 16, filetype);
    for (let pad = 17; pad < 24; pad++) view.setUint8(pointer + pad, 0);
    // Directories answer 1, as btrfs does (they have no hard links; POSIX tools read < 2 as "unknown").
    view.setBigUint64(pointer + 24, BigInt(node === undefined || node.kind === 'directory' ? 1 : node.nlink), true);
    view.setBigUint64(pointer + 32, BigInt(size), true);
    view.setBigUint64(pointer + 40, node?.times.accessed ?? 0n, true);
    view.setBigUint64(pointer + 48, node?.times.modified ?? 0n, true);
    view.setBigUint64(pointer + 56, node?.times.changed ?? 0n, true);
  }

  #nodeStat(pointer: number, node: VfsNode): void {
    if (node.kind === 'directory') this.#filestat(pointer, node, FILETYPE.DIRECTORY, 0);
    else if (node.kind === 'symlink') this.#filestat(pointer, node, FILETYPE.SYMBOLIC_LINK, encoder.encode(node.target).length);
    else this.#filestat(pointer, node, FILETYPE.REGULAR_FILE, node.data.size);
  }

  #setTimes(node: VfsNode, accessed: bigint, modified: bigint, flags: number): void {
    if ((flags & FSTFLAGS.ATIM && flags & FSTFLAGS.ATIM_NOW) || (flags & FSTFLAGS.MTIM && flags & FSTFLAGS.MTIM_NOW)) fail(Errno.INVAL);
    // *_NOW reads the clock: refused like a clock read when the policy disables clocks.
    if ((flags & (FSTFLAGS.ATIM_NOW | FSTFLAGS.MTIM_NOW)) !== 0 && !this.#enableClock) fail(Errno.ACCES);
    const now = flags & (FSTFLAGS.ATIM_NOW | FSTFLAGS.MTIM_NOW) ? nowNanoseconds() : 0n;
    // i64 arguments arrive signed; a timestamp is a u64, stored as such so it reads back unchanged.
    if (flags & FSTFLAGS.ATIM) node.times.accessed = BigInt.asUintN(64, accessed);
    if (flags & FSTFLAGS.ATIM_NOW) node.times.accessed = now;
    if (flags & FSTFLAGS.MTIM) node.times.modified = BigInt.asUintN(64, modified);
    if (flags & FSTFLAGS.MTIM_NOW) node.times.modified = now;
  }

  #streamNode(descriptor: Extract<Descriptor, { type: 'stream' }>): FileNode {
    return this.#vfs.stream(descriptor.stream);
  }

  /** Writes gathered buffers through a descriptor at `position` (or its offset); returns bytes written. */
  #write(descriptor: OpenFile | Extract<Descriptor, { type: 'stream' }>, buffers: Uint8Array[], position: number | undefined): number {
    let total = 0;
    for (const buffer of buffers) total += buffer.length;
    if (descriptor.type === 'stream') {
      const hook = descriptor.stream === 'stdout' ? this.#streams.stdout : descriptor.stream === 'stderr' ? this.#streams.stderr : undefined;
      if (hook !== undefined) {
        for (const buffer of buffers) if (buffer.length > 0) hook(buffer.slice());
        return total;
      }
      const node = this.#streamNode(descriptor);
      const start = descriptor.stream === 'stdin' ? descriptor.offset : node.data.size;
      if (start + total > MAX_OFFSET) fail(Errno.FBIG);
      // All or nothing: the whole write is reserved at once (see ChunkedData.writeAll).
      node.data.writeAll(start, buffers);
      if (descriptor.stream === 'stdin') descriptor.offset = start + total;
      return total;
    }
    const node = descriptor.node;
    if (node.service !== undefined) {
      const request = new Uint8Array(total);
      let at = 0;
      for (const buffer of buffers) {
        request.set(buffer, at);
        at += buffer.length;
      }
      this.#vfs.writeNode(node, 0, request, this.#rights);
      if (position === undefined) descriptor.offset += total;
      return total;
    }
    const append = position === undefined && (descriptor.flags & FDFLAGS.APPEND) !== 0;
    const at = append ? node.data.size : (position ?? descriptor.offset);
    if (at + total > MAX_OFFSET) fail(Errno.FBIG);
    // All or nothing: the whole write is reserved at once, so that a write that does not fit changes
    // nothing, even when a program's memory.grow in another thread takes budget meanwhile.
    node.data.writeAll(at, buffers);
    if (position === undefined) descriptor.offset = at + total;
    return total;
  }

  #read(descriptor: OpenFile | Extract<Descriptor, { type: 'stream' }>, buffers: Uint8Array[], position: number | undefined): number {
    const node = descriptor.type === 'stream' ? this.#streamNode(descriptor) : descriptor.node;
    let at = position ?? descriptor.offset;
    let total = 0;
    for (const buffer of buffers) {
      const count = node.data.readInto(at, buffer);
      at += count;
      total += count;
      if (count < buffer.length) break;
    }
    if (position === undefined) descriptor.offset = at;
    return total;
  }

  async #readStdinHook(hook: (max: number) => Promise<Uint8Array | null>, buffers: Uint8Array[], resultPointer: number): Promise<number> {
    const capacity = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    const data = capacity === 0 ? new Uint8Array(0) : ((await hook(capacity)) ?? new Uint8Array(0));
    // Re-derive the buffers: the memory may have grown (a new buffer object) while we waited.
    let done = 0;
    for (const buffer of buffers) {
      const count = Math.min(buffer.length, data.length - done);
      if (count <= 0) break;
      this.#range(buffer.byteOffset, count).set(data.subarray(done, done + count));
      done += count;
    }
    this.#u32(resultPointer, done);
    return Errno.SUCCESS;
  }

  #openDirectoryNode(directory: OpenDirectory): DirectoryNode {
    const node = this.#lookup(directory.components);
    if (node === undefined) fail(Errno.NOENT);
    if (node.kind !== 'directory') fail(Errno.NOTDIR);
    return node;
  }

  /** Waits at least `milliseconds` by the monotonic clock (Node timers may fire up to 1 ms early). */
  async #sleep(milliseconds: number): Promise<void> {
    const deadline = process.hrtime.bigint() + BigInt(Math.max(0, Math.ceil(milliseconds * 1e6)));
    for (;;) {
      const left = Number(deadline - process.hrtime.bigint()) / 1e6;
      if (left <= 0) return;
      // Unreferenced: a sleep of a program that is stopped meanwhile must not keep the process alive
      // (a running program's worker keeps it alive while it sleeps).
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.ceil(left), 2 ** 31 - 1)).unref());
    }
  }

  /** The system calls by name; each returns an errno (or a promise of one). */
  readonly #handlers: Record<string, (...args: (number | bigint)[]) => number | Promise<number>> = {
    args_get: (argv, buffer) => this.#putStrings(this.#args, argv as number, buffer as number),
    args_sizes_get: (count, size) => this.#putSizes(this.#args, count as number, size as number),
    environ_get: (environ, buffer) => this.#putStrings(this.#env, environ as number, buffer as number),
    environ_sizes_get: (count, size) => this.#putSizes(this.#env, count as number, size as number),

    clock_res_get: (id, result) => {
      if (!this.#enableClock) return Errno.ACCES;
      if ((id as number) > 3) return Errno.INVAL;
      this.#u64(result as number, 1000n);
      return Errno.SUCCESS;
    },
    clock_time_get: (id, _precision, result) => {
      if (!this.#enableClock) return Errno.ACCES;
      const clock = id as number;
      if (clock === 0) this.#u64(result as number, nowNanoseconds());
      else if (clock === 1) this.#u64(result as number, process.hrtime.bigint());
      else if (clock === 2 || clock === 3) this.#u64(result as number, BigInt(Math.round(performance.now() * 1e6)));
      else return Errno.INVAL;
      return Errno.SUCCESS;
    },

    fd_advise: (fd, _offset, _length, advice) => {
      this.#file(fd as number, Right.FD_ADVISE);
      return (advice as number) > 5 ? Errno.INVAL : Errno.SUCCESS;
    },
    fd_allocate: (fd, offset, length) => {
      const descriptor = this.#file(fd as number, Right.FD_ALLOCATE);
      if (descriptor.type !== 'file') return Errno.NOTSUP;
      const end = Number(offset as bigint) + Number(length as bigint);
      if (end > MAX_OFFSET) return Errno.FBIG;
      if (end > descriptor.node.data.size) descriptor.node.data.truncate(end);
      return Errno.SUCCESS;
    },
    fd_close: (fd) => {
      this.#closed(this.#table.close(fd as number));
      return Errno.SUCCESS;
    },
    fd_datasync: (fd) => {
      this.#file(fd as number, Right.FD_DATASYNC);
      return Errno.SUCCESS;
    },
    fd_fdstat_get: (fd, result) => {
      const descriptor = this.#descriptor(fd as number, 0);
      const view = this.#view();
      const pointer = result as number;
      const filetype = descriptor.type === 'directory' ? FILETYPE.DIRECTORY : descriptor.type === 'stream' ? FILETYPE.CHARACTER_DEVICE : FILETYPE.REGULAR_FILE;
      view.setUint8(pointer, filetype);
      view.setUint8(pointer + 1, 0);
      view.setUint16(pointer + 2, descriptor.flags, true);
      view.setUint32(pointer + 4, 0, true);
      view.setBigUint64(pointer + 8, BigInt(descriptor.rightsBase), true);
      view.setBigUint64(pointer + 16, BigInt(descriptor.rightsInheriting), true);
      return Errno.SUCCESS;
    },
    fd_fdstat_set_flags: (fd, flags) => {
      const descriptor = this.#file(fd as number, Right.FD_FDSTAT_SET_FLAGS);
      if (((flags as number) & ~0x1f) !== 0) return Errno.INVAL;
      descriptor.flags = flags as number;
      return Errno.SUCCESS;
    },
    fd_fdstat_set_rights: (fd, base, inheriting) => {
      const descriptor = this.#descriptor(fd as number, 0);
      const newBase = Number(BigInt.asUintN(64, base as bigint) & KNOWN_RIGHTS);
      const newInheriting = Number(BigInt.asUintN(64, inheriting as bigint) & KNOWN_RIGHTS);
      // Rights may only shrink (WASI); asking for more is ENOTCAPABLE.
      if ((newBase & ~descriptor.rightsBase) !== 0 || (newInheriting & ~descriptor.rightsInheriting) !== 0) return Errno.NOTCAPABLE;
      descriptor.rightsBase = newBase;
      descriptor.rightsInheriting = newInheriting;
      return Errno.SUCCESS;
    },
    fd_filestat_get: (fd, result) => {
      // FD_FILESTAT_GET, or FD_SEEK (seeking to the end reveals the size anyway): Veracruz's r and w
      // shorthands lack FD_FILESTAT_GET, and fstat() is everyday libc behaviour.
      const descriptor = this.#descriptor(fd as number, 0);
      if ((descriptor.rightsBase & (Right.FD_FILESTAT_GET | Right.FD_SEEK)) === 0) return Errno.NOTCAPABLE;
      if (descriptor.type === 'directory') this.#nodeStat(result as number, this.#openDirectoryNode(descriptor));
      else if (descriptor.type === 'stream') {
        const hooked = descriptor.stream === 'stdin' ? this.#streams.stdin : descriptor.stream === 'stdout' ? this.#streams.stdout : this.#streams.stderr;
        const node = this.#streamNode(descriptor);
        this.#filestat(result as number, node, FILETYPE.CHARACTER_DEVICE, hooked === undefined ? node.data.size : 0);
      } else this.#nodeStat(result as number, descriptor.node);
      return Errno.SUCCESS;
    },
    fd_filestat_set_size: (fd, size) => {
      const descriptor = this.#file(fd as number, Right.FD_FILESTAT_SET_SIZE);
      if (descriptor.type !== 'file') return Errno.INVAL;
      const length = Number(size as bigint);
      if (length > MAX_OFFSET || length < 0) return Errno.FBIG;
      descriptor.node.data.truncate(length);
      return Errno.SUCCESS;
    },
    fd_filestat_set_times: (fd, accessed, modified, flags) => {
      const descriptor = this.#descriptor(fd as number, Right.FD_FILESTAT_SET_TIMES);
      const node = descriptor.type === 'directory' ? this.#openDirectoryNode(descriptor) : descriptor.type === 'stream' ? this.#streamNode(descriptor) : descriptor.node;
      this.#setTimes(node, accessed as bigint, modified as bigint, flags as number);
      return Errno.SUCCESS;
    },
    fd_pread: (fd, iovs, count, offset, result) => {
      const descriptor = this.#file(fd as number, Right.FD_READ | Right.FD_SEEK);
      if (descriptor.type === 'stream') return Errno.SPIPE;
      const position = Number(BigInt.asUintN(64, offset as bigint));
      this.#u32(result as number, this.#read(descriptor, this.#iovecs(iovs as number, count as number), position));
      return Errno.SUCCESS;
    },
    fd_prestat_get: (fd, result) => {
      const descriptor = this.#table.get(fd as number);
      if (descriptor === undefined || descriptor.type !== 'directory' || descriptor.preopenName === undefined) return Errno.BADF;
      this.#u32(result as number, 0);
      this.#u32((result as number) + 4, encoder.encode(descriptor.preopenName).length);
      return Errno.SUCCESS;
    },
    fd_prestat_dir_name: (fd, pointer, length) => {
      const descriptor = this.#table.get(fd as number);
      if (descriptor === undefined || descriptor.type !== 'directory' || descriptor.preopenName === undefined) return Errno.BADF;
      const name = encoder.encode(descriptor.preopenName);
      if ((length as number) < name.length) return Errno.NAMETOOLONG;
      this.#range(pointer as number, name.length).set(name);
      return Errno.SUCCESS;
    },
    fd_pwrite: (fd, iovs, count, offset, result) => {
      const descriptor = this.#file(fd as number, Right.FD_WRITE | Right.FD_SEEK);
      if (descriptor.type === 'stream') return Errno.SPIPE;
      const position = Number(BigInt.asUintN(64, offset as bigint));
      this.#u32(result as number, this.#write(descriptor, this.#iovecs(iovs as number, count as number), position));
      return Errno.SUCCESS;
    },
    fd_read: (fd, iovs, count, result) => {
      const descriptor = this.#file(fd as number, Right.FD_READ);
      const buffers = this.#iovecs(iovs as number, count as number);
      if (descriptor.type === 'stream' && descriptor.stream === 'stdin' && this.#streams.stdin !== undefined) {
        return this.#readStdinHook(this.#streams.stdin, buffers, result as number);
      }
      if (descriptor.type === 'stream' && descriptor.stream !== 'stdin' && this.#streamHooked(descriptor.stream)) {
        this.#u32(result as number, 0);
        return Errno.SUCCESS;
      }
      this.#u32(result as number, this.#read(descriptor, buffers, undefined));
      return Errno.SUCCESS;
    },
    fd_readdir: (fd, buffer, length, cookie, result) => this.#readdir(fd as number, buffer as number, length as number, cookie as bigint, result as number),
    fd_renumber: (from, to) => {
      // Both must be open (EBADF otherwise, as wasmtime; POSIX dup2 would open `to`).
      const replaced = from === to ? undefined : this.#table.get(to as number);
      this.#table.renumber(from as number, to as number);
      if (replaced !== undefined) this.#closed(replaced);
      return Errno.SUCCESS;
    },
    fd_seek: (fd, offset, whence, result) => {
      const delta = Number(offset as bigint);
      const tellOnly = whence === WHENCE.CUR && delta === 0;
      const descriptor = this.#file(fd as number, tellOnly ? 0 : Right.FD_SEEK);
      if (tellOnly && (descriptor.rightsBase & (Right.FD_SEEK | Right.FD_TELL)) === 0) return Errno.NOTCAPABLE;
      if (descriptor.type === 'stream') return Errno.SPIPE;
      const base = whence === WHENCE.SET ? 0 : whence === WHENCE.CUR ? descriptor.offset : whence === WHENCE.END ? descriptor.node.data.size : NaN;
      if (Number.isNaN(base)) return Errno.INVAL;
      const target = base + delta;
      if (target < 0) return Errno.INVAL;
      if (target > MAX_OFFSET) return Errno.OVERFLOW;
      descriptor.offset = target;
      this.#u64(result as number, target);
      return Errno.SUCCESS;
    },
    fd_sync: (fd) => {
      this.#file(fd as number, Right.FD_SYNC);
      return Errno.SUCCESS;
    },
    fd_tell: (fd, result) => {
      // FD_TELL, or FD_SEEK (which reveals the position anyway through fd_seek(0, CUR)).
      const descriptor = this.#file(fd as number, 0);
      if ((descriptor.rightsBase & (Right.FD_TELL | Right.FD_SEEK)) === 0) return Errno.NOTCAPABLE;
      if (descriptor.type === 'stream') return Errno.SPIPE;
      this.#u64(result as number, descriptor.offset);
      return Errno.SUCCESS;
    },
    fd_write: (fd, iovs, count, result) => {
      const descriptor = this.#file(fd as number, Right.FD_WRITE);
      this.#u32(result as number, this.#write(descriptor, this.#iovecs(iovs as number, count as number), undefined));
      return Errno.SUCCESS;
    },

    path_create_directory: (fd, path, length) => {
      const directory = this.#directory(fd as number, 0);
      const target = this.#lookupPath(directory, path as number, length as number, { follow: false, permitted: has(Right.PATH_CREATE_DIRECTORY), content: false });
      if (target.parent === undefined || target.name === undefined || target.node !== undefined) return Errno.EXIST;
      this.#vfs.insert(target.parent, target.name, this.#vfs.newDirectory());
      return Errno.SUCCESS;
    },
    path_filestat_get: (fd, flags, path, length, result) => {
      const directory = this.#directory(fd as number, 0);
      // PATH_FILESTAT_GET, or PATH_OPEN (opening the path and fstat-ing it tells the same): so that
      // stat() and Rust's Path::exists() work under Veracruz's r/w/x shorthands.
      const permitted = (rights: number): boolean => has(Right.PATH_FILESTAT_GET)(rights) || has(Right.PATH_OPEN)(rights);
      const { node, directoryOnly } = this.#lookupPath(directory, path as number, length as number, { follow: ((flags as number) & LOOKUP_SYMLINK_FOLLOW) !== 0, permitted });
      if (node === undefined) return Errno.NOENT;
      if (directoryOnly && node.kind !== 'directory') return Errno.NOTDIR;
      this.#nodeStat(result as number, node);
      return Errno.SUCCESS;
    },
    path_filestat_set_times: (fd, flags, path, length, accessed, modified, fstflags) => {
      const directory = this.#directory(fd as number, 0);
      const { node, directoryOnly } = this.#lookupPath(directory, path as number, length as number, {
        follow: ((flags as number) & LOOKUP_SYMLINK_FOLLOW) !== 0,
        permitted: has(Right.PATH_FILESTAT_SET_TIMES),
      });
      if (node === undefined) return Errno.NOENT;
      if (directoryOnly && node.kind !== 'directory') return Errno.NOTDIR;
      this.#setTimes(node, accessed as bigint, modified as bigint, fstflags as number);
      return Errno.SUCCESS;
    },
    path_link: (oldFd, oldFlags, oldPath, oldLength, newFd, newPath, newLength) =>
      this.#link(oldFd as number, oldFlags as number, oldPath as number, oldLength as number, newFd as number, newPath as number, newLength as number),
    path_open: (fd, lookup, path, length, oflags, base, inheriting, fdflags, result) =>
      this.#open(fd as number, lookup as number, path as number, length as number, oflags as number, base as bigint, inheriting as bigint, fdflags as number, result as number),
    path_readlink: (fd, path, length, buffer, bufferLength, result) => {
      const directory = this.#directory(fd as number, 0);
      const { node } = this.#lookupPath(directory, path as number, length as number, { follow: false, permitted: has(Right.PATH_READLINK) });
      if (node === undefined) return Errno.NOENT;
      if (node.kind !== 'symlink') return Errno.INVAL;
      // A buffer too small gets the start of the target (wasmtime truncates silently too).
      const target = encoder.encode(node.target).subarray(0, bufferLength as number);
      this.#range(buffer as number, target.length).set(target);
      this.#u32(result as number, target.length);
      return Errno.SUCCESS;
    },
    path_remove_directory: (fd, path, length) => {
      const directory = this.#directory(fd as number, 0);
      const target = this.#lookupPath(directory, path as number, length as number, { follow: false, permitted: has(Right.PATH_REMOVE_DIRECTORY), content: false });
      if (target.components.length <= directory.root.length) return Errno.BUSY;
      if (target.parent === undefined || target.name === undefined) return Errno.INVAL;
      if (target.node === undefined) return Errno.NOENT;
      if (target.node.kind !== 'directory') return Errno.NOTDIR;
      if (target.node.entries.size > 0) return Errno.NOTEMPTY;
      this.#vfs.remove(target.parent, target.name);
      return Errno.SUCCESS;
    },
    path_rename: (oldFd, oldPath, oldLength, newFd, newPath, newLength) =>
      this.#rename(oldFd as number, oldPath as number, oldLength as number, newFd as number, newPath as number, newLength as number),
    path_symlink: (oldPath, oldLength, fd, newPath, newLength) => {
      const directory = this.#directory(fd as number, 0);
      const contents = this.#pathString(oldPath as number, oldLength as number);
      const target = this.#lookupPath(directory, newPath as number, newLength as number, { follow: false, permitted: has(Right.PATH_SYMLINK), content: false });
      // wasmtime refuses absolute targets: such a link could only ever escape.
      if (contents.startsWith('/')) return Errno.PERM;
      if (contents === '') return Errno.NOENT;
      if (target.node !== undefined) return target.directoryOnly && target.node.kind !== 'directory' ? Errno.NOTDIR : Errno.EXIST;
      if (target.parent === undefined || target.name === undefined) return Errno.EXIST;
      if (target.directoryOnly) return Errno.NOENT;
      this.#vfs.insert(target.parent, target.name, this.#vfs.newSymlink(contents));
      return Errno.SUCCESS;
    },
    path_unlink_file: (fd, path, length) => {
      const directory = this.#directory(fd as number, 0);
      const target = this.#lookupPath(directory, path as number, length as number, { follow: false, permitted: has(Right.PATH_UNLINK_FILE), content: false });
      if (target.parent === undefined || target.name === undefined) return Errno.ISDIR;
      if (target.node === undefined) return Errno.NOENT;
      if (target.node.kind === 'directory') return Errno.ISDIR;
      if (target.directoryOnly) return Errno.NOTDIR;
      if (target.node.kind === 'file' && target.node.service !== undefined) return Errno.PERM;
      this.#vfs.remove(target.parent, target.name);
      return Errno.SUCCESS;
    },

    poll_oneoff: (input, output, count, result) => this.#poll(input as number, output as number, count as number, result as number),
    proc_exit: (code) => {
      this.exitCode = code as number;
      return Errno.SUCCESS;
    },
    proc_raise: () => Errno.NOTSUP,
    sched_yield: () => Errno.SUCCESS,
    random_get: (pointer, length) => {
      const target = this.#range(pointer as number, length as number);
      const random = new Uint8Array(target.length);
      randomFillSync(random);
      target.set(random);
      return Errno.SUCCESS;
    },
    sock_accept: (fd) => this.#socket(fd as number),
    sock_recv: (fd) => this.#socket(fd as number),
    sock_send: (fd) => this.#socket(fd as number),
    sock_shutdown: (fd) => this.#socket(fd as number),

    fd_create: (result) => {
      // Veracruz's anonymous read-write file: every file right, not linked into the tree.
      const node = this.#vfs.newFile();
      node.nlink = 0; // no name: fstat answers 0, like an unlinked open file
      const rights = ALL_RIGHTS & ~(Right.FD_EXECUTE | Right.SOCK_SHUTDOWN);
      this.#u32(result as number, this.#addFile({ type: 'file', node, path: '', rightsBase: rights, rightsInheriting: rights, offset: 0, flags: 0 }));
      return Errno.SUCCESS;
    },
  };

  /** What closing a descriptor does besides forgetting it. */
  #closed(descriptor: Descriptor): void {
    if (descriptor.type !== 'file') return;
    // Veracruz: closing a service file discards a partial request.
    if (descriptor.node.service !== undefined) descriptor.node.data.truncate(0);
    // An anonymous (fd_create) or unlinked file is gone with its last descriptor: its bytes return.
    this.#vfs.closed(descriptor.node);
  }

  /** Installs a file descriptor, counting it on its file (see VirtualFileSystem.opened); EMFILE when the table is full. */
  #addFile(descriptor: OpenFile): number {
    this.#vfs.opened(descriptor.node);
    try {
      return this.#table.add(descriptor);
    } catch (reason) {
      this.#vfs.closed(descriptor.node);
      throw reason;
    }
  }

  #streamHooked(stream: 'stdout' | 'stderr'): boolean {
    return (stream === 'stdout' ? this.#streams.stdout : this.#streams.stderr) !== undefined;
  }

  #socket(fd: number): number {
    // No descriptor is ever a socket: EBADF for no descriptor, else ENOTSOCK (as wasmtime answers).
    if (this.#table.get(fd) === undefined) return Errno.BADF;
    return Errno.NOTSOCK;
  }

  #putSizes(strings: readonly Uint8Array[], countPointer: number, sizePointer: number): number {
    this.#u32(countPointer, strings.length);
    this.#u32(sizePointer, strings.reduce((sum, item) => sum + item.length, 0));
    return Errno.SUCCESS;
  }

  #putStrings(strings: readonly Uint8Array[], pointers: number, buffer: number): number {
    let at = buffer;
    strings.forEach((item, index) => {
      this.#u32(pointers + index * 4, at);
      this.#range(at, item.length).set(item);
      at += item.length;
    });
    return Errno.SUCCESS;
  }

  #open(fd: number, lookup: number, path: number, length: number, oflags: number, base: bigint, inheriting: bigint, fdflags: number, result: number): number {
    const directory = this.#directory(fd, 0);
    let need = Right.PATH_OPEN;
    if (oflags & OFLAGS.CREAT) need |= Right.PATH_CREATE_FILE;
    if (oflags & OFLAGS.TRUNC) need |= Right.PATH_FILESTAT_SET_SIZE;
    // CREAT|EXCL never follows a last link: a link there, even dangling, is EEXIST (POSIX).
    const exclusive = (oflags & OFLAGS.CREAT) !== 0 && (oflags & OFLAGS.EXCL) !== 0;
    const follow = (lookup & LOOKUP_SYMLINK_FOLLOW) !== 0 && !exclusive;
    const target = this.#lookupPath(directory, path, length, { follow, permitted: has(need), missingParents: (oflags & OFLAGS.CREAT) !== 0 });
    // As wasmtime: O_DIRECTORY cannot create or truncate.
    if (oflags & OFLAGS.DIRECTORY && oflags & (OFLAGS.CREAT | OFLAGS.EXCL | OFLAGS.TRUNC)) return Errno.INVAL;
    let node = target.node;
    if (node !== undefined && exclusive) return Errno.EXIST;
    // A last symbolic link that is not followed cannot be opened (POSIX O_NOFOLLOW).
    if (node?.kind === 'symlink') return Errno.LOOP;
    if (node === undefined) {
      const name = target.components[target.components.length - 1];
      if ((oflags & OFLAGS.CREAT) === 0) return Errno.NOENT;
      if (name === undefined || target.directoryOnly) return Errno.ISDIR;
      // Veracruz creates missing parent directories of a created file (none are left if it cannot be).
      const directories: CreatedDirectory[] = [];
      const parent = target.parent ?? this.#vfs.makeDirectories(target.components.slice(0, -1), directories);
      try {
        const created = this.#vfs.newFile();
        this.#vfs.insert(parent, name, created);
        node = created;
      } catch (reason) {
        this.#vfs.removeCreated(directories);
        throw reason;
      }
    }
    if (target.directoryOnly && node.kind !== 'directory') return Errno.NOTDIR;
    const limit = directory.rightsInheriting & this.#vfs.rightsOver(this.#rights, target.components, node);
    const requested = BigInt.asUintN(64, base);
    const rightsBase = Number(requested & KNOWN_RIGHTS) & limit;
    const rightsInheriting = Number(BigInt.asUintN(64, inheriting) & KNOWN_RIGHTS) & limit;
    if (node.kind === 'directory') {
      // A directory is not opened for writing (wasmtime: EISDIR, as the host's open() answers).
      if (oflags & OFLAGS.TRUNC || (requested & BigInt(Right.FD_WRITE)) !== 0n) return Errno.ISDIR;
      this.#u32(result, this.#table.add({ type: 'directory', components: target.components, root: directory.root, rightsBase, rightsInheriting, flags: fdflags & 0x1f }));
      return Errno.SUCCESS;
    }
    if (oflags & OFLAGS.DIRECTORY) return Errno.NOTDIR;
    if (oflags & OFLAGS.TRUNC) node.data.truncate(0);
    this.#u32(result, this.#addFile({ type: 'file', node, path: joinComponents(target.components), rightsBase, rightsInheriting, offset: 0, flags: fdflags & 0x1f }));
    return Errno.SUCCESS;
  }

  /**
   * path_link. Rights are per path and a hard link gives one file several, so besides PATH_LINK_SOURCE
   * and PATH_LINK_TARGET the linking principal must hold exactly the same rights at the new name as
   * over the file (ENOTCAPABLE otherwise): a link can neither widen its rights nor narrow those of
   * the name it copies. Other principals' policies may still tell the two names apart; for them
   * `VirtualFileSystem.rightsOver` grants only what every name grants.
   */
  #link(oldFd: number, oldFlags: number, oldPath: number, oldLength: number, newFd: number, newPath: number, newLength: number): number {
    const source = this.#directory(oldFd, Right.PATH_LINK_SOURCE);
    const target = this.#directory(newFd, Right.PATH_LINK_TARGET);
    // As wasmtime: a hard link is made to the name given, never through a last symbolic link.
    if (oldFlags & LOOKUP_SYMLINK_FOLLOW) return Errno.INVAL;
    const from = this.#lookupPath(source, oldPath, oldLength, { follow: false, permitted: has(Right.PATH_LINK_SOURCE) });
    const to = this.#lookupPath(target, newPath, newLength, { follow: false, permitted: has(Right.PATH_LINK_TARGET), content: false });
    if (from.node === undefined) return Errno.NOENT;
    if (from.node.kind === 'directory') return Errno.PERM;
    if (from.directoryOnly) return Errno.NOTDIR;
    if (from.node.kind === 'file' && from.node.service !== undefined) return Errno.PERM;
    if (to.node !== undefined || to.name === undefined) return Errno.EXIST;
    if (to.directoryOnly || to.parent === undefined) return Errno.NOENT;
    if (from.parent === undefined || from.name === undefined) return Errno.NOENT;
    if (this.#vfs.rightsOver(this.#rights, from.components, from.node) !== this.#pathRights(to.components)) return Errno.NOTCAPABLE;
    this.#vfs.link(from.node, from.parent, from.name, to.parent, to.name);
    return Errno.SUCCESS;
  }

  #rename(oldFd: number, oldPath: number, oldLength: number, newFd: number, newPath: number, newLength: number): number {
    const source = this.#directory(oldFd, 0);
    const target = this.#directory(newFd, 0);
    const from = this.#lookupPath(source, oldPath, oldLength, { follow: false, permitted: has(Right.PATH_RENAME_SOURCE), content: false });
    const to = this.#lookupPath(target, newPath, newLength, { follow: false, permitted: has(Right.PATH_RENAME_TARGET), content: false });
    // A pre-open root (or anything above it) never moves; nor does a directory named by `.` or `..`.
    if (from.components.length <= source.root.length || to.components.length <= target.root.length) return Errno.BUSY;
    if (from.parent === undefined || from.name === undefined || to.parent === undefined || to.name === undefined) return Errno.BUSY;
    const node = from.node;
    if (node === undefined) return Errno.NOENT;
    if (node.kind === 'file' && node.service !== undefined) return Errno.PERM;
    if (node.kind !== 'directory' && (from.directoryOnly || to.directoryOnly)) return Errno.NOTDIR;
    if (node.kind === 'directory' && from.components.length < to.components.length && from.components.every((part, index) => to.components[index] === part)) return Errno.INVAL;
    const existing = to.node;
    // The same name, or another name of the same file: nothing to do (POSIX).
    if (existing === node) return Errno.SUCCESS;
    if (existing !== undefined) {
      if (existing.kind === 'file' && existing.service !== undefined) return Errno.PERM;
      if (node.kind === 'directory') {
        if (existing.kind !== 'directory') return Errno.NOTDIR;
        if (existing.entries.size > 0) return Errno.NOTEMPTY;
      } else if (existing.kind === 'directory') {
        return Errno.ISDIR;
      }
    }
    // Replaces what the new name held; a longer name's bytes are reserved first (ENOSPC changes nothing).
    this.#vfs.move(from.parent, from.name, to.parent, to.name);
    return Errno.SUCCESS;
  }

  #readdir(fd: number, buffer: number, length: number, cookie: bigint, result: number): number {
    const directory = this.#directory(fd, Right.FD_READDIR);
    const node = this.#openDirectoryNode(directory);
    const parent = directory.components.length > directory.root.length ? this.#lookup(directory.components.slice(0, -1)) : node;
    const entries: [string, VfsNode][] = [['.', node], ['..', parent ?? node], ...[...node.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))];
    const output = this.#range(buffer, length);
    const view = this.#view();
    let used = 0;
    for (let index = Number(cookie); index < entries.length && used < length; index++) {
      const [name, entry] = entries[index] as [string, VfsNode];
      const encoded = encoder.encode(name);
      const record = new Uint8Array(24 + encoded.length);
      const recordView = new DataView(record.buffer);
      recordView.setBigUint64(0, BigInt(index + 1), true);
      recordView.setBigUint64(8, BigInt(entry.inode), true);
      recordView.setUint32(16, encoded.length, true);
      recordView.setUint8(20, entry.kind === 'directory' ? FILETYPE.DIRECTORY : entry.kind === 'symlink' ? FILETYPE.SYMBOLIC_LINK : FILETYPE.REGULAR_FILE);
      record.set(encoded, 24);
      const count = Math.min(record.length, length - used);
      output.set(record.subarray(0, count), used);
      used += count;
    }
    view.setUint32(result, used, true);
    return Errno.SUCCESS;
  }

  #poll(input: number, output: number, count: number, result: number): number | Promise<number> {
    if (count === 0 || count > MAX_SUBSCRIPTIONS) return Errno.INVAL;
    const view = this.#view();
    const events: { userdata: bigint; error: number; type: number; nbytes: bigint }[] = [];
    let earliest = Infinity;
    const clocks: { userdata: bigint; deadline: number }[] = [];
    const start = performance.now();
    for (let index = 0; index < count; index++) {
      const at = input + index * 48;
      const userdata = view.getBigUint64(at, true);
      const tag = view.getUint8(at + 8);
      if (tag === 0) {
        const clock = view.getUint32(at + 16, true);
        const timeout = view.getBigUint64(at + 24, true);
        const absolute = (view.getUint16(at + 40, true) & 1) !== 0;
        let waitMs: number;
        if (absolute) {
          // An absolute deadline reads the clock: only where the policy enables clocks.
          if (!this.#enableClock) {
            events.push({ userdata, error: Errno.ACCES, type: 0, nbytes: 0n });
            continue;
          }
          const now = clock === 0 ? nowNanoseconds() : clock === 1 ? process.hrtime.bigint() : BigInt(Math.round(performance.now() * 1e6));
          waitMs = Number(timeout - now) / 1e6;
        } else {
          waitMs = Number(timeout) / 1e6;
        }
        clocks.push({ userdata, deadline: start + waitMs });
        earliest = Math.min(earliest, start + waitMs);
      } else if (tag === 1 || tag === 2) {
        const fd = view.getUint32(at + 16, true);
        const descriptor = this.#table.get(fd);
        let error: number = Errno.SUCCESS;
        let nbytes = 0n;
        if (descriptor === undefined) error = Errno.BADF;
        else if ((descriptor.rightsBase & Right.POLL_FD_READWRITE) === 0 && (descriptor.rightsBase & (tag === 1 ? Right.FD_READ : Right.FD_WRITE)) === 0) error = Errno.NOTCAPABLE;
        else if (tag === 1 && descriptor.type === 'file') nbytes = BigInt(Math.max(0, descriptor.node.data.size - descriptor.offset));
        events.push({ userdata, error, type: tag, nbytes });
      } else {
        return Errno.INVAL;
      }
    }
    const finish = (): number => {
      const now = performance.now();
      for (const clock of clocks) if (clock.deadline <= now + 0.001 || events.length === 0) events.push({ userdata: clock.userdata, error: 0, type: 0, nbytes: 0n });
      const out = this.#view();
      events.forEach((event, index) => {
        const at = output + index * 32;
        for (let byte = 0; byte < 32; byte++) out.setUint8(at + byte, 0);
        out.setBigUint64(at, event.userdata, true);
        out.setUint16(at + 8, event.error, true);
        out.setUint8(at + 10, event.type);
        out.setBigUint64(at + 16, event.nbytes, true);
      });
      out.setUint32(result, events.length, true);
      return Errno.SUCCESS;
    };
    if (events.length > 0 || clocks.length === 0) return finish();
    return this.#sleep(earliest - performance.now()).then(finish);
  }
}
