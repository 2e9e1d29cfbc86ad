import type { Readable, Writable } from 'node:stream';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { type BodyDecoder, DEFAULT_MAX_FRAME_BYTES, FrameDecoder, encodeTlsDataHeader } from './codec.ts';
import type { ChannelMessage } from './messages.ts';

/** Options of {@link ChannelConnection}. */
export interface ChannelConnectionOptions {
  /** Where the peer's frames arrive (the child's stdout/fd, or the isolate's inherited fd). */
  input: Readable;
  /** Where our frames go. */
  output: Writable;
  /** The messages this end receives: `decodeHostMessage` in the isolate, `decodeIsolateMessage` in the host. */
  receives: BodyDecoder;
  /** The messages this end sends: `encodeIsolateMessage` in the isolate, `encodeHostMessage` in the host. */
  sends: (message: ChannelMessage) => Uint8Array;
  /** Called for every decoded message, in order. */
  onMessage: (message: ChannelMessage) => void;
  /** Called once if the input is malformed or a stream fails; the connection is then closed. */
  onError: (error: VeracruzError) => void;
  /** Called once when the input ends (the peer closed its side or exited). */
  onEnd: () => void;
  /** Largest frame body accepted. @default DEFAULT_MAX_FRAME_BYTES */
  maxFrameBytes?: number;
}

/**
 * One end of the channel over a pair of byte streams: decodes incoming frames, encodes outgoing
 * messages. The streams are the only I/O; framing and flow control are pure and tested apart.
 */
export class ChannelConnection {
  readonly #input: Readable;
  readonly #output: Writable;
  readonly #decoder: FrameDecoder;
  readonly #options: ChannelConnectionOptions;
  #closed = false;

  constructor(options: ChannelConnectionOptions) {
    this.#options = options;
    this.#input = options.input;
    this.#output = options.output;
    // tls-data payloads come out as they arrive: the bulk of the traffic is never concatenated.
    this.#decoder = new FrameDecoder({ decode: options.receives, maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, streamTlsData: true });
    this.#input.on('data', this.#onData);
    this.#input.once('end', this.#onEnd);
    this.#input.once('close', this.#onEnd);
    this.#input.on('error', this.#onStreamError);
    this.#output.on('error', this.#onStreamError);
  }

  /** Whether the connection has been closed (by us, by an error, or by the input ending). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes written but not yet taken by the operating system (for bounds checks in tests). */
  get outputBufferedBytes(): number {
    return this.#output.writableLength;
  }

  /** Sends one message. Sending on a closed connection is silently dropped: the peer is gone. */
  send(message: ChannelMessage): void {
    if (this.#closed || this.#output.destroyed || this.#output.writableEnded) return;
    if (message.type === 'tls-data' && message.data.length > 0) {
      // Header and payload as two writes, so the payload (most of the traffic) is never copied;
      // corked until the next tick so they leave together, with the other frames of this turn.
      this.#cork();
      this.#output.write(encodeTlsDataHeader(message.sessionId, message.data.length));
      this.#output.write(message.data);
      return;
    }
    this.#cork();
    this.#output.write(this.#options.sends(message));
  }

  #corked = false;

  #cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#output.cork();
    process.nextTick(() => {
      this.#corked = false;
      this.#output.uncork();
    });
  }

  /** Stops reading and ends our output once what was sent is flushed; no callback fires afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#input.off('data', this.#onData);
    this.#input.resume(); // drain and ignore whatever still arrives, so the peer is never blocked
    const output = this.#output;
    if (output.destroyed) {
      this.#input.destroy();
      return;
    }
    // Ending (not destroying) lets queued frames, such as a final shutdown or error, reach the peer.
    output.end(() => {
      if ((this.#input as unknown) !== output) this.#input.destroy();
      output.destroy();
    });
  }

  #onData = (chunk: Buffer): void => {
    if (this.#closed) return;
    let messages: ChannelMessage[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (error) {
      this.#fail(VeracruzError.from(error));
      return;
    }
    for (const message of messages) {
      if (this.#closed) return;
      this.#options.onMessage(message);
    }
  };

  #onEnd = (): void => {
    if (this.#closed) return;
    this.close();
    this.#options.onEnd();
  };

  #onStreamError = (error: Error): void => {
    // A broken pipe or a reset means the peer is gone (it exited): that is an end, not a protocol error.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPIPE' || code === 'ECONNRESET') {
      this.#onEnd();
      return;
    }
    this.#fail(VeracruzError.from(error, Code.Unavailable));
  };

  #fail(error: VeracruzError): void {
    if (this.#closed) return;
    this.close();
    this.#options.onError(error);
  }
}
