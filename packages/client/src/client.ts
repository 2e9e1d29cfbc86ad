import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { verifyCertificateChain } from '@veracruz-ts/attestation';
import { Code, parseHostPort, VeracruzError } from '@veracruz-ts/core';
import { findStream, isStdStream, normalizePath, opensslCiphersuite, parsePolicy, type Policy } from '@veracruz-ts/policy';
import { DEFAULT_MAX_MESSAGE_BYTES } from '@veracruz-ts/protocol';
import { checkIdentityKeyPair, checkPolicyBinding, checkPolicyHash, checkRuntimeHash } from './checks.ts';
import { alertError, FramedConnection } from './connection.ts';
import { explainUnavailable } from './fleet-report.ts';
import { StreamFollower, type StreamFollowerOptions } from './stream-follower.ts';
import { StreamWriter, type StreamWriterOptions } from './stream-writer.ts';

/** How to reach and authenticate to a computation. */
export interface ConnectOptions {
  /** The policy file's exact bytes (its SHA-256 is what the isolate must report). */
  policy: string | Uint8Array;
  /** This principal's certificate (PEM), one of the policy's identities. */
  certificatePem: string;
  /** This principal's private key (PEM). Used by TLS only; never sent. */
  privateKeyPem: string;
  /** Where vc-server listens. @default the policy's `veracruz_server_url` ("host:port") */
  address?: string;
  /** An already connected byte stream to use instead of a TCP connection (tests, tunnels). */
  transport?: Duplex;
  /** The time certificates must be valid at. @default now */
  at?: Date;
  /** Largest message sent or accepted. @default 64 MiB */
  maxMessageBytes?: number;
  /** Bytes per request when streaming a file. @default 1 MiB */
  chunkBytes?: number;
  /** Requests kept in flight when streaming. @default 8 */
  window?: number;
  /**
   * The API of the fleet that runs the computation (`http://host:port`). When given, an
   * `unavailable` failure of `connect`, or of a request once the connection dropped, is explained
   * by what the fleet reports about the isolate serving this policy (lost, failed, ended), quoted
   * as the fleet's unauthenticated word. @default no fleet is asked
   */
  fleet?: string;
}

/** Progress of a streamed transfer. */
export interface TransferProgress {
  /** Bytes transferred so far. */
  bytes: number;
  /** Total bytes, when known. */
  total?: number;
}

/** What `request_rights` answers (see {@link VeracruzClient.rights}). */
export interface RightsReport {
  /** Principals by their policy id, programs as `0x80000000 | i` (the i-th of the policy's `programs`). */
  subjects: { subject: number; file_rights: { file_name: string; rights: number }[] }[];
  narrowings: { at: string; program: string; subject: number; path: string; before: number; after: number }[];
}

/** Options of the streaming transfers. */
export interface TransferOptions {
  /** Called after each chunk is acknowledged (upload) or received (download). */
  onProgress?: (progress: TransferProgress) => void;
  /** Total bytes of an upload, for progress reports only. */
  total?: number;
}

/** What the client verified about the isolate before sending anything. */
export interface IsolateAttestation {
  /** The platform whose policy hash matched (`linux`, `nitro`, ...). */
  platform: string;
  /** The runtime hash in the isolate certificate (hex). */
  runtimeHash: string;
  /** The isolate's certificate (DER). */
  certificate: Uint8Array;
  /** The policy hash the isolate reported (hex), equal to the client's own. */
  policyHash: string;
}

async function openTransport(address: string): Promise<net.Socket> {
  const { host, port } = parseHostPort(address, 'server address');
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (error) =>
      reject(new VeracruzError(Code.Unavailable, `cannot reach the Veracruz server at ${address}: ${error.message}`, { cause: error })));
  });
  return socket;
}

/** Turns an error into the one to throw (see {@link fleetExplainer}). */
type Explainer = (error: VeracruzError) => Promise<VeracruzError>;

/**
 * {@link explainUnavailable} for one policy, asking the fleet once per failure: a dropped
 * connection fails every request in flight and every later one with the same error, and an error
 * already explained is not explained again.
 */
