import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { Code, parseHostPort } from '@veracruz-ts/core';
import { ALL_RIGHTS, parsePolicy, type Policy, RIGHTS_WRITE } from '@veracruz-ts/policy';
import {
  decodeRequest,
  encodeResponse,
  FrameDecoder,
  frameMessage,
  ResponseStatus,
  type RuntimeManagerRequest,
  type RuntimeManagerResponse,
} from '@veracruz-ts/protocol';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { createTestPki, type InProcessComputation, startInProcess, testPolicyText, type TestPki } from '../session/test-fixture.ts';
import { DataflowSender, type DataflowSenderOptions } from './dataflow-sender.ts';
import { checkPeerCertificate } from './peer-certificate.ts';

const RETRY_MS = 20;
const OUTPUT = '/output/stats';
const DESTINATION = '/input/stats-1';
const RECEIVER_HASH = createHash('sha256').update('the receiver policy').digest('hex');
const OTHER_HASH = createHash('sha256').update('another policy').digest('hex');
const SUCCESS: RuntimeManagerResponse = { status: ResponseStatus.SUCCESS };

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
/** The bytes a write_file request carries (undefined for another request). */
const written = (request: RuntimeManagerRequest | undefined): Uint8Array | undefined => (request?.kind === 'write_file' ? Uint8Array.from(request.data) : undefined);
const writtenText = (request: RuntimeManagerRequest): string => new TextDecoder().decode(written(request));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the receiver does with a request: answers it (or with raw bytes), closes the connection without answering, or never answers. */
type Answer = RuntimeManagerResponse | Uint8Array | 'drop' | 'stall';

/** A stand-in for the receiving isolate: TLS 1.3 with an isolate certificate, asking for the client's, speaking the framed protocol. */
interface Receiver {
  address: string;
  port: number;
  /** Requests decoded, in order. */
  requests: RuntimeManagerRequest[];
  /** Application data bytes received, over all connections. */
  received: number;
  /** TCP connections accepted. */
  connections: number;
  /** The client certificates presented (DER). */
  clientCertificates: Buffer[];
  /** Resolves with the next request. */
  nextRequest(): Promise<RuntimeManagerRequest>;
  /** Answers the oldest request left unanswered ('stall'). */
  answerStalled(response: RuntimeManagerResponse): void;
  close(): Promise<void>;
}

async function startReceiver(identity: { chainPem: string; privateKeyPem: string }, answer: (request: RuntimeManagerRequest, index: number) => Answer = () => SUCCESS): Promise<Receiver> {
  const waiting: ((request: RuntimeManagerRequest) => void)[] = [];
  const sockets = new Set<tls.TLSSocket>();
  const stalled: tls.TLSSocket[] = [];
  const server = tls.createServer({
    key: identity.privateKeyPem, cert: identity.chainPem, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3',
  }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    receiver.clientCertificates.push(socket.getPeerX509Certificate()!.raw);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      receiver.received += chunk.length;
      for (const message of decoder.push(chunk)) {
        const request = decodeRequest(message);
        const index = receiver.requests.push(request) - 1;
        waiting.shift()?.(request);
        const reply = answer(request, index);
        if (reply === 'drop') socket.destroy();
        else if (reply === 'stall') stalled.push(socket);
        else socket.write(reply instanceof Uint8Array ? reply : frameMessage(encodeResponse(reply)));
      }
    });
  });
  server.on('connection', () => receiver.connections++);
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const receiver: Receiver = {
    address: `127.0.0.1:${port}`, port, requests: [], received: 0, connections: 0, clientCertificates: [],
    nextRequest: () => new Promise((resolve) => waiting.push(resolve)),
    answerStalled: (response) => stalled.shift()?.write(frameMessage(encodeResponse(response))),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  return receiver;
}

/** The sender's log, with a wait for a line. */
class Log {
  readonly lines: string[] = [];
  readonly #waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];

