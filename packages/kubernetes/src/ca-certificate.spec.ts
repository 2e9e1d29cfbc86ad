import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code } from '@veracruz-ts/core';
import { refusedAs } from '@veracruz-ts/core/testing';
import { createIdentity } from '@veracruz-ts/policy';
import { CA_PATH, fetchCaCertificate } from './ca-certificate.ts';

/** A PAS's CA route giving `answers` in turn, the last one again once they run out; resolves with its URL and how to close it. */
async function caRoute(answers: readonly { status: number; body: string }[]): Promise<{ url: string; close: () => Promise<void> }> {
  let served = 0;
  const server = createServer((_request, response) => {
    const answer = answers[Math.min(served++, answers.length - 1)]!;
    response.writeHead(answer.status, { 'content-type': 'application/x-pem-file' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${CA_PATH}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

test('the CA certificate: read again while the PAS is not ready, each failure logged once; what is no certificate is refused', async () => {
  const { certificatePem } = await createIdentity('test CA');
  const starting = await caRoute([{ status: 503, body: '' }, { status: 503, body: '' }, { status: 200, body: certificatePem }]);
  try {
    const log: string[] = [];
    assert.equal(await fetchCaCertificate(starting.url, { timeoutMs: 30_000, log: (line) => log.push(line) }), certificatePem);
    assert.deepEqual(log, [`waiting for the PAS's CA certificate: ${starting.url} answered 503`]);
  } finally {
    await starting.close();
  }

  const wrong = await caRoute([{ status: 200, body: 'not a certificate' }]);
  try {
    await assert.rejects(fetchCaCertificate(wrong.url, { timeoutMs: 0 }), refusedAs(Code.Unavailable, /^the PAS's CA certificate: http:\/\/127\.0\.0\.1:\d+\/ca\.pem: not a PEM certificate \(/));
  } finally {
    await wrong.close();
  }
});