function fleetExplainer(fleetUrl: string, policyHash: string): Explainer {
  const explained = new WeakMap<VeracruzError, Promise<VeracruzError>>();
  return (error) => {
    let result = explained.get(error);
    if (result === undefined) {
      result = explainUnavailable(error, fleetUrl, policyHash).then((final) => {
        if (final !== error) explained.set(final, Promise.resolve(final));
        return final;
      });
      explained.set(error, result);
    }
    return result;
  };
}

/**
 * A connection whose requests, once the session is gone, fail with the error the fleet's report
 * explains. Only a closed session is explained: an `unavailable` answer of the isolate itself
 * (an aborted stream) is the isolate's word, and passes as it is.
 */
class ExplainedConnection extends FramedConnection {
  readonly #explain: Explainer;

  constructor(socket: tls.TLSSocket, options: { maxMessageBytes?: number }, explain: Explainer) {
    super(socket, options);
    this.#explain = explain;
  }

  override async call(request: Parameters<FramedConnection['call']>[0]): ReturnType<FramedConnection['call']> {
    try {
      return await super.call(request);
    } catch (reason) {
      throw await this.#explained(reason);
    }
  }

  override async callForPieces(request: Parameters<FramedConnection['callForPieces']>[0]): ReturnType<FramedConnection['callForPieces']> {
    try {
      return await super.callForPieces(request);
    } catch (reason) {
      throw await this.#explained(reason);
    }
  }

  async #explained(reason: unknown): Promise<unknown> {
    return this.closed && reason instanceof VeracruzError ? this.#explain(reason) : reason;
  }
}

/** The peer's chain as DER, leaf first, as TLS received it (plus the anchor OpenSSL found). */
function peerChain(socket: tls.TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let certificate: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (certificate?.raw !== undefined && chain.length < 10) {
    chain.push(new Uint8Array(certificate.raw));
    const issuer: tls.DetailedPeerCertificate | undefined = certificate.issuerCertificate;
    if (issuer === undefined || issuer === certificate || issuer.raw?.equals(certificate.raw)) break;
    certificate = issuer;
  }
  return chain;
}

/**
 * A principal's connection to a Veracruz computation. `connect` verifies the isolate before it
 * returns: its certificate chain to the policy's PAS CA and its validity, the runtime hash in the
 * certificate against the policy's, and the policy hash the isolate enforces against the
 * client's own. Only then can data be sent.
 */
export class VeracruzClient {
  /** The parsed policy. */
  readonly policy: Policy;
  /** What was verified about the isolate. */
  readonly attestation: IsolateAttestation;
  readonly #connection: FramedConnection;
  readonly #chunkBytes: number;
  readonly #window: number;
  readonly #hashedPaths: ReadonlySet<string>;

  private constructor(policy: Policy, attestation: IsolateAttestation, connection: FramedConnection, options: ConnectOptions) {
    this.policy = policy;
    this.attestation = attestation;
    this.#connection = connection;
    this.#chunkBytes = options.chunkBytes ?? 1024 * 1024;
    this.#window = Math.max(1, options.window ?? 8);
    this.#hashedPaths = new Set(policy.file_hashes.map((entry) => normalizePath(entry.file_path)));
  }

  /**
   * Connects and verifies the isolate (see the class comment). Throws VeracruzError; with
   * `options.fleet`, an `unavailable` one may carry the fleet's report (see {@link ConnectOptions.fleet}).
   */
  static async connect(options: ConnectOptions): Promise<VeracruzClient> {
    const policyText = typeof options.policy === 'string' ? options.policy : new TextDecoder().decode(options.policy);
    const at = options.at ?? new Date();
    const policy = await parsePolicy(policyText, { at });
    const explain = options.fleet === undefined ? undefined : fleetExplainer(options.fleet, policy.hash);
    try {
      return await VeracruzClient.#open(policy, at, options, explain);
    } catch (reason) {
      throw explain === undefined || !(reason instanceof VeracruzError) ? reason : await explain(reason);
    }
  }

