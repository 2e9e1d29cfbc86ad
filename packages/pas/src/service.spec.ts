import assert from 'node:assert/strict';
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { verifyCertificateChain } from '@veracruz-ts/attestation';
import {
  createCertificateAuthority,
  createIsolateIdentity,
  encodePolicyBinding,
  loadCertificateAuthority,
  readPolicyBinding,
  readRuntimeHash,
} from '@veracruz-ts/attestation/certificates';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { pasCertify, pasStart } from './client.ts';
import { type PasHandle, startPas } from './server.ts';
import { createPasApp } from './service.ts';
import type { StartLimits } from './start-limits.ts';
import { PasStore } from './store.ts';
import {
  linuxIsolate,
  type LinuxIsolate,
  type PasProcess,
  runCli,
  startPasProcess,
  temporaryDirectory,
  writePublicKey,
} from './testing.ts';

const HOUR_MS = 60 * 60 * 1000;

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

async function problemOf(response: Response): Promise<{ type: string; title: string; status: number; detail: string; code: string }> {
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  const body = (await response.json()) as { type: string; title: string; status: number; detail: string; code: string };
  assert.equal(body.status, response.status);
  assert.match(body.type, /^urn:veracruz:pas:/);
  assert.equal(typeof body.title, 'string');
  return body;
}

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
}

function refusedWith(code: string, pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === code && pattern.test(error.rawMessage);
}

