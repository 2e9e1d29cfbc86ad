import { Errno, Result } from "./result";

/** Where the runtime writes an output's length (`out_len_ptr`) or a count (`count_ptr`). */
export const OUT_LEN: usize = memory.data(8);
/** Where the runtime writes a new key's handle or a rights value. */
export const OUT_WORD: usize = memory.data(8);

/** How many times a call is repeated after NOBUFS with a buffer of the size the runtime asked for. */
const RETRIES = 3;

/**
 * A variable-length output: a buffer of a guessed size, grown to the size the runtime reports when it answers
 * NOBUFS, so a call is made once when the guess holds and twice otherwise.
 *
 *     const out = new Output(64);
 *     let errno: i32;
 *     do { errno = call(..., out.ptr, out.size, OUT_LEN); } while (out.retry(errno));
 *     return out.result(errno, "call");
 */
export class Output {
  buffer: Uint8Array;
  private tries: i32 = 0;

  constructor(size: i32) {
    this.buffer = new Uint8Array(size);
  }

  get ptr(): usize {
    return this.buffer.dataStart;
  }

  get size(): usize {
    return <usize>this.buffer.length;
  }

  /** True when `errno` is NOBUFS and the buffer now has the size the runtime asked for: call again. */
  retry(errno: i32): bool {
    if (errno != Errno.NOBUFS || this.tries >= RETRIES) return false;
    this.tries++;
    this.buffer = new Uint8Array(<i32>load<u32>(OUT_LEN));
    return true;
  }

  /** The output (its first `*OUT_LEN` bytes) when `errno` is 0, otherwise the failure. */
  result(errno: i32, operation: string): Result<Uint8Array> {
    if (errno != 0) return Result.fail<Uint8Array>(errno, operation);
    const length = <i32>load<u32>(OUT_LEN);
    return Result.ok<Uint8Array>(length == this.buffer.length ? this.buffer : this.buffer.slice(0, length), operation);
  }
}

/** The same for outputs counted in u32s (`subjects`, `readers`). */
export class WordsOutput {
  buffer: Uint32Array;
  private tries: i32 = 0;

  constructor(count: i32) {
    this.buffer = new Uint32Array(count);
  }

  get ptr(): usize {
    return this.buffer.dataStart;
  }

  get count(): usize {
    return <usize>this.buffer.length;
  }

  retry(errno: i32): bool {
    if (errno != Errno.NOBUFS || this.tries >= RETRIES) return false;
    this.tries++;
    this.buffer = new Uint32Array(<i32>load<u32>(OUT_LEN));
    return true;
  }

  result(errno: i32, operation: string): Result<Uint32Array> {
    if (errno != 0) return Result.fail<Uint32Array>(errno, operation);
    const count = <i32>load<u32>(OUT_LEN);
    return Result.ok<Uint32Array>(count == this.buffer.length ? this.buffer : this.buffer.slice(0, count), operation);
  }
}

/** The UTF-8 bytes of `text` (for paths and messages). */
export function utf8(text: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(text));
}