  static async #open(policy: Policy, at: Date, options: ConnectOptions, explain: Explainer | undefined): Promise<VeracruzClient> {
    checkIdentityKeyPair(options.certificatePem, options.privateKeyPem);
    const transport = options.transport ?? await openTransport(options.address ?? policy.veracruz_server_url);
    const socket = tls.connect({
      socket: transport,
      ca: [policy.proxy_service_cert],
      cert: options.certificatePem,
      key: options.privateKeyPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ciphers: opensslCiphersuite(policy.ciphersuite),
      // Verification is done below, with precise reasons; nothing is sent before it passes.
      rejectUnauthorized: false,
      // The isolate has no host name: its identity is its certificate's chain and runtime hash.
      checkServerIdentity: () => undefined,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', (error: NodeJS.ErrnoException) => {
          // Closed before the isolate's first handshake byte: the host or the isolate turned the
          // connection away (vc-server at --max-sessions, an isolate whose memory budget cannot hold
          // another session, or one that is stopping). The host is untrusted: this is a likely reason, not proof.
          const early = error.code === 'ECONNRESET' && socket.bytesRead === 0;
          reject(alertError(error) ?? new VeracruzError(Code.Unavailable, early
            ? `the connection was closed before the TLS handshake began: the server turned it away (it may be at its session limit, or the isolate cannot take another session now); retry later (${error.message})`
            : `TLS handshake with the isolate failed: ${error.message}`, { cause: error }));
        });
        socket.once('close', () => reject(new VeracruzError(Code.Unavailable, 'the connection closed during the TLS handshake')));
      });
      // Taken over at once: in TLS 1.3 an isolate that refuses this identity says so with an alert
      // right after the handshake, perhaps while the checks below run, and the connection keeps
      // that reason for the first request. Nothing is sent before the checks pass.
      const framing = { maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES };
      const connection = explain === undefined ? new FramedConnection(socket, framing) : new ExplainedConnection(socket, framing, explain);
      const attestation = await VeracruzClient.#verify(socket, policy, at);
      const response = await connection.call({ kind: 'request_policy_hash' });
      const reported = response.body?.kind === 'policy_hash' ? new TextDecoder().decode(response.body.data) : '';
      checkPolicyHash(reported, policy);
      return new VeracruzClient(policy, { ...attestation, policyHash: reported }, connection, options);
    } catch (reason) {
      socket.destroy();
      transport.destroy();
      throw VeracruzError.from(reason, Code.Unavailable);
    }
  }

  static async #verify(socket: tls.TLSSocket, policy: Policy, at: Date): Promise<Omit<IsolateAttestation, 'policyHash'>> {
    const chain = peerChain(socket);
    const leaf = chain[0];
    if (leaf === undefined) throw new VeracruzError(Code.AttestationFailed, 'the isolate presented no certificate');
    // Our own verification first, for its precise reasons; then OpenSSL's verdict must agree.
    await verifyCertificateChain(chain, [policy.proxy_service_cert], at, {
      context: 'isolate certificate chain (trust anchor: the policy\'s proxy_service_cert)',
      names: chain.map((_, index) => (index === 0 ? 'isolate certificate' : `chain[${index}]`)),
    });
    if (!socket.authorized) {
      throw new VeracruzError(Code.AttestationFailed,
        `isolate certificate chain refused by TLS: ${String(socket.authorizationError)}`);
    }
    const { platform, hash } = checkRuntimeHash(leaf, policy);
    checkPolicyBinding(leaf, policy);
    return { platform, runtimeHash: hash, certificate: leaf };
  }

  /** Creates or replaces `path` with `data` (files above one message are streamed). */
  async writeFile(path: string, data: Uint8Array): Promise<void> {
    if (data.length <= this.#chunkBytes || this.#hashedPaths.has(this.#remote(path))) {
      await this.#connection.call({ kind: 'write_file', fileName: path, data });
      return;
    }
    await this.writeFileStream(path, chunksOf(data, this.#chunkBytes), { total: data.length });
  }

  /** Appends `data` to `path`, creating it if needed. */
  async appendFile(path: string, data: Uint8Array): Promise<void> {
    for await (const _ of this.#pipelined(chunksOf(data, this.#chunkBytes), (chunk) => ({ kind: 'append_file', fileName: path, data: chunk }))) {
      // acknowledged
    }
  }

  /**
   * Streams `source` into `path`: the first chunk creates or truncates it, the rest are appended,
   * with several chunks in flight. Only one chunk is held per request, so memory stays flat.
   * A path the policy hashes (file_hashes) cannot be appended to, so it is sent in one message.
   */
  async writeFileStream(path: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: TransferOptions = {}): Promise<void> {
    if (this.#hashedPaths.has(this.#remote(path))) {
      const parts: Uint8Array[] = [];
      for await (const part of source) parts.push(part);
      const data = Buffer.concat(parts);
      await this.#connection.call({ kind: 'write_file', fileName: path, data });
      options.onProgress?.({ bytes: data.length, total: data.length });
      return;
    }
    let first = true;
    let bytes = 0;
    const requests = this.#pipelined(rechunk(source, this.#chunkBytes, true), (chunk) => {
      const request = { kind: first ? 'write_file' as const : 'append_file' as const, fileName: path, data: chunk };
      first = false;
      return request;
    });
    try {
      for await (const chunk of requests) {
        bytes += chunk.length;
        options.onProgress?.(options.total === undefined ? { bytes } : { bytes, total: options.total });
      }
    } catch (error) {
      // Each chunk is stored whole or not at all; say how far a refused stream got.
      if (bytes === 0 || !(error instanceof VeracruzError)) throw error;
      throw new VeracruzError(error.code, `${error.rawMessage} (the first ${bytes} bytes of ${path} were stored before the refusal)`, { cause: error });
    }
  }

  /** The whole of `path` (or of `stdout`/`stderr`). Files above one message are read in ranges. */
  async readFile(path: string): Promise<Uint8Array> {
    try {
      const response = await this.#connection.call({ kind: 'read_file', fileName: path });
      return response.body?.kind === 'result' ? response.body.data : new Uint8Array(0);
    } catch (reason) {
      if (!(reason instanceof VeracruzError) || reason.code !== Code.LimitExceeded) throw reason;
    }
    const parts: Uint8Array[] = [];
    for await (const part of this.readFileStream(path)) parts.push(part);
    return Buffer.concat(parts);
  }

  /** The size of `path` in bytes (needs the rights to read it). */
  async fileSize(path: string): Promise<number> {
    const response = await this.#connection.call({ kind: 'request_file_size', fileName: path });
    return response.body?.kind === 'file_size' ? response.body.size : 0;
  }

  /**
   * Streams `path` out in ranges, several in flight, yielding its bytes in order, in chunks as they
   * arrived (TLS records: not joined, so a large read allocates and copies nothing per range).
   * Progress is reported once per range.
   */
  async *readFileStream(path: string, options: TransferOptions = {}): AsyncGenerator<Uint8Array> {
    const total = await this.fileSize(path);
    const chunkBytes = this.#chunkBytes;
    const offsets = function* (): Generator<number> {
      for (let offset = 0; offset < total; offset += chunkBytes) yield offset;
    };
    let bytes = 0;
    const requests = this.#pipelinedResponses(offsets(), (offset) => ({
      kind: 'read_file_range', fileName: path, offset, length: Math.min(chunkBytes, total - offset),
    }));
    for await (const pieces of requests) {
      for (const piece of pieces) {
        bytes += piece.length;
        yield piece;
      }
      options.onProgress?.({ bytes, total });
    }
  }

  /**
   * A `Writable` appending to the stream at `path` (one the policy declares in `streams`); `end()`
   * closes this principal's side of it. See {@link StreamWriter} for backpressure, events and errors.
   * Throws `invalid_request` at once if the policy declares no stream at `path`.
   */
  openStreamWriter(path: string, options: StreamWriterOptions = {}): StreamWriter {
    if (findStream(this.policy, path) === undefined) {
      throw new VeracruzError(Code.InvalidRequest,
        `${path} is not a stream in the policy (its streams: ${this.policy.streams.map((stream) => stream.path).join(', ') || 'none'}); appendFile and writeFileStream write ordinary files`);
    }
    return new StreamWriter(this.#connection, path, { chunkBytes: this.#chunkBytes, window: this.#window, ...options });
  }

  /**
   * A `Readable` of `path` from `options.offset` (default 0) as it grows, ending when the stream
   * has ended (any file can be followed: one that is not a stream has ended already). Needs the
   * right to read `path`. See {@link StreamFollower}: while it waits, this session answers nothing else.
   */
  followStream(path: string, options: StreamFollowerOptions = {}): StreamFollower {
    return new StreamFollower(this.#connection, path, { chunkBytes: this.#chunkBytes, ...options });
  }

  /** Runs the program at `path` (this principal needs the execute right); resolves with its exit code. */
  async execute(path: string): Promise<number> {
    return exitCode(await this.#connection.call({ kind: 'request_result', fileName: path }));
  }

  /** Runs a policy pipeline by index ("0") or name; resolves with its exit code. */
  async runPipeline(name: string): Promise<number> {
    return exitCode(await this.#connection.call({ kind: 'request_pipeline', fileName: name }));
  }

  /** The policy hash the isolate enforces (hex). */
  async policyHash(): Promise<string> {
    const response = await this.#connection.call({ kind: 'request_policy_hash' });
    return response.body?.kind === 'policy_hash' ? new TextDecoder().decode(response.body.data) : '';
  }

  /**
   * The rights in force: every subject's (the policy's, less what programs narrowed; programs are
   * subjects `0x80000000 | index`) and each narrowing made, in order.
   */
  async rights(): Promise<RightsReport> {
    const response = await this.#connection.call({ kind: 'request_rights' });
    return JSON.parse(new TextDecoder().decode(response.body?.kind === 'result' ? response.body.data : new Uint8Array())) as RightsReport;
  }

  /** Ends the computation for everyone (any identity may). */
  async shutdown(): Promise<void> {
    await this.#connection.call({ kind: 'request_shutdown' });
  }

  /** Closes this principal's session; the computation goes on. */
  async close(): Promise<void> {
    await this.#connection.close();
  }

  #remote(path: string): string {
    return isStdStream(path) ? path : normalizePath(path);
  }

  // Sends one request per item with up to `window` in flight; yields each item once acknowledged.
  async *#pipelined<T extends { length: number }>(
    items: AsyncIterable<T> | Iterable<T>,
    request: (item: T) => Parameters<FramedConnection['call']>[0],
  ): AsyncGenerator<T> {
    const inFlight: { item: T; response: Promise<unknown> }[] = [];
    try {
      for await (const item of items) {
        const response = this.#connection.call(request(item));
        response.catch(() => {}); // awaited below, in order
        inFlight.push({ item, response });
        if (inFlight.length >= this.#window) {
          const oldest = inFlight.shift()!;
          await oldest.response;
          yield oldest.item;
        }
        await this.#connection.writable();
      }
      while (inFlight.length > 0) {
        const oldest = inFlight.shift()!;
        await oldest.response;
        yield oldest.item;
      }
    } finally {
      await Promise.allSettled(inFlight.map((entry) => entry.response));
    }
  }

  // Sends one read per item with up to `window` in flight; yields each one's data (as pieces), in order.
  async *#pipelinedResponses<T>(
    items: Iterable<T>,
    request: (item: T) => Parameters<FramedConnection['call']>[0],
  ): AsyncGenerator<readonly Uint8Array[]> {
    const inFlight: Promise<readonly Uint8Array[]>[] = [];
    try {
      for (const item of items) {
        const response = this.#connection.callForPieces(request(item));
        response.catch(() => {});
        inFlight.push(response);
        if (inFlight.length >= this.#window) yield await inFlight.shift()!;
      }
      while (inFlight.length > 0) yield await inFlight.shift()!;
    } finally {
      await Promise.allSettled(inFlight);
    }
  }
}

function exitCode(response: Awaited<ReturnType<FramedConnection['call']>>): number {
  const data = response.body?.kind === 'result' ? response.body.data : undefined;
  if (data === undefined || data.length !== 4) {
    throw new VeracruzError(Code.Internal, 'the isolate answered an execution without a 4-byte exit code');
  }
  return new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
}

/** `data` cut into views of at most `size` bytes (one empty chunk for empty data). */
export function* chunksOf(data: Uint8Array, size: number): Generator<Uint8Array> {
  if (data.length === 0) yield data;
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

/**
 * Regroups a stream's chunks into chunks of exactly `size` bytes (the last may be shorter).
 * With `atLeastOne`, an empty stream yields one empty chunk (so an empty upload still creates the file).
 */
export async function* rechunk(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size: number,
  atLeastOne = false,
): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let buffered = 0;
  let yielded = false;
  for await (const part of source) {
    let rest = part;
    while (buffered + rest.length >= size) {
      const take = size - buffered;
      parts.push(rest.subarray(0, take));
      rest = rest.subarray(take);
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      yielded = true;
      parts = [];
      buffered = 0;
    }
    if (rest.length > 0) {
      parts.push(rest);
      buffered += rest.length;
    }
  }
  if (buffered > 0 || (atLeastOne && !yielded)) yield Buffer.concat(parts);
}
