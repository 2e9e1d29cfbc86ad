/**
 * One file the policy declares a stream: whether it is open, has ended or failed, who may still
 * append, how far running programs have read it, and who waits on it (readers for data, held
 * appends for room). Waits belong to an owner (a program's process, a session) and are dropped,
 * resolved as `gone`, when it goes, so that nothing waits on behalf of a run or session that is over.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { PolicyStream } from '@veracruz-ts/policy';
import type { FileNode } from './nodes.ts';

/** `open` (more may come), `ended` (all of it is there), or `failed` (aborted: what is there is incomplete). */
export type StreamStatus = 'open' | 'ended' | 'failed';

/** How a wait ended: something changed (check again), its owner went, or its time ran out. */
export type StreamWaitResult = 'changed' | 'gone' | 'timeout';

/** What a program reading at the end of a stream's data gets: more later, end of file, or EIO. */
export type StreamEnd = 'wait' | 'eof' | 'failed';

interface Waiter {
  owner: object;
  wake(result: StreamWaitResult): void;
}

/** The longest delay a timer takes (about 24.8 days); a later deadline is reached in steps. */
const MAX_TIMER_MS = 0x7fff_ffff;

/** The state of one policy stream (see the file comment). */
export class StreamState {
  /** The stream's normalised path. */
  readonly path: string;
  /** Its policy entry. */
  readonly settings: PolicyStream;
  /** The identities that append to it (FD_WRITE on its path); none: an output stream, written by programs. */
  readonly writers: ReadonlySet<number>;
  readonly #file: () => FileNode | undefined;
  readonly #closed = new Set<number>();
  #status: StreamStatus = 'open';
  #failure = '';
  #opened = false;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  // Running programs that read it (by process) and the furthest offset each has read to.
  readonly #readers = new Map<object, number>();
  readonly #dataWaiters = new Set<Waiter>();
  readonly #roomWaiters = new Set<Waiter>();
  // Sessions that appended, and their identity: a session ending before its identity closed the stream is a disconnect.
  readonly #appenders = new Map<object, number>();
  #failedProgramReads = 0;

  /** `file` finds the stream's file node as it is now (undefined if it is gone). */
  constructor(settings: PolicyStream, writers: Iterable<number>, file: () => FileNode | undefined) {
    this.path = settings.path;
    this.settings = settings;
    this.writers = new Set(writers);
    this.#file = file;
  }

  /** Whether programs write it (no identity may): it ends when such a run finishes. */
  get isOutput(): boolean {
    return this.writers.size === 0;
  }

  /** Where the stream is (see {@link StreamStatus}). */
  get status(): StreamStatus {
    return this.#status;
  }

  /** Why it failed (`writer identity 1 left without closing it`); empty unless it failed. */
  get failure(): string {
    return this.#failure;
  }

  /** The file node of the stream now, or undefined if it is not there (removed). */
  get file(): FileNode | undefined {
    return this.#file();
  }

  /** The stream's size now. */
  get size(): number {
    return this.#file()?.data.size ?? 0;
  }

