import { Code, VeracruzError, isCode } from '@veracruz-ts/core';
import { EvidenceSource, MessageType, tagOfKind } from './messages.ts';
import type { ChannelMessage, StatusCode } from './messages.ts';
import { joinPieces, takePieces } from '../transport/framing.ts';

/**
 * Binary framing of the host <-> isolate channel.
 *
 * A frame is `u32 big-endian body length || u8 message type || body`. Inside a body, integers are
 * u32 big-endian, byte strings and UTF-8 strings are `u32 length || bytes`, lists are `u32 count || items`.
 * Decoding is strict: a body must be consumed exactly, lengths may not run past the body, and unknown
 * message types or oversized frames are refused before their bodies are buffered.
 */

/** Bytes before a frame's body: the length (4) and the type (1). */
export const FRAME_HEADER_BYTES = 5;

/** Default largest body accepted (policy texts and certificate chains fit with a wide margin). */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

/** Largest tls-data payload a sender puts in one frame; bigger writes are split. */
export const MAX_TLS_DATA_CHUNK = 64 * 1024;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes one message as a complete frame: the body of a message both ends send here, the others' with `write`. */
function encodeWith(message: ChannelMessage, write: (writer: BodyWriter) => boolean): Uint8Array {
  const writer = new BodyWriter();
  if (message.type === 'tls-data' || message.type === 'close' || message.type === 'ack') {
    writer.u32(message.sessionId);
    if (message.type === 'tls-data') writer.raw(message.data);
    else if (message.type === 'close') writer.string(message.reason);
    else writer.u32(message.bytes);
  } else if (message.type === 'shutdown') writer.string(message.reason);
  else if (!write(writer)) throw new VeracruzError(Code.Internal, `channel: this end sends no ${message.type}`);
  return writer.frame(tagOfKind[message.type]);
}

/** Encodes a message the host sends (new-session, attestation-request, initialize, and those both ends send). */
export function encodeHostMessage(message: ChannelMessage): Uint8Array {
  return encodeWith(message, (writer) => {
    if (message.type === 'new-session') writer.u32(message.sessionId);
    else if (message.type === 'attestation-request') {
      writer.bytes(message.nonce);
      writer.bytes(message.policyBinding ?? new Uint8Array(0));
    } else if (message.type === 'initialize') {
      writer.bytes(message.policy);
      writer.u32(message.certificateChain.length);
      for (const certificate of message.certificateChain) writer.bytes(certificate);
    } else return false;
    return true;
  });
}

/** Encodes a message the isolate sends (attestation-response, status, isolate-error, and those both ends send). */
export function encodeIsolateMessage(message: ChannelMessage): Uint8Array {
  return encodeWith(message, (writer) => {
    if (message.type === 'attestation-response') {
      writer.bytes(message.csr);
      writer.u8(message.source);
      writer.bytes(message.evidence);
    } else if (message.type === 'status' || message.type === 'isolate-error') {
      writer.string(message.code);
      writer.string(message.message);
    } else return false;
    return true;
  });
}

/** Encodes any message as a complete frame (tests and tools). */
export function encodeMessage(message: ChannelMessage): Uint8Array {
  return message.type === 'new-session' || message.type === 'attestation-request' || message.type === 'initialize'
    ? encodeHostMessage(message)
    : encodeIsolateMessage(message);
}

/**
 * The frame header of a tls-data message (length, type, session id): with the payload written right
 * after it, the same bytes as `encodeMessage`, without copying the payload.
 */
export function encodeTlsDataHeader(sessionId: number, payloadLength: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES + 4);
  const view = new DataView(header.buffer);
  view.setUint32(0, 4 + payloadLength);
  view.setUint8(4, MessageType.TlsData);
  view.setUint32(FRAME_HEADER_BYTES, sessionId);
  return header;
}

/** Decodes one frame body of a message type: the messages one end of the channel may receive. */
export type BodyDecoder = (type: number, body: Uint8Array) => ChannelMessage;

/** The messages both ends receive (tls-data, close, ack, shutdown), or undefined for another type. */
function sessionMessage(type: number, reader: BodyReader): ChannelMessage | undefined {
  switch (type) {
    case MessageType.TlsData: {
      const sessionId = reader.u32();
      return { type: 'tls-data', sessionId, data: reader.rest() };
    }
    case MessageType.Close:
      return { type: 'close', sessionId: reader.u32(), reason: reader.string() };
    case MessageType.Ack:
      return { type: 'ack', sessionId: reader.u32(), bytes: reader.u32() };
    case MessageType.Shutdown:
      return { type: 'shutdown', reason: reader.string() };
    default:
      return undefined;
  }
}

/** Reads a body with `read`, which must consume it exactly; a type `read` does not know is refused. */
function decodeWith(type: number, body: Uint8Array, read: (reader: BodyReader) => ChannelMessage | undefined): ChannelMessage {
  const reader = new BodyReader(body, type);
  const message = sessionMessage(type, reader) ?? read(reader);
  if (message === undefined) throw new VeracruzError(Code.InvalidRequest, `channel: unknown message type ${type}`);
  reader.end();
  return message;
}

