import { Code, VeracruzError } from '@veracruz-ts/core';
import { MAX_TLS_DATA_CHUNK } from './codec.ts';
import type { ChannelMessage } from './messages.ts';

/**
 * Per-session credit-based flow control of tls-data. Each receiver decides how much it is willing
 * to buffer (its window) and grants that much credit when the session opens (an `ack` message); it
 * then acknowledges bytes only once it has consumed them (handed them to TLS, or written them to the
 * client socket), which returns that credit to the sender. A sender never sends beyond its credit.
 * A slow consumer therefore stops the producer at the far end, neither the host nor the isolate ever
 * buffers more than its own window per session and direction, and each side enforces its own window
 * (a peer that overruns it is refused), so neither has to trust the other's configuration.
 */

/** Default credit per session and direction. Big enough to keep loopback pipes busy. */
export const DEFAULT_SESSION_WINDOW = 512 * 1024;

/** Options of {@link SessionSender}. */
export interface SessionSenderOptions {
  /** The session these bytes belong to. */
  sessionId: number;
  /** Sends one tls-data message to the peer (the channel's writer). */
  send: (message: ChannelMessage) => void;
  /** Called when everything queued has been sent, after {@link SessionSender.write} returned false. */
  onDrain: () => void;
  /** Largest payload per tls-data message. @default MAX_TLS_DATA_CHUNK */
  maxChunk?: number;
}

/** The most credit a peer may hold out at once: beyond this a grant is a protocol error. */
export const MAX_SESSION_CREDIT = 0x7fffffff;

/**
 * The sending half of one session: splits writes into tls-data messages, sends while credit lasts,
 * queues the rest until the peer's acks grant more. It starts with no credit: the receiver's first
 * ack is its window. Pure bookkeeping; the I/O is the `send` callback.
 */
export class SessionSender {
  readonly sessionId: number;
  readonly #maxChunk: number;
  readonly #send: (message: ChannelMessage) => void;
  readonly #onDrain: () => void;
  #credit = 0;
  #inFlight = 0;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #closed = false;

