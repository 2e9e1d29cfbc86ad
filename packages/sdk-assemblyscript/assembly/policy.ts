import { veracruz_v1 } from "./abi";
import { OUT_LEN, OUT_WORD, Output, WordsOutput, utf8 } from "./output";
import { Result } from "./result";

/** WASI rights bits as the policy grants them (`Rights.READ` etc. are the policy's `r`, `w`, `x`). */
export namespace Rights {
  export const FD_READ: u32 = 1 << 1;
  export const FD_SEEK: u32 = 1 << 2;
  export const FD_WRITE: u32 = 1 << 6;
  export const PATH_CREATE_DIRECTORY: u32 = 1 << 9;
  export const PATH_CREATE_FILE: u32 = 1 << 10;
  export const PATH_OPEN: u32 = 1 << 13;
  export const FD_READDIR: u32 = 1 << 14;
  export const PATH_FILESTAT_SET_SIZE: u32 = 1 << 19;
  export const FD_EXECUTE: u32 = 1 << 29;
  /** `r`: PATH_OPEN | FD_READ | FD_SEEK | FD_READDIR. */
  export const READ: u32 = PATH_OPEN | FD_READ | FD_SEEK | FD_READDIR;
  /** `w`: FD_WRITE | PATH_CREATE_FILE | PATH_FILESTAT_SET_SIZE | FD_SEEK | PATH_OPEN | PATH_CREATE_DIRECTORY. */
  export const WRITE: u32 = FD_WRITE | PATH_CREATE_FILE | PATH_FILESTAT_SET_SIZE | FD_SEEK | PATH_OPEN | PATH_CREATE_DIRECTORY;
  /** `x`: PATH_OPEN | FD_EXECUTE | FD_SEEK. */
  export const EXECUTE: u32 = PATH_OPEN | FD_EXECUTE | FD_SEEK;
}

/** The subject naming the `index`-th entry of the policy's `programs[]`. */
export function programSubject(index: u32): u32 {
  return 0x80000000 | index;
}

/** True when `subject` names a program rather than a principal. */
export function isProgramSubject(subject: u32): bool {
  return (subject & 0x80000000) != 0;
}

// Guesses, grown on NOBUFS.
const POLICY_SIZE = 4096;
const SUBJECT_COUNT = 16;

/**
 * The computation this program runs in: its policy, the rights in force, and narrowing them. Subjects are the
 * policy's principals (their `id`) and its programs (`programSubject(i)`).
 */
export namespace Policy {
  /** The policy's exact bytes (its JSON text). */
  export function bytes(): Result<Uint8Array> {
    const out = new Output(POLICY_SIZE);
    let errno: i32;
    do {
      errno = veracruz_v1.policy_get(out.ptr, out.size, OUT_LEN);
    } while (out.retry(errno));
    return out.result(errno, "policy_get");
  }

  /** The policy's JSON text. */
  export function text(): Result<string> {
    const policy = bytes();
    if (!policy.ok) return Result.fail<string>(policy.errno, policy.operation);
    const data = policy.value;
    return Result.ok<string>(String.UTF8.decodeUnsafe(data.dataStart, <usize>data.length), "policy_get");
  }

  /** The policy's SHA-256 (32 bytes), the hash every principal checked. */
  export function hash(): Result<Uint8Array> {
    const out = new Uint8Array(32);
    const errno = veracruz_v1.policy_hash(out.dataStart);
    if (errno != 0) return Result.fail<Uint8Array>(errno, "policy_hash");
    return Result.ok<Uint8Array>(out, "policy_hash");
  }

  /** Every subject: the principals' ids in policy order, then the programs. */
  export function subjects(): Result<Uint32Array> {
    const out = new WordsOutput(SUBJECT_COUNT);
    let errno: i32;
    do {
      errno = veracruz_v1.subjects(out.ptr, out.count, OUT_LEN);
    } while (out.retry(errno));
    return out.result(errno, "subjects");
  }

  /** The rights in force (the policy's, less any narrowing) of `subject` on `path` (0: none); NOENT for no such subject. */
  export function rightsOf(subject: u32, path: string): Result<u32> {
    const name = utf8(path);
    const errno = veracruz_v1.rights_get(subject, name.dataStart, <usize>name.length, OUT_WORD);
    if (errno != 0) return Result.fail<u32>(errno, "rights_get");
    return Result.ok<u32>(load<u32>(OUT_WORD), "rights_get");
  }

  /** The principals that may read `path` now (FD_READ in force). */
  export function readers(path: string): Result<Uint32Array> {
    const name = utf8(path);
    const out = new WordsOutput(SUBJECT_COUNT);
    let errno: i32;
    do {
      errno = veracruz_v1.readers(name.dataStart, <usize>name.length, out.ptr, out.count, OUT_LEN);
    } while (out.retry(errno));
    return out.result(errno, "readers");
  }

  /**
   * From now on `subject` holds exactly `rights` on `path` and below it, for every later request and run; the
   * errno: PERM (nothing changes) when `rights` holds a bit the subject lacks there now.
   */
  export function narrow(subject: u32, path: string, rights: u32): i32 {
    const name = utf8(path);
    return veracruz_v1.rights_narrow(subject, name.dataStart, <usize>name.length, rights);
  }
}

/**
 * Signs the file at `path` with the isolate's attested key and writes the signed-result envelope (JSON) to
 * `outPath`; the errno: NOTCAPABLE without this program's read right on `path` or write right on `outPath`.
 */
export function signResult(path: string, outPath: string): i32 {
  const name = utf8(path);
  const outName = utf8(outPath);
  return veracruz_v1.result_sign(name.dataStart, <usize>name.length, outName.dataStart, <usize>outName.length);
}