describe('vc-pas service (a real process on loopback, a real SQLite file)', () => {
  let workspace: Awaited<ReturnType<typeof temporaryDirectory>>;
  let dir: string;
  let pas: PasProcess;
  let isolate: LinuxIsolate;
  let caPem: string;

  before(async () => {
    workspace = await temporaryDirectory();
    dir = join(workspace.dir, 'pas');
    const init = await runCli(['init', '--dir', dir]);
    assert.equal(init.code, 0, init.stderr);
    isolate = await linuxIsolate();
    const enroll = await runCli(['enroll', '--dir', dir, '--name', 'launcher-1', await writePublicKey(workspace.dir, isolate.devKey)]);
    assert.equal(enroll.code, 0, enroll.stderr);
    caPem = await readFile(join(dir, 'ca.pem'), 'utf8');
    pas = await startPasProcess(dir);
  });

  after(async () => {
    await pas?.stop();
    await workspace?.remove();
  });

  /** One whole Start → evidence → certificate round for `who`. */
  async function certify(who: LinuxIsolate, options: { debug?: boolean; csrHash?: Uint8Array; csrDer?: Uint8Array } = {}) {
    const session = await pasStart(pas.url);
    const evidence = await who.evidence(session.nonce, options);
    return pasCertify(pas.url, 'linux', session.sessionId, evidence, options.csrDer ?? who.identity.csrDer);
  }

  it('serves its CA certificate, the one vc-pas init wrote, at /ca.pem', async () => {
    const response = await fetch(`${pas.url}/ca.pem`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/x-pem-file');
    assert.equal((await response.text()).trim(), caPem.trim());
  });

  it('opens a session with 201, a Location and a 32-byte nonce', async () => {
    const response = await fetch(`${pas.url}/proxy/v1/Start`, { method: 'POST' });
    assert.equal(response.status, 201);
    assert.match(response.headers.get('location') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal((await response.arrayBuffer()).byteLength, 32);
    const [a, b] = await Promise.all([pasStart(pas.url), pasStart(pas.url)]);
    assert.notEqual(a.sessionId, b.sessionId);
    assert.notDeepEqual(a.nonce, b.nonce);
  });

  it('issues DER(isolate) || DER(CA) for linux evidence: chained to the CA, carrying the measurement, at most 24 h', async () => {
    const before = Date.now();
    const chain = await certify(isolate);
    assert.equal(chain.length, 2);
    const [leaf, ca] = chain as [Uint8Array, Uint8Array];
    assert.deepEqual(new NodeCertificate(ca).raw, new NodeCertificate(caPem).raw);
    await verifyCertificateChain([leaf], [caPem], new Date());
    const node = new NodeCertificate(leaf);
    assert.equal(node.verify(new NodeCertificate(caPem).publicKey), true);
    assert.deepEqual(readRuntimeHash(leaf), isolate.measurement);
    assert.match(node.subject, /CN=VeracruzCompute/);
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', isolate.identity.keyPair.publicKey));
    assert.deepEqual(new Uint8Array(node.publicKey.export({ type: 'spki', format: 'der' })), spki);
    const notBefore = new Date(node.validFrom).getTime();
    const notAfter = new Date(node.validTo).getTime();
    assert.ok(notAfter - notBefore <= 24 * HOUR_MS, 'validity is at most 24 h');
    assert.ok(notAfter <= before + 24 * HOUR_MS + 1000);
    assert.ok(notBefore <= before, 'valid from (slightly before) issuance');
    assert.match(pas.log(), /issued serial=[0-9a-f]+ platform=linux measurement=5a5a/);
    assert.doesNotMatch(pas.log(), /PRIVATE KEY/);
  });

  it('copies the policy binding the CSR asks for into the certificate, and refuses one that is not 64 bytes', async () => {
    const policyHash = new Uint8Array(32).fill(0x11);
    const identityHash = new Uint8Array(32).fill(0x22);
    const bound = await createIsolateIdentity({ policyBinding: encodePolicyBinding(policyHash, identityHash) });
    const [leaf] = await certify(isolate, { csrDer: bound.csrDer, csrHash: bound.csrHash });
    assert.deepEqual(readPolicyBinding(leaf as Uint8Array), { policyHash: '11'.repeat(32), identityHash: '22'.repeat(32) });
    assert.deepEqual(readRuntimeHash(leaf as Uint8Array), isolate.measurement);
    const short = await createIsolateIdentity({ policyBinding: new Uint8Array(63) });
    await assert.rejects(
      certify(isolate, { csrDer: short.csrDer, csrHash: short.csrHash }),
      refusedWith(Code.InvalidRequest, /policy-binding extension .* holds 63 bytes; expected 64/),
    );
  });

  it('never issues past the expiry cap the caller gives (policy enclave_cert_expiry)', async () => {
    const session = await pasStart(pas.url);
    const cap = new Date(Date.now() + 2 * HOUR_MS);
    const chain = await pasCertify(pas.url, 'linux', session.sessionId, await isolate.evidence(session.nonce), isolate.identity.csrDer, { notAfterCap: cap });
    const notAfter = new Date(new NodeCertificate(chain[0] as Uint8Array).validTo).getTime();
    assert.ok(notAfter <= cap.getTime());
    assert.ok(notAfter > cap.getTime() - 2000);
  });

  it('refuses a replayed nonce: a session is used once', async () => {
    const session = await pasStart(pas.url);
    const evidence = await isolate.evidence(session.nonce);
    await pasCertify(pas.url, 'linux', session.sessionId, evidence, isolate.identity.csrDer);
    const response = await fetch(`${pas.url}/proxy/v1/Linux/${session.sessionId}`, {
      method: 'POST',
      body: form({ token: base64(evidence), csr: base64(isolate.identity.csrDer) }),
    });
    assert.equal(response.status, 409);
    const problem = await problemOf(response);
    assert.equal(problem.type, 'urn:veracruz:pas:session-used');
    assert.match(problem.detail, /already used/);
  });

  it('refuses an unknown session', async () => {
    const evidence = await isolate.evidence(new Uint8Array(32));
    await assert.rejects(
      pasCertify(pas.url, 'linux', '00000000-0000-4000-8000-000000000000', evidence, isolate.identity.csrDer),
      refusedWith(Code.NotFound, /no such session/),
    );
  });

  it('refuses a session id that is not a UUID without echoing it', async () => {
    const response = await fetch(`${pas.url}/proxy/v1/Linux/${encodeURIComponent('x\ninjected')}`, {
      method: 'POST',
      body: form({ token: base64(new Uint8Array(4)), csr: base64(isolate.identity.csrDer) }),
    });
    assert.equal(response.status, 404);
    const problem = await problemOf(response);
    assert.equal(problem.type, 'urn:veracruz:pas:unknown-session');
    assert.doesNotMatch(problem.detail + pas.log(), /injected/);
  });

  it('refuses evidence bound to another CSR than the one sent', async () => {
    const other = await createIsolateIdentity();
    await assert.rejects(certify(isolate, { csrDer: other.csrDer }), refusedWith(Code.AttestationFailed, /CSR hash is [0-9a-f]+ but [0-9a-f]+ was expected/));
  });

  it('refuses a CSR whose signature does not verify, even when the evidence binds it', async () => {
    const tampered = isolate.identity.csrDer.slice();
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] as number) ^ 0x01;
    const tamperedHash = new Uint8Array(await crypto.subtle.digest('SHA-256', tampered));
    await assert.rejects(
      certify(isolate, { csrDer: tampered, csrHash: tamperedHash }),
      refusedWith(Code.AttestationFailed, /csr: signature does not verify/),
    );
  });

  it('refuses evidence signed by a development key nobody enrolled', async () => {
    const stranger = await linuxIsolate();
    await assert.rejects(certify(stranger), refusedWith(Code.AttestationFailed, /development key [0-9a-f]{64}, which is not enrolled/));
  });

  it('accepts a key enrolled while the service runs', async () => {
    const newcomer = await linuxIsolate();
    const enroll = await runCli(['enroll', '--dir', dir, '--name', 'launcher-2', await writePublicKey(workspace.dir, newcomer.devKey, 'launcher-2.pem')]);
    assert.equal(enroll.code, 0, enroll.stderr);
    assert.equal((await certify(newcomer)).length, 2);
  });

  it('refuses debug evidence (not allowed by default)', async () => {
    await assert.rejects(certify(isolate, { debug: true }), refusedWith(Code.AttestationFailed, /debug evidence refused/));
  });

  it('refuses a denied measurement and, once reference values exist, any measurement not listed', async () => {
    const measurementHex = Buffer.from(isolate.measurement).toString('hex');
    const deny = await runCli(['reference', 'add', '--dir', dir, '--platform', 'linux', '--measurement', measurementHex, '--deny']);
    assert.equal(deny.code, 0, deny.stderr);
    await assert.rejects(certify(isolate), refusedWith(Code.AttestationFailed, /is on the deny-list/));
    assert.equal((await runCli(['reference', 'remove', '--dir', dir, '--platform', 'linux', '--measurement', measurementHex, '--deny'])).code, 0);

    const accept = await runCli(['reference', 'add', '--dir', dir, '--platform', 'linux', '--measurement', 'ab'.repeat(32)]);
    assert.equal(accept.code, 0, accept.stderr);
    await assert.rejects(certify(isolate), refusedWith(Code.AttestationFailed, /is not among the 1 reference value/));
    assert.equal((await runCli(['reference', 'add', '--dir', dir, '--platform', 'linux', '--measurement', measurementHex])).code, 0);
    assert.equal((await certify(isolate)).length, 2);
    for (const value of ['ab'.repeat(32), measurementHex]) {
      assert.equal((await runCli(['reference', 'remove', '--dir', dir, '--platform', 'linux', '--measurement', value])).code, 0);
    }
  });

  it('answers malformed requests with precise problem JSON', async () => {
    const session = await pasStart(pas.url);
    const evidence = base64(await isolate.evidence(session.nonce));
    const csr = base64(isolate.identity.csrDer);
    const post = (path: string, init: RequestInit) => fetch(`${pas.url}${path}`, { method: 'POST', ...init });
    const target = `/proxy/v1/Linux/${session.sessionId}`;

    const notMultipart = await post(target, { body: JSON.stringify({ token: evidence, csr }), headers: { 'content-type': 'application/json' } });
    assert.equal(notMultipart.status, 415);
    assert.match((await problemOf(notMultipart)).detail, /expected multipart\/form-data/);

    const broken = await post(target, { body: '--x\r\ngarbage', headers: { 'content-type': 'multipart/form-data; boundary=x' } });
    assert.equal(broken.status, 400);
    assert.match((await problemOf(broken)).detail, /not valid multipart/);

    const missingToken = await post(target, { body: form({ csr }) });
    assert.equal(missingToken.status, 400);
    assert.match((await problemOf(missingToken)).detail, /missing form field token/);

    const missingCsr = await post(target, { body: form({ token: evidence }) });
    assert.match((await problemOf(missingCsr)).detail, /missing form field csr/);

    const badBase64 = await post(target, { body: form({ token: '!!not base64!!', csr }) });
    assert.equal(badBase64.status, 400);
    assert.match((await problemOf(badBase64)).detail, /form field token is not base64/);

    const notACsr = await post(target, { body: form({ token: evidence, csr: base64(new Uint8Array([1, 2, 3, 4])) }) });
    assert.equal(notACsr.status, 400);
    assert.match((await problemOf(notACsr)).detail, /csr: not a DER PKCS#10/);

    const unknownPlatform = await post(`/proxy/v1/Foo/${session.sessionId}`, { body: form({ token: evidence, csr }) });
    assert.equal(unknownPlatform.status, 404);
    assert.match((await problemOf(unknownPlatform)).detail, /unknown platform "Foo"/);

    const psaEndorsement = new FormData();
    psaEndorsement.set('token', evidence);
    psaEndorsement.set('csr', csr);
    psaEndorsement.set('endorsement', base64(new Uint8Array(8)));
    const selfEndorsed = await post(`/proxy/v1/PSA/${session.sessionId}`, { body: psaEndorsement });
    assert.equal(selfEndorsed.status, 400);
    assert.match((await problemOf(selfEndorsed)).detail, /psa endorsements come from the PAS configuration only/);

    const garbageEvidence = await post(target, { body: form({ token: base64(new Uint8Array([0xff, 0x00])), csr }) });
    assert.equal(garbageEvidence.status, 403);
    assert.match((await problemOf(garbageEvidence)).detail, /linux: evidence is malformed/);

    const noRoute = await fetch(`${pas.url}/elsewhere`);
    assert.equal(noRoute.status, 404);
    await problemOf(noRoute);
  });

  it('hands hardware evidence to the platform verifier and reports its reason (real Nitro sample)', async () => {
    const session = await pasStart(pas.url);
    const nitro = new Uint8Array(await readFile(fileURLToPath(new URL('../../attestation/test-vectors/nitro/yawn-nitro-attest.attestation.cose', import.meta.url))));
    await assert.rejects(
      pasCertify(pas.url, 'nitro', session.sessionId, nitro, isolate.identity.csrDer),
      // Verified at the PAS's clock, long after the sample's leaf certificate expired.
      refusedWith(Code.AttestationFailed, /^PAS certify: nitro: certificate chain: .*expired/),
    );
  });

  it('refuses bodies over the limit with 413, declared or streamed', async () => {
    const big = new Uint8Array(1024 * 1024 + 1);
    const declared = await fetch(`${pas.url}/proxy/v1/Linux/x`, {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
    });
    assert.equal(declared.status, 413);
    assert.match((await problemOf(declared)).detail, /exceeds 1048576 bytes/);

    const chunks = [new Uint8Array(512 * 1024), new Uint8Array(512 * 1024), new Uint8Array(16)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
    const streamed = await fetch(`${pas.url}/proxy/v1/Linux/x`, {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      duplex: 'half',
    } as RequestInit);
    assert.equal(streamed.status, 413);
  });

  it('certifies 20 isolates in parallel, each with its own session and serial', async () => {
    const isolates = await Promise.all(Array.from({ length: 20 }, () => linuxIsolate(isolate.devKey)));
    const chains = await Promise.all(isolates.map((each) => certify(each)));
    const serials = new Set(chains.map((chain) => new NodeCertificate(chain[0] as Uint8Array).serialNumber));
    assert.equal(serials.size, 20);
    for (const [index, chain] of chains.entries()) {
      const spki = new Uint8Array(await crypto.subtle.exportKey('spki', (isolates[index] as LinuxIsolate).identity.keyPair.publicKey));
      assert.deepEqual(new Uint8Array(new NodeCertificate(chain[0] as Uint8Array).publicKey.export({ type: 'spki', format: 'der' })), spki);
    }
  });

  it('lets exactly one of many concurrent uses of a nonce win', async () => {
    const session = await pasStart(pas.url);
    const evidence = await isolate.evidence(session.nonce);
    const attempts = await Promise.allSettled(
      Array.from({ length: 8 }, () => pasCertify(pas.url, 'linux', session.sessionId, evidence, isolate.identity.csrDer)),
    );
    assert.equal(attempts.filter((attempt) => attempt.status === 'fulfilled').length, 1);
  });

  it('keeps sessions and the audit trail across a restart', async () => {
    const pending = await pasStart(pas.url);
    const usedBefore = await pasStart(pas.url);
    await pasCertify(pas.url, 'linux', usedBefore.sessionId, await isolate.evidence(usedBefore.nonce), isolate.identity.csrDer);
    const issuedBefore = JSON.parse((await runCli(['issued', '--dir', dir, '--json'])).stdout) as unknown[];

    assert.equal(await pas.stop(), 0, 'graceful shutdown on SIGTERM');
    pas = await startPasProcess(dir);

    const chain = await pasCertify(pas.url, 'linux', pending.sessionId, await isolate.evidence(pending.nonce), isolate.identity.csrDer);
    assert.equal(chain.length, 2);
    await assert.rejects(
      pasCertify(pas.url, 'linux', usedBefore.sessionId, await isolate.evidence(usedBefore.nonce), isolate.identity.csrDer),
      refusedWith(Code.AttestationFailed, /already used/),
    );
    const issuedAfter = JSON.parse((await runCli(['issued', '--dir', dir, '--json'])).stdout) as { sessionId: string }[];
    assert.equal(issuedAfter.length, issuedBefore.length + 1);
    assert.deepEqual(issuedAfter.slice(0, issuedBefore.length), issuedBefore);
    assert.equal(issuedAfter.at(-1)?.sessionId, pending.sessionId);
  });
});

describe('vc-pas in process (injected clock or configuration, real HTTP and SQLite)', () => {
  it('refuses a session after its TTL and accepts it just before', async () => {
    const workspace = await temporaryDirectory();
    let now = Date.now();
    const pas = await startPas({ dir: join(workspace.dir, 'pas'), initialize: true, listen: '127.0.0.1:0', clock: () => new Date(now) });
    try {
      const isolate = await linuxIsolate();
      const { devKeyId } = await import('@veracruz-ts/attestation/evidence');
      pas.store.enrollDevKey('launcher', Buffer.from(await devKeyId(isolate.devKey.publicKeyPem)).toString('hex'), isolate.devKey.publicKeyPem, new Date(now));
      const late = await pasStart(pas.url);
      const inTime = await pasStart(pas.url);
      now += 5 * 60 * 1000 - 1;
      assert.equal((await pasCertify(pas.url, 'linux', inTime.sessionId, await isolate.evidence(inTime.nonce), isolate.identity.csrDer)).length, 2);
      now += 1;
      const response = await fetch(`${pas.url}/proxy/v1/Linux/${late.sessionId}`, {
        method: 'POST',
        body: form({ token: base64(await isolate.evidence(late.nonce)), csr: base64(isolate.identity.csrDer) }),
      });
      assert.equal(response.status, 410);
      const problem = await problemOf(response);
      assert.equal(problem.type, 'urn:veracruz:pas:session-expired');
      assert.match(problem.detail, /expired/);
    } finally {
      await pas.close();
      await workspace.remove();
    }
  });

  it('refuses a platform the configuration turns off', async () => {
    const workspace = await temporaryDirectory();
    const dir = join(workspace.dir, 'pas');
    const init = await runCli(['init', '--dir', dir]);
    assert.equal(init.code, 0, init.stderr);
    const config = JSON.parse(await readFile(join(dir, 'pas.json'), 'utf8')) as { platforms: Record<string, { enabled: boolean }> };
    (config.platforms['linux'] as { enabled: boolean }).enabled = false;
    await writeFile(join(dir, 'pas.json'), JSON.stringify(config));
    const pas = await startPas({ dir, listen: '127.0.0.1:0' });
    try {
      const isolate = await linuxIsolate();
      const session = await pasStart(pas.url);
      await assert.rejects(
        pasCertify(pas.url, 'linux', session.sessionId, await isolate.evidence(session.nonce), isolate.identity.csrDer),
        refusedWith(Code.PermissionDenied, /linux evidence is not accepted by this PAS/),
      );
    } finally {
      await pas.close();
      await workspace.remove();
    }
  });
});

/** `POST /proxy/v1/Start` from a chosen local address: all of 127.0.0.0/8 is loopback on Linux. */
function startFrom(url: string, localAddress: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ method: 'POST', host: hostname, port, path: '/proxy/v1/Start', localAddress }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => {
        const retryAfter = response.headers['retry-after'];
        resolve({ status: response.statusCode ?? 0, retryAfter, body: Buffer.concat(chunks).toString('latin1') });
      });
    });
    outgoing.once('error', reject);
    outgoing.end();
  });
}

