import { fd_close, fd_prestat_dir_name, fd_prestat_get, fd_read, fd_seek, path_open, prestat } from "bindings/wasi_snapshot_preview1";
import { utf8 } from "./output";
import { Errno, writeAll } from "./result";

// WASI preview1 flags used here.
const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
const O_CREAT: u16 = 1;
const O_TRUNC: u16 = 8;
const FDFLAG_APPEND: u16 = 1;
const WHENCE_SET: u8 = 0;
const WHENCE_END: u8 = 2;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_SEEK: u64 = 1 << 2;
const RIGHT_FD_WRITE: u64 = 1 << 6;

// Scratch words for the calls' outputs: a prestat or a new fd, a file offset, one iovec and its count.
const SCRATCH: usize = memory.data(16);
const IOV: usize = memory.data(12);
// Where a read lands once the buffer is full, to learn whether the file has more without growing the buffer.
const PROBE_SIZE: usize = 4096;
const PROBE: usize = memory.data(<i32>PROBE_SIZE);

/** A pre-opened directory: its descriptor and its path without the leading and trailing `/`. */
class Preopen {
  constructor(
    readonly fd: u32,
    readonly prefix: string
  ) {}
}

let preopens: Preopen[] | null = null;
let lastErrno: i32 = 0;

/** The errno of the last file helper that failed (readFile's null, writeFile's or appendFile's non-zero). */
export function fileError(): i32 {
  return lastErrno;
}

/** The pre-opens, as wasi-libc finds them: fds from 3 up while fd_prestat_get answers. */
function listPreopens(): Preopen[] {
  let list = preopens;
  if (list !== null) return list;
  list = [];
  for (let fd: u32 = 3; ; fd++) {
    if (fd_prestat_get(fd, changetype<prestat>(SCRATCH)) != 0) break;
    if (load<u8>(SCRATCH) != 0) continue; // not a directory
    const length = load<u32>(SCRATCH, 4);
    const name = new Uint8Array(<i32>length);
    if (fd_prestat_dir_name(fd, name.dataStart, length) != 0) continue;
    list.push(new Preopen(fd, trimSlashes(String.UTF8.decodeUnsafe(name.dataStart, length))));
  }
  preopens = list;
  return list;
}

function trimSlashes(path: string): string {
  let start = 0;
  let end = path.length;
  while (start < end && path.charCodeAt(start) == 0x2f) start++;
  while (end > start && path.charCodeAt(end - 1) == 0x2f) end--;
  return path.substring(start, end);
}

/** `path` (absolute, or relative to `/`) as a pre-open and a path within it. */
class Resolved {
  constructor(
    readonly fd: u32,
    readonly relative: Uint8Array
  ) {}
}

/** The pre-open with the longest prefix of `path`, as wasi-libc chooses; null (NOTCAPABLE) when none holds it. */
function resolve(path: string): Resolved | null {
  const trimmed = trimSlashes(path);
  let best: Preopen | null = null;
  const list = listPreopens();
  for (let i = 0; i < list.length; i++) {
    const candidate = list[i];
    const prefix = candidate.prefix;
    const matches = prefix.length == 0
      || trimmed == prefix
      || (trimmed.startsWith(prefix) && trimmed.charCodeAt(prefix.length) == 0x2f);
    if (matches && (best === null || prefix.length > best.prefix.length)) best = candidate;
  }
  if (best === null) return null;
  let relative = trimmed.substring(best.prefix.length);
  while (relative.length > 0 && relative.charCodeAt(0) == 0x2f) relative = relative.substring(1);
  return new Resolved(best.fd, utf8(relative.length == 0 ? "." : relative));
}

/** Opens `path`; the new descriptor, or -1 with lastErrno set. */
function open(path: string, oflags: u16, rights: u64, fdflags: u16): i64 {
  const target = resolve(path);
  if (target === null) {
    lastErrno = Errno.NOTCAPABLE;
    return -1;
  }
  const errno = path_open(target.fd, LOOKUP_SYMLINK_FOLLOW, target.relative.dataStart, <usize>target.relative.length,
    oflags, rights, 0, fdflags, SCRATCH);
  if (errno != 0) {
    lastErrno = errno;
    return -1;
  }
  return <i64>load<u32>(SCRATCH);
}

