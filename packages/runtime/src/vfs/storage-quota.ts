import { Errno, FsFailure } from './errno.ts';

/**
 * The byte budget of one VFS: the sum of its files' lengths (std streams included) may not pass
 * `limit`, so a program writing without end gets ENOSPC instead of exhausting the runtime's memory.
 * A removed file's bytes are returned at once; a removed file still open keeps counting what it
 * grows by (never less: the count may overestimate, never underestimate).
 */
export class StorageQuota {
  /** Most bytes the VFS may hold. */
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes counted now. */
  get used(): number {
    return this.#used;
  }

  /** Throws ENOSPC unless `bytes` more fit. */
  check(bytes: number): void {
    if (bytes > 0 && this.#used + bytes > this.limit) {
      throw new FsFailure(Errno.NOSPC, `file system full (${this.limit} bytes)`);
    }
  }

  /** Counts `bytes` more (checked first). */
  reserve(bytes: number): void {
    this.check(bytes);
    this.#used += bytes;
  }

  /** Returns `bytes`. */
  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
