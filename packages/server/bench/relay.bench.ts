// Throughput of the host relay and the channel alone (no TLS, no isolate process): bytes from a TCP
// client through SessionRelay, framed over a loopback socket as the channel, into the isolate's
// session stream, and the same bytes back. Baseline: the same transfer over one raw loopback TCP
// connection. The ratio is the relay's cost; TLS and the engine come on top (see the client's
// transfer benchmark).
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { ChannelConnection, decodeHostMessage, encodeIsolateMessage, decodeIsolateMessage, encodeHostMessage } from '@veracruz-ts/protocol/channel';
import { ChannelSessionStream } from '@veracruz-ts/runtime/isolate';
import { countBufferMemoryInHeapLimit } from '../src/heap-tuning.ts';
import { SessionRelay } from '../src/relay.ts';

const SIZE = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 0x5a);
const RUNS = 3;

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Writes SIZE bytes to `socket` with backpressure; resolves when `received()` reaches SIZE. */
async function transfer(socket: Socket, received: () => number, done: Promise<void>): Promise<number> {
  const start = performance.now();
  let sent = 0;
  const pump = (): void => {
    while (sent < SIZE) {
      sent += CHUNK.length;
      if (!socket.write(CHUNK)) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
  await done;
  if (received() !== SIZE) throw new Error(`received ${received()} of ${SIZE}`);
  return (SIZE / 1e6) / ((performance.now() - start) / 1000);
}

async function rawTcp(): Promise<number> {
  let received = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const server = createServer((socket) => socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received === SIZE) resolve();
  }));
  const port = await listen(server);
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const rate = await transfer(client, () => received, done);
  client.destroy();
  server.close();
  return rate;
}

async function throughRelay(): Promise<number> {
  // The channel: one loopback TCP connection standing in for the child's socket pair.
  const channelServer = createServer();
  const channelPort = await listen(channelServer);
  const hostEnd = connect(channelPort, '127.0.0.1');
  const [isolateEnd] = (await once(channelServer, 'connection')) as [Socket];
  let received = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const sessions = new Map<number, ChannelSessionStream>();
  const isolateChannel: ChannelConnection = new ChannelConnection({
    input: isolateEnd, output: isolateEnd,
    receives: decodeHostMessage, sends: encodeIsolateMessage,
    onMessage: (message) => {
      if (message.type === 'new-session') {
        const stream = new ChannelSessionStream({ sessionId: message.sessionId, send: (reply) => isolateChannel.send(reply) });
        sessions.set(message.sessionId, stream);
        stream.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received === SIZE) resolve();
        });
      } else if (message.type === 'tls-data') sessions.get(message.sessionId)?.deliver(message.data);
      else if (message.type === 'ack') sessions.get(message.sessionId)?.acknowledge(message.bytes);
      else if (message.type === 'close') sessions.get(message.sessionId)?.endFromHost();
    },
    onError: (error) => { throw error; },
    onEnd: () => {},
  });
  const hostChannel: ChannelConnection = new ChannelConnection({
    input: hostEnd, output: hostEnd,
    receives: decodeIsolateMessage, sends: encodeHostMessage,
    onMessage: (message) => relay.handle(message),
    onError: (error) => { throw error; },
    onEnd: () => {},
  });
  const relay: SessionRelay = new SessionRelay({ send: (message) => hostChannel.send(message) });
  const front = createServer((socket) => relay.add(socket));
  const port = await listen(front);
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const rate = await transfer(client, () => received, done);
  client.destroy();
  relay.destroyAll();
  hostChannel.close();
  isolateChannel.close();
  front.close();
  channelServer.close();
  return rate;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

// As vc-server (startServer) and the isolate do; the raw TCP baseline runs under the same setting.
countBufferMemoryInHeapLimit();
const raw: number[] = [];
const relayed: number[] = [];
for (let run = 0; run < RUNS; run++) {
  raw.push(await rawTcp());
  relayed.push(await throughRelay());
}
const base = median(raw);
console.log(`host relay + channel throughput, ${SIZE / 1024 / 1024} MiB upload, median of ${RUNS} (one process, loopback sockets)`);
console.log('| path | MB/s | ratio to raw TCP |');
console.log('|---|---:|---:|');
console.log(`| raw loopback TCP (baseline) | ${base.toFixed(0)} | 1.00 |`);
console.log(`| client -> relay -> channel -> session stream | ${median(relayed).toFixed(0)} | ${(median(relayed) / base).toFixed(2)} |`);
