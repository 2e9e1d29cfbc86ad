import { createPrivateKey, sign } from 'node:crypto';
import { once } from 'node:events';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { readPolicyBinding } from '@veracruz-ts/attestation/certificates';
import type { FileRights, Policy, PolicyIsolatePrincipal } from '@veracruz-ts/policy';
import {
  decodeRequestPieces,
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeFrameHeader,
  encodeResponseParts,
  FrameDecoder,
  joinPieces,
  type RuntimeManagerResponse,
} from '@veracruz-ts/protocol';
import { DEFAULT_SESSION_WINDOW } from '@veracruz-ts/protocol/channel';
import { BudgetHold } from '../budget/budget-hold.ts';
import { checkPeerCertificate } from '../network/peer-certificate.ts';
import { BudgetExceeded, type MemoryBudget } from '../budget/memory-budget.ts';
import type { ExecutionEngine, VirtualFileSystem } from '../index.ts';
import type { ResultSigner } from '../wasi/process-options.ts';
import { RequestDispatcher, type SessionPrincipal } from './dispatch.ts';
import { ResponseBuffers } from './response-buffers.ts';
import { errorResponse, takeHeadroom, takeReservation } from './responses.ts';
import { createSessionSecureContext, createSessionTlsServer } from './session-tls-server.ts';
import { HandshakeRecordWatch, type HandshakeRefusal, SocketHandshakeRefusal, type TlsAlertName } from './tls-alert.ts';
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
  /** Called after each program or pipeline run that exited 0. */
  onRunSucceeded?: (() => void) | undefined;
}

/**
 * Veracruz's session manager: terminates each principal's TLS 1.3 session inside the isolate,
 * identifies the principal by its client certificate (which must equal, byte for byte, one in the
 * policy), and answers its requests through one shared {@link RequestDispatcher}. Sessions are
 * independent: a malformed request or a failed program ends at most that one request or session.
 *
 * {@link accept} takes over one client's ciphertext stream, relayed (any Duplex) or the client's
 * TCP socket itself, on which TLS then runs natively, with no JavaScript stream between it and the
 * kernel: it runs the TLS 1.3 handshake as the server (client certificate required), then serves
 * requests until the client closes or the stream fails. A client whose certificate is not one of
 * the policy's identities gets a fatal TLS alert (`certificate_unknown`; see `admission`) and
 * nothing else.
 */
export class SessionManager {
  readonly #tlsOptions: tls.TlsOptions;
  /** Made once: a context per session piled up native memory under connection churn (see session-tls-server.ts). */
  readonly #secureContext: tls.SecureContext;
  readonly #identities: readonly PolicyIdentityCertificate[];
  readonly #isolatePrincipals: readonly PolicyIsolatePrincipal[];
  readonly #dispatcher: RequestDispatcher;
  readonly #vfs: VirtualFileSystem;
  /** The computation's memory budget (the VFS's): sessions, requests and responses draw on it. */
  readonly #budget: MemoryBudget;
  /** Bytes charged to sessions whose client is not admitted yet, and the most they may hold. */
  #handshakeBytes = 0;
  readonly #handshakeLimit: number;
  readonly #maxMessageBytes: number;
  readonly #onShutdown: () => void;
  readonly #onSessionError: ((sessionId: number, error: VeracruzError) => void) | undefined;
  readonly #sessions = new Map<number, Duplex>();
  #shutdownSignalled = false;

