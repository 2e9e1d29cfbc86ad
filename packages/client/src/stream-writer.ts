/**
 * Appending to a stream (a path the policy declares in `streams`) as a Node `Writable`: what the
 * producer writes goes out as `append_file` requests, a bounded number in flight, and `end()` sends
 * `close_stream`. The isolate holds an append while the stream's readers are too far behind, so a
 * full window stops the writable's callbacks and `write()` returns false: the producer feels the
 * isolate's backpressure.
 */
import { Writable } from 'node:stream';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { FramedConnection } from './connection.ts';

/** Options of `VeracruzClient.openStreamWriter`. */
export interface StreamWriterOptions {
  /** Largest append, in bytes (rounded down to whole records). @default the client's `chunkBytes` (1 MiB) */
  chunkBytes?: number;
  /** Appends sent but not yet accepted by the isolate, at most. @default the client's `window` (8) */
  window?: number;
  /**
   * Bytes per record: every append carries whole records, and a partial one waits for the rest, so
   * records of several writers to one stream never interleave mid-record. @default 1
   */
  recordBytes?: number;
  /** Send `close_stream` when the writable ends (false: end without closing, to go on later). @default true */
  closeOnEnd?: boolean;
  /** The writable's own buffer, in bytes, before `write()` returns false. @default 64 KiB */
  highWaterMark?: number;
}

/** What a `progress` event of a stream writer or follower carries. */
export interface StreamProgress {
  /** Bytes the isolate accepted (writer) or delivered (follower) so far. */
  bytes: number;
}

/** The settings a writer runs with, the client's defaults filled in. */
export type StreamWriterSettings = Required<Pick<StreamWriterOptions, 'chunkBytes' | 'window'>> & StreamWriterOptions;

function positiveInteger(value: number, name: string, path: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new VeracruzError(Code.InvalidRequest, `stream writer for ${path}: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * A stream's writing end. Each `write` callback fires once its bytes are sent and no more than
 * `window` appends await the isolate's acceptance; `finish` fires once every append was accepted
 * and the stream closed. Emits `progress` ({@link StreamProgress}) as appends are accepted, and
 * `error` with the isolate's VeracruzError when it refuses one (e.g. `invalid_request`: the stream
 * has ended; `permission_denied`: no write right). Destroying the writer sends no `close_stream`.
 */
export class StreamWriter extends Writable {
  /** The stream's path, as given. */
  readonly path: string;
  readonly #connection: FramedConnection;
  readonly #chunkBytes: number;
  readonly #window: number;
  readonly #recordBytes: number;
  readonly #closeOnEnd: boolean;
  /** Appends awaiting acceptance, oldest first, with their sizes. */
  readonly #inFlight: { bytes: number; accepted: Promise<void> }[] = [];
  /** The start of a record whose end has not been written yet. */
  #partial: Uint8Array = new Uint8Array(0);
  #accepted = 0;

  /** Use `VeracruzClient.openStreamWriter`. */
  constructor(connection: FramedConnection, path: string, settings: StreamWriterSettings) {
    super({ highWaterMark: settings.highWaterMark ?? 64 * 1024 });
    this.path = path;
    this.#connection = connection;
    this.#recordBytes = positiveInteger(settings.recordBytes ?? 1, 'recordBytes', path);
    positiveInteger(settings.chunkBytes, 'chunkBytes', path);
    // At least one record per append, whatever chunkBytes says.
    this.#chunkBytes = Math.max(this.#recordBytes, settings.chunkBytes - (settings.chunkBytes % this.#recordBytes));
    this.#window = positiveInteger(settings.window, 'window', path);
    this.#closeOnEnd = settings.closeOnEnd ?? true;
  }

  /** Bytes the isolate has accepted so far. */
  get acceptedBytes(): number {
    return this.#accepted;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send([chunk]).then(() => callback(), callback);
  }

  // Chunks written while the previous ones were on their way go out together, in full-sized appends.
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.#send(chunks.map(({ chunk }) => chunk)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#finish().then(() => callback(), callback);
  }

  async #send(parts: Uint8Array[]): Promise<void> {
    const data = this.#partial.length === 0 && parts.length === 1 ? parts[0]! : Buffer.concat([this.#partial, ...parts]);
    const whole = data.length - (data.length % this.#recordBytes);
    // Copied: the caller may reuse its buffer once the callback fires, and this may wait for the next write.
    this.#partial = Uint8Array.from(data.subarray(whole));
    for (let offset = 0; offset < whole; offset += this.#chunkBytes) {
      await this.#room(this.#window - 1);
      // A refusal (or the producer) destroyed the writer meanwhile: send nothing more.
      if (this.destroyed) return;
      this.#append(data.subarray(offset, Math.min(whole, offset + this.#chunkBytes)));
      await this.#connection.writable();
    }
  }

  #append(data: Uint8Array): void {
    const accepted = this.#connection.call({ kind: 'append_file', fileName: this.path, data }).then(() => {
      this.#accepted += data.length;
      this.emit('progress', { bytes: this.#accepted } satisfies StreamProgress);
    });
    // A refusal ends the writer at once, even while the producer is not writing.
    accepted.catch((reason: unknown) => {
      if (!this.destroyed) this.destroy(VeracruzError.from(reason));
    });
    this.#inFlight.push({ bytes: data.length, accepted });
  }

  /** Waits until at most `limit` appends await acceptance; rejects with the first refusal. */
  async #room(limit: number): Promise<void> {
    while (this.#inFlight.length > limit) await this.#inFlight.shift()!.accepted;
  }

  async #finish(): Promise<void> {
    await this.#room(0);
    if (this.#partial.length > 0) {
      throw new VeracruzError(Code.InvalidRequest,
        `stream ${this.path}: the data ended inside a record (${this.#partial.length} of ${this.#recordBytes} bytes); ` +
        'the partial record was not sent and the stream was not closed');
    }
    if (this.#closeOnEnd) await this.#connection.call({ kind: 'close_stream', fileName: this.path });
  }
}
