import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, constants, ftruncateSync, openSync, readSync, unlinkSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { BudgetExceeded, formatBytes } from '../budget/memory-budget.ts';
import { Errno, FsFailure } from './errno.ts';

/** Bytes of the authentication tag stored after each sealed chunk. */
export const SEAL_TAG_BYTES = 16;

/** Binds what a chunk is for into its tag, besides its nonce. */
const DOMAIN = new TextEncoder().encode('veracruz-ts sealed chunk v1');

/** Files kept open at once (a computation may have more files than the process may have descriptors). */
const OPEN_FILES = 32;

/**
 * Sealed data the host gave back was not what the isolate sealed: altered, an older version replayed,
 * another chunk or another file's chunk, cut short or missing. EIO for a program; the layers that
 * know the file's name report `integrity_violation` naming it.
 */
export class SealedDataRejected extends FsFailure {
  /** What was wrong, in words (no data). */
  readonly detail: string;
  constructor(detail: string) {
    super(Errno.IO, detail);
    this.name = 'SealedDataRejected';
    this.detail = detail;
  }
}

/**
 * Memory could not be freed by sealing file data out, because the host's sealed storage is at its
 * bound: a refusal of the memory budget, whose sentence says both.
 */
export class SealedStorageFull extends BudgetExceeded {
  /** The sealed storage's bound, in bytes. */
  readonly storageLimit: number;
  constructor(refused: BudgetExceeded, storageLimit: number) {
    super(refused.resource, refused.bytes, refused.limit);
    this.name = 'SealedStorageFull';
    this.storageLimit = storageLimit;
  }

  override get sentence(): string {
    return `${super.sentence}, and its sealed storage on the host is full (${formatBytes(this.storageLimit)})`;
  }
}

/** Options of a {@link SealedStore}. */
export interface SealedStoreOptions {
  /** A directory the host provides (and may read, change or delete at any time). */
  directory: string;
  /** Most bytes of sealed chunks (tags included) the store holds at once. */
  maxBytes: number;
}

/**
 * File data sealed out of the isolate onto storage the host provides. Each chunk is encrypted with
 * AES-256-GCM under a key made when the store is made, which never leaves the isolate; its nonce is
 * (file, chunk index, version) and its additional data the chunk's length, so the tag binds the
 * chunk to its file, its position and its version. The caller keeps the version (and the length) of
 * every chunk it sealed and asks for exactly that one back: a chunk replayed from an older version,
 * moved from another position or another file, altered or cut short fails authentication
 * ({@link SealedDataRejected}), for the whole run, whether or not a program has the file open.
 *
 * Chunks of one file live in one host file (`f<file>`) at fixed places, so the host sees how large
 * each chunk is and the order in which they are written and read, and nothing of their contents.
 * Each (file, index, version) is sealed at most once: callers never reuse a version.
 */
export class SealedStore {
  /** Most bytes of sealed chunks held at once. */
  readonly maxBytes: number;
  readonly #directory: string;
  readonly #key = randomBytes(32);
  /** Where each chunk is now: file → index → its sealed length and where it ends in the host file. */
  readonly #slots = new Map<number, Map<number, { bytes: number; end: number }>>();
  /** Open host files, least recently used first. */
  readonly #open = new Map<number, number>();
  #used = 0;
  #nextFile = 1;
  #scratch = Buffer.alloc(0);

  constructor(options: SealedStoreOptions) {
    this.#directory = options.directory;
    this.maxBytes = options.maxBytes;
  }

  /** Bytes of sealed chunks held now. */
  get used(): number {
    return this.#used;
  }

