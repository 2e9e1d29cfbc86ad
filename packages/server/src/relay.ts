import type { Socket } from 'node:net';
import { AckBatcher, ReceiveWindow, SessionSender } from '@veracruz-ts/protocol/channel';
import type { ChannelMessage } from '@veracruz-ts/protocol/channel';

/** Which way relayed bytes travel. */
export type RelayDirection = 'to-isolate' | 'to-client';

/**
 * Called with every chunk of TLS bytes the host relays, in each direction, before it is forwarded.
 * Tests use it to show that the host only ever sees ciphertext.
 */
export type RelayTap = (direction: RelayDirection, sessionId: number, bytes: Uint8Array) => void;

/**
 * May replace a relayed chunk (return the bytes to forward). Tests use it to flip a byte in transit
 * and show that tampering is detected by TLS, not silently accepted.
 */
export type FaultInjector = (direction: RelayDirection, sessionId: number, bytes: Uint8Array) => Uint8Array;

/** Options of {@link SessionRelay}. */
export interface SessionRelayOptions {
  /** Sends a message to the isolate. */
  send: (message: ChannelMessage) => void;
  /** What the host buffers per session for the client at most (the credit it grants the isolate). @default DEFAULT_SESSION_WINDOW */
  window?: number | undefined;
  tap?: RelayTap | undefined;
  faultInjector?: FaultInjector | undefined;
  /**
   * How long a client may keep its side of the connection open after the isolate ended the session,
   * before the host drops it. @default HALF_CLOSED_GRACE_MS (10 s)
   */
  halfClosedGraceMs?: number | undefined;
}

/** Counters of what the host holds, for bounds checks. */
export interface RelayStats {
  /** Live sessions. */
  sessions: number;
  /** Bytes read from clients and waiting for the isolate's credit (bounded: the client socket is paused). */
  queuedToIsolate: number;
  /** Bytes sent to the isolate and not yet acknowledged (at most the isolate's window per session). */
  inFlightToIsolate: number;
  /** Bytes the isolate sent that client sockets have not flushed yet (at most the host's window per session). */
  bufferedToClients: number;
  /** Total bytes relayed each way since start. */
  relayedToIsolate: number;
  relayedToClients: number;
}

interface RelaySession {
  socket: Socket;
  sender: SessionSender;
  receiver: ReceiveWindow;
  acks: AckBatcher;
  closeSent: boolean;
  gone: boolean;
}

/**
 * The host's side of the sessions: one per client TCP connection, relaying its TLS bytes to and from
 * the isolate over the channel. It parses nothing inside TLS. Flow control is end to end: the client
 * socket is paused while the isolate has not acknowledged a window's worth of bytes, and the isolate
 * gets credit back only as the client socket flushes what it sent.
 */
export class SessionRelay {
  readonly #options: SessionRelayOptions;
  readonly #sessions = new Map<number, RelaySession>();
  #nextSessionId = 1;
  #relayedToIsolate = 0;
  #relayedToClients = 0;

  constructor(options: SessionRelayOptions) {
    this.#options = options;
  }

