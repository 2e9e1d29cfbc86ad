/**
 * A warm isolate: launched, attested and certified before any policy exists, then given exactly one
 * policy. This is what a fleet keeps in its pool to cut a computation's start to an assignment.
 *
 * Why the policy can never be swapped: the isolate accepts `initialize` once and then refuses every
 * attestation-request and initialize (see the runtime's Isolate); at assignment it makes a fresh key
 * whose CSR binds the policy (hash and identity hash), the PAS certifies it on fresh evidence, and
 * every party checks that binding in the isolate's certificate before its first request. The
 * certificate of the warm boot binds no policy, so no party accepts it, and its key is discarded.
 */
import { createServer, type Server } from 'node:net';
import { Code, parseHostPort, VeracruzError } from '@veracruz-ts/core';
import { parsePolicy, type Policy, timestamped } from '@veracruz-ts/policy';
import {
  bootIsolate, type BootedIsolate, certificateCap, checkDataflow, type RunningServer, type ServerExit, type ServerInternals, type ServerOptions, type ServerPlatform,
} from './server.ts';

/** Options of {@link startWarmServer}: a server's, with the PAS and the address fixed before any policy. */
export interface WarmServerOptions extends Omit<ServerOptions, 'policyPath' | 'policyText' | 'pasUrl' | 'listen' | 'relay' | 'relayTap' | 'faultInjector'> {
  /** The PAS that certifies the isolate, now and at assignment: the policies it takes must name its CA. */
  pasUrl: string;
  /**
   * Where to listen for clients once a policy is assigned (host:port, a port of its own: the policy
   * names it). The port is held from the start, closing every connection until then.
   */
  listen: string;
  /** The isolate's memory budget in MiB: a policy whose max_memory_mib is larger is refused. @default 512 */
  memoryMib?: number;
}

/** Where a warm server is in its life. */
export type WarmState = 'warm' | 'assigning' | 'serving' | 'stopping';

/** A warm server: certified without a policy, waiting for one. */
export interface WarmServer {
  /** The runtime measurement the isolate was certified with (lowercase hex). */
  measurement: string;
  /** When the PAS certified it. */
  attestedAt: Date;
  /** The isolate process id (linux). */
  isolatePid: number | undefined;
  /** The memory budget a policy may ask for, in MiB. */
  memoryMib: number;
  state(): WarmState;
  /** Client connections open now (0 until assigned). */
  sessions(): number;
  /** The hash of the policy it serves, once assigned. */
  policyHash(): string | undefined;
  /**
   * Installs `policyText`: re-certifies the isolate with the policy's binding, initializes it and
   * listens. A policy refused before the isolate is asked anything (unparsable, larger than the
   * memory budget, expired, another platform's) leaves the server warm; any later failure stops it,
   * since its isolate may have made a key for that policy. A second call is refused.
   */
  assign(policyText: string): Promise<RunningServer>;
  /** Stops the isolate; resolves once it is gone. */
  close(): Promise<void>;
  /** Settles when the server has stopped, for whatever reason. */
  exited: Promise<ServerExit>;
}

const DEFAULT_MEMORY_MIB = 512;

/** Boots an isolate and has the PAS certify it without a policy; resolves once it waits for one. */
export async function startWarmServer(options: WarmServerOptions, internals: ServerInternals = {}): Promise<WarmServer> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  const log = options.log ?? ((line: string) => process.stderr.write(`${timestamped(line, new Date())}\n`));
  const memoryMib = options.memoryMib ?? DEFAULT_MEMORY_MIB;
  if (!Number.isInteger(memoryMib) || memoryMib < 1) throw new VeracruzError(Code.InvalidRequest, `memoryMib: expected a positive integer, got ${memoryMib}`);
  const listen = parseHostPort(options.listen, 'listen address');
  if (listen.port === 0) throw new VeracruzError(Code.InvalidRequest, 'listen: a warm server needs a port of its own, which the policy assigned later names');
  // Held now, so nothing else takes it before the policy that names it arrives.
  const placeholder = await holdPort(listen);
  const platform: ServerPlatform = options.platform ?? 'linux';
  const pasUrl = /^https?:\/\//.test(options.pasUrl) ? options.pasUrl : `http://${options.pasUrl}`;
  const sessionSockets = platform === 'linux';
  let booted: BootedIsolate;
  try {
    booted = await bootIsolate({ ...options, platform }, internals, { pasUrl, memoryBudgetBytes: memoryMib * 1024 * 1024, sessionSockets, log, elapsed });
  } catch (error) {
    await closeServer(placeholder);
    throw VeracruzError.from(error);
  }
  void booted.host.exited.then(() => closeServer(placeholder));
  try {
    await booted.certify(undefined);
  } catch (error) {
    await booted.host.abort();
    throw VeracruzError.from(error);
  }
  const attestedAt = new Date();
  log(`the isolate is certified without a policy and waits for one (${Math.round(elapsed())} ms)`);

  let state: WarmState = 'warm';
  let served: { running: RunningServer; policy: Policy } | undefined;
  void booted.host.exited.then(() => (state = 'stopping'));

  const assign = async (policyText: string): Promise<RunningServer> => {
    if (state !== 'warm') throw new VeracruzError(Code.AlreadyExists, `assign refused: the server is ${state}; a warm isolate takes one policy in its life`);
    state = 'assigning';
    let policy: Policy;
    let notAfterCap: Date;
    try {
      policy = await parsePolicy(policyText);
      if (policy.max_memory_mib > memoryMib) {
        throw new VeracruzError(Code.InvalidPolicy, `the policy's max_memory_mib (${policy.max_memory_mib}) is more than this isolate's memory budget (${memoryMib} MiB)`);
      }
      const named = parseHostPort(policy.veracruz_server_url, "the policy's veracruz_server_url");
      if (named.port !== listen.port) {
        throw new VeracruzError(Code.InvalidPolicy, `the policy's veracruz_server_url (${policy.veracruz_server_url}) names port ${named.port}; this isolate's host listens on ${listen.port}`);
      }
      notAfterCap = certificateCap(policy);
      checkDataflow(policy, sessionSockets);
    } catch (error) {
      if (state === 'assigning') state = 'warm';
      throw VeracruzError.from(error);
    }
    try {
      const chain = await booted.certify(policy, notAfterCap);
      const running = booted.running(await booted.serve(policyText, policy, chain, listen, () => closeServer(placeholder)));
      served = { running, policy };
      if (state === 'assigning') state = 'serving';
      log(`serving policy ${policy.hash} on ${running.url}`);
      return running;
    } catch (error) {
      const failure = VeracruzError.from(error);
      log(`assignment failed, stopping: ${failure.rawMessage}`);
      await booted.host.abort(`the assignment failed: ${failure.rawMessage}`);
      throw failure;
    }
  };

  return {
    measurement: Buffer.from(booted.isolate.measurement ?? new Uint8Array(0)).toString('hex'),
    attestedAt,
    isolatePid: booted.isolate.pid,
    memoryMib,
    state: () => state,
    sessions: () => booted.host.stats().sessions,
    policyHash: () => served?.policy.hash,
    assign,
    close: async () => {
      state = 'stopping';
      await booted.host.close();
    },
    exited: booted.host.exited,
  };
}

/** Binds `address` and closes every connection to it: a port held until the real listener takes it. */
function holdPort(address: { host: string; port: number }): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(new VeracruzError(Code.Unavailable, `cannot listen on ${address.host}:${address.port}: ${error.message}`)));
    server.listen(address.port, address.host, () => resolve(server));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
