import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { AckBatcher, ReceiveWindow, SessionSender } from './flow-control.ts';
import type { ChannelMessage } from './messages.ts';

/** A sender whose peer granted `window` bytes. */
function sender(window: number, maxChunk: number) {
  const sent: ChannelMessage[] = [];
  let drains = 0;
  const instance = new SessionSender({ sessionId: 3, maxChunk, send: (message) => sent.push(message), onDrain: () => drains++ });
  instance.acknowledge(window);
  return { instance, sent, drains: () => drains };
}

function payloadSizes(messages: ChannelMessage[]): number[] {
  return messages.map((message) => (message.type === 'tls-data' ? message.data.length : -1));
}

describe('SessionSender', () => {
  it('sends nothing before the peer grants credit', () => {
    const sent: ChannelMessage[] = [];
    let drains = 0;
    const instance = new SessionSender({ sessionId: 1, send: (message) => sent.push(message), onDrain: () => drains++ });
    assert.equal(instance.write(new Uint8Array(10)), false);
    assert.equal(sent.length, 0);
    instance.acknowledge(4);
    assert.deepEqual(payloadSizes(sent), [4]);
    instance.acknowledge(100);
    assert.deepEqual(payloadSizes(sent), [4, 6]);
    assert.equal(drains, 1);
    assert.equal(instance.credit, 94);
  });

  it('sends within the window and splits into chunks', () => {
    const { instance, sent } = sender(100, 30);
    assert.equal(instance.write(new Uint8Array(70)), true);
    assert.deepEqual(payloadSizes(sent), [30, 30, 10]);
    assert.equal(instance.inFlight, 70);
    assert.equal(instance.queuedBytes, 0);
  });

  it('queues beyond the window, and drains as acks return credit', () => {
    const { instance, sent, drains } = sender(100, 64);
    const data = Uint8Array.from({ length: 250 }, (_, index) => index);
    assert.equal(instance.write(data), false);
    assert.equal(instance.inFlight, 100);
    assert.equal(instance.queuedBytes, 150);
    instance.acknowledge(40);
    assert.equal(instance.inFlight, 100);
    assert.equal(instance.queuedBytes, 110);
    assert.equal(drains(), 0);
    instance.acknowledge(100);
    instance.acknowledge(100);
    assert.equal(instance.queuedBytes, 0);
    assert.equal(drains(), 1);
    const bytes = Buffer.concat(sent.map((message) => (message.type === 'tls-data' ? message.data : new Uint8Array(0))));
    assert.deepEqual([...bytes], [...data]);
    for (const message of sent) assert.equal(message.type === 'tls-data' && message.sessionId, 3);
  });

  it('never has more than the window in flight, whatever the write sizes', () => {
    const { instance } = sender(1000, 300);
    for (let round = 0; round < 50; round++) {
      instance.write(new Uint8Array((round * 37) % 900));
      assert.ok(instance.inFlight <= 1000);
      if (round % 3 === 0 && instance.inFlight > 0) instance.acknowledge(Math.ceil(instance.inFlight / 2));
    }
  });

  it('refuses empty, fractional and absurd grants (a misbehaving peer)', () => {
    const { instance } = sender(100, 100);
    assert.throws(() => instance.acknowledge(0), (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidRequest && /granted 0 bytes on top of 100/.test(error.message));
    assert.throws(() => instance.acknowledge(1.5), VeracruzError);
    assert.throws(() => instance.acknowledge(0x7fffffff), VeracruzError);
  });

  it('drops the queue when closed and refuses later writes', () => {
    const { instance } = sender(10, 10);
    instance.write(new Uint8Array(30));
    instance.close();
    assert.equal(instance.queuedBytes, 0);
    assert.throws(() => instance.write(new Uint8Array(1)), (error: unknown) => error instanceof VeracruzError && error.code === Code.Unavailable);
  });
});

describe('ReceiveWindow', () => {
  it('grants its window, then turns consumption into acks', () => {
    const window = new ReceiveWindow(5, 100);
    assert.deepEqual(window.grant(), { type: 'ack', sessionId: 5, bytes: 100 });
    window.received(60);
    assert.deepEqual(window.consumed(60), { type: 'ack', sessionId: 5, bytes: 60 });
    window.received(100);
    assert.equal(window.unconsumed, 100);
  });

  it('refuses a peer that overruns its credit', () => {
    const window = new ReceiveWindow(5, 100);
    window.received(90);
    assert.throws(() => window.received(11), (error: unknown) => error instanceof VeracruzError && error.code === Code.LimitExceeded && /101 unacknowledged bytes, beyond the window of 100/.test(error.message));
  });

  it('refuses to consume more than was received', () => {
    const window = new ReceiveWindow(5, 100);
    window.received(10);
    assert.throws(() => window.consumed(11), VeracruzError);
  });

  it('a sender and a receiver with the same window never overrun each other', () => {
    const receiver = new ReceiveWindow(1, 256);
    const inbox: Uint8Array[] = [];
    const instance = new SessionSender({
      sessionId: 1, maxChunk: 100,
      send: (message) => { if (message.type === 'tls-data') { receiver.received(message.data.length); inbox.push(message.data); } },
      onDrain: () => {},
    });
    const grant = receiver.grant();
    if (grant.type === 'ack') instance.acknowledge(grant.bytes);
    let total = 0;
    for (let round = 0; round < 100; round++) {
      instance.write(new Uint8Array(round * 7));
      total += round * 7;
      const chunk = inbox.shift();
      if (chunk && chunk.length > 0) { const ack = receiver.consumed(chunk.length); if (ack.type === 'ack') instance.acknowledge(ack.bytes); }
    }
    while (inbox.length > 0) { const chunk = inbox.shift()!; if (chunk.length > 0) { const ack = receiver.consumed(chunk.length); if (ack.type === 'ack') instance.acknowledge(ack.bytes); } }
    assert.equal(instance.queuedBytes, 0);
    assert.ok(total > 0);
  });
});

describe('AckBatcher', () => {
  it('sends one ack for everything consumed in a turn, and nothing once stopped', () => {
    const window = new ReceiveWindow(4, 100);
    const sent: ChannelMessage[] = [];
    const flushes: (() => void)[] = [];
    const acks = new AckBatcher(window, (message) => sent.push(message), (flush) => flushes.push(flush));
    window.received(60);
    acks.consumed(10);
    acks.consumed(20);
    assert.equal(flushes.length, 1, 'one flush scheduled per turn');
    assert.equal(acks.pendingBytes, 30);
    assert.equal(window.unconsumed, 60, 'credit returns only with the ack');
    flushes.shift()!();
    assert.deepEqual(sent, [{ type: 'ack', sessionId: 4, bytes: 30 }]);
    assert.equal(window.unconsumed, 30);
    acks.consumed(30);
    acks.stop();
    flushes.shift()!();
    assert.equal(sent.length, 1);
  });

  it('holds back acks smaller than a quarter of the window until enough is consumed', () => {
    const window = new ReceiveWindow(4, 100);
    const sent: ChannelMessage[] = [];
    const flushes: (() => void)[] = [];
    const acks = new AckBatcher(window, (message) => sent.push(message), (flush) => flushes.push(flush));
    window.received(100);
    acks.consumed(24);
    flushes.shift()!();
    assert.deepEqual(sent, []);
    acks.consumed(1);
    flushes.shift()!();
    assert.deepEqual(sent, [{ type: 'ack', sessionId: 4, bytes: 25 }]);
  });

  it('never stalls a sender: a peer out of credit gets it back once its window is consumed', () => {
    const window = new ReceiveWindow(4, 1000);
    const sender = new SessionSender({ sessionId: 4, maxChunk: 7, send: (message) => {
      if (message.type === 'tls-data') inbox.push(message.data.length);
    }, onDrain: () => {} });
    const inbox: number[] = [];
    const acks = new AckBatcher(window, (message) => { if (message.type === 'ack') sender.acknowledge(message.bytes); }, (flush) => flush());
    sender.acknowledge(window.window);
    sender.write(new Uint8Array(10_000));
    // The receiver consumes each piece as it comes, in odd amounts; all 10 000 bytes get through.
    let delivered = 0;
    while (inbox.length > 0) {
      const size = inbox.shift()!;
      window.received(size);
      delivered += size;
      acks.consumed(size);
    }
    assert.equal(delivered, 10_000);
    assert.equal(sender.queuedBytes, 0);
  });

  it('refuses to acknowledge more than was received', () => {
    const window = new ReceiveWindow(4, 8);
    const flushes: (() => void)[] = [];
    const acks = new AckBatcher(window, () => {}, (flush) => flushes.push(flush));
    window.received(5);
    acks.consumed(6);
    assert.throws(() => flushes.shift()!(), (error: unknown) => error instanceof VeracruzError && error.code === Code.Internal);
  });
});
