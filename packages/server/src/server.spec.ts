import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { VeracruzClient } from '@veracruz-ts/client';
import { Code, parseHostPort, VeracruzError } from '@veracruz-ts/core';
import { createIdentity } from '@veracruz-ts/policy';
import { DEFAULT_SESSION_WINDOW } from '@veracruz-ts/protocol/channel';
import { startServer } from './server.ts';
import { writeFile } from 'node:fs/promises';
import type { RunningServer, ServerOptions } from './server.ts';
import { createTestDeployment } from './testing.ts';
import type { TestDeployment } from './testing.ts';
import type { RelayDirection } from './relay.ts';

const quiet = (): void => {};
// The default bundle is built (or found unchanged) by the deployment helper.
const runtimeOverride: { runtimePath?: string } = {};

describe('vc-server with a real isolate process and a real PAS', () => {
  let deployment: TestDeployment;
  before(async () => {
    deployment = await createTestDeployment(runtimeOverride);
  });
  after(async () => {
    await deployment?.remove();
  });

  function start(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
    return startServer({ policyPath: deployment.policyPath, devKeyPath: deployment.devKey.privateKeyPath, runtimePath: deployment.bundle.path, listen: '127.0.0.1:0', log: quiet, ...options });
  }

  function client(server: RunningServer, address = server.url): Promise<VeracruzClient> {
    return VeracruzClient.connect({
      policy: deployment.policyText, certificatePem: deployment.principal.certificatePem, privateKeyPem: deployment.principal.privateKeyPem, address,
    });
  }

  it('boots the isolate, has it certified with the bundle measurement, and serves a principal; shutdown ends the server with 0', async () => {
    const server = await start();
    assert.equal(server.measurement, deployment.bundle.measurement);
    assert.match(server.url, /^127\.0\.0\.1:\d+$/);
    const principal = await client(server);
    assert.equal(await principal.policyHash(), deployment.bundle ? (await import('node:crypto')).createHash('sha256').update(deployment.policyText).digest('hex') : '');
    await principal.writeFile('/input/data', new TextEncoder().encode('hello'));
    assert.equal(new TextDecoder().decode(await principal.readFile('/input/data')), 'hello');
    await principal.shutdown();
    await principal.close();
    const exit = await server.exited;
    assert.equal(exit.code, 0, exit.reason);
    assert.match(exit.reason, /shut down/);
  });

  it('refuses connections past --max-sessions at once, says so in its log, and accepts again once one closes', async () => {
    const lines: string[] = [];
    const server = await start({ maxSessions: 2, log: (line) => lines.push(line) });
    try {
      assert.ok(lines.some((line) => /^linux isolate: outer memory limits: V8 heap limit \d+ MiB/.test(line)), lines.join('\n'));
      const port = Number(server.url.split(':')[1]);
      const open = async () => {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => {});
        await once(socket, 'connect');
        return socket;
      };
      const first = await open();
      const second = await open();
      const third = await open();
      await once(third, 'end');
      assert.ok(lines.some((line) => /refused 1 connection\(s\): 2 sessions are open \(the --max-sessions limit\)/.test(line)), lines.join('\n'));
      await assert.rejects(client(server), (error: unknown) => {
        assert.ok(error instanceof VeracruzError);
        assert.equal(error.code, Code.Unavailable);
        assert.match(error.message, /closed before the TLS handshake began: the server turned it away \(it may be at its session limit/);
        return true;
      });
      first.destroy();
      while (server.stats().sessions > 1) await new Promise((resolve) => setTimeout(resolve, 10));
      const principal = await client(server);
      assert.equal((await principal.policyHash()).length, 64);
      await principal.close();
      second.destroy();
      third.destroy();
    } finally {
      await server.close();
    }
  });

  it('relays only ciphertext: no plaintext of a principal ever crosses the host', async () => {
    const relayed: Record<RelayDirection, Buffer[]> = { 'to-isolate': [], 'to-client': [] };
    const server = await start({ relay: true, relayTap: (direction, _sessionId, bytes) => relayed[direction].push(Buffer.from(bytes)) });
    assert.equal(server.relayed, true);
    try {
      const secret = Buffer.from('TOP-SECRET-MARKER-'.repeat(200));
      const principal = await client(server);
      await principal.writeFile('/input/secret', secret);
      assert.deepEqual(Buffer.from(await principal.readFile('/input/secret')), secret);
      await principal.close();
      const toIsolate = Buffer.concat(relayed['to-isolate']);
      const toClient = Buffer.concat(relayed['to-client']);
      assert.ok(toIsolate.length > secret.length && toClient.length > secret.length, 'the secret went both ways through the relay');
      for (const bytes of [toIsolate, toClient]) {
        assert.equal(bytes.indexOf('TOP-SECRET'), -1);
        assert.equal(bytes.indexOf('/input/secret'), -1, 'not even file names');
      }
    } finally {
      await server.close();
    }
  });

  it('a byte flipped in transit is detected by TLS: the request fails, nothing is accepted', async () => {
    let armed = false;
    const server = await start({
      relay: true,
      faultInjector: (direction, _sessionId, bytes) => {
        if (!armed || direction !== 'to-isolate' || bytes.length < 40) return bytes;
        armed = false;
        const copy = Uint8Array.from(bytes);
        copy[copy.length - 20]! ^= 0x01;
        return copy;
      },
    });
    try {
      const principal = await client(server);
      armed = true;
      await assert.rejects(principal.writeFile('/input/x', new Uint8Array(100).fill(7)));
      await principal.close().catch(() => {});
      // The isolate is unharmed: a new session works and the tampered write did not land.
      const again = await client(server);
      await assert.rejects(again.readFile('/input/x'), (error: unknown) => error instanceof VeracruzError && error.code === Code.NotFound);
      await again.close();
    } finally {
      await server.close();
    }
  });

  it('when the isolate dies, clients see their connection reset and the server exits non-zero', async () => {
    const lines: string[] = [];
    // The reset is the relay's (the host holds the client's connection); see below for handed-over connections.
    const server = await start({ relay: true, log: (line) => lines.push(line) });
    const socket = connect(Number(server.url.split(':')[1]), '127.0.0.1');
    await once(socket, 'connect');
    socket.resume();
    const [reset] = (await Promise.all([once(socket, 'error'), process.kill(server.isolatePid!, 'SIGKILL')]))[0] as [NodeJS.ErrnoException];
    assert.equal(reset.code, 'ECONNRESET', 'a reset, not an orderly close: the isolate did not end the session');
    const exit = await server.exited;
    assert.equal(exit.code, 1);
    assert.match(exit.reason, /the isolate exited unexpectedly \(signal SIGKILL\)/);
    // The listener is gone too.
    const refused = connect(Number(server.url.split(':')[1]), '127.0.0.1');
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ECONNREFUSED');
  });

  it('keeps host buffers bounded when the isolate stops reading (a fast writer against a stalled isolate)', async () => {
    const server = await start({ relay: true });
    const socket = connect(Number(server.url.split(':')[1]), '127.0.0.1');
    await once(socket, 'connect');
    socket.on('error', () => {});
    process.kill(server.isolatePid!, 'SIGSTOP');
    try {
      const size = 64 * 1024 * 1024;
      socket.write(Buffer.alloc(size, 0x17));
      let previous = -1;
      let stable = 0;
      while (stable < 5) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const current = server.stats().relayedToIsolate;
        stable = current === previous ? stable + 1 : 0;
        previous = current;
      }
      const stats = server.stats();
      assert.equal(stats.sessions, 1);
      // The isolate's own window bounds what is in flight to it; the host holds at most one socket read more.
      assert.ok(stats.inFlightToIsolate <= DEFAULT_SESSION_WINDOW, `in flight ${stats.inFlightToIsolate}`);
      assert.ok(stats.queuedToIsolate <= 128 * 1024, `queued ${stats.queuedToIsolate}`);
      assert.ok(stats.channelBuffered <= DEFAULT_SESSION_WINDOW + 64 * 1024, `channel buffer ${stats.channelBuffered}`);
      assert.ok(stats.relayedToIsolate < size / 8, `relayed ${stats.relayedToIsolate} of ${size} to a stalled isolate`);
    } finally {
      process.kill(server.isolatePid!, 'SIGCONT');
      socket.destroy();
      await server.close();
    }
  });

  it('hands each connection to the isolate by default: the session works, vc-server relays none of it, and logs it', async () => {
    const lines: string[] = [];
    const server = await start({ log: (line) => lines.push(line) });
    try {
      assert.equal(server.relayed, false);
      const principal = await client(server);
      const data = Buffer.alloc(3 * 1024 * 1024 + 17, 0x42);
      await principal.writeFile('/input/big', data);
      assert.deepEqual(Buffer.from(await principal.readFile('/input/big')), data);
      await principal.close();
      while (server.stats().sessions > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const stats = server.stats();
      assert.deepEqual([stats.relayedToIsolate, stats.relayedToClients, stats.queuedToIsolate, stats.bufferedToClients], [0, 0, 0, 0]);
      assert.ok(lines.includes("clients' connections are handed to the isolate process (bytes and reasons in their closing lines are its reports)"), lines.join('\n'));
      assert.ok(lines.some((line) => /^session \d+ opened: client 127\.0\.0\.1:\d+$/.test(line)), lines.join('\n'));
      const closed = lines.find((line) => /^session \d+ closed: /.test(line)) ?? '';
      const [, fromClient] = /^session \d+ closed: client 127\.0\.0\.1:\d+, (\d+) bytes from the client, \d+ bytes to it, \d+ ms, the session ended$/.exec(closed) ?? [];
      assert.ok(Number(fromClient) > data.length, closed);
    } finally {
      await server.close();
    }
  });

  it('with handed-over connections, refuses an identity not in the policy with its TLS alert (certificate_unknown)', async () => {
    const server = await start();
    try {
      const stranger = await createIdentity('stranger');
      await assert.rejects(VeracruzClient.connect({ policy: deployment.policyText, ...stranger, address: server.url }), (error: unknown) => {
        assert.ok(error instanceof VeracruzError);
        assert.equal(error.code, Code.PermissionDenied);
        assert.match(error.message, /its certificate is not one of the policy's identities \(TLS alert certificate_unknown\)/);
        return true;
      });
      // The isolate still serves the policy's principal.
      const principal = await client(server);
      assert.equal((await principal.policyHash()).length, 64);
      await principal.close();
    } finally {
      await server.close();
    }
  });

  it('with handed-over connections, a byte flipped in transit (by a proxy in front of vc-server) fails the session, nothing is accepted', async () => {
    const server = await start();
    let armed = false;
    let flipped = false;
    // The untrusted network or host on the path: it sees and may change the TCP stream, nothing else.
    const proxy = createServer((downstream: Socket) => {
      const upstream = connect(Number(server.url.split(':')[1]), '127.0.0.1');
      for (const socket of [downstream, upstream]) socket.on('error', () => {});
      downstream.on('data', (chunk: Buffer) => {
        if (armed && !flipped && chunk.length > 1000) {
          flipped = true;
          chunk = Buffer.from(chunk);
          chunk[chunk.length >> 1]! ^= 0x01;
        }
        upstream.write(chunk);
      });
      upstream.pipe(downstream);
      downstream.on('close', () => upstream.destroy());
      upstream.on('close', () => downstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const principal = await client(server, `127.0.0.1:${(proxy.address() as AddressInfo).port}`);
      armed = true;
      await assert.rejects(principal.writeFile('/input/flipped', new Uint8Array(64 * 1024).fill(7)));
      assert.ok(flipped, 'the fault was injected');
      await principal.close().catch(() => {});
      const again = await client(server);
      await assert.rejects(again.readFile('/input/flipped'), (error: unknown) => error instanceof VeracruzError && error.code === Code.NotFound);
      await again.close();
    } finally {
      proxy.close();
      await server.close();
    }
  });

  it('with handed-over connections, when the isolate dies, clients see their connection end at once and the server exits non-zero', async () => {
    const lines: string[] = [];
    const server = await start({ log: (line) => lines.push(line) });
    const principal = await client(server);
    const socket = connect(Number(server.url.split(':')[1]), '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.resume();
    const started = performance.now();
    // The connections were the isolate's alone: the kernel closes them with it (FIN, or RST where
    // the isolate left bytes unread), so no client waits; vc-server has no copy to reset.
    process.kill(server.isolatePid!, 'SIGKILL');
    await once(socket, 'close');
    await assert.rejects(principal.writeFile('/input/late', new Uint8Array(1024)), (error: unknown) => {
      assert.ok(error instanceof VeracruzError);
      assert.equal(error.code, Code.Unavailable);
      return true;
    });
    assert.ok(performance.now() - started < 5000, 'the client did not hang');
    const exit = await server.exited;
    assert.equal(exit.code, 1);
    assert.match(exit.reason, /the isolate exited unexpectedly \(signal SIGKILL\)/);
    assert.equal(server.stats().sessions, 0);
    assert.ok(lines.some((line) => /^session \d+ closed: .*bytes unknown, \d+ ms, the isolate exited, and its connections with it/.test(line)), lines.join('\n'));
    await principal.close().catch(() => {});
  });
});

describe('vc-server refusals', () => {
  it('refuses to start when the PAS does not know the host dev key, and says how to enroll it', async () => {
    const deployment = await createTestDeployment({ enroll: false, ...runtimeOverride });
    try {
      await assert.rejects(
        startServer({ policyPath: deployment.policyPath, devKeyPath: deployment.devKey.privateKeyPath, runtimePath: deployment.bundle.path, listen: '127.0.0.1:0', log: quiet }),
        (error: unknown) => {
          assert.ok(error instanceof VeracruzError);
          assert.equal(error.code, Code.AttestationFailed);
          assert.match(error.message, /refused to certify the isolate/);
          assert.match(error.message, /vc-pas enroll --dir "\$PAS_DIR" --name [\w.@-]+-[0-9a-f]{8} /);
          assert.ok(error.message.includes(` ${deployment.devKey.publicKeyPath})`), error.message);
          return true;
        },
      );
    } finally {
      await deployment.remove();
    }
  });

  it('refuses a policy that does not list the runtime measurement: the isolate will not initialize', async () => {
    const deployment = await createTestDeployment(runtimeOverride);
    try {
      const policyText = deployment.policyText.replace(deployment.bundle.measurement, 'ab'.repeat(32));
      await assert.rejects(
        startServer({ policyText, devKeyPath: deployment.devKey.privateKeyPath, runtimePath: deployment.bundle.path, listen: '127.0.0.1:0', log: quiet }),
        (error: unknown) => error instanceof VeracruzError && error.code === Code.AttestationFailed && /isolate refused to initialize: .*runtime_manager_hash_linux/.test(error.message),
      );
    } finally {
      await deployment.remove();
    }
  });

  it('reports an isolate that dies during boot, with its own last words in the log', async () => {
    const deployment = await createTestDeployment(runtimeOverride);
    try {
      const broken = `${deployment.dir}/broken-runtime.mjs`;
      await writeFile(broken, "process.stderr.write('cannot start: no channel\\n'); process.exit(3);\n");
      const lines: string[] = [];
      await assert.rejects(
        startServer({ policyPath: deployment.policyPath, devKeyPath: deployment.devKey.privateKeyPath, runtimePath: broken, listen: '127.0.0.1:0', log: (line) => lines.push(line) }),
        (error: unknown) => error instanceof VeracruzError && error.code === Code.Unavailable && /the isolate exited unexpectedly \(code 3\)/.test(error.message),
      );
      assert.ok(lines.includes('cannot start: no channel'), lines.join('\n'));
    } finally {
      await deployment.remove();
    }
  });

  it('gives up on an isolate that never answers, and stops it', async () => {
    const deployment = await createTestDeployment(runtimeOverride);
    try {
      const silent = `${deployment.dir}/silent-runtime.mjs`;
      await writeFile(silent, 'setInterval(() => {}, 1000);\n');
      await assert.rejects(
        startServer({ policyPath: deployment.policyPath, devKeyPath: deployment.devKey.privateKeyPath, runtimePath: silent, listen: '127.0.0.1:0', bootTimeoutMs: 300, log: quiet }),
        (error: unknown) => error instanceof VeracruzError && error.code === Code.Unavailable && /did not answer attestation-request within 0.3 s/.test(error.message),
      );
    } finally {
      await deployment.remove();
    }
  });

  it('reads listen addresses as host:port, IPv6 in brackets', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:3011'), { host: '127.0.0.1', port: 3011 });
    assert.deepEqual(parseHostPort('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseHostPort('localhost:80'), { host: 'localhost', port: 80 });
    for (const bad of ['127.0.0.1', ':80', 'host:99999', 'a:b:1']) {
      assert.throws(() => parseHostPort(bad), (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidRequest);
    }
  });

  it('refuses a missing runtime bundle with the command that builds it', async () => {
    const deployment = await createTestDeployment(runtimeOverride);
    try {
      await assert.rejects(
        startServer({ policyPath: deployment.policyPath, devKeyPath: deployment.devKey.privateKeyPath, runtimePath: `${deployment.dir}/missing.mjs`, listen: '127.0.0.1:0', log: quiet }),
        (error: unknown) => error instanceof VeracruzError && error.code === Code.NotFound && /build:runtime/.test(error.message),
      );
    } finally {
      await deployment.remove();
    }
  });
});