/**
 * What the isolate receives from its host: new-session, attestation-request, initialize and the
 * messages both ends receive. A message only an isolate sends is refused, so the isolate never acts on one. Throws VeracruzError(InvalidRequest) for a malformed body or any other type.
 */
export const decodeHostMessage: BodyDecoder = (type, body) => decodeWith(type, body, (reader) => {
  switch (type) {
    case MessageType.NewSession:
      return { type: 'new-session', sessionId: reader.u32() };
    case MessageType.AttestationRequest: {
      const nonce = reader.bytes();
      const policyBinding = reader.bytes();
      return policyBinding.length === 0 ? { type: 'attestation-request', nonce } : { type: 'attestation-request', nonce, policyBinding };
    }
    case MessageType.Initialize: {
      const policy = reader.bytes();
      const count = reader.u32();
      const certificateChain: Uint8Array[] = [];
      for (let index = 0; index < count; index++) certificateChain.push(reader.bytes());
      return { type: 'initialize', policy, certificateChain };
    }
    default:
      return undefined;
  }
});

/**
 * What the host receives from its isolate: attestation-response, status, isolate-error and the
 * messages both ends receive. Throws VeracruzError(InvalidRequest) for a malformed body or any other type.
 */
export const decodeIsolateMessage: BodyDecoder = (type, body) => decodeWith(type, body, (reader) => {
  switch (type) {
    case MessageType.AttestationResponse: {
      const csr = reader.bytes();
      const source = reader.u8();
      if (source !== EvidenceSource.Isolate && source !== EvidenceSource.Launcher) throw malformed(type, `unknown evidence source ${source}`);
      return { type: 'attestation-response', csr, source, evidence: reader.bytes() };
    }
    case MessageType.Status: {
      const code = reader.string();
      if (code !== 'ok' && !isCode(code)) throw malformed(type, `unknown status code '${code.slice(0, 40)}'`);
      return { type: 'status', code: code as StatusCode, message: reader.string() };
    }
    case MessageType.IsolateError: {
      const code = reader.string();
      if (!isCode(code)) throw malformed(type, `unknown error code '${code.slice(0, 40)}'`);
      return { type: 'isolate-error', code, message: reader.string() };
    }
    default:
      return undefined;
  }
});

/** Decodes a body of any type, in either direction (tests and tools). */
export const decodeBody: BodyDecoder = (type, body) =>
  type === MessageType.NewSession || type === MessageType.AttestationRequest || type === MessageType.Initialize
    ? decodeHostMessage(type, body)
    : decodeIsolateMessage(type, body);

/** Decodes exactly one complete frame (convenience for tests and small tools). */
export function decodeFrame(frame: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): ChannelMessage {
  const decoder = new FrameDecoder({ maxFrameBytes, decode: decodeBody });
  const messages = decoder.push(frame);
  if (messages.length !== 1 || decoder.bufferedBytes !== 0) {
    throw new VeracruzError(Code.InvalidRequest, `channel: expected exactly one complete frame, got ${messages.length} and ${decoder.bufferedBytes} spare bytes`);
  }
  return messages[0]!;
}

/** Options of {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** The messages this end receives: {@link decodeHostMessage} in the isolate, {@link decodeIsolateMessage} in the host. */
  decode: BodyDecoder;
  /** Largest body accepted; a longer announced length is refused at once. @default DEFAULT_MAX_FRAME_BYTES */
  maxFrameBytes?: number;
  /**
   * Return a tls-data frame's payload as it arrives, as several tls-data messages of the same session
   * (views of the received chunks), instead of one message once the whole frame is in. TLS data is a
   * byte stream, so nothing downstream depends on frame boundaries; a frame that straddles two reads
   * (nearly all of them) is then never copied into one buffer. @default false
   */
  streamTlsData?: boolean;
}