  /** Starts relaying a newly accepted client connection. */
  add(socket: Socket): number {
    const sessionId = this.#nextSessionId;
    this.#nextSessionId = this.#nextSessionId >= 0xffffffff ? 1 : this.#nextSessionId + 1;
    const receiver = new ReceiveWindow(sessionId, this.#options.window);
    const session: RelaySession = {
      socket,
      sender: new SessionSender({
        sessionId,
        send: (message) => this.#options.send(message),
        onDrain: () => socket.resume(),
      }),
      receiver,
      acks: new AckBatcher(receiver, (message) => this.#options.send(message)),
      closeSent: false,
      gone: false,
    };
    this.#sessions.set(sessionId, session);
    this.#options.send({ type: 'new-session', sessionId });
    // What the host buffers for this client at most: granted to the isolate as credit up front.
    this.#options.send(session.receiver.grant());
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (session.gone) return;
      this.#options.tap?.('to-isolate', sessionId, chunk);
      const bytes = this.#options.faultInjector?.('to-isolate', sessionId, chunk) ?? chunk;
      this.#relayedToIsolate += bytes.length;
      if (!session.sender.write(bytes)) socket.pause();
    });
    socket.on('end', () => this.#sendClose(sessionId, session, 'client ended its stream'));
    socket.on('error', () => {}); // 'close' follows and tells the isolate
    socket.on('close', () => {
      this.#sendClose(sessionId, session, 'client disconnected');
      this.#forget(sessionId, session);
    });
    return sessionId;
  }

  /** Handles a session message from the isolate (tls-data, ack, close). Returns false for other kinds. */
  handle(message: ChannelMessage): boolean {
    switch (message.type) {
      case 'tls-data': {
        const session = this.#sessions.get(message.sessionId);
        if (session === undefined || message.data.length === 0) return true;
        try {
          session.receiver.received(message.data.length);
        } catch {
          // The isolate overran its credit: treat the session as broken rather than buffer without bound.
          resetSocket(session.socket);
          return true;
        }
        this.#options.tap?.('to-client', message.sessionId, message.data);
        const bytes = this.#options.faultInjector?.('to-client', message.sessionId, message.data) ?? message.data;
        this.#relayedToClients += bytes.length;
        const length = message.data.length;
        session.socket.write(bytes, () => {
          if (!session.gone) session.acks.consumed(length);
        });
        return true;
      }
      case 'ack': {
        const session = this.#sessions.get(message.sessionId);
        if (session === undefined) return true;
        try {
          session.sender.acknowledge(message.bytes);
        } catch {
          resetSocket(session.socket);
        }
        return true;
      }
      case 'close': {
        const session = this.#sessions.get(message.sessionId);
        if (session === undefined) return true;
        // The isolate is done with this session: flush what it sent, then end the connection.
        session.closeSent = true;
        endWithin(session.socket, this.#options.halfClosedGraceMs ?? HALF_CLOSED_GRACE_MS);
        return true;
      }
      default:
        return false;
    }
  }

  /** Ends every client connection gracefully (after flushing what the isolate sent). */
  endAll(): void {
    for (const session of this.#sessions.values()) {
      session.closeSent = true;
      session.socket.end();
    }
  }

  /**
   * Drops every client connection at once (the isolate is gone: nothing more will come). A
   * connection the host has not already ended is reset (TCP RST, not FIN): the one signal the host
   * can give outside the client's TLS, and one that cannot be mistaken for TLS data, so the client
   * can tell an abrupt loss (the isolate died, the host failed) from an orderly close. The client
   * must take it as the untrusted host's word, not as proof of anything.
   */
  destroyAll(): void {
    for (const [sessionId, session] of this.#sessions) {
      session.closeSent = true;
      // Ended by {@link endAll} or the isolate's close: that close was orderly; only release it.
      if (session.socket.writableEnded) session.socket.destroy();
      else resetSocket(session.socket);
      this.#forget(sessionId, session);
    }
  }

  /** Sessions whose socket has not yet flushed everything the isolate sent (after {@link endAll}). */
  unflushedSessions(): number {
    let count = 0;
    for (const session of this.#sessions.values()) {
      if (!session.socket.destroyed && !session.socket.writableFinished) count++;
    }
    return count;
  }

  /** What the host holds right now. */
  stats(): RelayStats {
    let queuedToIsolate = 0;
    let inFlightToIsolate = 0;
    let bufferedToClients = 0;
    for (const session of this.#sessions.values()) {
      queuedToIsolate += session.sender.queuedBytes;
      inFlightToIsolate += session.sender.inFlight;
      bufferedToClients += session.socket.writableLength;
    }
    return {
      sessions: this.#sessions.size,
      queuedToIsolate,
      inFlightToIsolate,
      bufferedToClients,
      relayedToIsolate: this.#relayedToIsolate,
      relayedToClients: this.#relayedToClients,
    };
  }

  #sendClose(sessionId: number, session: RelaySession, reason: string): void {
    if (session.closeSent) return;
    session.closeSent = true;
    this.#options.send({ type: 'close', sessionId, reason });
  }

  #forget(sessionId: number, session: RelaySession): void {
    if (session.gone) return;
    session.gone = true;
    session.sender.close();
    session.acks.stop();
    this.#sessions.delete(sessionId);
  }
}

/**
 * How long a client may keep its side open after the isolate ended the session: long enough to read
 * the last bytes, not for ever (a client that never closes would hold the connection and its file
 * descriptor).
 */
export const HALF_CLOSED_GRACE_MS = 10_000;

/** Ends a client connection (FIN after the queued bytes), and drops it if the client has not closed its side by then. */
function endWithin(socket: Socket, graceMs: number): void {
  socket.end();
  const timer = setTimeout(() => socket.destroy(), graceMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** Closes a client connection with a TCP RST, which tells the client it was cut off, not closed. */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    // Not a TCP socket (a pipe, in tests): there is no RST to send.
    socket.destroy();
  }
}
