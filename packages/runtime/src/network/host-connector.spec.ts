import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { PeerConnectMessage } from '@veracruz-ts/protocol/channel';
import { HostConnector } from './host-connector.ts';

function unavailable(pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof VeracruzError, `not a VeracruzError: ${String(error)}`);
    assert.equal(error.code, Code.Unavailable);
    assert.match(error.rawMessage, pattern);
    return true;
  };
}

describe('HostConnector', () => {
  let server: Server;
  const accepted: Socket[] = [];

  before(async () => {
    server = createServer((socket) => {
      socket.on('error', () => {});
      accepted.push(socket);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  after(() => {
    for (const socket of accepted) socket.destroy();
    server.close();
  });

  /** A TCP connection to the loopback server, as the host would open and hand over. */
  async function hostSocket(): Promise<Socket> {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    return socket;
  }

  /** A connector whose messages to the host are recorded. */
  function recording(): { connector: HostConnector; sent: PeerConnectMessage[] } {
    const sent: PeerConnectMessage[] = [];
    return { connector: new HostConnector((message) => sent.push(message)), sent };
  }

  it('asks the host for the address, and resolves with the socket the host answers with', async () => {
    const { connector, sent } = recording();
    const connecting = connector.connect('127.0.0.1:7010');
    assert.deepEqual(sent, [{ type: 'peer-connect', connectionId: 1, address: '127.0.0.1:7010' }]);
    const socket = await hostSocket();
    connector.received({ type: 'peer-socket', connectionId: 1 }, socket);
    assert.equal(await connecting, socket);
    assert.equal(socket.destroyed, false);
    socket.destroy();
  });

  it('gives every request its own id and matches answers by id, in any order', async () => {
    const { connector, sent } = recording();
    const first = connector.connect('127.0.0.1:7010');
    const second = connector.connect('127.0.0.1:7011');
    assert.deepEqual(sent.map((message) => [message.connectionId, message.address]), [[1, '127.0.0.1:7010'], [2, '127.0.0.1:7011']]);
    const [a, b] = [await hostSocket(), await hostSocket()];
    connector.received({ type: 'peer-socket', connectionId: 2 }, b);
    connector.received({ type: 'peer-socket', connectionId: 1 }, a);
    assert.equal(await first, a);
    assert.equal(await second, b);
    a.destroy();
    b.destroy();
  });

  it("rejects with Unavailable carrying the host's error when it opened no connection", async () => {
    const { connector } = recording();
    const connecting = connector.connect('127.0.0.1:7010');
    connector.received({ type: 'peer-socket', connectionId: 1, error: 'failed: ECONNREFUSED' }, undefined);
    await assert.rejects(connecting, unavailable(/^the host opened no connection: failed: ECONNREFUSED$/));
  });

  it('rejects an answer that brings no socket and no error', async () => {
    const { connector } = recording();
    const connecting = connector.connect('127.0.0.1:7010');
    connector.received({ type: 'peer-socket', connectionId: 1 }, undefined);
    await assert.rejects(connecting, unavailable(/no socket came/));
  });

  it('closes a socket that comes with an error, and rejects', async () => {
    const { connector } = recording();
    const connecting = connector.connect('127.0.0.1:7010');
    const socket = await hostSocket();
    connector.received({ type: 'peer-socket', connectionId: 1, error: 'refused' }, socket);
    await assert.rejects(connecting, unavailable(/: refused$/));
    assert.equal(socket.destroyed, true);
  });

  it('closes the socket of an answer for an id nobody asked for', async () => {
    const { connector } = recording();
    const socket = await hostSocket();
    connector.received({ type: 'peer-socket', connectionId: 99 }, socket);
    assert.equal(socket.destroyed, true);
  });

  it('ignores a second answer for the same id, closing its socket, and keeps the first', async () => {
    const { connector } = recording();
    const connecting = connector.connect('127.0.0.1:7010');
    const [first, second] = [await hostSocket(), await hostSocket()];
    connector.received({ type: 'peer-socket', connectionId: 1 }, first);
    connector.received({ type: 'peer-socket', connectionId: 1 }, second);
    connector.received({ type: 'peer-socket', connectionId: 1, error: 'late' }, undefined);
    assert.equal(await connecting, first);
    assert.equal(second.destroyed, true);
    assert.equal(first.destroyed, false);
    first.destroy();
  });

  it('rejects when the host does not answer within 15 s, and closes a socket that comes later', async (context) => {
    context.mock.timers.enable({ apis: ['setTimeout'] });
    const { connector } = recording();
    const connecting = connector.connect('127.0.0.1:7010');
    let settled = false;
    connecting.catch(() => {}).finally(() => (settled = true));
    context.mock.timers.tick(14_999);
    await Promise.resolve();
    assert.equal(settled, false);
    context.mock.timers.tick(1);
    await assert.rejects(connecting, unavailable(/the host did not answer/));
    context.mock.timers.reset();
    const late = await hostSocket();
    connector.received({ type: 'peer-socket', connectionId: 1 }, late);
    assert.equal(late.destroyed, true);
  });
});
