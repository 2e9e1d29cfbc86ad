import { Duplex } from 'node:stream';
import { AckBatcher, ReceiveWindow, SessionSender } from '@veracruz-ts/protocol/channel';
import type { ChannelMessage } from '@veracruz-ts/protocol/channel';

/** Options of {@link ChannelSessionStream}. */
export interface ChannelSessionStreamOptions {
  sessionId: number;
  /** Sends a message to the host over the channel. */
  send: (message: ChannelMessage) => void;
  /** What the isolate buffers for this session at most (the credit it grants the host). @default DEFAULT_SESSION_WINDOW */
  window?: number;
}

/**
 * The ciphertext side of one client's TLS connection, as seen inside the isolate: a Duplex whose
 * readable side yields the TLS bytes the host relays, and whose writable side sends TLS bytes back.
 *
 * Flow control: constructing it grants the host the isolate's window; incoming bytes are acknowledged
 * only once the TLS layer has taken them (push returned true, or it asked for more via _read), so a
 * slow consumer holds the host; outgoing writes complete only while the host's grants last, so a slow
 * client holds the TLS layer.
 *
 * When the host closes the session (the client ended or went away; `endFromHost`), the TLS layer
 * sees the end of its input, then the session is torn down, whatever state TLS was in (a client
 * that vanished in the middle of a handshake must not leave a session behind in the isolate).
 */
export class ChannelSessionStream extends Duplex {
  readonly sessionId: number;
  readonly #send: (message: ChannelMessage) => void;
  readonly #receiveWindow: ReceiveWindow;
  readonly #sender: SessionSender;
  readonly #acks: AckBatcher;
  #unacknowledged = 0;
  #pendingWrite: ((error?: Error | null) => void) | undefined;
  #closeSent = false;

  constructor(options: ChannelSessionStreamOptions) {
    super({ allowHalfOpen: true });
    this.sessionId = options.sessionId;
    this.#send = options.send;
    this.#receiveWindow = new ReceiveWindow(options.sessionId, options.window);
    this.#acks = new AckBatcher(this.#receiveWindow, options.send);
    this.#sender = new SessionSender({
      sessionId: options.sessionId,
      send: options.send,
      onDrain: () => {
        const callback = this.#pendingWrite;
        this.#pendingWrite = undefined;
        callback?.();
      },
    });
    // The isolate decides how much it buffers per session: it grants that much to the host at once.
    this.#send(this.#receiveWindow.grant());
  }

  /** Bytes received from the host that TLS has not taken yet (bounded by the window). */
  get bufferedIncoming(): number {
    return this.#receiveWindow.unconsumed;
  }

  /** Outgoing bytes waiting for the host's credit. */
  get queuedOutgoing(): number {
    return this.#sender.queuedBytes;
  }

  /** tls-data from the host. Throws VeracruzError(LimitExceeded) if the host overran its credit. */
  deliver(data: Uint8Array): void {
    if (data.length === 0 || this.destroyed) return;
    this.#receiveWindow.received(data.length);
    if (this.push(data)) this.#acknowledge(data.length);
    else this.#unacknowledged += data.length;
  }

  /** The host's ack: credit for outgoing bytes. */
  acknowledge(bytes: number): void {
    this.#sender.acknowledge(bytes);
  }

  /** The host closed the session (see the class comment). */
  endFromHost(): void {
    this.push(null);
    setImmediate(() => this.destroy());
  }

  override _read(): void {
    if (this.#unacknowledged > 0) {
      const bytes = this.#unacknowledged;
      this.#unacknowledged = 0;
      this.#acknowledge(bytes);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#sender.write(chunk)) callback();
    else this.#pendingWrite = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#sendClose('TLS session ended');
    callback();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#sender.close();
    this.#acks.stop();
    this.#sendClose(error ? 'TLS session failed' : 'TLS session closed');
    const pending = this.#pendingWrite;
    this.#pendingWrite = undefined;
    pending?.(error ?? null);
    callback(error);
  }

  #acknowledge(bytes: number): void {
    this.#acks.consumed(bytes);
  }

  #sendClose(reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    this.#send({ type: 'close', sessionId: this.sessionId, reason });
  }
}
