import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { ChannelConnection, decodeHostMessage, encodeIsolateMessage, decodeIsolateMessage, encodeHostMessage, MAX_TLS_DATA_CHUNK } from '@veracruz-ts/protocol/channel';
import { ChannelSessionStream } from '@veracruz-ts/runtime/isolate';
import { SessionRelay } from './relay.ts';
import type { RelayDirection } from './relay.ts';

const WINDOW = 64 * 1024;

/**
 * The host relay and the isolate's session streams, joined by a real channel (in-process pipes) and
 * fed by real TCP clients on loopback. The isolate side's consumer is given per test.
 */
async function setup(onSession: (stream: ChannelSessionStream) => void, tap?: (direction: RelayDirection, sessionId: number, bytes: Uint8Array) => void, halfClosedGraceMs?: number) {
  const hostToIsolate = new PassThrough();
  const isolateToHost = new PassThrough();
  const isolateSessions = new Map<number, ChannelSessionStream>();
  const isolateChannel: ChannelConnection = new ChannelConnection({
    input: hostToIsolate,
    output: isolateToHost,
    receives: decodeHostMessage, sends: encodeIsolateMessage,
    onMessage: (message) => {
      if (message.type === 'new-session') {
        const stream = new ChannelSessionStream({ sessionId: message.sessionId, send: (reply) => isolateChannel.send(reply), window: WINDOW });
        isolateSessions.set(message.sessionId, stream);
        stream.on('error', () => {});
        onSession(stream);
      } else if (message.type === 'tls-data') isolateSessions.get(message.sessionId)?.deliver(message.data);
      else if (message.type === 'ack') {
        // As the isolate does: a bad ack (more than in flight) drops that session only.
        try {
          isolateSessions.get(message.sessionId)?.acknowledge(message.bytes);
        } catch {
          isolateSessions.get(message.sessionId)?.destroy();
        }
      }
      else if (message.type === 'close') isolateSessions.get(message.sessionId)?.endFromHost();
    },
    onError: (error) => assert.fail(error),
    onEnd: () => {},
  });
  const hostChannel: ChannelConnection = new ChannelConnection({
    input: isolateToHost,
    output: hostToIsolate,
    receives: decodeIsolateMessage, sends: encodeHostMessage,
    onMessage: (message) => assert.ok(relay.handle(message), `unexpected ${message.type}`),
    onError: (error) => assert.fail(error),
    onEnd: () => {},
  });
  const relay: SessionRelay = new SessionRelay({ send: (message) => hostChannel.send(message), window: WINDOW, tap, halfClosedGraceMs });
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => relay.add(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const client = async (): Promise<Socket> => {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return socket;
  };
  const stop = (): void => {
    relay.destroyAll();
    server.close();
    hostChannel.close();
    isolateChannel.close();
  };
  return { relay, client, stop, isolateSessions, hostChannel, isolateToHost, port };
}

/** Polls `value` until it stops changing (the pipeline has stalled); the assertions are on counters. */
async function settle(value: () => number): Promise<void> {
  let previous = -1;
  let stable = 0;
  for (let round = 0; round < 500 && stable < 5; round++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const current = value();
    stable = current === previous ? stable + 1 : 0;
    previous = current;
  }
}

function pattern(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let index = 0; index < size; index++) bytes[index] = (index * 31 + seed) & 0xff;
  return bytes;
}