  readonly line = (line: string): void => {
    this.lines.push(line);
    for (const waiter of [...this.#waiting]) {
      if (waiter.pattern.test(line)) {
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };

  /** The lines about deliveries (`dataflow: ...`), in order. */
  get outcomes(): string[] {
    return this.lines.filter((line) => line.startsWith('dataflow: '));
  }

  /** The first line (logged already or to come) matching `pattern`. */
  until(pattern: RegExp): Promise<string> {
    const seen = this.lines.find((line) => pattern.test(line));
    return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => this.#waiting.push({ pattern, resolve }));
  }
}

/** A TCP connection to loopback `port`, as the host opens one; rejects as a refused connect does. */
function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

describe('DataflowSender', () => {
  let pki: TestPki;
  /** The receiver's isolate identity, binding RECEIVER_HASH; and one binding another policy. */
  let receiverIdentity: { chainPem: string; privateKeyPem: string };
  let impostorIdentity: { chainPem: string; privateKeyPem: string };
  const receivers: Receiver[] = [];

  before(async () => {
    pki = await createTestPki();
    receiverIdentity = await pki.bind({ hash: RECEIVER_HASH, identityHash: RECEIVER_HASH });
    impostorIdentity = await pki.bind({ hash: OTHER_HASH, identityHash: OTHER_HASH });
  });

  after(async () => {
    for (const receiver of receivers) await receiver.close();
  });

  async function receiver(identity = receiverIdentity, answer?: (request: RuntimeManagerRequest, index: number) => Answer): Promise<Receiver> {
    const started = await startReceiver(identity, answer);
    receivers.push(started);
    return started;
  }

  /** The sender's policy, pushing OUTPUT to DESTINATION at `address` on the isolate enforcing RECEIVER_HASH. */
  async function senderPolicy(address: string): Promise<Policy> {
    const policy = JSON.parse(testPolicyText({ principals: [], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash }));
    policy.dataflow = [{ address, file: OUTPUT, isolate: { policy_hash: RECEIVER_HASH }, path: DESTINATION }];
    return parsePolicy(JSON.stringify(policy, null, 2));
  }

  /** A sender for `address` whose outputs are `outputs` and whose connections go where `connect` says (default: the address itself). */
  async function sender(
    address: string,
    outputs: Map<string, Uint8Array>,
    options: Partial<DataflowSenderOptions> = {},
  ): Promise<{ sender: DataflowSender; log: Log; policy: Policy; connects: string[]; budget: MemoryBudget; held: () => number }> {
    const policy = await senderPolicy(address);
    const own = await pki.bind(policy);
    const log = new Log();
    const connects: string[] = [];
    const budget = new MemoryBudget(16 * 1024 * 1024);
    const dataflow = new DataflowSender({
      policy, certificateChainPem: own.chainPem, privateKeyPem: own.privateKeyPem, budget,
      connect: (to) => {
        connects.push(to);
        return tcp(parseHostPort(to).port);
      },
      readOutput: (path) => outputs.get(path),
      log: log.line,
      retryDelayMs: RETRY_MS,
      ...options,
    });
    // What the sender holds in the budget now: the copies waiting.
    const held = (): number => budget.usage().responses + budget.usage().requests;
    return { sender: dataflow, log, policy, connects, budget, held };
  }

  it('delivers the whole output in one write_file, once, after a successful run', async () => {
    const peer = await receiver();
    const data = bytes('mean=4.5 n=1000\n'.repeat(5000));
    const { sender: dataflow, log, connects, budget } = await sender(peer.address, new Map([[OUTPUT, data]]));
    await sleep(RETRY_MS * 2);
    assert.equal(connects.length, 0, 'nothing is sent before a run succeeded');
    dataflow.runSucceeded();
    assert.equal(budget.usage().responses, data.length, 'the copy waiting is held in the memory budget');
    const request = await peer.nextRequest();
    assert.equal(request.kind, 'write_file');
    assert.equal(request.kind === 'write_file' && request.fileName, DESTINATION);
    assert.deepEqual(written(request), data);
    assert.match(await log.until(/delivered/), new RegExp(`^dataflow: delivered ${OUTPUT} to ${DESTINATION} at ${peer.address} \\(${data.length} bytes, attempt 1\\)$`));
    assert.deepEqual(budget.usage(), new MemoryBudget(1).usage(), 'and released once delivered');
    await sleep(RETRY_MS * 5);
    assert.equal(peer.requests.length, 1);
    assert.deepEqual(connects, [peer.address]);
  });

  it("presents this isolate's certificate, binding its identity hash, as the client's", async () => {
    const peer = await receiver();
    const { sender: dataflow, log, policy } = await sender(peer.address, new Map([[OUTPUT, bytes('x')]]));
    dataflow.runSucceeded();
    await log.until(/delivered/);
    const [presented] = peer.clientCertificates;
    assert.ok(presented !== undefined);
    // What the receiver checks of a sender it names as a principal.
    await checkPeerCertificate(presented, { policy_hash: policy.identityHash, proxy_service_cert: pki.ca.certificatePem, runtimeHashes: [{ platform: 'linux', hash: pki.runtimeHash }] }, 'identityHash', new Date());
  });

  it("checks the receiver's certificate before sending anything: a server binding another policy gets no data", async () => {
    const impostor = await receiver(impostorIdentity);
    const { sender: dataflow, log, held } = await sender(impostor.address, new Map([[OUTPUT, bytes('secret statistics')]]), { giveUpAfterMs: RETRY_MS * 4 });
    dataflow.runSucceeded();
    // The first attempt's reason (later ones may end by the short give-up time on a loaded machine).
    assert.match(await log.until(/attempt 1 failed/), new RegExp(`attempt 1 failed.*: .*peer isolate: it enforces policy ${OTHER_HASH}, not ${RECEIVER_HASH}`));
    await log.until(/giving up/);
    assert.ok(impostor.connections >= 1, 'it did connect');
    assert.equal(impostor.received, 0);
    assert.deepEqual(impostor.requests, []);
    assert.equal(held(), 0);
  });

  it('retries after a connection that closed before the answer, and delivers (at least once)', async () => {
    const peer = await receiver(receiverIdentity, (_, index) => (index === 0 ? 'drop' : SUCCESS));
    const data = bytes('counts');
    const { sender: dataflow, log, held } = await sender(peer.address, new Map([[OUTPUT, data]]));
    dataflow.runSucceeded();
    assert.match(await log.until(/delivered/), /attempt 2\)$/);
    assert.equal(held(), 0);
    assert.match(await log.until(/attempt 1 failed/), /attempt 1 failed: .*closed before the peer answered/);
    assert.equal(peer.requests.length, 2, 'the write went twice: at least once');
    for (const request of peer.requests) assert.deepEqual(written(request), data);
  });

  it('retries after a refused connection, and delivers', async () => {
    const peer = await receiver();
    const refusing = await closedPort();
    let attempts = 0;
    const { sender: dataflow, log } = await sender(peer.address, new Map([[OUTPUT, bytes('counts')]]), {
      connect: (address) => tcp(attempts++ === 0 ? refusing : parseHostPort(address).port),
    });
    dataflow.runSucceeded();
    assert.match(await log.until(/delivered/), /attempt 2\)$/);
    assert.match(await log.until(/attempt 1 failed/), /attempt 1 failed: .*ECONNREFUSED/);
    assert.equal(peer.requests.length, 1);
  });

  it('retries when the host opens no connection, and delivers', async () => {
    const peer = await receiver();
    let attempts = 0;
    const { sender: dataflow, log } = await sender(peer.address, new Map([[OUTPUT, bytes('counts')]]), {
      connect: (address) => (attempts++ < 2 ? Promise.reject(new Error('the host opened no connection: failed: EHOSTUNREACH')) : tcp(parseHostPort(address).port)),
    });
    dataflow.runSucceeded();
    assert.match(await log.until(/delivered/), /attempt 3\)$/);
    assert.equal(peer.requests.length, 1);
  });

  it('retries a refusal a retry can change (Unavailable), and delivers', async () => {
    const notReady: RuntimeManagerResponse = { status: ResponseStatus.FAILED_NOT_READY, errorDetail: { code: Code.Unavailable, message: 'the computation is not ready' } };
    const peer = await receiver(receiverIdentity, (_, index) => (index === 0 ? notReady : SUCCESS));
    const { sender: dataflow, log } = await sender(peer.address, new Map([[OUTPUT, bytes('counts')]]));
    dataflow.runSucceeded();
    assert.match(await log.until(/delivered/), /attempt 2\)$/);
    assert.match(await log.until(/attempt 1 failed/), /attempt 1 failed: .*the peer refused the write: the computation is not ready/);
  });

