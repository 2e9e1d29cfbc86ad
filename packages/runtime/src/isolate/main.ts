/**
 * The isolate process's entry point (bundled into one file, `build/runtime/veracruz-runtime.mjs`,
 * whose SHA-256 is the `linux` runtime measurement). It speaks only to the host, over the channel on
 * an inherited file descriptor, and serves principals through the TLS session manager.
 *
 * Arguments: `--platform linux|sev-snp|tdx` (default linux), `--channel-fd N` (default 3),
 * `--tsm-root DIR` (configfs-tsm report directory for sev-snp/tdx), `--session-sockets ipc` (the
 * host hands clients' connections over on Node's IPC channel, see
 * `@veracruz-ts/protocol/channel`'s session-sockets; default: sessions come by the channel only),
 * `--sealed-dir DIR --sealed-max-bytes N` (sealed storage: a directory the host provides for file
 * data the memory budget cannot hold, and its bound; default: none).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { isMainThread } from 'node:worker_threads';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { ALL_RIGHTS, parsePolicy } from '@veracruz-ts/policy';
import type { Policy } from '@veracruz-ts/policy';
import { ChannelConnection, decodeHostMessage, encodeIsolateMessage, parsePeerSocketMessage, parseSessionSocketMessage } from '@veracruz-ts/protocol/channel';
import { ExecutionEngine, servicesFromPolicy } from '../index.ts';
import { SessionManager } from '../session/index.ts';
import { isolateBudget } from '../budget/memory-budget.ts';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import { SealedStore } from '../vfs/sealed-store.ts';
import { SlabPager } from '../vfs/slab-pager.ts';
import { DataflowSender } from '../network/dataflow-sender.ts';
import { HostConnector } from '../network/host-connector.ts';
import { Isolate } from './isolate.ts';
import { isIsolatePlatform } from './platform.ts';

/** V8's collector, when the process was started with --expose-gc (the linux launcher passes it). */
const collectGarbage = (globalThis as { gc?: (options: { type: 'major'; execution: 'async' }) => void }).gc;

