import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { ResponseStatus } from '@veracruz-ts/protocol';
import { createTestPki, createTestPrincipal, type InProcessComputation, RawSession, startInProcess, type TestPrincipal, testPolicyText } from './test-fixture.ts';

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
    const follower = await RawSession.open(computation, reader);
    const session = await RawSession.open(computation, writer);
    const [appended] = await session.sendAll({ kind: 'append_file', fileName: '/input/aborted', data: encoder.encode('part') });
    assert.equal(appended?.status, ResponseStatus.SUCCESS);
    const waiting = follower.sendAll({ kind: 'read_stream', fileName: '/input/aborted', offset: 4, length: 100, waitMs: 10_000 });
    session.socket.destroy();
    const [answer] = await waiting;
    assert.equal(answer?.errorDetail?.code, 'unavailable');
    assert.equal(answer?.errorDetail?.message, 'read_stream /input/aborted: stream /input/aborted failed: writer identity 0 left without closing it');
    follower.socket.end();
  });

  it('serves a close_stream sent just before the disconnect first: the stream ends, it does not fail', async () => {
    const session = await RawSession.open(computation, writer);
    const sent = session.sendAll(
      { kind: 'append_file', fileName: '/input/closed', data: encoder.encode('all of it') },
      { kind: 'close_stream', fileName: '/input/closed' },
    );
    session.socket.end();
    await sent.catch(() => undefined);
    await once(session.socket, 'close');
    const follower = await RawSession.open(computation, reader);
    const [answer] = await follower.sendAll({ kind: 'read_stream', fileName: '/input/closed', offset: 0, length: 100, waitMs: 10_000 });
    assert.deepEqual(answer?.body, { kind: 'stream_chunk', data: encoder.encode('all of it'), end: true });
    follower.socket.end();
  });
});
