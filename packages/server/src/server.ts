import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { pasCertify, pasStart } from '@veracruz-ts/pas';
import { encodePolicyBinding } from '@veracruz-ts/attestation/certificates';
import { Code, formatHostPort, parseHostPort, VeracruzError } from '@veracruz-ts/core';
import { parsePolicy, timestamped } from '@veracruz-ts/policy';
import type { EnclaveCertExpiry, Policy } from '@veracruz-ts/policy';
import { ChannelConnection, decodeIsolateMessage, encodeHostMessage, EvidenceSource } from '@veracruz-ts/protocol/channel';
import type { ChannelMessage } from '@veracruz-ts/protocol/channel';
import { loadOrCreateDevKey } from './dev-key.ts';
import type { LoadedDevKey } from './dev-key.ts';
import { enrollHint } from './operator-hints.ts';
import { launchLinuxIsolate } from './platforms/linux.ts';
import type { LinuxLaunchInternals, NetworkIsolation } from './platforms/linux.ts';
import { launchSevSnpIsolate } from './platforms/sev-snp.ts';
import { launchTdxIsolate } from './platforms/tdx.ts';
import type { IsolateExit, LaunchedIsolate } from './platforms/types.ts';
import { SessionRelay } from './relay.ts';
import type { FaultInjector, RelayStats, RelayTap } from './relay.ts';
import { DEFAULT_RUNTIME_BUNDLE } from '@veracruz-ts/runtime/bundle';
import { PeerConnections } from './peer-connections.ts';
import { SessionSockets } from './session-sockets.ts';

/** The default bound of the isolate's sealed storage on the host: 16 GiB. */
export const DEFAULT_SEALED_STORAGE_BYTES = 16 * 1024 ** 3;

/** The platforms vc-server can launch an isolate on. */
export type ServerPlatform = 'linux' | 'sev-snp' | 'tdx';

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** The policy file (its exact bytes are what the isolate enforces). Give this or `policyText`. */
  policyPath?: string;
  /** The policy's exact text, instead of a file. */
  policyText?: string;
  /** Where the isolate runs. @default 'linux' */
  platform?: ServerPlatform;
  /** The runtime bundle to launch. @default DEFAULT_RUNTIME_BUNDLE (build/runtime/veracruz-runtime.mjs) */
  runtimePath?: string;
  /** The linux dev key file (created with mode 0600 on first use). @default defaultDevKeyPath() */
  devKeyPath?: string;
  /** The PAS to use instead of the policy's `proxy_attestation_server_url` (host:port or http URL). */
  pasUrl?: string;
  /** Listen here instead of the policy's `veracruz_server_url` (host:port; port 0 picks a free one). */
  listen?: string;
  /** Keep the linux isolate off the network with a namespace. @default 'auto' */
  network?: NetworkIsolation;
  /** Extra Node/V8 flags for the isolate process (e.g. `--max-old-space-size=512`). */
  nodeFlags?: readonly string[];
  /**
   * What the host buffers per session for a client that reads slowly (the credit it grants the isolate),
   * in bytes. The isolate grants its own window for uploads. @default DEFAULT_SESSION_WINDOW
   */
  window?: number;
  /**
   * Most client connections relayed at once; more are closed at once (and logged), so a flood of
   * connections costs the host and the isolate nothing that grows. @default DEFAULT_MAX_SESSIONS
   */
  maxSessions?: number;
  /**
   * Relay clients' TLS bytes to the isolate over the channel, instead of handing each client's
   * connection to the isolate process, which then terminates TLS on the socket itself and no byte of
   * a session passes through vc-server (linux; much faster). Platforms whose isolate is not a
   * process on this host (sev-snp, tdx) always relay. Either way vc-server holds no key and can
   * read or forge nothing. @default false, unless `relayTap` or `faultInjector` is given
   */
  relay?: boolean;
  /** Sees every relayed chunk (tests: prove no plaintext crosses the host). Needs the relay: implies `relay: true`. */
  relayTap?: RelayTap;
  /** May alter relayed chunks (tests: flip a byte in transit). Needs the relay: implies `relay: true`. */
  faultInjector?: FaultInjector;
  /**
   * Storage on this host for file data the isolate's memory budget cannot hold: the isolate seals it
   * (AES-256-GCM under a key that never leaves it) and catches any change, replay or loss. `directory`:
   * where to make the isolate's own directory (default: the launcher's private one); `maxBytes`: its
   * bound (default {@link DEFAULT_SEALED_STORAGE_BYTES}). `false`: none, files must fit in memory.
   * Linux only: a confidential VM's launcher would attach a disk instead.
   */
  sealedStorage?: { directory?: string | undefined; maxBytes?: number | undefined } | false | undefined;
  /** How long the isolate may take to answer each boot message. @default 30000 */
  bootTimeoutMs?: number;
  /**
   * Diagnostics: lifecycle, the isolate's stderr, and one line when each client connection opens and
   * closes (session id, peer address, bytes each way, duration, why it ended; never what it carried).
   * @default lines on stderr, each led by an ISO 8601 time
   */
  log?: (line: string) => void;
}

