/**
 * For tests only: a computation run in this process. Real certificates (a PAS CA, an isolate
 * certificate with the runtime-hash and policy-binding extensions, principals' self-signed identities), a real
 * policy, and a SessionManager whose sessions are `stream.duplexPair()` ends, so a client speaks
 * real TLS 1.3 to it without sockets or processes; or loopback TCP sockets, taken as the isolate
 * takes a connection the host handed over.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { type Duplex, duplexPair } from 'node:stream';
import tls from 'node:tls';
import {
  type CertificateAuthorityPem,
  createCertificateAuthority,
  createIsolateIdentity,
  derToPem,
  encodePolicyBinding,
  issueIsolateCertificate,
} from '@veracruz-ts/attestation/certificates';
import { createIdentity, type FileRights, type Identity, parsePolicy, type Policy } from '@veracruz-ts/policy';
import {
  decodeResponse,
  encodeRequest,
  FrameDecoder,
  frameMessage,
  type RuntimeManagerRequest,
  type RuntimeManagerResponse,
} from '@veracruz-ts/protocol';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { ExecutionEngine } from '../engine/engine.ts';
import { servicesFromPolicy } from '../services/registry.ts';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import type { ProgramAbi, ResultSigner } from '../wasi/process-options.ts';
import { RightsInForce } from './rights-in-force.ts';
import { isolateSigner, SessionManager } from './session-manager.ts';

const HOUR_MS = 60 * 60 * 1000;

/** A PAS CA and an isolate certificate it issued for a runtime measurement. */
export interface TestPki {
  ca: CertificateAuthorityPem;
  /** The measurement in the isolate certificate (hex). */
  runtimeHash: string;
  /** Isolate certificate then CA certificate, PEM. */
  chainPem: string;
  /** The isolate's private key, PEM. */
  privateKeyPem: string;
  /** A new isolate key and certificate from the same CA, with the same measurement, that binds `policy` as the PAS would. */
  bind(policy: Pick<Policy, 'hash' | 'identityHash'>): Promise<{ chainPem: string; privateKeyPem: string }>;
}

/** Makes a CA (valid since an hour ago) and an isolate certificate carrying `measurement`. */
export async function createTestPki(options: { measurement?: Uint8Array; notBefore?: Date; validityMs?: number } = {}): Promise<TestPki> {
  const measurement = options.measurement ?? createHash('sha256').update('veracruz-ts test runtime').digest();
  const notBefore = options.notBefore ?? new Date(Date.now() - HOUR_MS);
  const ca = await createCertificateAuthority({ notBefore: new Date(notBefore.getTime() - HOUR_MS) });
  const issue = async (policyBinding?: Uint8Array): Promise<{ chainPem: string; privateKeyPem: string }> => {
    const isolate = await createIsolateIdentity(policyBinding === undefined ? {} : { policyBinding });
    const certificate = await issueIsolateCertificate({
      csrDer: isolate.csrDer, measurement, ca, notBefore, ...(options.validityMs === undefined ? {} : { validityMs: options.validityMs }),
    });
    return { chainPem: derToPem(certificate, 'CERTIFICATE') + ca.certificatePem, privateKeyPem: isolate.privateKeyPem };
  };
  return {
    ca,
    runtimeHash: Buffer.from(measurement).toString('hex'),
    ...(await issue()),
    bind: (policy) => issue(encodePolicyBinding(Buffer.from(policy.hash, 'hex'), Buffer.from(policy.identityHash, 'hex'))),
  };
}

/** A principal for tests: its identity and the file rights the policy gives it. */
export interface TestPrincipal extends Identity {
  name: string;
  rights: FileRights[];
}

/** Makes a principal with a fresh identity. */
export async function createTestPrincipal(name: string, rights: FileRights[]): Promise<TestPrincipal> {
  return { name, rights, ...(await createIdentity(name)) };
}

/** What goes into a test policy. */
export interface TestPolicyOptions {
  principals: readonly TestPrincipal[];
  pasCertificatePem: string;
  runtimeHashLinux: string;
  programs?: { path: string; binary: Uint8Array; rights: FileRights[]; limits?: Record<string, number> }[];
  pipelines?: { name: string; script: string; rights: FileRights[] }[];
  /** Extra `file_hashes` entries (programs get theirs automatically). */
  fileHashes?: { path: string; data: Uint8Array }[];
  nativeModules?: { name: string; specialFile: string }[];
  ciphersuite?: string;
  /** The isolate's memory budget. @default 256 */
  maxMemoryMib?: number;
  serverAddress?: string;
  pasAddress?: string;
}

