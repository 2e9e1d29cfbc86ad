import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { Code, type Policy, VeracruzError } from '@veracruz-ts/policy';
import {
  decodeRequest,
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeFrameHeader,
  encodeResponseParts,
  FrameDecoder,
  type RuntimeManagerResponse,
} from '@veracruz-ts/protocol';
import type { ExecutionEngine, VirtualFileSystem } from '../index.ts';
import { RequestDispatcher, type SessionPrincipal } from './dispatch.ts';
import { errorResponse } from './responses.ts';
import { identityCertificates, type PolicyIdentityCertificate, tlsServerOptions } from './tls-options.ts';

/** What a {@link SessionManager} is built from. */
export interface SessionManagerOptions {
  /** The policy the computation runs under (its `text` and `hash` are what principals check). */
  policy: Policy;
  /** The isolate's certificate chain, PEM, leaf first (the PAS-issued certificate, then the CA). */
  certificateChainPem: string;
  /** The isolate's private key (PKCS#8 PEM); it never leaves the isolate. */
  privateKeyPem: string;
  /** Runs programs and pipelines. */
  engine: ExecutionEngine;
  /** The shared file tree of the computation. */
  vfs: VirtualFileSystem;
  /** Called once, after the reply to the first `request_shutdown` has been handed to TLS. */
  onShutdown: () => void;
  /** Largest request or response message. @default DEFAULT_MAX_MESSAGE_BYTES (64 MiB) */
  maxMessageBytes?: number;
  /** Told about a session that ended in error (handshake refused, malformed stream); never about data. */
  onSessionError?: (sessionId: number, error: VeracruzError) => void;
}

/**
 * Veracruz's session manager: terminates each principal's TLS 1.3 session inside the isolate,
 * identifies the principal by its client certificate (which must equal, byte for byte, one in the
 * policy), and answers its requests through one shared {@link RequestDispatcher}. Sessions are
 * independent: a malformed request or a failed program ends at most that one request or session.
 */
export class SessionManager {
  readonly #tlsOptions: tls.TlsOptions;
  readonly #identities: readonly PolicyIdentityCertificate[];
  readonly #dispatcher: RequestDispatcher;
  readonly #vfs: VirtualFileSystem;
  readonly #maxMessageBytes: number;
  readonly #onShutdown: () => void;
  readonly #onSessionError: ((sessionId: number, error: VeracruzError) => void) | undefined;
  readonly #sessions = new Map<number, Duplex>();
  #shutdownSignalled = false;

