import { connect, type Socket } from 'node:net';
import { parseHostPort } from '@veracruz-ts/core';
import type { PeerConnectMessage } from '@veracruz-ts/protocol/channel';
import type { SessionSocketPort } from './platforms/types.ts';

/** How long the host tries to open a peer connection. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Options of {@link PeerConnections}. */
export interface PeerConnectionsOptions {
  /** The launcher's means to pass sockets to the isolate process. */
  port: SessionSocketPort;
  /** The addresses the policy's `dataflow` names: the only ones the host connects to. */
  addresses: readonly string[];
  /** vc-server's log: one line per connection asked for. */
  log: (line: string) => void;
}

/**
 * The host's side of isolate-to-isolate connections: the isolate has no network of its own, so when
 * it pushes a dataflow output to a peer isolate its host opens the TCP connection and hands it over,
 * as it hands clients' connections over. TLS (mutual, attested) runs inside the isolates, so the host
 * learns the endpoint and the timing, never what crosses. It connects only to the addresses the
 * policy names, so a compromised isolate cannot use its host to reach anything else.
 */
export class PeerConnections {
  readonly #options: PeerConnectionsOptions;

  constructor(options: PeerConnectionsOptions) {
    this.#options = options;
    options.port.onPeerConnect((message) => this.#open(message));
  }

  #open({ connectionId, address }: PeerConnectMessage): void {
    const { port, log } = this.#options;
    const refuse = (reason: string): void => {
      log(`peer connection ${connectionId} to ${address}: ${reason}`);
      port.sendPeerSocket(connectionId, undefined, reason);
    };
    if (!this.#options.addresses.includes(address)) {
      refuse("refused: not an address the policy's dataflow names");
      return;
    }
    const { host, port: tcpPort } = parseHostPort(address);
    const socket: Socket = connect({ host, port: tcpPort, noDelay: true, timeout: CONNECT_TIMEOUT_MS });
    socket.once('timeout', () => socket.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`)));
    socket.once('error', (error: NodeJS.ErrnoException) => refuse(`failed: ${error.code ?? error.message}`));
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      log(`peer connection ${connectionId} to ${address} opened and handed to the isolate`);
      // Paused: every byte of it is the isolate's to read.
      socket.pause();
      port.sendPeerSocket(connectionId, socket);
    });
  }
}
