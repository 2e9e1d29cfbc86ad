/**
 * Writing a user's file so that it is replaced whole or not at all: the data goes to a temporary
 * file beside the destination, which is renamed into place only once everything has arrived and
 * been flushed. A refused read, a lost connection, a full disk or Ctrl-C leaves the destination
 * as it was and no temporary file behind.
 *
 * Node-only (file system, signals): meant for `@veracruz-ts/policy/node` (see ./index.ts), never
 * for the package's main entry, which stays browser-safe. It lives in this lowest package because
 * every tool that writes a user's file (vc-client, vc-pgen, vc-fee, vc-pas) depends on it already.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  type Stats,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Code, VeracruzError } from '@veracruz-ts/core';

/** Options of {@link writeFileAtomically} and {@link writeFileAtomicallySync}. */
export interface AtomicWriteOptions {
  /**
   * Permission bits of a file that does not exist yet (the process umask applies). A file that
   * exists keeps its own mode (and, when run as root, its owner).
   * @default 0o600
   */
  mode?: number;
  /**
   * Refuse to replace an existing file (`already_exists`). The new file still appears whole or
   * not at all.
   * @default false
   */
  exclusive?: boolean;
}

/** Options of {@link writeFileAtomically}. */
export interface AsyncAtomicWriteOptions extends AtomicWriteOptions {
  /**
   * Checks the complete, flushed temporary file before it takes the destination's place;
   * throwing leaves the destination as it was.
   */
  verify?: (temporaryPath: string) => void | Promise<void>;
}

/** What can be written: bytes, text (UTF-8), or chunks as they arrive. */
export type FileContents = string | Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Synchronous contents: bytes, text (UTF-8), or chunks. */
export type SyncFileContents = string | Uint8Array | Iterable<Uint8Array>;

/**
 * Writes `contents` to `path`, replacing the file only when all of it has been written and
 * flushed (see the module comment). Chunks are written as they arrive, so a large download is
 * never held in memory; the temporary file is created only when the first chunk arrives, so a
 * source that fails at once leaves nothing on disk even for a moment. A symbolic link is
 * followed (the link stays, its target is replaced). A destination that is not a regular file
 * (`/dev/null`, a FIFO) is written directly, as it cannot be replaced.
 *
 * Failures of the source are rethrown as they are; local file-system failures become
 * VeracruzErrors naming the path: `permission_denied` (EACCES, EPERM, EROFS), `not_found` (no
 * such directory), `limit_exceeded` (disk full, file too large, quota), `already_exists`
 * (`exclusive`), `invalid_request` (the destination is a directory), `internal` (the rest).
 *
 * Disk writes are synchronous between chunks: meant for command-line tools, not servers.
 */
export async function writeFileAtomically(path: string, contents: FileContents, options: AsyncAtomicWriteOptions = {}): Promise<void> {
  const file = PendingFile.open(path, options);
  try {
    if (typeof contents === 'string' || contents instanceof Uint8Array) file.write(contents);
    else for await (const chunk of contents) file.write(chunk);
    file.flush();
    if (options.verify !== undefined && file.temporaryPath !== undefined) await options.verify(file.temporaryPath);
    file.commit();
  } catch (reason) {
    file.abort();
    throw reason;
  }
}

/** {@link writeFileAtomically} for synchronous contents, synchronously (no `verify`). */
export function writeFileAtomicallySync(path: string, contents: SyncFileContents, options: AtomicWriteOptions = {}): void {
  const file = PendingFile.open(path, options);
  try {
    if (typeof contents === 'string' || contents instanceof Uint8Array) file.write(contents);
    else for (const chunk of contents) file.write(chunk);
    file.flush();
    file.commit();
  } catch (reason) {
    file.abort();
    throw reason;
  }
}

/** Whether `name` is one of the temporary files these functions create (for tests and clean-up tools). */
export function isAtomicTemporaryName(name: string): boolean {
  return /^\..+\.tmp-[0-9a-f]{12}$/.test(name);
}

