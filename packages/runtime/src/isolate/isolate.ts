import { createIsolateIdentity, derToPem } from '@veracruz-ts/attestation/certificates';
import type { IsolateIdentity } from '@veracruz-ts/attestation/certificates';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { ChannelMessage, SessionSocketClosedMessage } from '@veracruz-ts/protocol/channel';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { checkIsolateCertificate } from './certificate-check.ts';
import type { PolicyTrust } from './certificate-check.ts';
import { produceEvidence } from './evidence.ts';
import type { IsolatePlatform } from './platform.ts';
import { ChannelSessionStream } from './session-stream.ts';

/** What the isolate hands the session layer once it holds a valid certificate and policy. */
export interface SessionSetup<P> {
  /** The parsed policy. */
  policy: P;
  /** The isolate's certificate chain as PEM (leaf first), for the TLS server. */
  certificateChainPem: string;
  /** The isolate's private key (PKCS#8 PEM); it never leaves the isolate. */
  privateKeyPem: string;
  /** To be called when a principal asked the runtime to shut down. */
  onShutdown: () => void;
}

/** The session layer as the isolate sees it (the TLS session manager). */
export interface SessionHandler {
  /**
   * Takes over the ciphertext side of one client's TLS connection: a stream relayed over the channel,
   * or the client's TCP socket itself when the host handed it over.
   */
  accept(ciphertext: Duplex, sessionId: number): void;
}

/** Options of {@link Isolate}. */
export interface IsolateOptions<P extends PolicyTrust> {
  /** The platform this isolate runs as. */
  platform: IsolatePlatform;
  /** Sends a message to the host. */
  send: (message: ChannelMessage) => void;
  /** Parses the policy's exact text (throws VeracruzError(InvalidPolicy) with the reason). */
  parsePolicy: (text: string) => Promise<P>;
  /** Builds the session layer once the isolate is initialized. */
  createSessionHandler: (setup: SessionSetup<P>) => SessionHandler | Promise<SessionHandler>;
  /** Called once the isolate has finished (shutdown); the process exits with the code. */
  onExit: (code: number) => void;
  /** The isolate's own measurement, when it can compute it (linux: SHA-256 of its bundle). */
  ownMeasurement?: Uint8Array | undefined;
  /** configfs-tsm root for sev-snp/tdx evidence. @default '/sys/kernel/config/tsm/report' */
  tsmRoot?: string | undefined;
  /** Credit per session and direction. @default DEFAULT_SESSION_WINDOW */
  window?: number | undefined;
  /** Most sessions at once; more are refused (each may hold a window of bytes). @default DEFAULT_MAX_SESSIONS */
  maxSessions?: number | undefined;
  /** The clock validity is checked against. @default () => new Date() */
  now?: () => Date;
  /** Diagnostics (never secrets). @default writes to stderr */
  log?: (line: string) => void;
  /**
   * Tells the host that the connection of a session it handed over (see {@link Isolate.acceptSocket})
   * has closed. Needed only where the host hands sockets over.
   */
  sendSessionSocketClosed?: (message: SessionSocketClosedMessage) => void;
}

/** Where an isolate is in its life. */
export type IsolateState = 'booting' | 'attesting' | 'attested' | 'initializing' | 'serving' | 'stopping';

/** Default cap on concurrent sessions: bounds the isolate's memory against a host opening sessions without end. */
export const DEFAULT_MAX_SESSIONS = 1024;

/** How long shutdown waits for queued TLS bytes (the reply to request_shutdown) to leave. */
const SHUTDOWN_FLUSH_LIMIT_MS = 2000;

/**
 * How long the isolate must have had no session before it runs one memory-reducing full collection.
 * Why: what sessions leave behind is mostly outside V8's sight (OpenSSL's objects, freed only when
 * their wrappers are collected) and V8 keeps the young generation it grew under load; Node runs no
 * idle-time collection, so an isolate idle after a burst of connections kept it all.
 */
const IDLE_COLLECT_MS = 1000;

