import type { Socket } from 'node:net';
import type { SessionSocketClosedMessage } from '@veracruz-ts/protocol/channel';
import type { SessionSocketPort } from './platforms/types.ts';

/** Options of {@link SessionSockets}. */
export interface SessionSocketsOptions {
  /** The launcher's means to pass a socket to the isolate process. */
  port: SessionSocketPort;
  /** vc-server's log: one line when a session opens and one when it closes. */
  log: (line: string) => void;
}

interface HandedOver {
  peer: string;
  opened: number;
  /** The host's copy, closed once sent; until then (queued behind another, say) the host holds the connection. */
  socket: Socket;
}

/**
 * The host's side of sessions whose connections it hands to the isolate process (the linux platform's
 * default): the isolate terminates TLS on the client's socket itself, so no byte of a session passes
 * through vc-server, and the host keeps no copy of the socket. What the host still does per
 * connection: it accepts it, counts it against `--max-sessions` until the isolate reports it closed,
 * and logs it as it logs a relayed one (peer address when it opened; bytes each way, duration and
 * reason when it closed, the bytes and the reason as the isolate reports them). The host sees what any on-path observer of the TCP connection sees,
 * and no more: it never holds a key, reads nothing of the session, and cannot write into it.
 */
export class SessionSockets {
  readonly #options: SessionSocketsOptions;
  readonly #sessions = new Map<number, HandedOver>();
  #nextSessionId = 1;

  constructor(options: SessionSocketsOptions) {
    this.#options = options;
    options.port.onClosed((message) => this.#closed(message));
  }

  /** Sessions handed over and not yet reported closed. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** Hands a newly accepted client connection (not read from) to the isolate; returns its session id. */
  add(socket: Socket): number {
    const sessionId = this.#nextSessionId;
    do {
      this.#nextSessionId = this.#nextSessionId >= 0xffffffff ? 1 : this.#nextSessionId + 1;
    } while (this.#sessions.has(this.#nextSessionId));
    const peer = socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress}]:${socket.remotePort}` : `${socket.remoteAddress}:${socket.remotePort}`;
    this.#sessions.set(sessionId, { peer, opened: performance.now(), socket });
    this.#options.log(`session ${sessionId} opened: client ${peer}`);
    socket.on('error', () => {}); // until it is sent; a failure to send is logged below
    this.#options.port.send(sessionId, socket, (error) => {
      if (error === null) return;
      // Still the host's: the client must not wait for a session that will never start.
      resetSocket(socket);
      this.#end(sessionId, `not handed to the isolate (${error.message})`, undefined, undefined);
    });
    return sessionId;
  }

  /**
   * The isolate is gone, and the connections it held went with it (the kernel closed them): the
   * sessions still counted end now, with `reason`. A connection not yet sent is still the host's: it
   * is reset, so that no client waits for it.
   */
  dropAll(reason: string): void {
    for (const [sessionId, session] of [...this.#sessions]) {
      resetSocket(session.socket);
      this.#end(sessionId, reason, undefined, undefined);
    }
  }

  #closed(message: SessionSocketClosedMessage): void {
    this.#end(message.sessionId, message.reason, message.bytesFromClient, message.bytesToClient);
  }

  #end(sessionId: number, reason: string, fromClient: number | undefined, toClient: number | undefined): void {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) return;
    this.#sessions.delete(sessionId);
    const milliseconds = Math.round(performance.now() - session.opened);
    const bytes = fromClient === undefined || toClient === undefined
      ? 'bytes unknown'
      : `${fromClient} bytes from the client, ${toClient} bytes to it`;
    this.#options.log(`session ${sessionId} closed: client ${session.peer}, ${bytes}, ${milliseconds} ms, ${reason}`);
  }
}

/** Closes the host's copy of a connection that was not handed over, with a TCP RST. */
function resetSocket(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}