/** A replacement in progress: the destination as resolved, and the temporary file once opened. */
class PendingFile {
  readonly #destination: string;
  readonly #target: string;
  readonly #existing: Stats | undefined;
  readonly #direct: boolean;
  readonly #mode: number;
  readonly #exclusive: boolean;
  #temporary: string | undefined;
  #fd: number | undefined;

  private constructor(destination: string, target: string, existing: Stats | undefined, options: AtomicWriteOptions) {
    this.#destination = destination;
    this.#target = target;
    this.#existing = existing;
    this.#direct = existing !== undefined && !existing.isFile();
    this.#mode = options.mode ?? 0o600;
    this.#exclusive = options.exclusive ?? false;
  }

  /** Resolves the destination and refuses what cannot work before any data is consumed. */
  static open(destination: string, options: AtomicWriteOptions): PendingFile {
    const target = resolveLinks(destination);
    let existing: Stats | undefined;
    try {
      existing = statSync(target);
    } catch (reason) {
      if (errno(reason) !== 'ENOENT') throw localFileError(destination, reason);
    }
    if (existing?.isDirectory() === true) {
      throw new VeracruzError(Code.InvalidRequest, `cannot write ${destination}: it is a directory`);
    }
    if (existing !== undefined && options.exclusive === true) {
      throw new VeracruzError(Code.AlreadyExists, `${destination} exists already; it was left as it is`);
    }
    return new PendingFile(destination, target, existing, options);
  }

  /** The temporary file, once the first chunk has created it. */
  get temporaryPath(): string | undefined {
    return this.#temporary;
  }