/**
 * Incremental frame decoder: feed it chunks as they arrive (any fragmentation) and it returns the
 * complete messages. After an error it stays failed: the stream is out of sync and must be dropped.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #streamTlsData: boolean;
  readonly #decode: BodyDecoder;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #failure: VeracruzError | undefined;
  /** With streamTlsData: payload bytes of the current tls-data frame still to come, and its session. */
  #payloadRemaining = 0;
  #payloadSession = 0;

  constructor(options: FrameDecoderOptions) {
    this.#decode = options.decode;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#streamTlsData = options.streamTlsData ?? false;
  }

  /** Bytes received but not yet part of a returned message. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Adds a chunk and returns every message it completes, in order. */
  push(chunk: Uint8Array): ChannelMessage[] {
    if (this.#failure) throw this.#failure;
    if (chunk.length > 0) {
      // A plain view, so decoded payloads are Uint8Arrays even when fed Node Buffers.
      this.#chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#buffered += chunk.length;
    }
    const messages: ChannelMessage[] = [];
    try {
      while (true) {
        if (this.#payloadRemaining > 0) {
          if (this.#buffered === 0) break;
          // The rest of a streamed tls-data payload: as much as the first buffered chunk holds.
          const size = Math.min(this.#payloadRemaining, this.#chunks[0]!.length);
          this.#payloadRemaining -= size;
          messages.push({ type: 'tls-data', sessionId: this.#payloadSession, data: this.#take(size) });
          continue;
        }
        if (this.#buffered < FRAME_HEADER_BYTES) break;
        const header = this.#peek(FRAME_HEADER_BYTES);
        const length = ((header[0]! << 24) | (header[1]! << 16) | (header[2]! << 8) | header[3]!) >>> 0;
        const type = header[4]!;
        if (type < MessageType.NewSession || type > MessageType.IsolateError) {
          throw new VeracruzError(Code.InvalidRequest, `channel: unknown message type ${type}`);
        }
        if (length > this.#maxFrameBytes) {
          throw new VeracruzError(Code.LimitExceeded, `channel: frame of ${length} bytes exceeds the limit of ${this.#maxFrameBytes}`);
        }
        if (this.#streamTlsData && type === MessageType.TlsData && length > 4) {
          // Header and session id now, the payload as it comes (the loop's first branch).
          if (this.#buffered < FRAME_HEADER_BYTES + 4) break;
          const prefix = this.#take(FRAME_HEADER_BYTES + 4);
          this.#payloadSession = ((prefix[5]! << 24) | (prefix[6]! << 16) | (prefix[7]! << 8) | prefix[8]!) >>> 0;
          this.#payloadRemaining = length - 4;
          continue;
        }
        if (this.#buffered < FRAME_HEADER_BYTES + length) break;
        const frame = this.#take(FRAME_HEADER_BYTES + length);
        messages.push(this.#decode(type, frame.subarray(FRAME_HEADER_BYTES)));
      }
    } catch (error) {
      this.#failure = VeracruzError.from(error);
      this.#chunks = [];
      this.#buffered = 0;
      this.#payloadRemaining = 0;
      throw this.#failure;
    }
    return messages;
  }

  /** The first `count` buffered bytes, without consuming them (a header split across chunks is joined from a copy of the queue). */
  #peek(count: number): Uint8Array {
    const first = this.#chunks[0]!;
    return first.length >= count ? first : joinPieces(takePieces([...this.#chunks], count));
  }

  /** Removes and returns the first `count` buffered bytes: a view when they are in one chunk, else a copy. */
  #take(count: number): Uint8Array {
    this.#buffered -= count;
    return joinPieces(takePieces(this.#chunks, count));
  }
}

function malformed(type: number, detail: string): VeracruzError {
  return new VeracruzError(Code.InvalidRequest, `channel: malformed message of type ${type}: ${detail}`);
}

class BodyWriter {
  #parts: Uint8Array[] = [];
  #length = 0;

  u8(value: number): void {
    this.raw(Uint8Array.of(value));
  }

  u32(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new VeracruzError(Code.Internal, `channel: ${value} is not an unsigned 32-bit integer`);
    }
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value);
    this.raw(bytes);
  }

  bytes(value: Uint8Array): void {
    this.u32(value.length);
    this.raw(value);
  }

  string(value: string): void {
    this.bytes(textEncoder.encode(value));
  }

  raw(value: Uint8Array): void {
    this.#parts.push(value);
    this.#length += value.length;
  }

  frame(type: number): Uint8Array {
    const frame = new Uint8Array(FRAME_HEADER_BYTES + this.#length);
    const view = new DataView(frame.buffer);
    view.setUint32(0, this.#length);
    view.setUint8(4, type);
    let offset = FRAME_HEADER_BYTES;
    for (const part of this.#parts) {
      frame.set(part, offset);
      offset += part.length;
    }
    return frame;
  }
}

class BodyReader {
  readonly #body: Uint8Array;
  readonly #view: DataView;
  readonly #type: number;
  #offset = 0;

  constructor(body: Uint8Array, type: number) {
    this.#body = body;
    this.#view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.#type = type;
  }

  u8(): number {
    this.#need(1);
    return this.#body[this.#offset++]!;
  }

  u32(): number {
    this.#need(4);
    const value = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return value;
  }

  bytes(): Uint8Array {
    const length = this.u32();
    this.#need(length);
    const value = this.#body.slice(this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  string(): string {
    try {
      return textDecoder.decode(this.bytes());
    } catch (error) {
      if (error instanceof VeracruzError) throw error;
      throw malformed(this.#type, 'a string is not valid UTF-8');
    }
  }

  /** Everything left (tls-data payloads), as a view: frames are freshly allocated per message. */
  rest(): Uint8Array {
    const value = this.#body.subarray(this.#offset);
    this.#offset = this.#body.length;
    return value;
  }

  end(): void {
    if (this.#offset !== this.#body.length) {
      throw malformed(this.#type, `${this.#body.length - this.#offset} trailing bytes`);
    }
  }

  #need(count: number): void {
    if (this.#offset + count > this.#body.length) {
      throw malformed(this.#type, `truncated (needs ${count} bytes at offset ${this.#offset} of ${this.#body.length})`);
    }
  }
}
