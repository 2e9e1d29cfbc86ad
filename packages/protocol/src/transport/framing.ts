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
 * Reassembles length-prefixed messages from a byte stream cut into arbitrary chunks. {@link push}
 * returns each message as one array: a view of a chunk when it arrived within one (no copy), else a
 * copy. {@link pushPieces} returns each message as the views of the chunks it arrived in, never
 * copied: for a receiver that can use the pieces as they are (a large write stored piece by piece);
 * an empty message has none, and the chunks must not change while their messages are in use.
 * A length prefix over the maximum fails at once (VeracruzError(LimitExceeded)), before any of the
 * body is buffered.
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
    return this.pushPieces(chunk).map(joinPieces);
  }

  /** {@link push}, each message as its pieces (see the class comment). */
  pushPieces(chunk: Uint8Array): Uint8Array[][] {
    const messages: Uint8Array[][] = [];
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    for (;;) {
      if (this.#expected === undefined) {
        if (this.#buffered < FRAME_HEADER_BYTES) break;
        const header = joinPieces(this.#take(FRAME_HEADER_BYTES));
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

  #take(count: number): Uint8Array[] {
    this.#buffered -= count;
    return takePieces(this.#chunks, count);
  }
}

/**
 * Removes the first `count` bytes from a queue of received chunks (which must hold them) and returns
 * them as views of the chunks they were in, never copied.
 */
export function takePieces(chunks: Uint8Array[], count: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let taken = 0;
  while (taken < count) {
    const chunk = chunks[0]!;
    const part = Math.min(chunk.length, count - taken);
    pieces.push(part === chunk.length ? chunk : chunk.subarray(0, part));
    taken += part;
    if (part === chunk.length) chunks.shift();
    else chunks[0] = chunk.subarray(part);
  }
  return pieces;
}

/** The pieces of a message as one array: the piece itself when there is one, else a copy. */
export function joinPieces(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    joined.set(piece, offset);
    offset += piece.length;
  }
  return joined;
}