  write(chunk: string | Uint8Array): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const fd = this.#fd ?? this.#create();
    try {
      for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (reason) {
      throw localFileError(this.#destination, reason, { exists: this.#existing !== undefined });
    }
  }

  /** Creates the file if no chunk did (empty contents), gives it the destination's mode, flushes and closes it. */
  flush(): void {
    const fd = this.#fd ?? this.#create();
    try {
      if (!this.#direct) {
        if (this.#existing !== undefined) {
          fchmodSync(fd, this.#existing.mode & 0o7777);
          const { uid, gid } = fstatSync(fd);
          if (process.getuid?.() === 0 && (uid !== this.#existing.uid || gid !== this.#existing.gid)) {
            try {
              fchownSync(fd, this.#existing.uid, this.#existing.gid);
            } catch {
              // Best effort: the data matters more than the owner.
            }
          }
        }
        fsyncSync(fd);
      }
      this.#fd = undefined;
      closeSync(fd);
    } catch (reason) {
      throw localFileError(this.#destination, reason, { exists: this.#existing !== undefined });
    }
  }

  /** Puts the temporary file in the destination's place. */
  commit(): void {
    const temporary = this.#temporary;
    if (this.#direct || temporary === undefined) return;
    try {
      if (this.#exclusive) {
        // link() fails if the name exists, so an existing file is never replaced, even one that
        // appeared while the data arrived.
        linkSync(temporary, this.#target);
        unlinkSync(temporary);
      } else {
        renameSync(temporary, this.#target);
      }
    } catch (reason) {
      if (errno(reason) === 'EEXIST') throw new VeracruzError(Code.AlreadyExists, `${this.#destination} exists already; it was left as it is`);
      throw localFileError(this.#destination, reason, { exists: this.#existing !== undefined });
    }
    forget(temporary);
    this.#temporary = undefined;
    syncDirectory(dirname(this.#target));
  }

  /** Removes the temporary file; the destination is as it was. */
  abort(): void {
    if (this.#fd !== undefined) {
      try {
        closeSync(this.#fd);
      } catch {
        // Already failed; the removal below is what matters.
      }
      this.#fd = undefined;
    }
    const temporary = this.#temporary;
    if (temporary === undefined) return;
    try {
      unlinkSync(temporary);
    } catch {
      // Gone already (a signal handler may have removed it).
    }
    forget(temporary);
    this.#temporary = undefined;
  }

  #create(): number {
    try {
      if (this.#direct) {
        this.#fd = openSync(this.#target, 'w');
        return this.#fd;
      }
      const temporary = temporaryPathFor(this.#target);
      remember(temporary);
      this.#temporary = temporary;
      this.#fd = openSync(temporary, 'wx', this.#existing === undefined ? this.#mode : 0o600);
      return this.#fd;
    } catch (reason) {
      throw localFileError(this.#destination, reason, { exists: this.#existing !== undefined, ...(this.#direct ? {} : { directory: dirname(this.#target) }) });
    }
  }
}

/** Where a write to `path` lands: a symbolic link's final target (even one that does not exist yet). */
function resolveLinks(path: string): string {
  const absolute = resolve(path);
  for (let hops = 0, current = absolute; hops < 40; hops++) {
    let link: boolean;
    try {
      link = lstatSync(current).isSymbolicLink();
    } catch (reason) {
      if (errno(reason) === 'ENOENT') return current;
      throw localFileError(path, reason);
    }
    if (!link) return realpathOrSelf(current);
    current = resolve(dirname(current), readlinkSync(current));
  }
  throw new VeracruzError(Code.InvalidRequest, `cannot write ${path}: too many levels of symbolic links`);
}

function realpathOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function temporaryPathFor(target: string): string {
  // Hidden, recognisable, unique; short enough for NAME_MAX even beside a long name.
  return join(dirname(target), `.${basename(target).slice(0, 200)}.tmp-${randomBytes(6).toString('hex')}`);
}

function syncDirectory(directory: string): void {
  try {
    const fd = openSync(directory, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can fsync a directory; the rename itself is done.
  }
}

function errno(reason: unknown): string | undefined {
  return typeof reason === 'object' && reason !== null && 'code' in reason ? String((reason as { code: unknown }).code) : undefined;
}

const ERRNO_CODES: Record<string, Code> = {
  EACCES: Code.PermissionDenied,
  EPERM: Code.PermissionDenied,
  EROFS: Code.PermissionDenied,
  ENOENT: Code.NotFound,
  ENOTDIR: Code.NotFound,
  ENOSPC: Code.LimitExceeded,
  EFBIG: Code.LimitExceeded,
  EDQUOT: Code.LimitExceeded,
  EISDIR: Code.InvalidRequest,
  EEXIST: Code.AlreadyExists,
};

/** A file-system failure as a VeracruzError naming the path and the system's reason. */
function localFileError(path: string, reason: unknown, context: { exists?: boolean; directory?: string } = {}): VeracruzError {
  if (reason instanceof VeracruzError) return reason;
  const code = errno(reason);
  const sentence = reason instanceof Error ? /^\w+: ([^,]+)/.exec(reason.message)?.[1] : undefined;
  const why = code === undefined ? String(reason) : sentence === undefined ? code : `${code}: ${sentence}`;
  const failure = code === undefined ? Code.Internal : ERRNO_CODES[code] ?? Code.Internal;
  // Creating the temporary file is the first write into the directory: a directory that refuses
  // it may still let the file itself be written, so say why the directory matters.
  const where = context.directory !== undefined && failure === Code.PermissionDenied
    ? ` (the data goes to a temporary file in ${context.directory} first, then replaces the file)` : '';
  return new VeracruzError(failure, `cannot write ${path}: ${why}${where}${context.exists === true ? '; it was left as it is' : ''}`, { cause: reason });
}

// Temporary files of writes in progress, removed if the process is interrupted or exits early.
const pending = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function removePending(): void {
  for (const temporary of pending) {
    try {
      unlinkSync(temporary);
    } catch {
      // Not created yet, or gone already.
    }
  }
  pending.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  removePending();
  uninstall();
  // With no other handler, end as the signal's default action would (exit status 128 + n).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  for (const signal of SIGNALS) process.on(signal, onSignal);
  process.on('exit', removePending);
}

function uninstall(): void {
  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
  process.removeListener('exit', removePending);
}

function remember(temporary: string): void {
  if (pending.size === 0) install();
  pending.add(temporary);
}

function forget(temporary: string): void {
  if (!pending.delete(temporary)) return;
  if (pending.size === 0) uninstall();
}