/** Reads up to `length` bytes at `data` from `fd`: how many (0 at the end of the file), or -1 with lastErrno set. */
function readSome(fd: u32, data: usize, length: usize): i64 {
  store<u32>(IOV, <u32>data);
  store<u32>(IOV, <u32>length, 4);
  const errno = fd_read(fd, IOV, 1, IOV + 8);
  if (errno != 0) {
    lastErrno = errno;
    return -1;
  }
  return <i64>load<u32>(IOV, 8);
}

/** The size of the file open at `fd` by seeking to its end and back, or -1 when it cannot seek (a stream). */
function sizeOf(fd: u32): i64 {
  if (fd_seek(fd, 0, WHENCE_END, SCRATCH) != 0) return -1;
  const size = load<u64>(SCRATCH);
  if (fd_seek(fd, 0, WHENCE_SET, SCRATCH) != 0) return -1;
  return <i64>size;
}

/**
 * The whole file at `path`, or null when it cannot be opened or read (`fileError()` tells why: NOENT,
 * NOTCAPABLE, …). The buffer is sized from the file's size, so the file is read without copying.
 */
export function readFile(path: string): Uint8Array | null {
  const opened = open(path, 0, RIGHT_FD_READ | RIGHT_FD_SEEK, 0);
  if (opened < 0) return null;
  const fd = <u32>opened;
  const size = sizeOf(fd);
  let buffer = new Uint8Array(size >= 0 ? <i32>size : 65536);
  let filled = 0;
  while (true) {
    if (filled == buffer.length) {
      // Full: read into the probe first, so a file of exactly the expected size is not copied to a bigger buffer.
      const extra = readSome(fd, PROBE, PROBE_SIZE);
      if (extra < 0) {
        fd_close(fd);
        return null;
      }
      if (extra == 0) break;
      const grown = new Uint8Array(max(buffer.length * 2, filled + <i32>extra));
      memory.copy(grown.dataStart, buffer.dataStart, <usize>filled);
      memory.copy(grown.dataStart + <usize>filled, PROBE, <usize>extra);
      buffer = grown;
      filled += <i32>extra;
      continue;
    }
    const count = readSome(fd, buffer.dataStart + <usize>filled, <usize>(buffer.length - filled));
    if (count < 0) {
      fd_close(fd);
      return null;
    }
    if (count == 0) break;
    filled += <i32>count;
  }
  fd_close(fd);
  return filled == buffer.length ? buffer : buffer.slice(0, filled);
}

/** The whole file at `path` as UTF-8 text, or null (see `readFile`). */
export function readText(path: string): string | null {
  const data = readFile(path);
  if (data === null) return null;
  return String.UTF8.decodeUnsafe(data.dataStart, <usize>data.length);
}

function writeTo(path: string, data: Uint8Array, oflags: u16, fdflags: u16): i32 {
  const opened = open(path, oflags, RIGHT_FD_WRITE | RIGHT_FD_SEEK, fdflags);
  if (opened < 0) return lastErrno;
  const fd = <u32>opened;
  const errno = writeAll(fd, data.dataStart, <usize>data.length);
  const closed = <i32>fd_close(fd);
  const result = errno != 0 ? errno : closed;
  if (result != 0) lastErrno = result;
  return result;
}

/** Creates or truncates the file at `path` and writes `data` (missing parent directories are made); the errno, 0 on success. */
export function writeFile(path: string, data: Uint8Array): i32 {
  return writeTo(path, data, O_CREAT | O_TRUNC, 0);
}

/** Appends `data` to the file at `path`, creating it if missing; the errno, 0 on success. */
export function appendFile(path: string, data: Uint8Array): i32 {
  return writeTo(path, data, O_CREAT, FDFLAG_APPEND);
}

/** Writes `text` as UTF-8 to the file at `path` (as `writeFile`). */
export function writeText(path: string, text: string): i32 {
  return writeFile(path, utf8(text));
}

/** True when `path` names a file or directory this program can reach. */
export function fileExists(path: string): bool {
  const opened = open(path, 0, 0, 0);
  if (opened < 0) return false;
  fd_close(<u32>opened);
  return true;
}
