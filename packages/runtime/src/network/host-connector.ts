import type { Socket } from 'node:net';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { PeerConnectMessage, PeerSocketMessage } from '@veracruz-ts/protocol/channel';

/** How long the host has to open a peer connection. */
const CONNECT_TIMEOUT_MS = 15_000;

/**
 * Peer connections opened by the host on the isolate's behalf: the isolate asks for an address, the
 * host connects (only to addresses the policy names) and hands the socket over, or says why not.
 * Nothing about the connection is trusted: the peer is checked in TLS by whoever uses it.
 */
export class HostConnector {
  readonly #send: (message: PeerConnectMessage) => void;
  readonly #waiting = new Map<number, { resolve: (socket: Socket) => void; reject: (error: Error) => void }>();
  #next = 1;

  constructor(send: (message: PeerConnectMessage) => void) {
    this.#send = send;
  }

  /** A TCP connection to `address`, opened by the host. Throws Unavailable when it opens none. */
  connect(address: string): Promise<Socket> {
    const connectionId = this.#next++;
    return new Promise<Socket>((resolve, reject) => {
      const timer = setTimeout(() => this.received({ type: 'peer-socket', connectionId, error: 'the host did not answer' }, undefined), CONNECT_TIMEOUT_MS);
      const settle = (): void => {
        clearTimeout(timer);
        this.#waiting.delete(connectionId);
      };
      this.#waiting.set(connectionId, {
        resolve: (socket) => {
          settle();
          resolve(socket);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.#send({ type: 'peer-connect', connectionId, address });
    });
  }

  /** The host's answer, with the socket it attached (if any). An answer nobody waits for closes its socket. */
  received(message: PeerSocketMessage, socket: Socket | undefined): void {
    const waiting = this.#waiting.get(message.connectionId);
    if (waiting !== undefined && socket !== undefined && message.error === undefined) {
      waiting.resolve(socket);
      return;
    }
    socket?.destroy();
    waiting?.reject(new VeracruzError(Code.Unavailable, `the host opened no connection: ${message.error ?? 'no socket came'}`));
  }
}