/** Why and how the server ended. */
export interface ServerExit {
  /** 0 after a principal's shutdown or close(); non-zero when the isolate died or misbehaved. */
  code: number;
  /** One sentence for the operator. */
  reason: string;
  /** Whether a principal shut the computation down (else, with code 0, the host stopped it). */
  byPrincipal?: boolean;
}

/** Milliseconds from the start of {@link startServer} at which each boot step ended. */
export interface BootTimings {
  /** The isolate process was started. */
  launched: number;
  /** The isolate answered with its CSR (and the evidence was at hand). */
  attested: number;
  /** The PAS returned the certificate chain. */
  certified: number;
  /** The isolate accepted the policy and chain. */
  initialized: number;
  /** The server listens: ready. */
  ready: number;
}

/** A running vc-server. */
export interface RunningServer {
  /** Where clients connect: host:port. */
  url: string;
  /** The runtime measurement the isolate was certified with (lowercase hex). */
  measurement: string;
  /** The isolate process id (linux). */
  isolatePid: number | undefined;
  /** Whether clients' bytes are relayed over the channel (else their connections are handed to the isolate). */
  relayed: boolean;
  /** Where the dev key's public half is, for `vc-pas enroll` (linux). */
  devPublicKeyPath: string | undefined;
  /** How long each boot step took, in milliseconds since startServer was called. */
  bootTimings: BootTimings;
  /**
   * What the relay holds right now (bounded by flow control), and the sessions open (relayed, or
   * handed to the isolate and not yet reported closed by it).
   */
  stats(): RelayStats & { channelBuffered: number };
  /** Stops the isolate and the listener; resolves once both are gone. */
  close(): Promise<void>;
  /** Settles when the server has stopped, for whatever reason. */
  exited: Promise<ServerExit>;
}

const DEFAULT_BOOT_TIMEOUT_MS = 30_000;

/** Default cap on client connections relayed at once (each may hold a window of bytes on both sides). */
export const DEFAULT_MAX_SESSIONS = 256;

/** How long an exited isolate's channel may take to deliver its last messages. */
const CHANNEL_DRAIN_AFTER_EXIT_MS = 1000;

/**
 * Starts vc-server: launches the isolate, has it certified by the PAS the policy names (the isolate
 * makes its key and CSR, evidence comes from the platform), sends it the policy and certificate chain,
 * and only then listens for clients, handing each client's connection to the isolate (linux) or
 * relaying its TLS bytes over the one channel with backpressure (see `relay`).
 * Throws VeracruzError when any step fails; the isolate is stopped before the error is thrown.
 */
export function startServer(options: ServerOptions): Promise<RunningServer> {
  return startServerWith(options, {});
}

/** What only the server's `./testing` entry point asks of {@link startServerWith} (benchmarks). */
export interface ServerInternals {
  /** How to launch a linux isolate beyond the options (see LinuxLaunchInternals). */
  linux?: LinuxLaunchInternals;
}

