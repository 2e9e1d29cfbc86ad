import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, readlink, readdir, rm } from 'node:fs/promises';
import { createIsolateIdentity, createCertificateAuthority, encodePolicyBinding, issueIsolateCertificate, pemToDer } from '@veracruz-ts/attestation/certificates';
import type { CertificateAuthorityPem } from '@veracruz-ts/attestation/certificates';
import { verifyLinuxEvidence } from '@veracruz-ts/attestation/evidence';
import { Code } from '@veracruz-ts/core';
import { createIdentity } from '@veracruz-ts/policy';
import { ChannelConnection, DEFAULT_SESSION_WINDOW, decodeIsolateMessage, encodeHostMessage, EvidenceSource, encodeMessage } from '@veracruz-ts/protocol/channel';
import type { ChannelMessage, SessionSocketClosedMessage } from '@veracruz-ts/protocol/channel';
import { decodeResponse, encodeRequest, FrameDecoder, frameMessage } from '@veracruz-ts/protocol';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import tls from 'node:tls';
import { generateDevKey, importDevPrivateKey } from '@veracruz-ts/attestation/evidence';
import { canUnshareNetwork, launchLinuxIsolate } from './platforms/linux.ts';
import type { LaunchedIsolate } from './platforms/types.ts';
import { buildRuntimeBundle, sha256 } from '@veracruz-ts/runtime/bundle';
import type { RuntimeBundle } from '@veracruz-ts/runtime/bundle';
import { policyFor } from './testing.ts';

/** The test plays the host: it launches the real isolate process and speaks the channel itself. */
class TestHost {
  readonly isolate: LaunchedIsolate;
  readonly channel: ChannelConnection;
  readonly log: string[];
  readonly devPublicKeyPem: string;
  readonly #inbox: ChannelMessage[] = [];
  #wake: (() => void) | undefined;

  static async launch(runtimePath: string, options: { sessionSockets?: boolean } = {}): Promise<TestHost> {
    const pair = await generateDevKey();
    const devKey = await importDevPrivateKey(pair.privateKeyPem);
    const log: string[] = [];
    const isolate = await launchLinuxIsolate({ runtimePath, devKey, log: (line) => log.push(line), ...options });
    return new TestHost(isolate, log, pair.publicKeyPem);
  }

  private constructor(isolate: LaunchedIsolate, log: string[], devPublicKeyPem: string) {
    this.isolate = isolate;
    this.log = log;
    this.devPublicKeyPem = devPublicKeyPem;
    this.channel = new ChannelConnection({
      input: isolate.input,
      output: isolate.output,
      receives: decodeIsolateMessage, sends: encodeHostMessage,
      onMessage: (message) => {
        this.#inbox.push(message);
        this.#wake?.();
      },
      onError: () => {},
      onEnd: () => this.#wake?.(),
    });
  }

  send(message: ChannelMessage): void {
    this.channel.send(message);
  }

