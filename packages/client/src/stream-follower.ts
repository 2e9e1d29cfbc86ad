/**
 * Following a file as it grows, as a Node `Readable`: `read_stream` requests from an offset, each
 * answered at once with what is there or, when nothing is yet, after waiting for more or for the
 * stream's end. One request at a time (each answer says where the next starts), and only while the
 * consumer wants more, so a slow consumer holds the follower back instead of filling memory.
 */
import { Readable } from 'node:stream';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { FramedConnection } from './connection.ts';
import type { StreamProgress } from './stream-writer.ts';

/** The longest wait the runtime grants one `read_stream` request, in milliseconds. */
export const MAX_STREAM_WAIT_MS = 30_000;

/** Options of `VeracruzClient.followStream`. */
export interface StreamFollowerOptions {
  /** Where to start reading, in bytes. @default 0 */
  offset?: number;
  /** Most bytes asked for per request. @default the client's `chunkBytes` (1 MiB) */
  chunkBytes?: number;
  /** How long one request waits for data before asking again (the runtime caps it at 30 s). @default 30000 */
  waitMs?: number;
}

/** The settings a follower runs with, the client's defaults filled in. */
export type StreamFollowerSettings = Required<Pick<StreamFollowerOptions, 'chunkBytes'>> & StreamFollowerOptions;

function checkInteger(value: number, name: string, path: string, minimum: number): number {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new VeracruzError(Code.InvalidRequest, `stream follower for ${path}: ${name} must be an integer of at least ${minimum}, got ${value}`);
  }
  return value;
}

/**
 * A stream's reading end: yields the file's bytes from the start offset as they arrive, and ends
 * once the isolate says the stream has ended and everything up to its end was delivered (a file that
 * is not a stream has ended already: its contents, then the end). Emits `progress`
 * ({@link StreamProgress}, bytes delivered) per answer with data, and `error` with the isolate's
 * VeracruzError when a request fails (`permission_denied` without the read right, `unavailable`
 * for a stream aborted by a writer's disconnect). While a request waits, the session answers
 * nothing else: follow on a connection of its own when the same principal must act meanwhile.
 */
export class StreamFollower extends Readable {
  /** The followed path, as given. */
  readonly path: string;
  readonly #connection: FramedConnection;
  readonly #chunkBytes: number;
  readonly #waitMs: number;
  #offset: number;
  #delivered = 0;
  #reading = false;

  /** Use `VeracruzClient.followStream`. */
  constructor(connection: FramedConnection, path: string, settings: StreamFollowerSettings) {
    super();
    this.path = path;
    this.#connection = connection;
    this.#offset = checkInteger(settings.offset ?? 0, 'offset', path, 0);
    this.#chunkBytes = checkInteger(settings.chunkBytes, 'chunkBytes', path, 1);
    this.#waitMs = Math.min(checkInteger(settings.waitMs ?? MAX_STREAM_WAIT_MS, 'waitMs', path, 1), MAX_STREAM_WAIT_MS);
  }

  /** The offset the next request reads from. */
  get offset(): number {
    return this.#offset;
  }

  override _read(): void {
    if (!this.#reading) void this.#pull();
  }

  async #pull(): Promise<void> {
    this.#reading = true;
    try {
      for (;;) {
        const response = await this.#connection.call({
          kind: 'read_stream', fileName: this.path, offset: this.#offset, length: this.#chunkBytes, waitMs: this.#waitMs,
        });
        if (this.destroyed) return;
        const body = response.body;
        if (body?.kind !== 'stream_chunk') {
          throw new VeracruzError(Code.Internal, `the isolate answered read_stream ${this.path} without a stream chunk`);
        }
        let wantsMore = true;
        if (body.data.length > 0) {
          this.#offset += body.data.length;
          this.#delivered += body.data.length;
          wantsMore = this.push(body.data);
          this.emit('progress', { bytes: this.#delivered } satisfies StreamProgress);
        }
        if (body.end) {
          this.push(null);
          return;
        }
        // No data means the wait ran out: ask again. Data the consumer is not ready for: wait for _read.
        if (!wantsMore) return;
      }
    } catch (reason) {
      if (!this.destroyed) this.destroy(VeracruzError.from(reason));
    } finally {
      this.#reading = false;
    }
  }
}