/** {@link startServer}, with what benchmarks may ask beyond its options; not exported by the package. */
export async function startServerWith(options: ServerOptions, internals: ServerInternals): Promise<RunningServer> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  const log = options.log ?? ((line: string) => process.stderr.write(`${timestamped(line, new Date())}\n`));
  const policyText = options.policyText ?? (options.policyPath !== undefined ? await readPolicyFile(options.policyPath) : undefined);
  if (policyText === undefined) throw new VeracruzError(Code.InvalidRequest, 'startServer: give policyPath or policyText');
  const policy = await parsePolicy(policyText);
  const pasUrl = httpUrl(options.pasUrl ?? policy.proxy_attestation_server_url);
  const listenAddress = parseHostPort(options.listen ?? policy.veracruz_server_url, options.listen === undefined ? "the policy's veracruz_server_url" : 'listen address');
  const pasAddress = new URL(pasUrl);
  if (listenAddress.port !== 0 && String(listenAddress.port) === (pasAddress.port || '80') && sameHost(listenAddress.host, pasAddress.hostname)) {
    const listenFrom = options.listen === undefined ? "the policy's veracruz_server_url" : '--listen';
    const pasFrom = options.pasUrl === undefined ? "the policy's proxy_attestation_server_url" : '--pas';
    throw new VeracruzError(
      Code.InvalidRequest,
      `vc-server would listen on ${listenAddress.host}:${listenAddress.port} (${listenFrom}), where the PAS is (${pasFrom}): give vc-server another port (Veracruz's examples use 3011; vc-pas serve listens on 3010 by default)`,
    );
  }
  const notAfterCap = certificateCap(policy);
  const platform = options.platform ?? 'linux';
  const tapped = options.relayTap !== undefined || options.faultInjector !== undefined;
  if (options.relay === false && tapped) {
    throw new VeracruzError(Code.InvalidRequest, 'startServer: relayTap and faultInjector see relayed bytes, and relay: false hands connections to the isolate instead');
  }
  // Only a linux isolate is a process on this host that can take a socket.
  const sessionSockets = platform === 'linux' && !(options.relay ?? tapped);
  checkDataflow(policy, sessionSockets);
  const booted = await bootIsolate({ ...options, platform }, internals, { pasUrl, memoryBudgetBytes: policy.max_memory_mib * 1024 * 1024, sessionSockets, log, elapsed });
  try {
    const chain = await booted.certify(policy, notAfterCap);
    const url = await booted.serve(policyText, policy, chain, listenAddress);
    return booted.running(url);
  } catch (error) {
    await booted.host.abort();
    throw VeracruzError.from(error);
  }
}

/**
 * The moment after which the isolate's certificate may not be valid: the policy's
 * enclave_cert_expiry, which must not have passed (past it, no PAS can certify an isolate for it).
 */
export function certificateCap(policy: Policy): Date {
  const notAfterCap = expiryDate(policy.enclave_cert_expiry);
  if (notAfterCap.getTime() <= Date.now()) {
    throw new VeracruzError(
      Code.InvalidPolicy,
      `the policy's enclave_cert_expiry (${notAfterCap.toISOString()}) has passed: the isolate's certificate may not be valid after it, so no isolate can be started for this policy; the parties need a policy with a later enclave_cert_expiry (vc-pgen -x)`,
    );
  }
  return notAfterCap;
}

/** Refuses a policy with dataflow where the host cannot hand the isolate its peer connections. */
export function checkDataflow(policy: Policy, sessionSockets: boolean): void {
  if (!sessionSockets && policy.dataflow.length > 0) {
    throw new VeracruzError(Code.InvalidRequest, "the policy's dataflow pushes outputs to peer isolates over connections the host hands over: it needs the linux platform without --relay");
  }
}

/** What {@link bootIsolate} is given besides the options. */
export interface BootSettings {
  pasUrl: string;
  /** The isolate's memory budget, which fixes its process's heap limit (linux). */
  memoryBudgetBytes: number;
  sessionSockets: boolean;
  log: (line: string) => void;
  /** Milliseconds since the start, for the boot timings. */
  elapsed: () => number;
}

/** An isolate launched and talking to its host, not yet certified: the steps of a boot, one at a time. */
export interface BootedIsolate {
  host: Host;
  isolate: LaunchedIsolate;
  /**
   * Has the PAS certify the isolate: with the policy's binding in its CSR when `policy` is given
   * (then the certificate names the policy and may not outlive `notAfterCap`), else with none (a
   * member of a pool, waiting for a policy). Resolves with the certificate chain.
   */
  certify(policy: Policy | undefined, notAfterCap?: Date): Promise<Uint8Array[]>;
  /**
   * Gives the isolate its policy and certificate chain, then listens for clients: resolves with
   * where. `beforeListen` runs just before (a warm server releases the port it held).
   */
  serve(policyText: string, policy: Policy, chain: Uint8Array[], listen: { host: string; port: number }, beforeListen?: () => Promise<void>): Promise<string>;
  /** The running server, once it serves at `url`. */
  running(url: string): RunningServer;
}