/** V8's collector, when the process was started with --expose-gc (the linux launcher passes it). */
const collectGarbage = (globalThis as { gc?: (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void }).gc;

/**
 * The isolate's runtime manager: answers the host's boot messages (attestation, initialize), refuses
 * sessions until it holds a certificate it checked and a policy it parsed, then maps channel sessions to
 * the session layer with flow control. The host is untrusted: whatever it sends out of order is refused.
 *
 * Where the host hands clients' TCP connections over instead ({@link acceptSocket}, with the session
 * id the host chose), TLS is terminated on the socket itself, so the session's bytes never pass
 * through the host. Such a session is refused like a channel session (not serving, too many
 * sessions, id in use, no budget), by closing the connection; when the connection has closed, the
 * host is told (for its log and its session count) through `sendSessionSocketClosed`.
 */
export class Isolate<P extends PolicyTrust> {
  readonly #options: IsolateOptions<P>;
  readonly #sessions = new Map<number, Duplex>();
  #state: IsolateState = 'booting';
  #identity: Promise<IsolateIdentity>;
  #handler: SessionHandler | undefined;
  #idleCollection: NodeJS.Timeout | undefined;

  constructor(options: IsolateOptions<P>) {
    this.#options = options;
    // The key pair is made at boot, before any request, so attestation only waits for evidence.
    this.#identity = createIsolateIdentity();
    this.#identity.catch(() => {});
  }

  /** Where the isolate is in its life: booting, attesting, attested, initializing, serving or stopping. */
  get state(): IsolateState {
    return this.#state;
  }

  /** Handles one message from the host. */
  handle(message: ChannelMessage): void {
    switch (message.type) {
      case 'attestation-request':
        void this.#attest(message.nonce, message.policyBinding);
        return;
      case 'initialize':
        void this.#initialize(message.policy, message.certificateChain);
        return;
      case 'new-session':
        this.#newSession(message.sessionId);
        return;
      case 'tls-data':
        this.#withSession(message.sessionId, (session) => session.deliver(message.data));
        return;
      case 'ack':
        this.#withSession(message.sessionId, (session) => session.acknowledge(message.bytes));
        return;
      case 'close':
        this.#withSession(message.sessionId, (session) => session.endFromHost());
        return;
      case 'shutdown':
        this.#log(`host asked to stop (${message.reason})`);
        this.#stop(0);
        return;
      // Messages only an isolate sends never reach here: the channel refuses them (decodeHostMessage).
    }
  }

  /** Takes a client's connection the host handed over (see the class comment). */
  acceptSocket(sessionId: number, socket: Socket): void {
    const opened = { reason: 'the session ended', failed: false };
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!opened.failed) opened.reason = `connection error ${error.code ?? error.message}`;
      opened.failed = true;
    });
    socket.once('close', () => {
      this.#options.sendSessionSocketClosed?.({
        type: 'session-socket-closed', sessionId, bytesFromClient: socket.bytesRead, bytesToClient: socket.bytesWritten, reason: opened.reason,
      });
    });
    const refusal = this.#refusal(sessionId);
    if (refusal !== undefined) {
      opened.reason = `refused: ${refusal}`;
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.#start(sessionId, socket, (reason) => (opened.reason = reason));
  }

  /** A fatal error: drop every session and exit non-zero (after the caller told the host why). */
  fail(): void {
    this.#stop(1);
  }

  /** The channel to the host is gone: nothing can reach a client any more. */
  hostGone(): void {
    if (this.#state === 'stopping') return;
    this.#log('the channel to the host closed');
    this.#stop(this.#state === 'serving' ? 0 : 1);
  }

  async #attest(nonce: Uint8Array, policyBinding: Uint8Array | undefined): Promise<void> {
    if (this.#state !== 'booting' && this.#state !== 'attested') {
      this.#status(new VeracruzError(Code.InvalidRequest, `attestation-request refused: the isolate is ${this.#state}`));
      return;
    }
    this.#state = 'attesting';
    try {
      // The CSR asks the PAS to certify the policy binding too (checked again against the policy at
      // initialize): peers then know which policy this isolate enforces before they send anything.
      if (policyBinding !== undefined) this.#identity = createIsolateIdentity({ policyBinding });
      const identity = await this.#identity;
      const { source, evidence } = await produceEvidence(this.#options.platform, identity.csrHash, nonce, { root: this.#options.tsmRoot });
      this.#state = 'attested';
      this.#options.send({ type: 'attestation-response', csr: identity.csrDer, source, evidence });
    } catch (error) {
      this.#state = 'booting';
      this.#status(VeracruzError.from(error, Code.AttestationFailed));
    }
  }

  async #initialize(policyBytes: Uint8Array, chain: Uint8Array[]): Promise<void> {
    if (this.#state !== 'attested') {
      this.#status(new VeracruzError(Code.InvalidRequest, `initialize refused: the isolate is ${this.#state}, not attested`));
      return;
    }
    this.#state = 'initializing';
    try {
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(policyBytes);
      } catch {
        throw new VeracruzError(Code.InvalidPolicy, 'the policy is not valid UTF-8');
      }
      const policy = await this.#options.parsePolicy(text);
      const identity = await this.#identity;
      await checkIsolateCertificate({
        chain, privateKeyPem: identity.privateKeyPem, policy, platform: this.#options.platform,
        ownMeasurement: this.#options.ownMeasurement, at: (this.#options.now ?? (() => new Date()))(),
      });
      this.#handler = await this.#options.createSessionHandler({
        policy,
        certificateChainPem: chain.map((der) => derToPem(der, 'CERTIFICATE')).join(''),
        privateKeyPem: identity.privateKeyPem,
        onShutdown: () => this.#shutdownRequested(),
      });
      this.#state = 'serving';
      this.#options.send({ type: 'status', code: 'ok', message: '' });
    } catch (error) {
      this.#state = 'attested';
      this.#status(VeracruzError.from(error));
    }
  }

  #newSession(sessionId: number): void {
    const refusal = this.#refusal(sessionId);
    if (refusal !== undefined) {
      this.#options.send({ type: 'close', sessionId, reason: refusal });
      return;
    }
    const session = new ChannelSessionStream({
      sessionId,
      send: (message) => this.#options.send(message),
      ...(this.#options.window === undefined ? {} : { window: this.#options.window }),
    });
    this.#start(sessionId, session, () => {});
  }

  #refusal(sessionId: number): string | undefined {
    if (this.#state !== 'serving' || this.#handler === undefined) return `the isolate is not ready to serve (${this.#state})`;
    if (this.#sessions.size >= (this.#options.maxSessions ?? DEFAULT_MAX_SESSIONS)) return 'too many sessions';
    if (this.#sessions.has(sessionId)) return 'session id already in use';
    return undefined;
  }

  #start(sessionId: number, session: Duplex, refused: (reason: string) => void): void {
    this.#sessions.set(sessionId, session);
    clearTimeout(this.#idleCollection);
    session.once('close', () => {
      this.#sessions.delete(sessionId);
      if (this.#sessions.size === 0) this.#collectWhenIdle();
    });
    session.on('error', () => {});
    try {
      this.#handler!.accept(session, sessionId);
    } catch (error) {
      const reason = VeracruzError.from(error).message;
      this.#log(`session ${sessionId} refused: ${reason}`);
      refused(`refused: ${reason}`);
      session.destroy();
    }
  }

  #withSession(sessionId: number, action: (session: ChannelSessionStream) => void): void {
    const session = this.#sessions.get(sessionId);
    // Closed already (late bytes are dropped), or a socket the host handed over: nothing of it comes by the channel.
    if (!(session instanceof ChannelSessionStream)) return;
    try {
      action(session);
    } catch (error) {
      this.#log(`session ${sessionId} dropped: ${VeracruzError.from(error).message}`);
      session.destroy();
    }
  }

  // See IDLE_COLLECT_MS.
  #collectWhenIdle(): void {
    if (collectGarbage === undefined || this.#state !== 'serving') return;
    clearTimeout(this.#idleCollection);
    this.#idleCollection = setTimeout(() => {
      this.#idleCollection = undefined;
      if (this.#sessions.size === 0 && this.#state === 'serving') collectGarbage({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    }, IDLE_COLLECT_MS).unref();
  }

  #shutdownRequested(): void {
    if (this.#state === 'stopping') return;
    this.#log('a principal requested shutdown');
    // Let the TLS layer write its reply first, then wait (bounded) until no session holds queued bytes.
    const deadline = Date.now() + SHUTDOWN_FLUSH_LIMIT_MS;
    const poll = (): void => {
      // A handed-over socket's reply is with the kernel once TLS has taken it (the session layer waits for that).
      const queued = [...this.#sessions.values()].some((session) => session instanceof ChannelSessionStream && (session.queuedOutgoing > 0 || session.writableLength > 0));
      if (queued && Date.now() < deadline) {
        setTimeout(poll, 5);
        return;
      }
      this.#options.send({ type: 'shutdown', reason: 'a principal requested shutdown' });
      this.#stop(0);
    };
    setImmediate(poll);
  }

  #stop(code: number): void {
    if (this.#state === 'stopping') return;
    this.#state = 'stopping';
    clearTimeout(this.#idleCollection);
    for (const session of this.#sessions.values()) session.destroy();
    this.#options.onExit(code);
  }

  #status(error: VeracruzError): void {
    this.#log(error.message);
    this.#options.send({ type: 'status', code: error.code, message: error.rawMessage });
  }

  #log(line: string): void {
    (this.#options.log ?? ((text: string) => process.stderr.write(`[isolate] ${text}\n`)))(line);
  }
}