describe('Start limits (in process: injected clock and limits, real HTTP and SQLite)', () => {
  let workspace: Awaited<ReturnType<typeof temporaryDirectory>>;
  let count = 0;
  before(async () => {
    workspace = await temporaryDirectory();
  });
  after(async () => workspace?.remove());

  function limitedPas(limits: Partial<StartLimits>, clock: () => Date, log?: (line: string) => void): Promise<PasHandle> {
    return startPas({
      dir: join(workspace.dir, `pas-${count++}`),
      initialize: true,
      listen: '127.0.0.1:0',
      clock,
      limits,
      ...(log === undefined ? {} : { log }),
    });
  }

  it('answers 429 with Retry-After once maxOpenSessions are open, and stores nothing more', async () => {
    const t0 = Date.now();
    let now = t0;
    const lines: string[] = [];
    const pas = await limitedPas({ maxOpenSessions: 3 }, () => new Date(now), (line) => lines.push(line));
    try {
      const first = await pasStart(pas.url);
      now = t0 + 100_000;
      await pasStart(pas.url);
      now = t0 + 200_000;
      await pasStart(pas.url);

      now = t0 + 250_000;
      for (let i = 0; i < 10; i++) {
        const refused = await fetch(`${pas.url}/proxy/v1/Start`, { method: 'POST' });
        assert.equal(refused.status, 429);
        assert.equal(refused.headers.get('retry-after'), '50', 'until the oldest open session expires (5 min TTL)');
        const problem = await problemOf(refused);
        assert.equal(problem.type, 'urn:veracruz:pas:too-many-sessions');
        assert.equal(problem.code, Code.LimitExceeded);
        assert.match(problem.detail, /^too many open sessions \(3, at most 3\); retry in 50 s, when the oldest expires$/);
      }
      assert.equal(pas.store.sessionRowCount(), 3, 'refused Starts leave no row behind');
      await assert.rejects(pasStart(pas.url), refusedWith(Code.LimitExceeded, /^PAS Start: too many open sessions \(3, at most 3\)/));
      assert.equal(lines.filter((line) => /refusing Start: 3 sessions open/.test(line)).length, 1, 'logged once, not per request');

      // Using a session frees its place.
      const isolate = await linuxIsolate();
      const { devKeyId } = await import('@veracruz-ts/attestation/evidence');
      pas.store.enrollDevKey('launcher', Buffer.from(await devKeyId(isolate.devKey.publicKeyPem)).toString('hex'), isolate.devKey.publicKeyPem, new Date(now));
      await pasCertify(pas.url, 'linux', first.sessionId, await isolate.evidence(first.nonce), isolate.identity.csrDer);
      await pasStart(pas.url);
      assert.equal((await fetch(`${pas.url}/proxy/v1/Start`, { method: 'POST' })).status, 429);
      assert.match(lines.join('\n'), /accepting Start again/);
    } finally {
      await pas.close();
    }
  });

  it('stops counting sessions once they expire', async () => {
    const t0 = Date.now();
    let now = t0;
    const pas = await limitedPas({ maxOpenSessions: 2 }, () => new Date(now));
    try {
      const old = await pasStart(pas.url);
      await pasStart(pas.url);
      assert.equal((await fetch(`${pas.url}/proxy/v1/Start`, { method: 'POST' })).status, 429);
      now = t0 + 5 * 60 * 1000 - 1;
      const lastMoment = await fetch(`${pas.url}/proxy/v1/Start`, { method: 'POST' });
      assert.equal(lastMoment.status, 429);
      assert.equal(lastMoment.headers.get('retry-after'), '1', 'never 0, even 1 ms before the expiry');
      now = t0 + 5 * 60 * 1000;
      await pasStart(pas.url);
      await pasStart(pas.url);
      assert.equal(pas.store.openSessionCount(new Date(now)), 2);
      // The expired session is still known, so its late user hears why.
      const isolate = await linuxIsolate();
      const late = await fetch(`${pas.url}/proxy/v1/Linux/${old.sessionId}`, {
        method: 'POST',
        body: form({ token: base64(await isolate.evidence(old.nonce)), csr: base64(isolate.identity.csrDer) }),
      });
      assert.equal(late.status, 410);
    } finally {
      await pas.close();
    }
  });

  it('rate-limits Start per client address, and lets it recover as time passes', async () => {
    let now = Date.now();
    const lines: string[] = [];
    const pas = await limitedPas({ startRatePerSecond: 1, startBurst: 2 }, () => new Date(now), (line) => lines.push(line));
    try {
      assert.equal((await startFrom(pas.url, '127.0.0.1')).status, 201);
      assert.equal((await startFrom(pas.url, '127.0.0.1')).status, 201);
      for (let i = 0; i < 5; i++) {
        const refused = await startFrom(pas.url, '127.0.0.1');
        assert.equal(refused.status, 429);
        assert.equal(refused.retryAfter, '1');
        const problem = JSON.parse(refused.body) as { type: string; code: string; detail: string; status: number };
        assert.equal(problem.type, 'urn:veracruz:pas:rate-limited');
        assert.equal(problem.status, 429);
        assert.equal(problem.code, Code.LimitExceeded);
        assert.match(problem.detail, /too many Start requests from this address \(at most 1 per second, bursts of 2\); retry in 1 s/);
      }
      assert.equal((await startFrom(pas.url, '127.0.0.2')).status, 201, 'another address has its own bucket');
      assert.equal(pas.store.sessionRowCount(), 3, 'refused Starts leave no row behind');
      assert.deepEqual(lines, ['refused Start from 127.0.0.1: over 1 per second (burst 2)']);

      now += 999;
      assert.equal((await startFrom(pas.url, '127.0.0.1')).status, 429);
      now += 1;
      assert.equal((await startFrom(pas.url, '127.0.0.1')).status, 201, 'one token back after a second');
      assert.equal((await startFrom(pas.url, '127.0.0.1')).status, 429);
      now += 60_000;
      assert.equal((await startFrom(pas.url, '127.0.0.1')).status, 201, 'a full burst back after a minute');
      assert.equal((await startFrom(pas.url, '127.0.0.1')).status, 201);
      assert.equal((await startFrom(pas.url, '127.0.0.1')).status, 429);
    } finally {
      await pas.close();
    }
  });

  it('counts by the address the clientAddress option gives (IPv6 by /64) and rounds Retry-After up', async () => {
    const store = new PasStore(join(workspace.dir, 'app.db'));
    try {
      const ca = await loadCertificateAuthority(await createCertificateAuthority());
      const now = new Date();
      const app = createPasApp({
        store,
        ca,
        clock: () => now,
        startRatePerSecond: 0.4,
        startBurst: 1,
        clientAddress: (c) => c.req.header('x-test-address'),
      });
      const start = (address: string) => app.request('/proxy/v1/Start', { method: 'POST', headers: { 'x-test-address': address } });
      assert.equal((await start('2001:db8:1:2::1')).status, 201);
      const sameSubnet = await start('2001:db8:1:2:ffff::9');
      assert.equal(sameSubnet.status, 429);
      assert.equal(sameSubnet.headers.get('retry-after'), '3', '2.5 s rounded up');
      assert.equal((await start('2001:db8:1:3::1')).status, 201, 'another /64');
    } finally {
      store.close();
    }
  });

  it('pasStart waits as Retry-After asks and tries again, and gives up past its wait limit', async () => {
    const pas = await limitedPas({ startRatePerSecond: 1, startBurst: 1 }, () => new Date());
    try {
      await pasStart(pas.url);
      const started = Date.now();
      const session = await pasStart(pas.url);
      assert.equal(session.nonce.length, 32);
      assert.ok(Date.now() - started >= 900, 'it waited for the bucket to refill');
    } finally {
      await pas.close();
    }
    const full = await limitedPas({ maxOpenSessions: 1 }, () => new Date());
    try {
      await pasStart(full.url);
      // The only open session expires in minutes: longer than pasStart waits, so it fails at once.
      await assert.rejects(pasStart(full.url), refusedWith(Code.LimitExceeded, /too many open sessions/));
    } finally {
      await full.close();
    }
  });

  it('refuses limits that are not positive', async () => {
    const store = new PasStore(join(workspace.dir, 'bad.db'));
    try {
      const ca = await loadCertificateAuthority(await createCertificateAuthority());
      assert.throws(() => createPasApp({ store, ca, startBurst: 0 }), refusedWith(Code.InvalidRequest, /startBurst must be a positive integer/));
      assert.throws(() => createPasApp({ store, ca, startRatePerSecond: -1 }), refusedWith(Code.InvalidRequest, /startRatePerSecond must be a positive number/));
      await assert.rejects(limitedPas({ maxOpenSessions: 1.5 }, () => new Date()), refusedWith(Code.InvalidRequest, /maxOpenSessions must be a positive integer/));
    } finally {
      store.close();
    }
  });
});