  /** Bytes appended that no running program has read yet (0 while none reads it). */
  get unconsumed(): number {
    if (this.#readers.size === 0) return 0;
    return Math.max(0, this.size - Math.max(...this.#readers.values()));
  }

  /** A VeracruzError(Unavailable) saying that the stream failed and why, for `operation`. */
  failedError(operation: string): VeracruzError {
    return new VeracruzError(Code.Unavailable, `${operation} ${this.path}: stream ${this.path} failed: ${this.#failure}`);
  }

  /**
   * Refuses a principal's write or append to an input stream that has ended, failed, or that
   * `identity` has closed (it said it would append no more), and a (whole-file) write while it is open.
   */
  checkWritable(operation: string, identity: number): void {
    if (this.isOutput) return;
    if (this.#status === 'failed') throw new VeracruzError(Code.InvalidRequest, `${operation} ${this.path}: stream ${this.path} has ended: it failed (${this.#failure})`);
    if (this.#status === 'ended') throw new VeracruzError(Code.InvalidRequest, `${operation} ${this.path}: stream ${this.path} has ended`);
    if (this.#closed.has(identity)) throw new VeracruzError(Code.InvalidRequest, `${operation} ${this.path}: identity ${identity} has closed stream ${this.path}`);
    if (operation === 'write') throw new VeracruzError(Code.InvalidRequest, `write ${this.path}: stream ${this.path} is open: writers append to it`);
  }

  /** Whether writers append to it now (an open input stream): nobody may replace or empty it under them. */
  get appendOnly(): boolean {
    return !this.isOutput && this.#status === 'open';
  }

  /** A principal's `session` (of `identity`) appended: the stream opens; waits for data look again. */
  appended(session: object, identity: number): void {
    this.#open();
    this.#appenders.set(session, identity);
    wakeAll(this.#dataWaiters, 'changed');
  }

  /** A program wrote to the stream's file: waits for data look again. */
  grew(): void {
    if (this.#dataWaiters.size > 0) wakeAll(this.#dataWaiters, 'changed');
  }

  /** `identity` will append no more; the stream ends once every writer has said so. */
  close(identity: number): void {
    this.#closed.add(identity);
    if (this.#status === 'open' && [...this.writers].every((writer) => this.#closed.has(writer))) this.#end('ended');
  }

  /**
   * `session` ended. If it appended and its identity had not closed the stream, the policy's
   * `on_writer_disconnect` applies: `abort` fails the stream, `close` counts as the identity's
   * close, `wait` changes nothing. Its waits are dropped.
   */
  sessionEnded(session: object): void {
    const identity = this.#appenders.get(session);
    this.#appenders.delete(session);
    if (identity !== undefined && this.#status === 'open' && !this.#closed.has(identity)) {
      if (this.settings.on_writer_disconnect === 'abort') this.fail(`writer identity ${identity} left without closing it`);
      else if (this.settings.on_writer_disconnect === 'close') this.close(identity);
    }
    this.ownerGone(session);
  }

  /** Ends the stream as failed (aborted), for `reason`; readers and programs get an error naming it. */
  fail(reason: string): void {
    if (this.#status !== 'open') return;
    this.#failure = reason;
    this.#end('failed');
  }

  /** A program run that writes this output stream starts: the stream is open (again) until it finishes. */
  runStarted(): void {
    if (!this.isOutput) return;
    this.#status = 'open';
    this.#failure = '';
  }

  /** That run finished: the output stream has ended, or failed for `failure` (the run did not exit normally). */
  runFinished(failure?: string): void {
    if (!this.isOutput) return;
    if (failure === undefined) {
      if (this.#status === 'open') this.#end('ended');
    } else this.fail(failure);
  }

  /**
   * What a program reading its descriptor's `file` at or past the end of the data gets: it waits
   * while an input stream is open, gets end of file once it has ended, EIO once it failed. An output
   * stream gives end of file: runs are serialised, so no other program can be writing it meanwhile.
   * A `file` that is no longer the stream's (another was renamed over its path) is an ordinary file: end of file.
   */
  programEnd(file: FileNode): StreamEnd {
    if (this.isOutput || this.#status === 'ended' || this.#file() !== file) return 'eof';
    if (this.#status === 'failed') {
      this.#failedProgramReads++;
      return 'failed';
    }
    return 'wait';
  }

  /** How many program reads got EIO from this failed stream since the last call; resets the count. */
  takeFailedProgramReads(): number {
    const count = this.#failedProgramReads;
    this.#failedProgramReads = 0;
    return count;
  }

  /** A running program (`owner`) has read up to `offset`: held appends look again. */
  consumed(owner: object, offset: number): void {
    const previous = this.#readers.get(owner);
    if (previous !== undefined && previous >= offset) return;
    this.#readers.set(owner, offset);
    if (this.#roomWaiters.size > 0) wakeAll(this.#roomWaiters, 'changed');
  }

  /**
   * Resolves when the stream holds more than `offset` bytes, is no longer open, or something else
   * changed (`changed`: look again); when `owner` goes (`gone`); or after `timeoutMs` (`timeout`).
   * A program's wait is on the file its descriptor holds (`file`): it resolves at once if that file
   * is no longer the stream's, and it opens the stream, starting its deadline.
   */
  waitForData(owner: object, offset: number, options: { timeoutMs?: number; file?: FileNode } = {}): Promise<StreamWaitResult> {
    const file = this.#file();
    if ((options.file ?? file) !== file || (file?.data.size ?? 0) > offset || this.#status !== 'open') return Promise.resolve('changed');
    if (options.file !== undefined) this.#open();
    return wait(this.#dataWaiters, owner, options.timeoutMs);
  }

  /**
   * Holds an append by `session` while more than `max_buffered_bytes` wait unread by a running
   * program: until programs read enough, the stream is no longer open, no program reads it any
   * more, or `session` goes.
   */
  async holdWhileFull(session: object): Promise<void> {
    while (this.#status === 'open' && this.unconsumed > this.settings.max_buffered_bytes) {
      if ((await wait(this.#roomWaiters, session)) === 'gone') return;
    }
  }

  /** `owner` (a program's process, a session) is gone: it reads no more, and its waits end as `gone`. */
  ownerGone(owner: object): void {
    const wasReading = this.#readers.delete(owner);
    for (const waiters of [this.#dataWaiters, this.#roomWaiters]) {
      for (const waiter of [...waiters]) if (waiter.owner === owner) waiter.wake('gone');
    }
    if (wasReading && this.#roomWaiters.size > 0) wakeAll(this.#roomWaiters, 'changed');
  }

  #open(): void {
    if (this.#opened) return;
    this.#opened = true;
    const deadline = this.settings.deadline_ms;
    if (deadline !== undefined) this.#endAt(performance.now() + deadline);
  }

  #endAt(due: number): void {
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, due - performance.now()));
    this.#deadline = setTimeout(() => {
      if (performance.now() < due) this.#endAt(due);
      else this.#end('ended');
    }, delay);
    // A stream's deadline does not by itself keep the process alive.
    this.#deadline.unref();
  }

  #end(status: 'ended' | 'failed'): void {
    this.#status = status;
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    wakeAll(this.#dataWaiters, 'changed');
    wakeAll(this.#roomWaiters, 'changed');
  }
}

function wait(waiters: Set<Waiter>, owner: object, timeoutMs?: number): Promise<StreamWaitResult> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waiter: Waiter = {
      owner,
      wake(result) {
        waiters.delete(waiter);
        clearTimeout(timer);
        resolve(result);
      },
    };
    waiters.add(waiter);
    if (timeoutMs !== undefined) timer = setTimeout(() => waiter.wake('timeout'), timeoutMs).unref();
  });
}

function wakeAll(waiters: Set<Waiter>, result: StreamWaitResult): void {
  for (const waiter of [...waiters]) waiter.wake(result);
}
