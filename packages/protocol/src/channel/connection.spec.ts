import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { Code, type VeracruzError } from '@veracruz-ts/core';
import { decodeBody, encodeMessage } from './codec.ts';
import { ChannelConnection } from './connection.ts';
import type { ChannelMessage } from './messages.ts';

function pair() {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const received: ChannelMessage[] = [];
  const errors: VeracruzError[] = [];
  let ended = 0;
  const a = new ChannelConnection({ input: bToA, output: aToB, receives: decodeBody, sends: encodeMessage, onMessage: () => {}, onError: () => {}, onEnd: () => {} });
  const b = new ChannelConnection({
    input: aToB, output: bToA, receives: decodeBody, sends: encodeMessage,
    onMessage: (message) => received.push(message),
    onError: (error) => errors.push(error),
    onEnd: () => ended++,
  });
  return { a, b, aToB, received, errors, ended: () => ended };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ChannelConnection', () => {
  it('delivers messages in order', async () => {
    const { a, received } = pair();
    a.send({ type: 'new-session', sessionId: 1 });
    a.send({ type: 'tls-data', sessionId: 1, data: Uint8Array.of(1, 2, 3) });
    a.send({ type: 'shutdown', reason: 'done' });
    await tick();
    assert.deepEqual(received, [
      { type: 'new-session', sessionId: 1 },
      { type: 'tls-data', sessionId: 1, data: Uint8Array.of(1, 2, 3) },
      { type: 'shutdown', reason: 'done' },
    ]);
  });

  it('reports a malformed stream once and closes', async () => {
    const { aToB, b, errors, received } = pair();
    aToB.write(Uint8Array.of(0, 0, 0, 0, 42));
    aToB.write(Uint8Array.of(0, 0, 0, 4, 1, 0, 0, 0, 1));
    await tick();
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, Code.InvalidRequest);
    assert.match(errors[0]!.message, /unknown message type 42/);
    assert.equal(received.length, 0);
    assert.equal(b.closed, true);
  });

  it('tells when the peer ends its side', async () => {
    const { a, ended, b } = pair();
    a.close();
    await tick();
    await tick();
    assert.equal(ended(), 1);
    assert.equal(b.closed, true);
  });

  it('flushes what was sent before close, and drops what is sent after', async () => {
    const { a, received } = pair();
    a.send({ type: 'isolate-error', code: Code.Internal, message: 'last words' });
    a.close();
    a.send({ type: 'new-session', sessionId: 9 });
    await tick();
    assert.deepEqual(received, [{ type: 'isolate-error', code: Code.Internal, message: 'last words' }]);
  });
});