  it('gives up at once on a final refusal (permission_denied), without retrying', async () => {
    const denied: RuntimeManagerResponse = { status: ResponseStatus.FAILED_INVALID_ROLE, errorDetail: { code: Code.PermissionDenied, message: `no write right on ${DESTINATION}` } };
    const peer = await receiver(receiverIdentity, () => denied);
    const { sender: dataflow, log, held } = await sender(peer.address, new Map([[OUTPUT, bytes('counts')]]));
    dataflow.runSucceeded();
    const line = await log.until(/failed/);
    assert.equal(held(), 0);
    assert.match(line, new RegExp(`attempt 1 failed, giving up: .*the peer refused the write: no write right on ${DESTINATION}`));
    await sleep(RETRY_MS * 5);
    assert.equal(peer.requests.length, 1);
    assert.equal(log.outcomes.length, 1);
    // Giving up is for this output: a later run's output is sent again.
    dataflow.runSucceeded();
    await peer.nextRequest();
    assert.equal(peer.requests.length, 2);
  });

  it('gives up after giveUpAfterMs of failed attempts', async () => {
    const refusing = await closedPort();
    const { sender: dataflow, log, connects, held } = await sender(`127.0.0.1:${refusing}`, new Map([[OUTPUT, bytes('counts')]]), { giveUpAfterMs: RETRY_MS * 10 });
    dataflow.runSucceeded();
    await log.until(/giving up/);
    assert.equal(held(), 0);
    const attempts = connects.length;
    assert.ok(attempts >= 2, `retried before giving up (${attempts} attempts)`);
    await sleep(RETRY_MS * 8);
    assert.equal(connects.length, attempts, 'no attempt after giving up');
  });