describe('SessionRelay with the isolate session streams', () => {
  it('relays bytes both ways, unchanged, and the tap sees every relayed byte', async () => {
    const seen = { 'to-isolate': 0, 'to-client': 0 };
    const { client, stop } = await setup((stream) => stream.pipe(stream), (direction, _id, bytes) => (seen[direction] += bytes.length));
    try {
      const socket = await client();
      const payload = pattern(3 * 1024 * 1024 + 17, 5);
      const received: Buffer[] = [];
      let total = 0;
      const done = new Promise<void>((resolve) => socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        total += chunk.length;
        if (total >= payload.length) resolve();
      }));
      socket.write(payload);
      await done;
      assert.deepEqual(Buffer.concat(received), payload);
      assert.equal(seen['to-isolate'], payload.length);
      assert.equal(seen['to-client'], payload.length);
      socket.destroy();
    } finally {
      stop();
    }
  });

  it('keeps the host and the isolate bounded when the isolate does not read (upload backpressure)', async () => {
    const streams: ChannelSessionStream[] = [];
    const { relay, client, stop } = await setup((stream) => streams.push(stream)); // nobody reads
    try {
      const socket = await client();
      const size = 32 * 1024 * 1024;
      socket.write(pattern(size, 1));
      await settle(() => relay.stats().relayedToIsolate);
      const stats = relay.stats();
      assert.ok(stats.inFlightToIsolate <= WINDOW, `in flight ${stats.inFlightToIsolate}`);
      assert.ok(stats.queuedToIsolate <= 2 * MAX_TLS_DATA_CHUNK, `queued ${stats.queuedToIsolate}`);
      assert.ok(stats.relayedToIsolate < size / 4, `relayed ${stats.relayedToIsolate} of ${size} although the isolate read nothing`);
      const stream = streams[0]!;
      assert.ok(stream.bufferedIncoming <= WINDOW, `isolate holds ${stream.bufferedIncoming}`);

      // Once the isolate reads, everything arrives, in order.
      let received = 0;
      let mismatch = -1;
      const done = new Promise<void>((resolve) => stream.on('data', (chunk: Buffer) => {
        for (let index = 0; index < chunk.length && mismatch < 0; index++) {
          if (chunk[index] !== (((received + index) * 31 + 1) & 0xff)) mismatch = received + index;
        }
        received += chunk.length;
        if (received === size) resolve();
      }));
      await done;
      assert.equal(mismatch, -1);
      socket.destroy();
    } finally {
      stop();
    }
  });

  it('keeps the host bounded when the client does not read (download backpressure)', async () => {
    const size = 32 * 1024 * 1024;
    let isolateWrote = 0;
    let stream: ChannelSessionStream | undefined;
    const { relay, client, stop } = await setup((session) => {
      stream = session;
      // A well-behaved producer: writes while the stream accepts, waits for drain otherwise.
      const chunk = pattern(256 * 1024, 2);
      const produce = (): void => {
        while (isolateWrote < size) {
          isolateWrote += chunk.length;
          if (!session.write(chunk)) {
            session.once('drain', produce);
            return;
          }
        }
      };
      produce();
    });
    try {
      const socket = await client();
      socket.pause();
      await settle(() => relay.stats().relayedToClients);
      const stats = relay.stats();
      assert.ok(stats.bufferedToClients <= WINDOW, `host buffers ${stats.bufferedToClients} for the client`);
      assert.ok(stats.relayedToClients < size / 4, `relayed ${stats.relayedToClients} of ${size} to a client that reads nothing`);
      assert.ok(isolateWrote < size / 2, `isolate producer was not held back (${isolateWrote})`);
      assert.ok(stream !== undefined && stream.queuedOutgoing <= 256 * 1024);
      let received = 0;
      const done = new Promise<void>((resolve) => socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received === size) resolve();
      }));
      socket.resume();
      await done;
      socket.destroy();
    } finally {
      stop();
    }
  });

  it('tells the isolate when a client goes away, and ends the client when the isolate closes', async () => {
    const ended: number[] = [];
    const { client, stop } = await setup((stream) => {
      // As TLS does: when the ciphertext input ends, end the output too.
      stream.on('end', () => {
        ended.push(stream.sessionId);
        stream.end();
      });
      stream.resume();
    });
    try {
      const first = await client();
      first.end();
      await once(first, 'close');
      assert.deepEqual(ended, [1]);
    } finally {
      stop();
    }
    const second = await setup((stream) => stream.end(Buffer.from('bye')));
    try {
      const socket = await second.client();
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      await once(socket, 'end');
      assert.equal(Buffer.concat(chunks).toString(), 'bye');
      socket.destroy();
    } finally {
      second.stop();
    }
  });

  it('drops a client that keeps its side open after the isolate ended the session, once the grace has passed', async () => {
    const { port, relay, stop } = await setup((stream) => stream.end(Buffer.from('bye')), undefined, 200);
    try {
      // Half-open: the client never ends its side.
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      await once(socket, 'connect');
      socket.resume();
      await once(socket, 'end');
      assert.equal(relay.stats().sessions, 1, 'still open during the grace');
      const deadline = Date.now() + 5000;
      while (relay.stats().sessions > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(relay.stats().sessions, 0, 'dropped after the grace');
      socket.destroy();
    } finally {
      stop();
    }
  });

  it('drops a session whose isolate side overruns its credit, instead of buffering', async () => {
    const { relay, client, stop, hostChannel } = await setup(() => {});
    try {
      const socket = await client();
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(relay.stats().sessions, 1);
      // Feed the host relay directly as a misbehaving isolate would: more than a window unacknowledged.
      const reset = once(socket, 'error') as Promise<[NodeJS.ErrnoException]>;
      socket.resume();
      for (let index = 0; index < 3; index++) relay.handle({ type: 'tls-data', sessionId: 1, data: new Uint8Array(WINDOW / 2 + 1) });
      const [error] = await reset;
      assert.equal(error.code, 'ECONNRESET', 'cut off, not closed');
      assert.ok(hostChannel.closed === false);
    } finally {
      stop();
    }
  });

  it('resets client connections when the isolate is gone (TCP RST: the client sees ECONNRESET)', async () => {
    const { relay, client, stop } = await setup((stream) => stream.resume());
    try {
      const socket = await client();
      socket.resume();
      await settle(() => relay.stats().sessions);
      const outcome = new Promise<string>((resolve) => {
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
        socket.once('end', () => resolve('end'));
      });
      relay.destroyAll();
      assert.equal(await outcome, 'error ECONNRESET');
      assert.equal(relay.stats().sessions, 0);
    } finally {
      stop();
    }
  });

  it('ends client connections gracefully on an orderly stop (FIN after the isolate\'s last bytes), even when they are dropped later', async () => {
    const { relay, client, stop, isolateSessions } = await setup((stream) => stream.resume());
    try {
      const socket = await client();
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      await settle(() => relay.stats().sessions);
      // The isolate's last words (its reply to shutdown), then the host stops as vc-server does.
      isolateSessions.get(1)!.write(Buffer.from('last reply'));
      await settle(() => relay.stats().relayedToClients);
      let failed: NodeJS.ErrnoException | undefined;
      socket.on('error', (error: NodeJS.ErrnoException) => (failed = error));
      relay.endAll();
      await once(socket, 'end');
      relay.destroyAll(); // what vc-server does once everything is flushed
      await once(socket, 'close');
      assert.equal(failed, undefined);
      assert.equal(Buffer.concat(received).toString(), 'last reply');
    } finally {
      stop();
    }
  });
});
