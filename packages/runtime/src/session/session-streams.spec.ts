import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import {
  decodeResponse,
  encodeRequest,
  FrameDecoder,
  frameMessage,
  ResponseStatus,
  type RuntimeManagerRequest,
  type RuntimeManagerResponse,
} from '@veracruz-ts/protocol';
import { createTestPki, createTestPrincipal, type InProcessComputation, startInProcess, type TestPrincipal, testPolicyText } from './test-fixture.ts';

/** A TLS client of the framed protocol: requests may be sent back to back, answers come in order. */
class Client {
  readonly socket: tls.TLSSocket;
  readonly #decoder = new FrameDecoder();
  readonly #answers: ((response: RuntimeManagerResponse) => void)[] = [];

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const message of this.#decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) this.#answers.shift()?.(decodeResponse(message));
    });
    socket.on('error', () => {});
  }

  static async open(computation: InProcessComputation, principal: TestPrincipal): Promise<Client> {
    const socket = tls.connect({
      socket: computation.openSession(),
      ca: [computation.policy.proxy_service_cert],
      cert: principal.certificatePem,
      key: principal.privateKeyPem,
      minVersion: 'TLSv1.3',
      checkServerIdentity: () => undefined,
    });
    await once(socket, 'secureConnect');
    return new Client(socket);
  }

  /** Sends `requests` in one write; resolves with their answers. */
  send(...requests: RuntimeManagerRequest[]): Promise<RuntimeManagerResponse[]> {
    const answers = requests.map(() => new Promise<RuntimeManagerResponse>((resolve) => this.#answers.push(resolve)));
    this.socket.write(Buffer.concat(requests.map((request) => frameMessage(encodeRequest(request)))));
    return Promise.all(answers);
  }
}

const encoder = new TextEncoder();

describe('SessionManager: a writer\'s session ending, for its streams', () => {
  let writer: TestPrincipal;
  let reader: TestPrincipal;
  let computation: InProcessComputation;

  before(async () => {
    const pki = await createTestPki();
    writer = await createTestPrincipal('writer', [{ file_name: '/input/', rights: RIGHTS_WRITE }]);
    reader = await createTestPrincipal('reader', [{ file_name: '/input/', rights: RIGHTS_READ }]);
    const value = JSON.parse(testPolicyText({ principals: [writer, reader], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash })) as Record<string, unknown>;
    value['streams'] = [{ path: '/input/aborted' }, { path: '/input/closed' }];
    computation = await startInProcess(JSON.stringify(value, null, 2), pki);
  });
  after(() => computation.close());

  it('fails the stream when the writer disconnects without closing it; a follower learns why', async () => {
    const follower = await Client.open(computation, reader);
    const session = await Client.open(computation, writer);
    const [appended] = await session.send({ kind: 'append_file', fileName: '/input/aborted', data: encoder.encode('part') });
    assert.equal(appended?.status, ResponseStatus.SUCCESS);
    const waiting = follower.send({ kind: 'read_stream', fileName: '/input/aborted', offset: 4, length: 100, waitMs: 10_000 });
    session.socket.destroy();
    const [answer] = await waiting;
    assert.equal(answer?.errorDetail?.code, 'unavailable');
    assert.equal(answer?.errorDetail?.message, 'read_stream /input/aborted: stream /input/aborted failed: writer identity 0 left without closing it');
    follower.socket.end();
  });

  it('serves a close_stream sent just before the disconnect first: the stream ends, it does not fail', async () => {
    const session = await Client.open(computation, writer);
    const sent = session.send(
      { kind: 'append_file', fileName: '/input/closed', data: encoder.encode('all of it') },
      { kind: 'close_stream', fileName: '/input/closed' },
    );
    session.socket.end();
    await sent.catch(() => undefined);
    await once(session.socket, 'close');
    const follower = await Client.open(computation, reader);
    const [answer] = await follower.send({ kind: 'read_stream', fileName: '/input/closed', offset: 0, length: 100, waitMs: 10_000 });
    assert.deepEqual(answer?.body, { kind: 'stream_chunk', data: encoder.encode('all of it'), end: true });
    follower.socket.end();
  });
});