  constructor(options: SessionSenderOptions) {
    this.sessionId = options.sessionId;
    this.#maxChunk = options.maxChunk ?? MAX_TLS_DATA_CHUNK;
    this.#send = options.send;
    this.#onDrain = options.onDrain;
    if (!(this.#maxChunk > 0)) throw new VeracruzError(Code.Internal, 'channel: chunk size must be positive');
  }

  /** Bytes sent and not yet acknowledged (at most the peer's window). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Bytes that may be sent now. */
  get credit(): number {
    return this.#credit;
  }

  /** Bytes accepted by {@link write} but waiting for credit. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /**
   * Sends `data` as far as credit allows. Returns true when all of it went out; false when some is
   * queued, in which case the caller should stop producing until `onDrain` is called.
   */
  write(data: Uint8Array): boolean {
    if (this.#closed) throw new VeracruzError(Code.Unavailable, `channel: session ${this.sessionId} is closed`);
    if (data.length > 0) {
      this.#queue.push(data);
      this.#queued += data.length;
    }
    this.#pump();
    return this.#queued === 0;
  }

  /** Adds credit the peer granted (its window at first, then what it consumed); sends what was waiting. */
  acknowledge(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes <= 0 || this.#credit + bytes > MAX_SESSION_CREDIT) {
      throw new VeracruzError(Code.InvalidRequest, `channel: session ${this.sessionId} was granted ${bytes} bytes on top of ${this.#credit}`);
    }
    this.#credit += bytes;
    this.#inFlight = Math.max(0, this.#inFlight - bytes);
    if (this.#closed || this.#queued === 0) return;
    this.#pump();
    if (this.#queued === 0) this.#onDrain();
  }

  /** Drops anything queued; later writes throw. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queued = 0;
  }

  #pump(): void {
    while (this.#queued > 0 && this.#credit > 0) {
      const head = this.#queue[0]!;
      const size = Math.min(head.length, this.#maxChunk, this.#credit);
      const piece = size === head.length ? head : head.subarray(0, size);
      if (size === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(size);
      this.#queued -= size;
      this.#credit -= size;
      this.#inFlight += size;
      this.#send({ type: 'tls-data', sessionId: this.sessionId, data: piece });
    }
  }
}

/**
 * The receiving half of one session: grants its window, refuses a peer that sends beyond the credit
 * it was granted (a host flooding the isolate, or the reverse), and turns consumption into acks.
 */
export class ReceiveWindow {
  readonly sessionId: number;
  readonly window: number;
  #unconsumed = 0;

  constructor(sessionId: number, window = DEFAULT_SESSION_WINDOW) {
    this.sessionId = sessionId;
    this.window = window;
  }

  /** The first ack of a session: the whole window as credit. */
  grant(): ChannelMessage {
    return { type: 'ack', sessionId: this.sessionId, bytes: this.window };
  }

  /** Bytes received and not yet consumed. */
  get unconsumed(): number {
    return this.#unconsumed;
  }

  /** Records `bytes` received; throws VeracruzError(LimitExceeded) if the peer overran its credit. */
  received(bytes: number): void {
    if (this.#unconsumed + bytes > this.window) {
      throw new VeracruzError(Code.LimitExceeded, `channel: session ${this.sessionId} received ${this.#unconsumed + bytes} unacknowledged bytes, beyond the window of ${this.window}`);
    }
    this.#unconsumed += bytes;
  }

  /** Records `bytes` consumed and returns the ack message to send to the peer. */
  consumed(bytes: number): ChannelMessage {
    if (bytes <= 0 || bytes > this.#unconsumed) {
      throw new VeracruzError(Code.Internal, `channel: session ${this.sessionId} consumed ${bytes} bytes of ${this.#unconsumed} received`);
    }
    this.#unconsumed -= bytes;
    return { type: 'ack', sessionId: this.sessionId, bytes };
  }
}

/** An ack returns at least 1/ACK_BATCH_FRACTION of the window (see {@link AckBatcher}). */
export const ACK_BATCH_FRACTION = 4;

/**
 * Acknowledges consumed bytes in batches: what is consumed within one turn of the event loop goes
 * back as a single ack, and only once it amounts to a quarter of the window. Tls-data arrives in
 * pieces (see FrameDecoder's streamTlsData): one ack per piece would multiply the channel's messages
 * (each a write system call and a wake-up of the peer) and hand the peer credit in slivers, which it
 * would spend on slivers of frames. It cannot stall the peer: a peer out of credit has a whole window
 * outstanding, which, once consumed, is more than a batch.
 */
export class AckBatcher {
  readonly #window: ReceiveWindow;
  readonly #send: (message: ChannelMessage) => void;
  readonly #schedule: (flush: () => void) => void;
  #pending = 0;
  #scheduled = false;
  #stopped = false;

  /** `schedule` runs the flush later in this turn. @default process.nextTick */
  constructor(window: ReceiveWindow, send: (message: ChannelMessage) => void, schedule: (flush: () => void) => void = process.nextTick) {
    this.#window = window;
    this.#send = send;
    this.#schedule = schedule;
  }

  /** Bytes consumed but not yet acknowledged. */
  get pendingBytes(): number {
    return this.#pending;
  }

  /** Records `bytes` consumed; the ack follows once this turn's consumption is counted. */
  consumed(bytes: number): void {
    if (this.#stopped || bytes <= 0) return;
    this.#pending += bytes;
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#schedule(this.#flush);
  }

  /** Sends nothing more (the session is gone). */
  stop(): void {
    this.#stopped = true;
    this.#pending = 0;
  }

  #flush = (): void => {
    this.#scheduled = false;
    if (this.#stopped || this.#pending === 0) return;
    // Small amounts wait for more: the peer still holds the rest of the window as credit, and once
    // it has spent all of it, everything it sent is consumed here and the batch is big enough.
    if (this.#pending < this.#window.window / ACK_BATCH_FRACTION) return;
    const bytes = this.#pending;
    this.#pending = 0;
    this.#send(this.#window.consumed(bytes));
  };
}