  /**
   * Seals `data`, the chunk `index` of `file` whose first byte is byte `position` of the file, as
   * `version`. Throws ENOSPC ({@link FsFailure}) when the store's bound or the host's disk refuses it;
   * the chunk's previous sealed copy (if any) then stays counted.
   */
  seal(file: number, index: number, position: number, version: number, data: Uint8Array): void {
    let slots = this.#slots.get(file);
    const before = slots?.get(index)?.bytes ?? 0;
    const bytes = data.length + SEAL_TAG_BYTES;
    if (this.#used - before + bytes > this.maxBytes) throw new FsFailure(Errno.NOSPC, 'sealed storage full');
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce(file, index, version));
    cipher.setAAD(additionalData(data.length));
    const sealed = cipher.update(data);
    const rest = cipher.final();
    const tag = cipher.getAuthTag();
    try {
      writevSync(this.#fd(file), rest.length === 0 ? [sealed, tag] : [sealed, rest, tag], slot(index, position));
    } catch (reason) {
      throw new FsFailure(Errno.NOSPC, `sealed storage: ${(reason as NodeJS.ErrnoException).code ?? 'write failed'}`);
    }
    if (slots === undefined) {
      slots = new Map();
      this.#slots.set(file, slots);
    }
    slots.set(index, { bytes, end: slot(index, position) + bytes });
    this.#used += bytes - before;
  }

  /** The `length` bytes sealed as `version` of chunk `index` of `file` at `position`, or {@link SealedDataRejected}. */
  unseal(file: number, index: number, position: number, version: number, length: number): Uint8Array {
    // One buffer for every read: sealed bytes are only ever needed until they are decrypted.
    if (this.#scratch.length < length + SEAL_TAG_BYTES) this.#scratch = Buffer.allocUnsafe(length + SEAL_TAG_BYTES);
    const sealed = this.#scratch.subarray(0, length + SEAL_TAG_BYTES);
    let read: number;
    try {
      read = readSync(this.#fd(file), sealed, 0, sealed.length, slot(index, position));
    } catch (reason) {
      throw new SealedDataRejected(`the host did not return its sealed data (${(reason as NodeJS.ErrnoException).code ?? 'read failed'})`);
    }
    if (read < sealed.length) throw new SealedDataRejected('the host returned its sealed data cut short');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, nonce(file, index, version));
    decipher.setAAD(additionalData(length));
    decipher.setAuthTag(sealed.subarray(length));
    const data = decipher.update(sealed.subarray(0, length));
    try {
      decipher.final();
    } catch {
      throw new SealedDataRejected(`the host returned sealed data that is not the latest of this chunk of this file (at byte ${position})`);
    }
    return data;
  }

  /** The chunk is no longer needed: its bytes stop counting (see {@link trim} for the host file). */
  drop(file: number, index: number): void {
    const slots = this.#slots.get(file);
    this.#used -= slots?.get(index)?.bytes ?? 0;
    slots?.delete(index);
  }

  /**
   * Cuts the host file of `file` after its last chunk still needed, so that the host's disk holds no
   * more than the store counts (chunks dropped in the middle of a file stay until it is discarded or
   * they are sealed again, each at most a slab).
   */
  trim(file: number): void {
    let end = 0;
    for (const chunk of this.#slots.get(file)?.values() ?? []) end = Math.max(end, chunk.end);
    try {
      ftruncateSync(this.#fd(file), end);
    } catch {
      // Removed by the host: whatever it did is caught when a chunk is read.
    }
  }

  /** A number for a new file, which no other file sealed under this key has had. */
  newFile(): number {
    return this.#nextFile++;
  }

  /** Every chunk of `file` is gone: its host file is deleted. */
  discard(file: number): void {
    for (const chunk of this.#slots.get(file)?.values() ?? []) this.#used -= chunk.bytes;
    this.#slots.delete(file);
    const fd = this.#open.get(file);
    if (fd !== undefined) {
      this.#open.delete(file);
      closeSync(fd);
    }
    try {
      unlinkSync(this.#path(file));
    } catch {
      // Never written, or removed by the host: nothing is left to delete.
    }
  }

  /** Closes the host files (the host removes the directory). */
  close(): void {
    for (const fd of this.#open.values()) closeSync(fd);
    this.#open.clear();
  }

  #path(file: number): string {
    return join(this.#directory, `f${file}`);
  }

  #fd(file: number): number {
    let fd = this.#open.get(file);
    if (fd !== undefined) {
      this.#open.delete(file);
    } else {
      if (this.#open.size >= OPEN_FILES) {
        const [oldest, oldestFd] = this.#open.entries().next().value as [number, number];
        this.#open.delete(oldest);
        closeSync(oldestFd);
      }
      // Created when missing, never truncated: a host that deleted the file is caught on the next read.
      fd = openSync(this.#path(file), constants.O_RDWR | constants.O_CREAT, 0o600);
    }
    this.#open.set(file, fd);
    return fd;
  }
}

/** Where chunk `index` starting at byte `position` of its file lives in the host file: its tags precede it. */
function slot(index: number, position: number): number {
  return position + index * SEAL_TAG_BYTES;
}

function nonce(file: number, index: number, version: number): Buffer {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(file, 0);
  bytes.writeUInt32BE(index, 4);
  bytes.writeUInt32BE(version, 8);
  return bytes;
}

function additionalData(length: number): Buffer {
  const bytes = Buffer.alloc(DOMAIN.length + 4);
  bytes.set(DOMAIN);
  bytes.writeUInt32BE(length, DOMAIN.length);
  return bytes;
}