  constructor(options: SessionManagerOptions) {
    this.#identities = identityCertificates(options.policy);
    this.#tlsOptions = tlsServerOptions(options.policy, options.certificateChainPem, options.privateKeyPem, this.#identities);
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#dispatcher = new RequestDispatcher({
      policy: options.policy, vfs: options.vfs, engine: options.engine, maxMessageBytes: this.#maxMessageBytes,
    });
    this.#vfs = options.vfs;
    this.#onShutdown = options.onShutdown;
    this.#onSessionError = options.onSessionError;
  }

  /** Number of sessions whose ciphertext stream is still open. */
  get openSessions(): number {
    return this.#sessions.size;
  }

  /**
   * Takes over one client's ciphertext stream: runs the TLS 1.3 handshake as the server (client
   * certificate required), then serves requests until the client closes or the stream fails.
   */
  accept(ciphertext: Duplex, sessionId: number): void {
    this.#sessions.set(sessionId, ciphertext);
    let secured = false;
    let reported = false;
    const fail = (reason: unknown): void => {
      if (reported) return;
      reported = true;
      this.#sessionFailed(sessionId, reason);
    };
    ciphertext.once('close', () => {
      this.#sessions.delete(sessionId);
      // Node drops a client whose certificate fails verification without an event of its own.
      if (!secured) fail(new VeracruzError(Code.PermissionDenied, 'TLS handshake refused or abandoned (is the client certificate a policy identity?)'));
    });
    // One tls.Server per session: through `emit('connection')` the server verifies the client
    // certificate (a bare `new TLSSocket(duplex, { isServer })` would skip that), and its events
    // then belong to this session alone.
    const server = tls.createServer(this.#tlsOptions);
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      secured = true;
      this.#serve(socket, fail).then(() => {}, fail).finally(() => {
        socket.destroy();
        ciphertext.destroy();
      });
    });
    server.on('tlsClientError', (error: Error) => {
      fail(new VeracruzError(Code.PermissionDenied, `TLS handshake refused: ${error.message}`));
      ciphertext.destroy();
    });
    ciphertext.on('error', fail);
    server.emit('connection', ciphertext);
  }

  #sessionFailed(sessionId: number, reason: unknown): void {
    this.#onSessionError?.(sessionId, VeracruzError.from(reason, Code.Unavailable));
  }

  #principalOf(socket: tls.TLSSocket): SessionPrincipal {
    const peer = socket.getPeerX509Certificate();
    const identity = peer === undefined
      ? undefined
      : this.#identities.find((candidate) => candidate.der.equals(peer.raw));
    if (identity === undefined) {
      throw new VeracruzError(Code.PermissionDenied, 'the client certificate is not one of the policy identities');
    }
    return { id: identity.id, fileRights: identity.fileRights, view: this.#vfs.view(identity.fileRights) };
  }

  async #serve(socket: tls.TLSSocket, fail: (reason: unknown) => void): Promise<void> {
    const principal = this.#principalOf(socket);
    const decoder = new FrameDecoder({ maxMessageBytes: this.#maxMessageBytes });
    socket.on('error', () => {}); // reported through the iterator below
    try {
      // Pulling chunks one at a time, and awaiting each request's dispatch, is the backpressure:
      // while a request runs little more is read, so TLS and the host channel stop sending.
      // The loop leaves the socket open when it exits on an error, so the reason can still be sent.
      for await (const chunk of readChunks(socket)) {
        for (const message of decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
          let response: RuntimeManagerResponse;
          try {
            response = await this.#dispatcher.dispatch(principal, decodeRequest(message));
          } catch (reason) {
            response = errorResponse(VeracruzError.from(reason, Code.InvalidRequest));
          }
          const written = writeResponse(socket, response);
          if (this.#dispatcher.shutDown && !this.#shutdownSignalled) {
            // The reply must be on its way before the isolate starts to stop.
            await written.catch(() => {});
            this.#shutdownSignalled = true;
            this.#onShutdown();
          } else {
            written.catch(() => {}); // a failed write ends the socket, and so this loop
            // The next request is served while this reply is still flushing; only a backlog waits.
            if (socket.writableLength > MAX_UNFLUSHED_RESPONSE_BYTES) await drained(socket);
          }
        }
      }
    } catch (reason) {
      // A frame over the limit: the stream cannot be resynchronised; say why, then end the session.
      if (reason instanceof VeracruzError && !socket.destroyed) {
        await writeResponse(socket, errorResponse(reason)).catch(() => {});
        fail(reason);
        return;
      }
      throw reason;
    } finally {
      if (!socket.destroyed) {
        // close_notify, then give the client a moment to close its side.
        socket.end();
        const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
        await once(socket, 'close').catch(() => {});
        clearTimeout(timer);
      }
    }
  }
}

/** How long an ended session waits for the client to close before its stream is dropped. */
const CLOSE_GRACE_MS = 5000;

/** Reply bytes a session may have queued for TLS before it stops reading requests. */
const MAX_UNFLUSHED_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Chunks a session may read ahead of the request being dispatched (TLS records of 16 KiB at most). */
const READ_AHEAD_CHUNKS = 64;

/**
 * The socket's chunks as TLS hands them over. Unlike the stream's own iterator, which takes all that
 * is buffered with `read()` and so concatenates the records into a fresh buffer, this passes each
 * record on as it is: the bulk of an upload is copied once less. At most READ_AHEAD_CHUNKS wait here;
 * beyond that the socket is paused, and TLS and the channel stop in turn. Throws the socket's error.
 */
async function* readChunks(socket: tls.TLSSocket): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: Error | undefined;
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    if (queue.length >= READ_AHEAD_CHUNKS) socket.pause();
    wake?.();
  };
  const onEnd = (): void => {
    ended = true;
    wake?.();
  };
  const onError = (error: Error): void => {
    failure ??= error;
    onEnd();
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onEnd);
  socket.on('error', onError);
  try {
    while (true) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        if (queue.length === 0 && socket.isPaused() && !socket.destroyed) socket.resume();
        yield chunk;
        continue;
      }
      if (failure !== undefined) throw failure;
      if (ended || socket.destroyed) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
    socket.off('error', onError);
  }
}

/** Resolves when the socket's queued writes drain, or it closes. */
function drained(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** Writes one framed response; resolves once TLS has taken all of it. */
async function writeResponse(socket: tls.TLSSocket, response: RuntimeManagerResponse): Promise<void> {
  // A read's data goes to TLS as it is, not copied into the message.
  const parts = encodeResponseParts(response);
  const length = parts.reduce((total, part) => total + part.length, 0);
  socket.cork();
  socket.write(encodeFrameHeader(length));
  for (const part of parts.slice(0, -1)) socket.write(part);
  const written = new Promise<void>((resolve, reject) => {
    socket.write(parts.at(-1)!, (error) => (error ? reject(error) : resolve()));
  });
  socket.uncork();
  await written;
}