const sha256Hex = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** A policy JSON as vc-pgen writes it (sorted keys, two-space indent). */
export function testPolicyText(options: TestPolicyOptions): string {
  const policy = {
    ciphersuite: options.ciphersuite ?? 'TLS1_3_CHACHA20_POLY1305_SHA256',
    debug: false,
    enable_clock: true,
    enclave_cert_expiry: { day: 1, hour: 0, minute: 0, month: 1, year: 2100 },
    execution_strategy: 'JIT',
    file_hashes: [
      ...(options.programs ?? []).map((program) => ({ file_path: program.path, hash: sha256Hex(program.binary) })),
      ...(options.fileHashes ?? []).map((entry) => ({ file_path: entry.path, hash: sha256Hex(entry.data) })),
    ],
    identities: options.principals.map((principal, id) => ({
      certificate: principal.certificatePem.trim(), file_rights: principal.rights, id,
    })),
    max_memory_mib: options.maxMemoryMib ?? 256,
    native_modules: (options.nativeModules ?? []).map((module) => ({
      name: module.name, type: { Static: { special_file: module.specialFile } },
    })),
    pipelines: (options.pipelines ?? []).map((pipeline, id) => ({
      file_rights: pipeline.rights, id, name: pipeline.name, pipeline: pipeline.script,
    })),
    programs: (options.programs ?? []).map((program, id) => ({
      file_rights: program.rights, id, ...(program.limits === undefined ? {} : { limits: program.limits }),
      program_file_name: program.path,
    })),
    proxy_attestation_server_url: options.pasAddress ?? '127.0.0.1:3010',
    proxy_service_cert: options.pasCertificatePem.trim(),
    runtime_manager_hash_linux: options.runtimeHashLinux,
    runtime_manager_hash_nitro: null,
    runtime_manager_hash_sevsnp: null,
    veracruz_server_url: options.serverAddress ?? '127.0.0.1:3011',
  };
  return JSON.stringify(policy, null, 2);
}

/** A SessionManager serving in this process; `openSession()` gives a client its ciphertext end. */
export interface InProcessComputation {
  policy: Policy;
  manager: SessionManager;
  vfs: VirtualFileSystem;
  /** Resolves when a principal requested shutdown. */
  shutdown: Promise<void>;
  /** Session errors reported by the manager, in order (their messages). */
  sessionErrors: string[];
  /** A new session: the client's end of a duplex pair whose other end the manager accepted. */
  openSession(): Duplex;
  /**
   * A new session over loopback TCP: the client's connected socket; the manager accepted the
   * server's socket itself (TLS runs natively on it), as the isolate does a connection the host
   * handed over.
   */
  openSocketSession(): Promise<Socket>;
  /** Stops the engine (and the loopback listener, if one was opened). */
  close(): Promise<void>;
}

/** Starts a computation for `policyText` with the given isolate PKI. */
export async function startInProcess(
  policyText: string,
  pki: TestPki,
  options: { maxMessageBytes?: number; engine?: ExecutionEngine } = {},
): Promise<InProcessComputation> {
  const policy = await parsePolicy(policyText);
  // The policy's memory budget, as the isolate makes it.
  const vfs = new VirtualFileSystem({ services: servicesFromPolicy(policy.native_modules), budget: new MemoryBudget(policy.max_memory_mib * 1024 * 1024) });
  const engine = options.engine ?? new ExecutionEngine();
  let signalShutdown = (): void => {};
  const shutdown = new Promise<void>((resolve) => (signalShutdown = resolve));
  const sessionErrors: string[] = [];
  const bound = await pki.bind(policy);
  const manager = new SessionManager({
    policy, vfs, engine,
    certificateChainPem: bound.chainPem,
    privateKeyPem: bound.privateKeyPem,
    onShutdown: () => signalShutdown(),
    onSessionError: (_, error) => sessionErrors.push(error.message),
    ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
  });
  let nextSession = 1;
  let listener: Promise<{ server: Server; port: number }> | undefined;
  const listen = async (): Promise<{ server: Server; port: number }> => {
    const server = createServer((socket) => manager.accept(socket, nextSession++));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { server, port: (server.address() as AddressInfo).port };
  };
  return {
    policy, manager, vfs, shutdown, sessionErrors,
    openSession(): Duplex {
      const [client, isolate] = duplexPair();
      manager.accept(isolate, nextSession++);
      // As the host does when a client disconnects: the isolate's side of the session ends too.
      client.once('close', () => isolate.destroy());
      return client;
    },
    async openSocketSession(): Promise<Socket> {
      listener ??= listen();
      const socket = connect((await listener).port, '127.0.0.1');
      await once(socket, 'connect');
      return socket;
    },
    close: async () => {
      if (listener !== undefined) (await listener).server.close();
      await engine.close();
    },
  };
}

/**
 * A bare TLS client speaking the framed protocol to an in-process computation, without the SDK's checks:
 * requests may be sent back to back, answers come in order.
 */
export class RawSession {
  readonly socket: tls.TLSSocket;
  readonly #decoder = new FrameDecoder();
  readonly #waiting: ((response: RuntimeManagerResponse) => void)[] = [];
  /** Resolves when the isolate ended the session or the socket closed. */
  readonly closed: Promise<void>;

  constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (const message of this.#decoder.push(bytes)) this.#waiting.shift()?.(decodeResponse(message));
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => {
      socket.once('end', () => resolve());
      socket.once('close', () => resolve());
    });
  }

  /** Connects as `principal` over a new session of `computation` (or `options.socket`); rejects if the handshake fails. */
  static async open(computation: InProcessComputation, principal: { certificatePem: string; privateKeyPem: string }, options: tls.ConnectionOptions = {}): Promise<RawSession> {
    const socket = tls.connect({
      socket: options.socket ?? computation.openSession(),
      ca: [computation.policy.proxy_service_cert],
      cert: principal.certificatePem,
      key: principal.privateKeyPem,
      minVersion: 'TLSv1.3',
      checkServerIdentity: () => undefined,
      ...options,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return new RawSession(socket);
  }

  /** Writes `framed` as it is; resolves with the next answer, rejects if the session closes first. */
  sendBytes(framed: Uint8Array): Promise<RuntimeManagerResponse> {
    const response = new Promise<RuntimeManagerResponse>((resolve) => this.#waiting.push(resolve));
    this.socket.write(framed);
    return Promise.race([response, this.closed.then(() => { throw new Error('session closed'); })]);
  }

  send(request: RuntimeManagerRequest): Promise<RuntimeManagerResponse> {
    return this.sendBytes(frameMessage(encodeRequest(request)));
  }

  /** Sends `requests` in one write; resolves with their answers. */
  sendAll(...requests: RuntimeManagerRequest[]): Promise<RuntimeManagerResponse[]> {
    const answers = requests.map(() => new Promise<RuntimeManagerResponse>((resolve) => this.#waiting.push(resolve)));
    this.socket.write(Buffer.concat(requests.map((request) => frameMessage(encodeRequest(request)))));
    return Promise.all(answers);
  }
}

/** A program that exits with code 7 through WASI proc_exit (hand-assembled wasm). */
export const EXIT_7_PROGRAM = Uint8Array.from(Buffer.from(
  '0061736d01000000' + '01080260017f00600000' +
  '0224' + '01' + '16' + Buffer.from('wasi_snapshot_preview1').toString('hex') + '09' + Buffer.from('proc_exit').toString('hex') + '0000' +
  '03020101' + '0503010001' +
  '0713' + '02' + '06' + Buffer.from('memory').toString('hex') + '0200' + '06' + Buffer.from('_start').toString('hex') + '0001' +
  '0a08010600410710000b', 'hex'));

/**
 * C source of a program that copies the stream /input/s to /output/copy in small reads until end of file,
 * then prints how it ended: `eof after <bytes>`, or `error <errno> after <bytes>` (exit 5), or
 * `open failed <errno>` (exit 2). Compile it with `compileC`.
 */
export const FOLLOW_STREAM_SOURCE = String.raw`
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int in = open("/input/s", O_RDONLY);
  if (in < 0) { printf("open failed %d\n", errno); return 2; }
  int out = open("/output/copy", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char buffer[7];
  long total = 0;
  for (;;) {
    ssize_t count = read(in, buffer, sizeof buffer);
    if (count < 0) { printf("error %d after %ld\n", errno, total); return 5; }
    if (count == 0) break;
    write(out, buffer, (size_t)count);
    total += count;
  }
  printf("eof after %ld\n", total);
  return 0;
}
`;

/**
 * A stand-in for vc-server on loopback: relays each TCP connection to a new session of `computation`,
 * and may misbehave after the isolate has sent `afterBytes`: `reset` the client's connection, or
 * `stall` (pass nothing more on).
 */
export async function relayOverTcp(
  computation: InProcessComputation,
  misbehave: { afterBytes?: number; how?: 'reset' | 'stall' } = {},
): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    const isolate = computation.openSession();
    let relayed = 0;
    socket.on('error', () => {});
    socket.on('close', () => isolate.destroy());
    socket.on('data', (chunk: Buffer) => isolate.write(chunk));
    isolate.on('data', (chunk: Buffer) => {
      relayed += chunk.length;
      if (misbehave.afterBytes !== undefined && relayed > misbehave.afterBytes) {
        if (misbehave.how !== 'stall' && !socket.destroyed) socket.resetAndDestroy();
        return;
      }
      socket.write(chunk);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, server };
}

/** The isolate's attested key for `policy`, as programs' `result_sign` uses it: a certificate `pki` issued binding the policy, and its key. */
export async function testSigner(pki: TestPki, policy: Pick<Policy, 'hash' | 'identityHash'>): Promise<ResultSigner> {
  const bound = await pki.bind(policy);
  return isolateSigner(bound.chainPem, bound.privateKeyPem);
}

/**
 * What program `program` of `policy` sees of its computation (`veracruz_v1`), as the dispatcher makes
 * it: rights in force over the policy's own `file_rights` arrays (so a narrowing holds for whoever
 * checks with them, the program's own run included), and `signer` when given.
 */
export function testProgramAbi(policy: Policy, program: string, signer?: ResultSigner): ProgramAbi & { rights: RightsInForce } {
  return { policyText: Buffer.from(policy.text), policyHash: Buffer.from(policy.hash, 'hex'), rights: new RightsInForce(policy), program, signer };
}