  it('fails the attempt, not the isolate, on an answer whose length prefix is over the limit, and retries', async () => {
    const oversized = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    const peer = await receiver(receiverIdentity, (_, index) => (index === 0 ? oversized : SUCCESS));
    const { sender: dataflow, log, held } = await sender(peer.address, new Map([[OUTPUT, bytes('counts')]]));
    dataflow.runSucceeded();
    assert.match(await log.until(/delivered|giving up/), /delivered .*attempt 2\)$/);
    assert.match(await log.until(/attempt 1 failed/), /attempt 1 failed: \[limit_exceeded\] message of \d+ bytes exceeds the maximum/);
    assert.equal(held(), 0);
  });

  it('does not wait for ever on a peer that never answers: the attempt ends when the delivery is given up', async () => {
    const peer = await receiver(receiverIdentity, () => 'stall');
    const { sender: dataflow, log, held } = await sender(peer.address, new Map([[OUTPUT, bytes('counts')]]), { giveUpAfterMs: RETRY_MS * 10 });
    dataflow.runSucceeded();
    await peer.nextRequest();
    assert.match(await log.until(/giving up/), /attempt 1 failed, giving up: .*the peer did not answer/);
    assert.equal(held(), 0);
  });

  it('sends only the newest output when newer runs succeed while a delivery waits to be retried', async () => {
    const peer = await receiver();
    const outputs = new Map([[OUTPUT, bytes('run 1')]]);
    let attempts = 0;
    let refused = (): void => {};
    const firstRefused = new Promise<void>((resolve) => (refused = resolve));
    const { sender: dataflow, log, budget } = await sender(peer.address, outputs, {
      retryDelayMs: RETRY_MS * 5,
      connect: (address) => {
        if (attempts++ > 0) return tcp(parseHostPort(address).port);
        refused();
        return Promise.reject(new Error('the host opened no connection: failed: ECONNREFUSED'));
      },
    });
    dataflow.runSucceeded();
    await firstRefused;
    outputs.set(OUTPUT, bytes('run 2'));
    dataflow.runSucceeded();
    outputs.set(OUTPUT, bytes('run 3!'));
    dataflow.runSucceeded();
    assert.equal(budget.usage().responses, 6, 'only the newest copy is held');
    assert.match(await log.until(/delivered/), /\(6 bytes, attempt 2\)$/);
    assert.equal(budget.usage().responses, 0);
    await sleep(RETRY_MS * 5);
    assert.deepEqual(peer.requests.map(writtenText), ['run 3!']);
    assert.equal(attempts, 2, 'one delivery at a time: the newer runs started no attempt of their own');
  });

  it('sends the newest output after the one in flight, skipping those in between', async () => {
    const peer = await receiver(receiverIdentity, (_, index) => (index === 0 ? 'stall' : SUCCESS));
    const outputs = new Map([[OUTPUT, bytes('run 1')]]);
    const { sender: dataflow, log, connects, budget } = await sender(peer.address, outputs);
    dataflow.runSucceeded();
    await peer.nextRequest();
    assert.deepEqual([budget.usage().responses, budget.usage().requests], [5, 5], 'the copy and the request in flight');
    outputs.set(OUTPUT, bytes('run 2'));
    dataflow.runSucceeded();
    outputs.set(OUTPUT, bytes('run 3!'));
    dataflow.runSucceeded();
    await sleep(RETRY_MS * 2);
    assert.equal(connects.length, 1, 'the newer runs started no delivery of their own');
    assert.deepEqual([budget.usage().responses, budget.usage().requests], [6, 5], 'the newest copy replaced the one sent, which is still held as the request');
    peer.answerStalled(SUCCESS);
    assert.match(await log.until(/attempt 2\)$/), /\(6 bytes, attempt 2\)$/);
    assert.deepEqual(peer.requests.map(writtenText), ['run 1', 'run 3!']);
    assert.deepEqual([budget.usage().responses, budget.usage().requests], [0, 0]);
  });

  it('does not send an output the memory budget cannot hold a copy of, and says so', async () => {
    const peer = await receiver();
    const { sender: dataflow, log, connects } = await sender(peer.address, new Map([[OUTPUT, new Uint8Array(2048)]]), { budget: new MemoryBudget(1024, 0) });
    dataflow.runSucceeded();
    assert.deepEqual(log.outcomes, [`dataflow: ${OUTPUT} not sent: the memory budget cannot hold a copy of its 2048 bytes`]);
    await sleep(RETRY_MS * 3);
    assert.deepEqual(connects, []);
  });

  it('retries while the memory budget cannot hold the request as well, and gives up in the end, holding nothing', async () => {
    const peer = await receiver();
    const budget = new MemoryBudget(3000, 0);
    const { sender: dataflow, log, connects } = await sender(peer.address, new Map([[OUTPUT, new Uint8Array(2048)]]), { budget, giveUpAfterMs: RETRY_MS * 3 });
    dataflow.runSucceeded();
    assert.match(await log.until(/giving up/), /limit_exceeded|the memory budget cannot hold the 2048-byte request now/);
    assert.deepEqual(connects, [], 'no connection is asked for a request that cannot be held');
    assert.equal(budget.used, 0);
  });

  it('does not send an output that does not exist', async () => {
    const peer = await receiver();
    const { sender: dataflow, log, connects } = await sender(peer.address, new Map());
    dataflow.runSucceeded();
    await sleep(RETRY_MS * 5);
    assert.deepEqual(connects, []);
    assert.deepEqual(log.outcomes, []);
    assert.equal(peer.connections, 0);
  });
});

