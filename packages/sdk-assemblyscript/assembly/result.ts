import { fd_write, proc_exit } from "bindings/wasi_snapshot_preview1";

/** WASI preview1 errno values: the ABI's, and the ones the file helpers meet most. */
export namespace Errno {
  export const SUCCESS: i32 = 0;
  /** `2BIG`: an input longer than 64 MiB. */
  export const TOOBIG: i32 = 1;
  export const ACCES: i32 = 2;
  export const BADF: i32 = 8;
  export const BADMSG: i32 = 9;
  export const EXIST: i32 = 20;
  export const FAULT: i32 = 21;
  export const ILSEQ: i32 = 25;
  export const INVAL: i32 = 28;
  export const IO: i32 = 29;
  export const ISDIR: i32 = 31;
  export const NOBUFS: i32 = 42;
  export const NOENT: i32 = 44;
  export const NOMEM: i32 = 48;
  export const NOTDIR: i32 = 54;
  export const NOTSUP: i32 = 58;
  export const PERM: i32 = 63;
  export const NOTCAPABLE: i32 = 76;
}

/** The errno's name as the ABI document spells it (`BADF`, `2BIG`), or `errno <n>` for others. */
export function errnoName(errno: i32): string {
  switch (errno) {
    case Errno.SUCCESS: return "SUCCESS";
    case Errno.TOOBIG: return "2BIG";
    case Errno.ACCES: return "ACCES";
    case Errno.BADF: return "BADF";
    case Errno.BADMSG: return "BADMSG";
    case Errno.EXIST: return "EXIST";
    case Errno.FAULT: return "FAULT";
    case Errno.ILSEQ: return "ILSEQ";
    case Errno.INVAL: return "INVAL";
    case Errno.IO: return "IO";
    case Errno.ISDIR: return "ISDIR";
    case Errno.NOBUFS: return "NOBUFS";
    case Errno.NOENT: return "NOENT";
    case Errno.NOMEM: return "NOMEM";
    case Errno.NOTDIR: return "NOTDIR";
    case Errno.NOTSUP: return "NOTSUP";
    case Errno.PERM: return "PERM";
    case Errno.NOTCAPABLE: return "NOTCAPABLE";
    default: return "errno " + errno.toString();
  }
}

/** Exit codes shared with the C examples (examples/README.md). */
export namespace ExitCode {
  export const SUCCESS: i32 = 0;
  /** Internal failure or a failed check. */
  export const FAILURE: i32 = 1;
  /** An input is missing or unreadable. */
  export const MISSING_INPUT: i32 = 2;
  /** An input is malformed. */
  export const MALFORMED_INPUT: i32 = 3;
  /** An output cannot be written. */
  export const OUTPUT_FAILED: i32 = 4;
}

// One iovec and the written-count of the stream writes below.
const WRITE_IOV: usize = memory.data(12);

/** Writes all of `data` to descriptor `fd`; the errno of the first failed write, or 0. */
export function writeAll(fd: u32, data: usize, length: usize): i32 {
  while (length > 0) {
    store<u32>(WRITE_IOV, <u32>data);
    store<u32>(WRITE_IOV, <u32>length, 4);
    const errno = <i32>fd_write(fd, WRITE_IOV, 1, WRITE_IOV + 8);
    if (errno != 0) return errno;
    const written = <usize>load<u32>(WRITE_IOV, 8);
    if (written == 0) return Errno.IO;
    data += written;
    length -= written;
  }
  return 0;
}

function writeText(fd: u32, text: string): i32 {
  const bytes = String.UTF8.encode(text);
  return writeAll(fd, changetype<usize>(bytes), <usize>bytes.byteLength);
}

/** Writes `text` (UTF-8) to stdout; the errno, 0 on success. */
export function print(text: string): i32 {
  return writeText(1, text);
}

/** Writes `text` (UTF-8) to stderr; the errno, 0 on success. */
export function printError(text: string): i32 {
  return writeText(2, text);
}

/** Ends the program with exit code `code` (0 = success). */
export function exit(code: i32): void {
  proc_exit(<u32>code);
  unreachable();
}

/** Prints `error: <message>` on stderr and ends the program with exit code `code`. */
export function fail(code: i32, message: string): void {
  printError("error: " + message + "\n");
  exit(code);
}

/**
 * The outcome of a call that produces a value: the value, or the errno the runtime answered. AssemblyScript
 * cannot catch exceptions, so nothing here throws: test `ok` (or `errno`) to handle a failure, or read `value`,
 * which ends the program with `error: <operation>: <ERRNO>` on stderr and exit code 1 when the call failed.
 */
export class Result<T> {
  private constructor(
    /** The errno: 0 when the call succeeded. */
    readonly errno: i32,
    private readonly inner: T,
    /** What was called, for messages (`hash`, `key_export`, …). */
    readonly operation: string
  ) {}

  /** A success holding `value`. */
  static ok<T>(value: T, operation: string = ""): Result<T> {
    return new Result<T>(0, value, operation);
  }

  /** A failure with `errno` (non-zero). */
  static fail<T>(errno: i32, operation: string): Result<T> {
    if (isReference<T>()) return new Result<T>(errno, changetype<T>(0), operation);
    return new Result<T>(errno, <T>0, operation);
  }

  /** True when the call succeeded. */
  get ok(): bool {
    return this.errno == 0;
  }

  /** The value; when the call failed, ends the program (exit code 1) saying which call and errno. */
  get value(): T {
    if (this.errno != 0) fail(ExitCode.FAILURE, this.operation + ": " + errnoName(this.errno));
    return this.inner;
  }

  /** The value, or `fallback` when the call failed. */
  valueOr(fallback: T): T {
    return this.errno == 0 ? this.inner : fallback;
  }
}