function main(): void {
  const { values } = parseArgs({
    options: {
      platform: { type: 'string', default: 'linux' },
      'channel-fd': { type: 'string', default: '3' },
      'tsm-root': { type: 'string' },
      'session-sockets': { type: 'string' },
      'sealed-dir': { type: 'string' },
      'sealed-max-bytes': { type: 'string' },
    },
    strict: true,
  });
  const platform = values.platform;
  if (!isIsolatePlatform(platform)) {
    process.stderr.write(`[isolate] unknown platform '${platform}'\n`);
    process.exit(2);
  }
  const sessionSockets = values['session-sockets'];
  if (sessionSockets !== undefined && (sessionSockets !== 'ipc' || process.send === undefined)) {
    process.stderr.write(`[isolate] --session-sockets ${sessionSockets}: only 'ipc', on an IPC channel\n`);
    process.exit(2);
  }
  // The isolate allocates an ArrayBuffer for nearly every piece of session data (socket reads, TLS
  // records, requests, file chunks); counting them in V8's heap limit, instead of starting a full
  // mark every 64 MiB of them, roughly halves the collections. Also given on the linux isolate's
  // command line; set here for launchers that do not.
  setFlagsFromString('--external-memory-accounted-in-global-limit');
  // Made at boot: its key exists only in this process, before any principal's data arrives.
  const sealedDirectory = values['sealed-dir'];
  const sealedBytes = values['sealed-max-bytes'];
  if (sealedDirectory !== undefined && (sealedBytes === undefined || !/^\d+$/.test(sealedBytes))) {
    process.stderr.write(`[isolate] --sealed-dir needs --sealed-max-bytes N (a whole number of bytes), got '${sealedBytes ?? ''}'\n`);
    process.exit(2);
  }
  const sealedStore = sealedDirectory === undefined ? undefined : new SealedStore({ directory: sealedDirectory, maxBytes: Number(sealedBytes) });
  const fd = Number(values['channel-fd']);
  const channelSocket = new Socket({ fd, readable: true, writable: true });

  // On linux the isolate can compute its own measurement: the SHA-256 of the bundle it runs from,
  // the same bytes the launcher measured. A confidential VM's measurement comes from its report instead.
  const ownMeasurement = platform === 'linux' ? createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest() : undefined;

  let engine: ExecutionEngine | undefined;
  // Peer connections (dataflow) are opened by the host and handed over like clients' connections.
  const connector = sessionSockets === 'ipc' ? new HostConnector((message) => process.send!(message)) : undefined;
  const isolate: Isolate<Policy> = new Isolate<Policy>({
    platform,
    ownMeasurement,
    tsmRoot: values['tsm-root'],
    send: (message) => channel.send(message),
    // A broken IPC pipe means the host is gone; the report is dropped rather than raised.
    sendSessionSocketClosed: (message) => process.connected && process.send!(message, undefined, undefined, () => {}),
    parsePolicy: (text) => parsePolicy(text),
    createSessionHandler: (setup) => {
      // First, before anything is started: a native module this runtime cannot run refuses the
      // policy (InvalidPolicy naming the module), which initialize reports to the host.
      const services = servicesFromPolicy(setup.policy.native_modules);
      // Veracruz sized the enclave by max_memory_mib; here it is the isolate's whole memory budget:
      // files, streams, sessions, requests, responses and programs' memory all draw on it.
      const budget = isolateBudget(setup.policy);
      // Sealed storage keeps at most a quarter of the data part of the budget in memory: the rest is
      // for programs, whose memory grows in their own threads where nothing can be sealed out to make
      // room, and for the garbage of paging, which is collected in step.
      const collect = collectGarbage === undefined ? undefined : () => collectGarbage({ type: 'major', execution: 'async' });
      const pager = sealedStore === undefined ? undefined : new SlabPager(sealedStore, Math.floor((budget.limit - budget.reservedForServing) / 4), collect);
      const vfs = new VirtualFileSystem({ services, budget, ...(pager === undefined ? {} : { pager }) });
      // Engine workers re-enter this very file (the bundle), which starts their loop when they load it.
      engine ??= new ExecutionEngine({ workerUrl: new URL(import.meta.url) });
      const log = (line: string): boolean => process.stderr.write(`[isolate] ${line}\n`);
      const sender = setup.policy.dataflow.length === 0 ? undefined : new DataflowSender({
        ...setup, log, budget,
        connect: (address) => connector?.connect(address) ?? Promise.reject(new VeracruzError(Code.Unavailable, 'dataflow needs a host that hands connections over')),
        readOutput: (path) => {
          try {
            return vfs.view([{ file_name: path, rights: ALL_RIGHTS }]).readFile(path);
          } catch {
            return undefined;
          }
        },
      });
      return new SessionManager({
        ...setup, engine, vfs, onRunSucceeded: sender && (() => sender.runSucceeded()),
        // The isolate's stderr goes to the (untrusted) host: session errors may name principals'
        // files, so they are printed only when the policy asks for debugging, as in Veracruz.
        onSessionError: (sessionId, error) => {
          if (setup.policy.debug) process.stderr.write(`[isolate] session ${sessionId}: ${error.message}\n`);
        },
      });
    },
    onExit: (code) => {
      process.exitCode = code;
      channel.close();
      const exit = (): never => process.exit(code);
      // Bounded: a host that stopped reading must not keep the isolate alive.
      setTimeout(exit, 1000).unref();
      void (engine?.close() ?? Promise.resolve()).finally(() => {
        if (channelSocket.writableLength === 0) exit();
        else channelSocket.once('close', exit);
      });
    },
  });
  const channel = new ChannelConnection({
    input: channelSocket,
    output: channelSocket,
    receives: decodeHostMessage, sends: encodeIsolateMessage,
    onMessage: (message) => isolate.handle(message),
    onError: (error) => {
      process.stderr.write(`[isolate] channel failed: ${error.message}\n`);
      process.exit(1);
    },
    onEnd: () => isolate.hostGone(),
  });
  if (sessionSockets === 'ipc') {
    process.on('message', (message: unknown, handle: unknown) => {
      const peer = parsePeerSocketMessage(message);
      if (peer !== undefined) return connector!.received(peer, handle instanceof Socket ? handle : undefined);
      const parsed = parseSessionSocketMessage(message);
      // The host may send anything: only a socket with a session id is a client connection (a server
      // or a UDP socket is closed unused); a session whose socket did not come is over at once.
      if (handle instanceof Socket) {
        if (parsed === undefined) handle.destroy();
        else isolate.acceptSocket(parsed.sessionId, handle);
        return;
      }
      (handle as { close?: () => void } | undefined)?.close?.();
      if (parsed !== undefined) process.send!({ type: 'session-socket-closed', sessionId: parsed.sessionId, bytesFromClient: 0, bytesToClient: 0, reason: 'no socket came' });
    });
    // The channel on fd 3 decides how long the isolate lives, not this one.
    process.channel?.unref();
  }

  // A bug must not leave a half-working isolate behind: report it (without data) and stop.
  const fatal = (error: unknown): void => {
    const reported = error instanceof VeracruzError ? error : new VeracruzError(Code.Internal, `uncaught ${error instanceof Error ? error.name : typeof error} in the isolate`);
    process.stderr.write(`[isolate] fatal: ${reported.message}\n`);
    channel.send({ type: 'isolate-error', code: reported.code, message: reported.rawMessage });
    isolate.fail();
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}

// The engine's worker threads re-enter this same file; only the main thread runs the isolate.
if (isMainThread) main();
