import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { readCertificatePem } from './certificate.ts';
import { createIdentity } from './identity.ts';

test('creates a P-256 key and a self-signed certificate with the requested name and validity', async () => {
  const notBefore = new Date('2026-01-01T00:00:00Z');
  const notAfter = new Date('2027-01-01T00:00:00Z');
  const identity = await createIdentity('Alice, Research', { notBefore, notAfter });
  assert.match(identity.certificatePem, /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/);
  assert.match(identity.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  const certificate = new X509Certificate(identity.certificatePem);
  assert.equal(certificate.subject, 'CN=Alice\\, Research');
  assert.equal(certificate.issuer, certificate.subject);
  assert.equal(new Date(certificate.validFrom).toISOString(), notBefore.toISOString());
  assert.equal(new Date(certificate.validTo).toISOString(), notAfter.toISOString());
  assert.ok(certificate.verify(certificate.publicKey), 'self-signed');
  assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const key = createPrivateKey(identity.privateKeyPem);
  assert.ok(certificate.checkPrivateKey(key), 'the key matches the certificate');
  assert.deepEqual(certificate.keyUsage, ['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.1']);
});

test('two identities never share a key or serial', async () => {
  const [a, b] = await Promise.all([createIdentity('a'), createIdentity('a')]);
  assert.notEqual(a.privateKeyPem, b.privateKeyPem);
  assert.notEqual(new X509Certificate(a.certificatePem).serialNumber, new X509Certificate(b.certificatePem).serialNumber);
});

test('refuses an empty name and a validity that ends before it starts', async () => {
  const isInvalid = (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidRequest;
  await assert.rejects(createIdentity('  '), isInvalid);
  await assert.rejects(
    createIdentity('x', { notBefore: new Date('2026-02-01T00:00:00Z'), notAfter: new Date('2026-01-01T00:00:00Z') }),
    (error: unknown) => isInvalid(error) && /ends \(2026-01-01T00:00:00.000Z\) before it starts/.test((error as Error).message),
  );
  await assert.rejects(createIdentity('x', { notBefore: new Date('nonsense') }), isInvalid);
});

test("node's TLS accepts the identities as client and server certificates (self-signed, trusted directly)", async () => {
  const server = await createIdentity('isolate');
  const client = await createIdentity('client');
  const stranger = await createIdentity('stranger');
  const listener = tls.createServer({
    cert: server.certificatePem,
    key: server.privateKeyPem,
    ca: [client.certificatePem],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  });
  const peers: string[] = [];
  listener.on('secureConnection', (socket) => {
    peers.push(socket.getPeerX509Certificate()?.subject ?? '');
    socket.end('hello');
  });
  listener.on('tlsClientError', () => {});
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const port = (listener.address() as AddressInfo).port;
  try {
    const connect = (identity: { certificatePem: string; privateKeyPem: string }) =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({
          host: '127.0.0.1',
          port,
          cert: identity.certificatePem,
          key: identity.privateKeyPem,
          ca: [server.certificatePem],
          checkServerIdentity: () => undefined,
        });
        let data = '';
        socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
    assert.equal(await connect(client), 'hello');
    assert.deepEqual(peers, ['CN=client']);
    // TLS 1.3 finishes the client's side first; the server then refuses, so the stranger gets an error, never data.
    const refused = await connect(stranger).then(
      (data) => `data: ${data}`,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    assert.doesNotMatch(refused, /hello/);
    assert.deepEqual(peers, ['CN=client']);
  } finally {
    listener.close();
  }
});

test('escapes distinguished-name specials in the common name', async () => {
  const identity = await createIdentity('#1 a+b=c; "d" ');
  const info = readCertificatePem(identity.certificatePem);
  assert.ok(typeof info !== 'string', String(info));
  assert.equal(info.commonName, '#1 a+b=c; "d" ');
});