  constructor(options: SessionManagerOptions) {
    this.#identities = identityCertificates(options.policy);
    this.#isolatePrincipals = options.policy.isolate_principals;
    this.#tlsOptions = tlsServerOptions(options.policy, options.certificateChainPem, options.privateKeyPem, this.#identities);
    this.#secureContext = createSessionSecureContext(this.#tlsOptions);
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#dispatcher = new RequestDispatcher({
      policy: options.policy, vfs: options.vfs, engine: options.engine, maxMessageBytes: this.#maxMessageBytes, onRunSucceeded: options.onRunSucceeded,
      signer: isolateSigner(options.certificateChainPem, options.privateKeyPem),
    });
    this.#vfs = options.vfs;
    this.#budget = options.vfs.budget;
    const reserve = this.#budget.reservedForServing;
    this.#handshakeLimit = Math.max(Math.floor(reserve / 2), Math.min(4 * SESSION_BYTES, reserve));
    this.#onShutdown = options.onShutdown;
    this.#onSessionError = options.onSessionError;
  }

  /** Number of sessions whose ciphertext stream is still open. */
  get openSessions(): number {
    return this.#sessions.size;
  }

  /** Takes over one client's ciphertext stream (see the class comment). */
  accept(ciphertext: Duplex, sessionId: number): void {
    // What a session may hold whatever it sends (its channel window, TLS read-ahead and state) is
    // reserved up front; a session the budget cannot hold is refused before its handshake.
    // Until its client is admitted a session is anyone's: all such sessions together may hold at most
    // part of the serving reserve, so that connections that never authenticate cannot take the memory
    // of the parties' data and programs.
    if (this.#handshakeBytes + SESSION_BYTES > this.#handshakeLimit) {
      throw new VeracruzError(Code.LimitExceeded, `session refused: ${this.#handshakeBytes / SESSION_BYTES} sessions are in their TLS handshake, the most the isolate's memory budget allows`);
    }
    if (!this.#budget.tryReserve(SESSION_BYTES, 'sessions')) {
      throw new VeracruzError(Code.LimitExceeded, `session refused: ${new BudgetExceeded('sessions', SESSION_BYTES, this.#budget.limit).sentence}`);
    }
    this.#handshakeBytes += SESSION_BYTES;
    let handshaking = true;
    const handshakeOver = (): void => {
      if (!handshaking) return;
      handshaking = false;
      this.#handshakeBytes -= SESSION_BYTES;
    };
    ciphertext.once('close', () => {
      handshakeOver();
      this.#budget.release(SESSION_BYTES, 'sessions');
    });
    this.#sessions.set(sessionId, ciphertext);
    let decided = false;
    let reported = false;
    const fail = (reason: unknown): void => {
      if (reported) return;
      reported = true;
      this.#sessionFailed(sessionId, reason);
    };
    ciphertext.once('close', () => {
      this.#sessions.delete(sessionId);
      if (!decided) fail(new VeracruzError(Code.Unavailable, 'TLS handshake abandoned: the stream closed before it completed'));
    });
    // One tls.Server per session: through `emit('connection')` the server asks for and checks the
    // client certificate (a bare `new TLSSocket(duplex, { isServer })` would not), and its events
    // then belong to this session alone.
    const server = createSessionTlsServer(this.#tlsOptions, this.#secureContext);
    // node:tls cannot refuse a client certificate with an alert, so the session does it itself; to
    // know the sequence number to send it at, it watches the records TLS writes until the verdict
    // (or, on a socket where TLS writes natively, counts them).
    const watch: HandshakeRefusal = ciphertext instanceof Socket ? new SocketHandshakeRefusal(ciphertext, server) : new HandshakeRecordWatch(ciphertext);
    server.on('keylog', (line: Buffer) => watch.keylog(line));
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      decided = true;
      void admission(socket, this.#identities, this.#isolatePrincipals).then((verdict) => {
        if (!('refusal' in verdict)) handshakeOver();
        if ('refusal' in verdict) {
          fail(new VeracruzError(Code.PermissionDenied, `TLS handshake refused: ${verdict.refusal} (sent TLS alert ${verdict.alert})`));
          socket.on('error', () => {}); // the session is over; its reason is reported above
          const suite = socket.getCipher().standardName;
          void watch.refuse(suite, verdict.alert).then(() => {
            socket.destroy();
            ciphertext.destroy();
          });
          return;
        }
        watch.release();
        const principal: SessionPrincipal = {
          id: verdict.identity.id, fileRights: verdict.identity.fileRights, view: this.#vfs.view(verdict.identity.fileRights),
        };
        // Whatever the session waits for (a stream's data, room for an append) ends with its connection.
        const closed = (): void => this.#dispatcher.sessionClosed(principal);
        socket.once('close', closed);
        ciphertext.once('close', closed);
        this.#serve(socket, principal, fail).then(() => {}, fail).finally(() => {
          socket.destroy();
          ciphertext.destroy();
        });
      });
    });
    server.on('tlsClientError', (error: Error) => {
      decided = true;
      watch.release();
      fail(new VeracruzError(Code.PermissionDenied, `TLS handshake refused: ${error.message}`));
      ciphertext.destroy();
    });
    ciphertext.on('error', fail);
    server.emit('connection', ciphertext);
  }

  #sessionFailed(sessionId: number, reason: unknown): void {
    this.#onSessionError?.(sessionId, VeracruzError.from(reason, Code.Unavailable));
  }

  async #serve(socket: tls.TLSSocket, principal: SessionPrincipal, fail: (reason: unknown) => void): Promise<void> {
    const decoder = new FrameDecoder({ maxMessageBytes: this.#maxMessageBytes });
    // What this session's requests hold in the isolate's memory budget: bytes received that are not
    // yet a whole message, and the message being served.
    const requests = new BudgetHold(this.#budget, 'requests');
    const buffers = new ResponseBuffers(this.#budget);
    socket.on('error', () => {}); // reported through the iterator below
    // The reply being written: the next one waits for it, so that TLS takes each reply as one buffer
    // (several written while it is busy are copied into one), and a client that does not read holds
    // this session after one reply. The next request is dispatched meanwhile.
    let previous: Promise<void> = Promise.resolve();
    try {
      // Pulling chunks one at a time, and awaiting each request's dispatch, is the backpressure:
      // while a request runs little more is read, so TLS and the host channel stop sending.
      // The loop leaves the socket open when it exits on an error, so the reason can still be sent.
      for await (const chunk of readChunks(socket)) {
        requests.set(requests.bytes + chunk.byteLength);
        // A request stays in the pieces (TLS records) it arrived in: a write's payload is stored from them.
        for (const pieces of decoder.pushPieces(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
          let response: RuntimeManagerResponse;
          try {
            response = await this.#dispatcher.dispatch(principal, decodeRequestPieces(pieces), buffers);
          } catch (reason) {
            response = errorResponse(VeracruzError.from(reason, Code.InvalidRequest));
          }
          await previous;
          const written = this.#respond(socket, response, buffers);
          if (this.#dispatcher.shutDown && !this.#shutdownSignalled) {
            // The reply must be on its way before the isolate starts to stop.
            await written.catch(() => {});
            this.#shutdownSignalled = true;
            this.#onShutdown();
          }
          // A failed write ends the socket, and so this loop.
          previous = written.catch(() => {});
        }
        requests.set(decoder.bufferedBytes);
      }
    } catch (caught) {
      // A frame over the limit, or a request the budget cannot hold: the stream cannot be
      // resynchronised; say why, then end the session.
      const reason = caught instanceof BudgetExceeded ? new VeracruzError(Code.LimitExceeded, `request: ${caught.sentence}`) : caught;
      if (reason instanceof VeracruzError && !socket.destroyed) {
        requests.set(0);
        await previous;
        await writeResponse(socket, errorResponse(reason)).catch(() => {});
        fail(reason);
        return;
      }
      throw reason;
    } finally {
      // Every request it sent has been served: the streams it appended to learn that it has gone.
      this.#dispatcher.sessionEnded(principal);
      requests.set(0);
      if (!socket.destroyed) {
        // close_notify, then give the client a moment to close its side.
        socket.end();
        const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
        await once(socket, 'close').catch(() => {});
        clearTimeout(timer);
      }
      // The socket is closed: the last write has given its buffer back or failed, so none comes back later.
      await previous;
      buffers.clear();
    }
  }

  #respond(socket: tls.TLSSocket, response: RuntimeManagerResponse, buffers?: ResponseBuffers): Promise<void> {
    // The budget holds a response's bytes until TLS has taken them; one it cannot hold now is replaced
    // by an error saying so (its data is dropped, not queued).
    const reserved = takeReservation(response);
    const parts = encodeResponseParts(response);
    const bytes = parts.reduce((total, part) => total + part.length, 0);
    // A read's copy was reserved before it was made; what else a response holds is reserved here.
    if (bytes > reserved && !this.#budget.tryReserve(bytes - reserved, 'responses')) {
      this.#budget.release(reserved, 'responses');
      const refusal = new BudgetExceeded('responses', bytes, this.#budget.limit);
      return writeResponse(socket, errorResponse(new VeracruzError(Code.LimitExceeded,
        `response: ${refusal.sentence} now; read the file in smaller ranges, or retry when other requests are done`)));
    }
    const held = Math.max(bytes, reserved);
    const payload = response.body?.kind === 'result' ? response.body.data : undefined;
    const headroom = takeHeadroom(response);
    const written = writeParts(socket, parts, payload, headroom);
    // A read's buffer (made with headroom: its own) is free again once TLS has taken it.
    if (headroom > 0 && payload !== undefined && buffers !== undefined) void written.then(() => buffers.give(payload.buffer as ArrayBuffer), () => {});
    return written.finally(() => this.#budget.release(held, 'responses'));
  }
}

/** Whether a handshake's client may have a session: its principal, or why not and the alert that says so. */
type Admission = { identity: { id: number; fileRights: readonly FileRights[] } } | { refusal: string; alert: TlsAlertName };

/**
 * The verdict on a completed handshake's client certificate. The deciding check is byte-for-byte
 * equality with one of the policy's identity certificates; OpenSSL's own verification against
 * them (validity period, key usage) must pass too, as `rejectUnauthorized` would have required.
 */
async function admission(socket: tls.TLSSocket, identities: readonly PolicyIdentityCertificate[], isolates: readonly PolicyIsolatePrincipal[]): Promise<Admission> {
  const peer = socket.getPeerX509Certificate();
  if (peer === undefined) return { refusal: 'the client sent no certificate', alert: 'certificate_required' };
  const identity = identities.find((candidate) => candidate.der.equals(peer.raw));
  if (identity === undefined) return admitIsolate(peer.raw, isolates);
  if (!socket.authorized) {
    const reason = String(socket.authorizationError);
    const expired = reason === 'CERT_HAS_EXPIRED' || reason === 'CERT_NOT_YET_VALID';
    return {
      refusal: `the client certificate is policy identity ${identity.id}, but TLS verification refused it (${reason})`,
      alert: expired ? 'certificate_expired' : 'bad_certificate',
    };
  }
  return { identity };
}

/**
 * The verdict on a client that is no identity certificate: it may be another isolate the policy names
 * as a principal, by the identity hash its certificate binds, if that certificate passes every check
 * the principal's entry asks for (PAS CA, validity, runtime hash).
 */
async function admitIsolate(der: Uint8Array, isolates: readonly PolicyIsolatePrincipal[]): Promise<Admission> {
  let bound: string | undefined;
  try {
    bound = readPolicyBinding(der)?.identityHash;
  } catch {
    // a malformed binding names no principal
  }
  const principal = isolates.find((candidate) => candidate.isolate.policy_hash === bound);
  if (principal === undefined) return { refusal: 'the client certificate is not one of the policy identities', alert: 'certificate_unknown' };
  try {
    await checkPeerCertificate(der, principal.isolate, 'identityHash', new Date());
  } catch (error) {
    return { refusal: `the client claims to be isolate principal ${principal.id}, but ${VeracruzError.from(error).rawMessage}`, alert: 'bad_certificate' };
  }
  return { identity: { id: principal.id, fileRights: principal.file_rights } };
}

/** How long an ended session waits for the client to close before its stream is dropped. */
const CLOSE_GRACE_MS = 5000;

/** Chunks a session may read ahead of the request being dispatched (TLS records of 16 KiB at most). */
const READ_AHEAD_CHUNKS = 64;

/**
 * What one session is charged in the memory budget for as long as it is open: the ciphertext the
 * host may send ahead (the channel window; on a socket the host handed over, the kernel holds it
 * instead, and TLS reads ahead no more than the records below), the plaintext records read ahead
 * (READ_AHEAD_CHUNKS TLS records of at most 16 KiB), and TLS state. Requests and responses are
 * charged as they come, and the buffers a session keeps for its responses while idle.
 */
export const SESSION_BYTES = DEFAULT_SESSION_WINDOW + READ_AHEAD_CHUNKS * 16 * 1024 + 64 * 1024;

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

/** Writes one framed response; resolves once TLS has taken all of it. */
function writeResponse(socket: tls.TLSSocket, response: RuntimeManagerResponse): Promise<void> {
  return writeParts(socket, encodeResponseParts(response));
}

/** Replies up to this size are joined into one buffer: copying them costs less than a TLS record more. */
const JOIN_BELOW_BYTES = 64 * 1024;

/**
 * Writes one framed response's encoded parts; resolves once TLS has taken all of it. TLS copies
 * buffers written together into one before it encrypts them, so a reply goes to it as one buffer:
 * a small one joined, a large payload with its headers written into the `headroom` bytes before it
 * (when the dispatcher left room there), else the headers first, on their own, and then the payload
 * as it is: a read's data is never copied again.
 */
function writeParts(socket: tls.TLSSocket, parts: readonly Uint8Array[], payload?: Uint8Array, headroom = 0): Promise<void> {
  const last = parts.at(-1)!;
  const head = [encodeFrameHeader(parts.reduce((total, part) => total + part.length, 0)), ...parts.slice(0, -1)];
  const headLength = head.reduce((total, part) => total + part.length, 0);
  let buffers: Uint8Array[];
  if (headLength + last.length <= JOIN_BELOW_BYTES) {
    buffers = [joinPieces([...head, last])];
  } else if (last === payload && headLength <= headroom && headLength <= last.byteOffset) {
    const whole = new Uint8Array(last.buffer, last.byteOffset - headLength, headLength + last.length);
    let offset = 0;
    for (const part of head) {
      whole.set(part, offset);
      offset += part.length;
    }
    buffers = [whole];
  } else {
    buffers = [joinPieces(head), last];
  }
  return new Promise<void>((resolve, reject) => {
    for (const buffer of buffers.slice(0, -1)) socket.write(buffer);
    socket.write(buffers.at(-1)!, (error) => (error ? reject(error) : resolve()));
  });
}

/** The isolate's attested key as programs' `result_sign` uses it: its certificate (the chain's leaf) and ECDSA-SHA256. */
export function isolateSigner(certificateChainPem: string, privateKeyPem: string): ResultSigner {
  const key = createPrivateKey(privateKeyPem);
  return { certificatePem: `${certificateChainPem.split('-----END')[0]}-----END CERTIFICATE-----\n`, sign: (data) => sign('sha256', data, key) };
}