/** Launches the isolate on its platform and opens the channel to it; the PAS session starts meanwhile. */
export async function bootIsolate(options: ServerOptions & { platform: ServerPlatform }, internals: ServerInternals, settings: BootSettings): Promise<BootedIsolate> {
  const { platform } = options;
  const { pasUrl, log, elapsed } = settings;
  let devKey: LoadedDevKey | undefined;
  if (platform === 'linux') {
    devKey = await loadOrCreateDevKey(options.devKeyPath);
    if (devKey.created) log(`created dev key ${devKey.privateKeyPath}; a PAS accepts this host's evidence once its public key is enrolled: ${await enrollHint(devKey.publicKeyPath)}`);
  }
  // The PAS session and the isolate's boot (process start, key pair) proceed in parallel.
  let pasSession = pasStart(pasUrl);
  pasSession.catch(() => {});
  const launchOptions = {
    runtimePath: options.runtimePath ?? DEFAULT_RUNTIME_BUNDLE, log: (line: string) => log(line), nodeFlags: options.nodeFlags,
    memoryBudgetBytes: settings.memoryBudgetBytes, sessionSockets: settings.sessionSockets,
    sealedStorage: options.sealedStorage === false ? undefined : { parent: options.sealedStorage?.directory, maxBytes: options.sealedStorage?.maxBytes ?? DEFAULT_SEALED_STORAGE_BYTES },
  };
  const isolate: LaunchedIsolate =
    platform === 'linux'
      ? await launchLinuxIsolate({ ...launchOptions, devKey: devKey!.privateKey, network: options.network }, internals.linux)
      : platform === 'sev-snp'
        ? await launchSevSnpIsolate(launchOptions)
        : await launchTdxIsolate(launchOptions);
  const timings: Partial<BootTimings> = { launched: elapsed() };
  const host = new Host(isolate, options, log);
  let certifications = 0;

  const certify = async (policy: Policy | undefined, notAfterCap?: Date): Promise<Uint8Array[]> => {
    // A session is used once: a second certification (a pool member's, with its policy) starts its own.
    if (certifications++ > 0) {
      pasSession = pasStart(pasUrl);
      pasSession.catch(() => {});
    }
    const { sessionId, nonce } = await withIsolate(host, pasSession.catch((error: unknown) => {
      throw new VeracruzError(Code.Unavailable, `the PAS at ${pasUrl} did not start an attestation session: ${messageOf(error)}`, { cause: error });
    }));
    // The CSR binds the policy the isolate will enforce (checked again by the isolate at initialize).
    const policyBinding = policy === undefined ? undefined : encodePolicyBinding(Buffer.from(policy.hash, 'hex'), Buffer.from(policy.identityHash, 'hex'));
    const response = await host.request({ type: 'attestation-request', nonce, ...(policyBinding === undefined ? {} : { policyBinding }) }, 'attestation-response');
    if (response.type !== 'attestation-response') throw new VeracruzError(Code.Internal, 'unexpected reply');
    const evidence =
      response.source === EvidenceSource.Launcher
        ? await isolate.evidenceFor({ csrHash: new Uint8Array(createHash('sha256').update(response.csr).digest()), nonce })
        : response.evidence;
    timings.attested = elapsed();
    try {
      // A year past what Date holds (the policy allows any u32) caps nothing.
      const cap = notAfterCap === undefined || Number.isNaN(notAfterCap.getTime()) ? {} : { notAfterCap };
      const chain = await withIsolate(host, pasCertify(pasUrl, isolate.attestationPlatform, sessionId, evidence, response.csr, cap));
      timings.certified = elapsed();
      return chain;
    } catch (error) {
      const refusal = VeracruzError.from(error, Code.Unavailable);
      const refused = refusal.code === Code.AttestationFailed || refusal.code === Code.PermissionDenied;
      const hint = refused && devKey !== undefined ? ` If the PAS does not know this host's dev key, enroll it (${await enrollHint(devKey.publicKeyPath)}).` : '';
      // The PAS names the cap vc-server sent it; the operator knows it as the policy's field.
      const reason = refusal.rawMessage.replace(/certificate expiry cap (\S+) is not after (\S+)/, "the policy's enclave_cert_expiry ($1) is not after the certificate's start ($2, by the PAS's clock)");
      throw new VeracruzError(refusal.code, `the PAS at ${pasUrl} ${refused ? 'refused to certify' : 'could not certify'} the isolate: ${reason}.${hint}`, { cause: error });
    }
  };

  const serve = async (policyText: string, policy: Policy, chain: Uint8Array[], listen: { host: string; port: number }, beforeListen?: () => Promise<void>): Promise<string> => {
    if (isolate.sessionSockets !== undefined) new PeerConnections({ port: isolate.sessionSockets, addresses: policy.dataflow.map((flow) => flow.address), log });
    const status = await host.request({ type: 'initialize', policy: new TextEncoder().encode(policyText), certificateChain: chain }, 'status');
    if (status.type !== 'status' || status.code !== 'ok') {
      const failure = status.type === 'status' ? status : { code: Code.Internal, message: 'unexpected reply' };
      throw new VeracruzError(failure.code === 'ok' ? Code.Internal : failure.code, `the isolate refused to initialize: ${failure.message}`);
    }
    timings.initialized = elapsed();
    await beforeListen?.();
    return await host.listen(listen);
  };

  const running = (url: string): RunningServer => ({
    bootTimings: { launched: timings.launched!, attested: timings.attested!, certified: timings.certified!, initialized: timings.initialized!, ready: elapsed() },
    url,
    measurement: Buffer.from(isolate.measurement ?? new Uint8Array(0)).toString('hex'),
    isolatePid: isolate.pid,
    relayed: !host.handsOverConnections,
    devPublicKeyPath: devKey?.publicKeyPath,
    stats: () => host.stats(),
    close: () => host.close(),
    exited: host.exited,
  });

  return { host, isolate, certify, serve, running };
}

