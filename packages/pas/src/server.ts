import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { parseListen } from './config.ts';
import { initPasDirectory, openPasDirectory } from './directory.ts';
import { createPasApp } from './service.ts';
import type { StartLimits } from './start-limits.ts';
import type { PasStore } from './store.ts';

/** Options for {@link startPas}. */
export interface StartPasOptions {
  /** The PAS directory (from `vc-pas init`, or made now with `initialize`). */
  dir: string;
  /** Create the directory (CA, database, configuration) when it has no configuration yet. @default false */
  initialize?: boolean;
  /** `host:port` to listen on; port 0 picks a free port. @default the configuration's `listen` */
  listen?: string;
  /** The time source (tests). @default () => new Date() */
  clock?: () => Date;
  /** Receives one line per issuance or refusal. @default no logging */
  log?: (line: string) => void;
  /** Start limits that override the configuration's (`vc-pas serve` flags; tests lower them). @default the configuration's */
  limits?: Partial<StartLimits>;
}

/** A running PAS. */
export interface PasHandle {
  /** Its base URL, e.g. `http://127.0.0.1:3010`. */
  url: string;
  /** The CA certificate (PEM) that policies list as `proxy_service_cert`. */
  caCertificatePem: string;
  /** Its database (to enroll keys or add reference values from the same process). */
  store: PasStore;
  /** Stops accepting connections, lets requests in flight finish, closes the database. */
  close(): Promise<void>;
}

/**
 * Starts the PAS HTTP service of a directory on loopback or the given address: for tests, the
 * demo and `vc-pas serve`. Resolves once it is listening.
 */
export async function startPas(options: StartPasOptions): Promise<PasHandle> {
  if (options.initialize === true) {
    await initPasDirectory(options.dir).catch((error: unknown) => {
      if (!(error instanceof VeracruzError && error.code === Code.AlreadyExists)) throw error;
    });
  }
  const directory = await openPasDirectory(options.dir);
  const { config, store, ca } = directory;
  const { maxOpenSessions, startRatePerSecond, startBurst, startRateMaxClients } = config;
  const limits: Partial<StartLimits> = { maxOpenSessions, startRatePerSecond, startBurst, startRateMaxClients, ...options.limits };
  let app: ReturnType<typeof createPasApp>;
  let listen: { host: string; port: number };
  // A bad address or limit must not leave the database open.
  try {
    listen = parseListen(options.listen ?? config.listen);
    app = createPasApp({
      store,
      ca,
      sessionTtlMs: config.sessionTtlSeconds * 1000,
      certificateValidityMs: config.certificateValiditySeconds * 1000,
      clockSkewMs: config.clockSkewSeconds * 1000,
      maxBodyBytes: config.maxBodyBytes,
      allowDebug: config.allowDebug,
      ...limits,
      trust: directory.trust,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
  } catch (error) {
    store.close();
    throw error;
  }
  const { host, port } = listen;
  const server = await new Promise<Server>((resolve, reject) => {
    const created = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(created as Server)) as Server;
    created.once('error', (error) => {
      store.close();
      reject(error);
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    caCertificatePem: directory.caCertificatePem,
    store,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          store.close();
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
