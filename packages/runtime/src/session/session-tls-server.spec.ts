import assert from 'node:assert/strict';
import { once } from 'node:events';
import { duplexPair } from 'node:stream';
import { before, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { createSessionSecureContext, createSessionTlsServer } from './session-tls-server.ts';
import { createTestPki, createTestPrincipal, type TestPki, type TestPrincipal } from './test-fixture.ts';

describe('session TLS servers sharing one secure context', () => {
  let pki: TestPki;
  let alice: TestPrincipal;
  let options: tls.TlsOptions;

  before(async () => {
    pki = await createTestPki();
    alice = await createTestPrincipal('alice', []);
    options = {
      key: pki.privateKeyPem, cert: pki.chainPem, ca: [alice.certificatePem],
      requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3',
    };
  });

  /** One handshake through a fresh session server; the server's socket and the client's. */
  async function handshake(server: tls.Server, session?: Buffer): Promise<{ serverSocket: tls.TLSSocket; client: tls.TLSSocket; ticket: Promise<Buffer> }> {
    const [clientEnd, serverEnd] = duplexPair();
    const secured = once(server, 'secureConnection') as Promise<[tls.TLSSocket]>;
    server.emit('connection', serverEnd);
    const client = tls.connect({
      socket: clientEnd, cert: alice.certificatePem, key: alice.privateKeyPem, ca: [pki.ca.certificatePem],
      rejectUnauthorized: false, checkServerIdentity: () => undefined, minVersion: 'TLSv1.3',
      ...(session === undefined ? {} : { session }),
    });
    const ticket = once(client, 'session').then(([bytes]) => bytes as Buffer);
    ticket.catch(() => {});
    await once(client, 'secureConnect');
    const [serverSocket] = await secured;
    return { serverSocket, client, ticket };
  }

  it('gives every session server the same context instead of a new one', () => {
    const context = createSessionSecureContext(options);
    const first = createSessionTlsServer(options, context);
    const second = createSessionTlsServer(options, context);
    // Ticket keys are random per OpenSSL context: equal keys mean one context.
    assert.deepEqual(first.getTicketKeys(), second.getTicketKeys());
    assert.notDeepEqual(tls.createServer(options).getTicketKeys(), tls.createServer(options).getTicketKeys());
  });

  it('serves a handshake that checks the client certificate against the shared context\'s CAs', async () => {
    const context = createSessionSecureContext(options);
    const { serverSocket, client } = await handshake(createSessionTlsServer(options, context));
    assert.equal(serverSocket.authorized, true);
    assert.equal(serverSocket.getPeerX509Certificate()?.raw.equals(new X509Certificate(alice.certificatePem).raw), true);
    client.destroy();
    serverSocket.destroy();
  });

  it('lets no session resume another, as when each had its own context', async () => {
    const context = createSessionSecureContext(options);
    const first = await handshake(createSessionTlsServer(options, context));
    const ticket = await first.ticket;
    first.client.destroy();
    first.serverSocket.destroy();
    const second = await handshake(createSessionTlsServer(options, context), ticket);
    assert.equal(second.client.isSessionReused(), false);
    assert.equal(second.serverSocket.authorized, true);
    second.client.destroy();
    second.serverSocket.destroy();
  });

  it('lets no session resume another when its server hears of new sessions (as on a handed-over socket)', async () => {
    const context = createSessionSecureContext(options);
    // The session manager counts tickets this way on a socket TLS runs on natively; it stores nothing.
    const counting = (): tls.Server => {
      const server = createSessionTlsServer(options, context);
      server.on('newSession', (_id: Buffer, _data: Buffer, done: () => void) => done());
      return server;
    };
    const first = await handshake(counting());
    const ticket = await first.ticket;
    first.client.destroy();
    first.serverSocket.destroy();
    const second = await handshake(counting(), ticket);
    assert.equal(second.client.isSessionReused(), false);
    assert.equal(second.serverSocket.authorized, true);
    second.client.destroy();
    second.serverSocket.destroy();
  });
});