/** Waits for `promise`, unless the isolate dies first (then its death is the error). */
function withIsolate<T>(host: Host, promise: Promise<T>): Promise<T> {
  return Promise.race([promise, host.exited.then((exit) => { throw new VeracruzError(Code.Unavailable, exit.reason); })]);
}

/** The server's state around one isolate: the channel, the boot conversation, the relay, the listener. */
export class Host {
  readonly exited: Promise<ServerExit>;
  readonly #isolate: LaunchedIsolate;
  readonly #log: (line: string) => void;
  readonly #channel: ChannelConnection;
  readonly #relay: SessionRelay;
  /** Where clients' connections go to the isolate itself instead of through the relay. */
  readonly #sockets: SessionSockets | undefined;
  #resolveExit!: (exit: ServerExit) => void;
  #waiter: { kind: ChannelMessage['type']; resolve: (message: ChannelMessage) => void; reject: (error: VeracruzError) => void } | undefined;
  #server: Server | undefined;
  #stopping: ServerExit | undefined;
  readonly #bootTimeoutMs: number;
  readonly #maxSessions: number;
  #refusedSince = 0;
  #refusalLogged = 0;

  constructor(isolate: LaunchedIsolate, options: ServerOptions, log: (line: string) => void) {
    this.#isolate = isolate;
    this.#log = log;
    this.#bootTimeoutMs = options.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS;
    this.#maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.exited = new Promise((resolve) => (this.#resolveExit = resolve));
    let channelEnded = (): void => {};
    const channelEnd = new Promise<void>((resolve) => (channelEnded = resolve));
    this.#channel = new ChannelConnection({
      input: isolate.input,
      output: isolate.output,
      receives: decodeIsolateMessage, sends: encodeHostMessage,
      onMessage: (message) => this.#onMessage(message),
      onError: (error) => this.#fail(`the channel to the isolate failed: ${error.rawMessage}`),
      onEnd: () => channelEnded(),
    });
    this.#relay = new SessionRelay({ send: (message) => this.#channel.send(message), window: options.window, tap: options.relayTap, faultInjector: options.faultInjector });
    this.#sockets = isolate.sessionSockets === undefined ? undefined : new SessionSockets({ port: isolate.sessionSockets, log });
    if (this.#sockets !== undefined) log("clients' connections are handed to the isolate process (bytes and reasons in their closing lines are its reports)");
    // The child's exit is often reported before the channel's last bytes (its shutdown notice) are
    // read: judge the exit only once the channel has ended too, or after a bounded wait.
    void isolate.exited.then(async (exit) => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([channelEnd, new Promise<void>((resolve) => (timer = setTimeout(resolve, CHANNEL_DRAIN_AFTER_EXIT_MS)))]);
      clearTimeout(timer);
      this.#isolateExited(exit);
    });
  }

  /** Whether clients' connections are handed to the isolate (else their bytes are relayed). */
  get handsOverConnections(): boolean {
    return this.#sockets !== undefined;
  }

  /** Sends a boot message and waits for the reply of kind `kind` (or a status error). */
  request(message: ChannelMessage, kind: ChannelMessage['type']): Promise<ChannelMessage> {
    return new Promise((resolve, reject) => {
      const timeout = this.#bootTimeoutMs;
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new VeracruzError(Code.Unavailable, `the isolate did not answer ${message.type} within ${timeout / 1000} s`));
      }, timeout);
      const settle = <T>(action: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        this.#waiter = undefined;
        action(value);
      };
      this.#waiter = { kind, resolve: settle(resolve), reject: settle(reject) };
      this.#channel.send(message);
    });
  }

  async listen(address: { host: string; port: number }): Promise<string> {
    const sockets = this.#sockets;
    // A connection to hand over is not read from here: every byte of it is the isolate's to read.
    const server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: sockets !== undefined }, (socket: Socket) => {
      if (this.#stopping !== undefined) {
        socket.destroy();
        return;
      }
      if (this.#sessionCount() >= this.#maxSessions) {
        // Closed before any byte: the client's handshake fails at once instead of waiting in a queue.
        socket.on('error', () => {});
        socket.end();
        this.#refusedSince++;
        // One line a second at most: a flood must not flood the log too.
        if (Date.now() - this.#refusalLogged >= 1000) {
          this.#log(`refused ${this.#refusedSince} connection(s): ${this.#maxSessions} sessions are open (the --max-sessions limit)`);
          this.#refusalLogged = Date.now();
          this.#refusedSince = 0;
        }
        return;
      }
      if (sockets !== undefined) sockets.add(socket);
      else this.#logSession(socket, this.#relay.add(socket));
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new VeracruzError(Code.Unavailable, `cannot listen on ${address.host}:${address.port}: ${error.message}`)));
      server.listen(address.port, address.host, () => resolve());
    });
    // Once listening, an accept can still fail (out of file descriptors, say): that connection is lost,
    // the server is not.
    server.on('error', (error) => this.#log(`a client connection could not be accepted: ${error.message}`));
    const bound = server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
    return formatHostPort(address.host, port);
  }

  stats(): RelayStats & { channelBuffered: number } {
    return { ...this.#relay.stats(), sessions: this.#sessionCount(), channelBuffered: this.#channel.outputBufferedBytes };
  }

  #sessionCount(): number {
    return this.#relay.stats().sessions + (this.#sockets?.sessions ?? 0);
  }

  /** One log line when a client connection opens and one when it closes: who, how much, how long, why; never what. */
  #logSession(socket: Socket, sessionId: number): void {
    const opened = performance.now();
    const peer = socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress}]:${socket.remotePort}` : `${socket.remoteAddress}:${socket.remotePort}`;
    this.#log(`session ${sessionId} opened: client ${peer}`);
    // The first of these says why it ended; a connection destroyed without any was dropped by vc-server.
    let reason: string | undefined;
    socket.once('end', () => (reason ??= 'the client closed the connection'));
    socket.once('finish', () => (reason ??= this.#stopping === undefined ? 'the isolate ended the session' : `vc-server is stopping (${this.#stopping.reason})`));
    socket.once('error', (error: NodeJS.ErrnoException) => (reason ??= `connection error ${error.code ?? error.message}`));
    socket.once('close', () => {
      const why = reason ?? (this.#stopping === undefined ? 'dropped by vc-server' : `vc-server is stopping (${this.#stopping.reason})`);
      const milliseconds = Math.round(performance.now() - opened);
      this.#log(`session ${sessionId} closed: client ${peer}, ${socket.bytesRead} bytes from the client, ${socket.bytesWritten} bytes to it, ${milliseconds} ms, ${why}`);
    });
  }

  /** Orderly stop: ask the isolate to stop, end client connections, stop listening. */
  async close(): Promise<void> {
    this.#beginStop({ code: 0, reason: 'stopped by the operator' });
    this.#channel.send({ type: 'shutdown', reason: 'the host is stopping' });
    this.#relay.endAll();
    const forced = setTimeout(() => this.#isolate.kill(), 2000);
    await this.exited;
    clearTimeout(forced);
  }

  /** Boot (or a warm isolate's assignment) failed: stop the isolate at once. */
  async abort(reason = 'boot failed'): Promise<void> {
    this.#beginStop({ code: 1, reason });
    this.#isolate.kill();
    await this.exited;
  }

  #onMessage(message: ChannelMessage): void {
    if (this.#relay.handle(message)) return;
    switch (message.type) {
      case 'shutdown':
        // A principal asked the runtime to stop: deliver what it sent, then close everything.
        this.#log(`the isolate is shutting down: ${message.reason}`);
        this.#beginStop({ code: 0, reason: `the isolate shut down: ${message.reason}`, byPrincipal: true });
        this.#relay.endAll();
        return;
      case 'isolate-error':
        this.#fail(`the isolate reported a fatal error: [${message.code}] ${message.message}`);
        return;
      default: {
        const waiter = this.#waiter;
        if (waiter === undefined) {
          this.#log(`ignored an unexpected ${message.type} message from the isolate`);
          return;
        }
        if (message.type === waiter.kind) waiter.resolve(message);
        else if (message.type === 'status' && message.code !== 'ok') waiter.reject(new VeracruzError(message.code, `the isolate refused: ${message.message}`));
        else waiter.reject(new VeracruzError(Code.Internal, `the isolate answered ${message.type} where ${waiter.kind} was expected`));
      }
    }
  }

  #beginStop(exit: ServerExit): void {
    if (this.#stopping !== undefined) return;
    this.#stopping = exit;
    this.#server?.close();
  }

  #fail(reason: string): void {
    this.#beginStop({ code: 1, reason });
    this.#isolate.kill();
  }

  #isolateExited(exit: IsolateExit): void {
    const how = (exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`) + (exit.cause === undefined ? '' : `: ${exit.cause}`);
    const orderly = this.#stopping !== undefined && this.#stopping.code === 0;
    if (this.#stopping === undefined) this.#stopping = { code: 1, reason: `the isolate exited unexpectedly (${how})` };
    const result = this.#stopping;
    this.#server?.close();
    this.#channel.close();
    this.#waiter?.reject(new VeracruzError(Code.Unavailable, result.reason));
    // The connections handed over were the isolate's alone: the kernel closed them when it exited.
    this.#sockets?.dropAll(orderly ? `the isolate stopped (${result.reason})` : `the isolate exited, and its connections with it (${result.reason})`);
    if (!orderly) {
      // Nothing more can reach the clients: drop their connections so they see it at once.
      this.#relay.destroyAll();
      this.#resolveExit(result);
      return;
    }
    // Orderly: let client sockets flush what the isolate sent last (the reply to shutdown), bounded.
    this.#relay.endAll();
    const deadline = Date.now() + 5000;
    const poll = (): void => {
      if (this.#relay.unflushedSessions() > 0 && Date.now() < deadline) {
        setTimeout(poll, 10);
        return;
      }
      this.#relay.destroyAll();
      this.#resolveExit(result);
    };
    poll();
  }
}

async function readPolicyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new VeracruzError(Code.NotFound, `policy ${path} cannot be read: ${(error as Error).message}`);
  }
}


/** Whether two host names are one listening address (loopback names count as one). */
function sameHost(a: string, b: string): boolean {
  const normal = (host: string) => {
    const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
    return bare === 'localhost' || bare === '::1' || bare.startsWith('127.') ? 'loopback' : bare;
  };
  return normal(a) === normal(b) || normal(a) === '0.0.0.0' || normal(b) === '0.0.0.0' || normal(a) === '::' || normal(b) === '::';
}

/** The moment `enclave_cert_expiry` names (UTC). */
function expiryDate(expiry: EnclaveCertExpiry): Date {
  return new Date(Date.UTC(expiry.year, expiry.month - 1, expiry.day, expiry.hour, expiry.minute));
}

function httpUrl(value: string): string {
  return /^https?:\/\//.test(value) ? value : `http://${value}`;
}

function messageOf(error: unknown): string {
  return error instanceof VeracruzError ? error.rawMessage : error instanceof Error ? error.message : String(error);
}
