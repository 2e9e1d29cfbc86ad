/**
 * The fleet backend of this host: one vc-server per isolate, each listening on a loopback port of
 * its own, all certified by the fleet's PAS with this host's development key (linux platform).
 */
import { formatHostPort } from '@veracruz-ts/core';
import { freePort, type RunningServer, startServer } from '@veracruz-ts/server';
import type { IsolateBackend } from './backend.ts';

/** Options of {@link localBackend}. */
export interface LocalBackendOptions {
  /** The runtime bundle every isolate runs. */
  runtimePath: string;
  /** This host's development key (enrolled at the PAS). */
  devKeyPath: string;
  /** The PAS, `http://host:port`. */
  pasUrl: string;
  /** vc-server's log lines, with the isolate's name. */
  log: (name: string, line: string) => void;
}

/**
 * vc-servers on this host. A reserved port is free when reserved; between then and the vc-server's
 * listen another process could take it, and that isolate's start then fails naming the address.
 */
export function localBackend(options: LocalBackendOptions): IsolateBackend<RunningServer> {
  return {
    reserveAddress: async (_name, host, port) => formatHostPort(host, port ?? (await freePort(host))),
    start: ({ name, policyText, address }) =>
      startServer({
        policyText,
        platform: 'linux',
        runtimePath: options.runtimePath,
        devKeyPath: options.devKeyPath,
        pasUrl: options.pasUrl,
        listen: address,
        log: (line) => options.log(name, line),
      }),
    stop: (server) => server.close(),
  };
}