describe('DataflowSender to a session manager in this process', () => {
  let pki: TestPki;
  const computations: InProcessComputation[] = [];

  before(async () => {
    pki = await createTestPki();
  });

  after(async () => {
    for (const computation of computations) await computation.close();
  });

  /** The sender's policy text pushing OUTPUT to DESTINATION on the isolate enforcing `receiverHash`. */
  function senderText(receiverHash: string): string {
    const policy = JSON.parse(testPolicyText({ principals: [], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash }));
    policy.dataflow = [{ address: '127.0.0.1:7010', file: OUTPUT, isolate: { policy_hash: receiverHash }, path: DESTINATION }];
    return JSON.stringify(policy, null, 2);
  }

  /**
   * A receiver naming `senderIdentityHash` as a principal allowed to write DESTINATION, in this process,
   * and a sender towards it whose connections are sessions of it.
   */
  async function pair(senderIdentityHash: string): Promise<{ receiver: InProcessComputation; sender: DataflowSender; log: Log; budget: MemoryBudget }> {
    const receiverPolicy = JSON.parse(testPolicyText({ principals: [], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash }));
    receiverPolicy.identities.push({ file_rights: [{ file_name: DESTINATION, rights: RIGHTS_WRITE }], id: 0, isolate: { policy_hash: senderIdentityHash } });
    const receiver = await startInProcess(JSON.stringify(receiverPolicy, null, 2), pki);
    computations.push(receiver);
    const policy = await parsePolicy(senderText(receiver.policy.hash));
    const own = await pki.bind(policy);
    const log = new Log();
    const budget = new MemoryBudget(16 * 1024 * 1024);
    const sender = new DataflowSender({
      policy, certificateChainPem: own.chainPem, privateKeyPem: own.privateKeyPem, budget, log: log.line, retryDelayMs: RETRY_MS,
      connect: async () => receiver.openSession(),
      readOutput: (path) => (path === OUTPUT ? bytes('mean=4.5 n=1000') : undefined),
    });
    return { receiver, sender, log, budget };
  }

  it('writes the output into the receiver that names this isolate by its identity hash', async () => {
    // The identity hash does not depend on the receiver's hash the sender names: it is known first.
    const identityHash = (await parsePolicy(senderText(OTHER_HASH))).identityHash;
    const { receiver, sender: dataflow, log, budget } = await pair(identityHash);
    dataflow.runSucceeded();
    assert.match(await log.until(/delivered|giving up/), /delivered .*attempt 1\)$/);
    assert.equal(new TextDecoder().decode(receiver.vfs.view([{ file_name: DESTINATION, rights: ALL_RIGHTS }]).readFile(DESTINATION)), 'mean=4.5 n=1000');
    assert.equal(budget.used, 0);
  });

  it('gives up at once when the receiver refuses this isolate (certificate_unknown), without retrying', async () => {
    const { receiver, sender: dataflow, log, budget } = await pair(OTHER_HASH);
    dataflow.runSucceeded();
    assert.match(await log.until(/failed/), /attempt 1 failed, giving up: .*the peer refused this isolate: .*alert number 46/);
    await sleep(RETRY_MS * 5);
    assert.equal(log.outcomes.length, 1);
    assert.match(receiver.sessionErrors.join('\n'), /not one of the policy identities/);
    assert.equal(budget.used, 0);
  });
});
