import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { PeerConnectMessage } from '@veracruz-ts/protocol/channel';
import { PeerConnections } from './peer-connections.ts';
import type { SessionSocketPort } from './platforms/types.ts';

/** What the host told the isolate about one peer connection. */
interface Handed {
  connectionId: number;
  socket: Socket | undefined;
  error: string | undefined;
}

/**
 * The launcher's port as a test double at the IPC boundary: the test plays the isolate asking for
 * connections, and sees what the host hands back.
 */
class RecordingPort implements SessionSocketPort {
  #ask: (message: PeerConnectMessage) => void = () => assert.fail('PeerConnections did not listen for requests');
  /** Every answer, in the order the host gave them. */
  readonly answers: Handed[] = [];
  readonly #waiting = new Map<number, (handed: Handed) => void>();

  send(): void {
    assert.fail('no client connection is handed over here');
  }

  onClosed(): void {}

  onPeerConnect(listener: (message: PeerConnectMessage) => void): void {
    this.#ask = listener;
  }

  sendPeerSocket(connectionId: number, socket: Socket | undefined, error?: string): void {
    const handed = { connectionId, socket, error };
    this.answers.push(handed);
    const waiter = this.#waiting.get(connectionId);
    assert.ok(waiter !== undefined, `an answer for connection ${connectionId}, which nobody waits for`);
    this.#waiting.delete(connectionId);
    waiter(handed);
  }

  /** The isolate asks for a connection to `address`; resolves with the host's answer. */
  ask(connectionId: number, address: string): Promise<Handed> {
    const answer = new Promise<Handed>((resolve) => this.#waiting.set(connectionId, resolve));
    this.#ask({ type: 'peer-connect', connectionId, address });
    return answer;
  }
}

describe('PeerConnections', () => {
  let peer: Server;
  let peerAddress: string;
  const accepted: Socket[] = [];

  before(async () => {
    // A peer isolate's host: greets each connection at once, echoes the rest.
    peer = createServer((socket) => {
      accepted.push(socket);
      socket.on('error', () => {});
      socket.write('hello from the peer\n');
      socket.pipe(socket);
    });
    peer.listen(0, '127.0.0.1');
    await once(peer, 'listening');
    peerAddress = `127.0.0.1:${(peer.address() as AddressInfo).port}`;
  });

  after(() => {
    for (const socket of accepted) socket.destroy();
    peer.close();
  });

  function start(addresses: readonly string[]): { port: RecordingPort; log: string[] } {
    const port = new RecordingPort();
    const log: string[] = [];
    new PeerConnections({ port, addresses, log: (line) => log.push(line) });
    return { port, log };
  }

  it('connects to an address the dataflow names and hands the socket over, paused, with every byte unread', async () => {
    const { port, log } = start(['127.0.0.1:7010', peerAddress]);
    const handed = await port.ask(3, peerAddress);
    assert.equal(handed.connectionId, 3);
    assert.equal(handed.error, undefined);
    const socket = handed.socket;
    assert.ok(socket !== undefined);
    assert.equal(socket.isPaused(), true, 'the host reads nothing of it');
    assert.equal(socket.remoteAddress, '127.0.0.1');
    assert.equal(`${socket.remoteAddress}:${socket.remotePort}`, peerAddress);
    // The socket reaches the peer both ways, and the peer's first bytes are still there to read.
    socket.write('ping\n');
    let received = '';
    socket.setEncoding('utf8');
    const echoed = new Promise<void>((resolve) => {
      socket.on('data', (chunk: string) => {
        received += chunk;
        if (received.includes('ping\n')) resolve();
      });
    });
    // The isolate reads it once it has taken it over.
    socket.resume();
    await echoed;
    assert.equal(received, 'hello from the peer\nping\n');
    assert.deepEqual(log, [`peer connection 3 to ${peerAddress} opened and handed to the isolate`]);
    socket.destroy();
  });

  it('refuses an address the dataflow does not name, without connecting', async () => {
    const { port, log } = start(['127.0.0.1:7010']);
    const before = accepted.length;
    // The same peer by another name is another address: only the exact names are allowed.
    for (const [connectionId, address] of [[1, peerAddress], [2, peerAddress.replace('127.0.0.1', 'localhost')]] as const) {
      const handed = await port.ask(connectionId, address);
      assert.deepEqual(handed, { connectionId, socket: undefined, error: "refused: not an address the policy's dataflow names" });
      assert.equal(log.at(-1), `peer connection ${connectionId} to ${address}: refused: not an address the policy's dataflow names`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(accepted.length, before, 'the peer saw no connection');
  });

  it('reports a connection that was refused as an error, with no socket', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const address = `127.0.0.1:${(closed.address() as AddressInfo).port}`;
    closed.close();
    await once(closed, 'close');
    const { port, log } = start([address]);
    const handed = await port.ask(9, address);
    assert.deepEqual(handed, { connectionId: 9, socket: undefined, error: 'failed: ECONNREFUSED' });
    assert.deepEqual(log, [`peer connection 9 to ${address}: failed: ECONNREFUSED`]);
  });

  it('answers each request by its own id, allowed or not', async () => {
    const { port } = start([peerAddress]);
    const [allowed, refused] = await Promise.all([port.ask(5, peerAddress), port.ask(6, '10.0.0.1:7010')]);
    assert.deepEqual([refused.connectionId, refused.error], [6, "refused: not an address the policy's dataflow names"]);
    assert.equal(allowed.connectionId, 5);
    assert.ok(allowed.socket !== undefined);
    // The refusal is immediate, the connection takes a round trip: answers come as they are ready.
    assert.deepEqual(port.answers.map((answer) => answer.connectionId), [6, 5]);
    allowed.socket.destroy();
  });
});