  async next(): Promise<ChannelMessage> {
    while (this.#inbox.length === 0) {
      if (this.channel.closed) throw new Error(`the isolate closed the channel; its log: ${this.log.join(' | ')}`);
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    return this.#inbox.shift()!;
  }

  async stop(): Promise<void> {
    this.isolate.kill();
    await this.isolate.exited;
  }
}

describe('the isolate process (real child, channel spoken by the test)', () => {
  let bundle: RuntimeBundle;
  let ca: CertificateAuthorityPem;
  let policyText: string;
  let principal: { certificatePem: string; privateKeyPem: string };

  let dir: string;
  before(async () => {
    // A private copy of the bundle, so a concurrent rebuild cannot change the bytes under test.
    const shared = await buildRuntimeBundle();
    dir = await mkdtemp(join(tmpdir(), 'vc-isolate-boot-'));
    const path = join(dir, 'veracruz-runtime.mjs');
    await copyFile(shared.path, path);
    bundle = { path, measurement: sha256(await readFile(path)), rebuilt: false };
    ca = await createCertificateAuthority();
    principal = await createIdentity('principal');
    policyText = policyFor({ principal: { ...principal, rights: [] }, pasCertificatePem: ca.certificatePem, pasAddress: '127.0.0.1:3010', runtimeHash: bundle.measurement });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function attest(host: TestHost): Promise<Extract<ChannelMessage, { type: 'attestation-response' }>> {
    // The policy has no dataflow: its identity hash is its policy hash.
    const hash = createHash('sha256').update(policyText).digest();
    host.send({ type: 'attestation-request', nonce: new Uint8Array(32).fill(3), policyBinding: encodePolicyBinding(hash, hash) });
    const reply = await host.next();
    assert.equal(reply.type, 'attestation-response');
    return reply as Extract<ChannelMessage, { type: 'attestation-response' }>;
  }

  async function chainFor(csrDer: Uint8Array, measurement: Uint8Array = Buffer.from(bundle.measurement, 'hex')): Promise<Uint8Array[]> {
    const leaf = await issueIsolateCertificate({ csrDer, measurement, ca, notBefore: new Date(Date.now() - 60_000) });
    return [leaf, pemToDer(ca.certificatePem, 'CERTIFICATE', 'CA')];
  }

  it('refuses sessions until initialized, then serves them once its certificate and policy check out', async () => {
    const host = await TestHost.launch(bundle.path);
    try {
      host.send({ type: 'new-session', sessionId: 1 });
      assert.deepEqual(await host.next(), { type: 'close', sessionId: 1, reason: 'the isolate is not ready to serve (booting)' });
      host.send({ type: 'initialize', policy: new TextEncoder().encode(policyText), certificateChain: [] });
      const early = await host.next();
      assert.equal(early.type, 'status');
      assert.equal(early.type === 'status' && early.code, Code.InvalidRequest);

      const response = await attest(host);
      assert.equal(response.source, EvidenceSource.Launcher);
      assert.equal(response.evidence.length, 0);
      assert.equal(response.csr[0], 0x30, 'a DER CSR');

      // The launcher's evidence binds this CSR: the PAS-side verifier accepts it for this measurement.
      const nonce = new Uint8Array(32).fill(3);
      const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', response.csr));
      const evidence = await host.isolate.evidenceFor({ csrHash: hash, nonce });
      const claims = await verifyLinuxEvidence(evidence, { at: new Date(), enrolledKeys: [host.devPublicKeyPem], expectedNonce: nonce, expectedCsrHash: hash });
      assert.equal(Buffer.from(claims.measurement).toString('hex'), bundle.measurement);
      assert.equal(claims.insecure, true);

      // A certificate for someone else's key is refused.
      const stranger = await createIsolateIdentity();
      host.send({ type: 'initialize', policy: new TextEncoder().encode(policyText), certificateChain: await chainFor(stranger.csrDer) });
      const refused = await host.next();
      assert.ok(refused.type === 'status' && refused.code === Code.AttestationFailed && /not this isolate's key/.test(refused.message), JSON.stringify(refused));

      // A certificate with another runtime hash is refused.
      host.send({ type: 'initialize', policy: new TextEncoder().encode(policyText), certificateChain: await chainFor(response.csr, new Uint8Array(32).fill(9)) });
      const wrongHash = await host.next();
      assert.ok(wrongHash.type === 'status' && wrongHash.code === Code.AttestationFailed && /runtime_manager_hash_linux/.test(wrongHash.message), JSON.stringify(wrongHash));

      // A malformed policy is refused with the parser's reason.
      host.send({ type: 'initialize', policy: new TextEncoder().encode('{"identities": 3}'), certificateChain: await chainFor(response.csr) });
      const badPolicy = await host.next();
      assert.ok(badPolicy.type === 'status' && badPolicy.code === Code.InvalidPolicy, JSON.stringify(badPolicy));

      host.send({ type: 'initialize', policy: new TextEncoder().encode(policyText), certificateChain: await chainFor(response.csr) });
      assert.deepEqual(await host.next(), { type: 'status', code: 'ok', message: '' });

      // Now a session is taken: the isolate grants its window, and answers the host's close with its own.
      host.send({ type: 'new-session', sessionId: 2 });
      assert.deepEqual(await host.next(), { type: 'ack', sessionId: 2, bytes: DEFAULT_SESSION_WINDOW });
      host.send({ type: 'close', sessionId: 2, reason: 'client disconnected' });
      const closed = await host.next();
      assert.equal(closed.type, 'close');
      assert.equal(closed.type === 'close' && closed.sessionId, 2);
      assert.notEqual(closed.type === 'close' && closed.reason, 'the isolate is not ready to serve (booting)');

      // Once serving, a second attestation is refused.
      host.send({ type: 'attestation-request', nonce: new Uint8Array(32) });
      const again = await host.next();
      assert.ok(again.type === 'status' && again.code === Code.InvalidRequest, JSON.stringify(again));
    } finally {
      await host.stop();
    }
  });

  it('takes clients\' sockets on its IPC channel: refuses them (and says so) until it serves, then terminates TLS on them itself', async () => {
    const host = await TestHost.launch(bundle.path, { sessionSockets: true });
    const listener = createServer({ pauseOnConnect: true });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    try {
      // Its environment holds only what names the IPC channel.
      const environment = (await readFile(`/proc/${host.isolate.pid}/environ`, 'utf8')).split('\0').filter((entry) => entry !== '');
      assert.deepEqual(environment.map((entry) => entry.split('=')[0]).sort(), ['NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE']);
      const reports: SessionSocketClosedMessage[] = [];
      let reported: () => void = () => {};
      host.isolate.sessionSockets!.onClosed((message) => {
        reports.push(message);
        reported();
      });
      const report = (): Promise<void> => new Promise((resolve) => (reported = resolve));
      /** A client connection, whose accepted end is handed to the isolate as `sessionId`. */
      const handOver = async (sessionId: number): Promise<Socket> => {
        const accepted = once(listener, 'connection') as Promise<[Socket]>;
        const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
        client.on('error', () => {});
        const [socket] = await accepted;
        await new Promise<void>((resolve, reject) => host.isolate.sessionSockets!.send(sessionId, socket, (error) => (error ? reject(error) : resolve())));
        assert.equal(socket.destroyed, true, 'the host closed its copy once sent');
        return client;
      };

      let closed = report();
      const early = await handOver(1);
      // The client may see the connection close before the isolate's report reaches the host.
      const earlyClosed = once(early.resume(), 'close');
      await closed;
      assert.deepEqual(reports.at(-1), { type: 'session-socket-closed', sessionId: 1, bytesFromClient: 0, bytesToClient: 0, reason: 'refused: the isolate is not ready to serve (booting)' });
      await earlyClosed;

      const response = await attest(host);
      host.send({ type: 'initialize', policy: new TextEncoder().encode(policyText), certificateChain: await chainFor(response.csr) });
      assert.deepEqual(await host.next(), { type: 'status', code: 'ok', message: '' });

      closed = report();
      const session = tls.connect({
        socket: await handOver(2), ca: [ca.certificatePem], cert: principal.certificatePem, key: principal.privateKeyPem,
        minVersion: 'TLSv1.3', checkServerIdentity: () => undefined,
      });
      await once(session, 'secureConnect');
      const decoder = new FrameDecoder();
      session.write(frameMessage(encodeRequest({ kind: 'request_policy_hash' })));
      const [chunk] = (await once(session, 'data')) as [Buffer];
      const [message] = decoder.push(chunk);
      const body = decodeResponse(message!).body;
      assert.equal(body?.kind === 'policy_hash' ? new TextDecoder().decode(body.data) : undefined, sha256(new TextEncoder().encode(policyText)));
      session.end();
      await closed;
      const last = reports.at(-1)!;
      assert.equal(last.sessionId, 2);
      assert.equal(last.reason, 'the session ended');
      assert.ok(last.bytesFromClient > 500 && last.bytesToClient > 500, JSON.stringify(last));
    } finally {
      listener.close();
      await host.stop();
    }
  });

  it('exits when the host sends shutdown, and when the host goes away', async () => {
    const first = await TestHost.launch(bundle.path);
    first.send({ type: 'shutdown', reason: 'test' });
    assert.deepEqual(await first.isolate.exited, { code: 0, signal: null });
    const second = await TestHost.launch(bundle.path);
    second.channel.close();
    const exit = await second.isolate.exited;
    assert.equal(exit.signal, null);
  });

  it('exits non-zero on a malformed channel stream', async () => {
    const host = await TestHost.launch(bundle.path);
    host.isolate.output.write(encodeMessage({ type: 'new-session', sessionId: 1 }).subarray(0, 4));
    host.isolate.output.write(Uint8Array.of(99, 0, 0, 0, 0));
    const exit = await host.isolate.exited;
    assert.equal(exit.code, 1);
    assert.ok(host.log.some((line) => /channel failed: .*unknown message type 99/.test(line)), host.log.join('\n'));
  });

  it('runs sandboxed: empty environment, empty working directory, permission model, own network namespace', async () => {
    const host = await TestHost.launch(bundle.path);
    try {
      await attest(host); // it is up
      const pid = host.isolate.pid!;
      assert.equal((await readFile(`/proc/${pid}/environ`)).length, 0, 'empty environment');
      const cwd = await readlink(`/proc/${pid}/cwd`);
      assert.deepEqual(await readdir(cwd), []);
      const commandLine = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      assert.ok(commandLine.includes('--permission'));
      assert.ok(commandLine.includes('--no-liftoff'));
      assert.ok(commandLine.includes('--disallow-code-generation-from-strings'));
      assert.ok(!commandLine.some((argument) => argument.startsWith('--allow-fs-write') || argument === '--allow-child-process' || argument === '--allow-addons'));
      const runtimeFile = commandLine.find((argument) => argument.endsWith('veracruz-runtime.mjs') && !argument.startsWith('--'))!;
      assert.equal(Buffer.from(host.isolate.measurement!).toString('hex'), bundle.measurement);
      assert.deepEqual(await readFile(runtimeFile), await readFile(bundle.path), 'it runs the bytes that were measured');
      if (canUnshareNetwork()) {
        assert.notEqual(await readlink(`/proc/${pid}/ns/net`), await readlink('/proc/self/ns/net'), 'a network namespace of its own');
        const interfaces = (await readFile(`/proc/${pid}/net/dev`, 'utf8')).split('\n').slice(2).filter((line) => line.trim() !== '').map((line) => line.split(':')[0]!.trim());
        assert.deepEqual(interfaces, ['lo'], 'no interface but loopback');
        assert.notEqual(await readlink(`/proc/${pid}/ns/user`), await readlink('/proc/self/ns/user'), 'a user namespace of its own');
        assert.match(await readFile(`/proc/${pid}/uid_map`, 'utf8'), /^$/, 'no uid mapped: nobody inside');
      }
    } finally {
      await host.stop();
    }
  });
});
