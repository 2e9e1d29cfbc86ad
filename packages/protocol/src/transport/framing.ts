import { Code, VeracruzError } from '@veracruz-ts/core';

/** Bytes of the length prefix before every message: a u64, big-endian (Veracruz's framing). */
export const FRAME_HEADER_BYTES = 8;

/** The default largest message either side accepts: 64 MiB. Larger files are streamed in ranges. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

function tooLarge(length: number | bigint, maxMessageBytes: number): VeracruzError {
  return new VeracruzError(
    Code.LimitExceeded,
    `message of ${length} bytes exceeds the maximum of ${maxMessageBytes} bytes`,
  );
}

/** The 8-byte big-endian length prefix for a message of `length` bytes. */
export function encodeFrameHeader(length: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(header.buffer).setBigUint64(0, BigInt(length), false);
  return header;
}

/** One framed message: length prefix followed by `message` (one copy; see encodeFrameHeader to avoid it). */
export function frameMessage(message: Uint8Array): Uint8Array {
  const framed = new Uint8Array(FRAME_HEADER_BYTES + message.length);
  framed.set(encodeFrameHeader(message.length), 0);
  framed.set(message, FRAME_HEADER_BYTES);
  return framed;
}

/**
 * Reassembles length-prefixed messages from a byte stream cut into arbitrary chunks. A message
 * that arrives within one chunk is returned as a view of it (no copy); one spread over chunks is
 * copied once. A length prefix over the maximum fails at once, before any of the body is buffered.
 */
export class FrameDecoder {
  readonly #maxMessageBytes: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #expected: number | undefined;

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Bytes received that do not yet form a whole message. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Feeds a chunk; returns the messages it completes, in order. Throws VeracruzError(LimitExceeded). */
  push(chunk: Uint8Array): Uint8Array[] {
    const messages: Uint8Array[] = [];
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    for (;;) {
      if (this.#expected === undefined) {
        if (this.#buffered < FRAME_HEADER_BYTES) break;
        const header = this.#take(FRAME_HEADER_BYTES);
        const length = new DataView(header.buffer, header.byteOffset, FRAME_HEADER_BYTES).getBigUint64(0, false);
        if (length > BigInt(this.#maxMessageBytes)) throw tooLarge(length, this.#maxMessageBytes);
        this.#expected = Number(length);
      }
      if (this.#buffered < this.#expected) break;
      messages.push(this.#take(this.#expected));
      this.#expected = undefined;
    }
    return messages;
  }

  // Removes `count` buffered bytes from the front (count <= buffered).
  #take(count: number): Uint8Array {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= count) {
      const taken = first.subarray(0, count);
      if (first.length === count) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
      this.#buffered -= count;
      return taken;
    }
    const taken = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.#chunks[0]!;
      const part = Math.min(chunk.length, count - filled);
      taken.set(chunk.subarray(0, part), filled);
      filled += part;
      if (part === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    this.#buffered -= count;
    return taken;
  }
}
