// What a principal refuses, and what the untrusted host cannot do, end to end: identities not in
// the policy, the wrong key, a PAS CA or runtime hash the policy does not trust, a policy that
// differs by one byte, a host that flips a byte in transit, and a capture of every relayed byte.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { type AddressInfo, connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createCertificateAuthority } from '@veracruz-ts/attestation/certificates';
import { Code } from '@veracruz-ts/core';
import { RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import type { RelayDirection, RunningServer } from '@veracruz-ts/server';
import {
  connect,
  e2ePolicy,
  exampleProgram,
  party,
  type Party,
  startComputation,
  startTestPas,
  type TestPas,
  testPolicyText,
  rejectsWith,
  text,
} from './harness.ts';

// Alice provides the input and the program and reads what it writes, in both suites.
const ALICE_RIGHTS = [
  { file_name: '/input/', rights: RIGHTS_WRITE }, { file_name: '/output/', rights: RIGHTS_READ },
  { file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE }, { file_name: 'stdout', rights: RIGHTS_READ },
];

describe('what principals refuse, and what the host cannot do', { timeout: 120_000 }, () => {
  let pas: TestPas;
  let alice: Party;
  let bob: Party;
  let outsider: Party;
  let policy: string;
  let program: Uint8Array;
  let server: RunningServer;
  // Every byte the host relays, per session and direction, and the sessions whose bytes get flipped.
  const captured = new Map<string, Buffer[]>();
  const tampered = new Set<number>();
  let watchNextSession = false;
  let watchedSession: number | undefined;
  let flipArmed = false;

  before(async () => {
    pas = await startTestPas();
    program = await exampleProgram('read-file');
    alice = await party('alice', ALICE_RIGHTS);
    bob = await party('bob', [{ file_name: '/output/', rights: RIGHTS_READ }]);
    outsider = await party('outsider', [{ file_name: '/output/', rights: RIGHTS_READ }]);
    policy = await e2ePolicy(pas, {
      parties: [alice, bob],
      programs: [{ path: '/program/read-file.wasm', binary: program, rights: [
        { file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE },
        { file_name: 'stdout', rights: RIGHTS_WRITE },
      ] }],
    });
    // Over the relay: the test plays the host, which sees and may change every byte it relays.
    server = await startComputation(policy, pas, {
      relay: true,
      relayTap: (direction: RelayDirection, sessionId: number, bytes: Uint8Array) => {
        const key = `${sessionId}:${direction}`;
        const list = captured.get(key) ?? [];
        list.push(Buffer.from(bytes));
        captured.set(key, list);
      },
      faultInjector: (direction, sessionId, bytes) => {
        if (watchNextSession && watchedSession === undefined) watchedSession = sessionId;
        // Flip one byte of the first large client record of the watched session (the upload).
        if (flipArmed && sessionId === watchedSession && direction === 'to-isolate' && bytes.length > 1000 && !tampered.has(sessionId)) {
          tampered.add(sessionId);
          const copy = new Uint8Array(bytes);
          copy[Math.floor(copy.length / 2)]! ^= 0x01;
          return copy;
        }
        return bytes;
      },
    });
  });

  after(async () => {
    await server?.close();
    await pas?.close();
  });

  it('refuses a client whose certificate is not in the policy', async () => {
    // The isolate refuses it with a TLS alert (certificate_unknown), which the SDK names.
    await assert.rejects(connect(server, policy, outsider), rejectsWith(Code.PermissionDenied,
      /the isolate does not know this identity: its certificate is not one of the policy's identities \(TLS alert certificate_unknown\)/));
  });

  it('refuses, before connecting, a policy certificate with the wrong key', async () => {
    await assert.rejects(connect(server, policy, { ...alice, privateKeyPem: bob.privateKeyPem }),
      rejectsWith(Code.InvalidRequest, /does not match the private key/));
  });

  it('refuses an isolate certified by a PAS CA that is not the policy\'s', async () => {
    const otherCa = await createCertificateAuthority({ notBefore: new Date(Date.now() - 3_600_000) });
    const escaped = (pem: string): string => JSON.stringify(pem.trim()).slice(1, -1);
    const edited = policy.replace(escaped(pas.handle.caCertificatePem), escaped(otherCa.certificatePem));
    assert.notEqual(edited, policy);
    await assert.rejects(connect(server, edited, alice), rejectsWith(Code.AttestationFailed, /isolate certificate chain/));
  });

  it('refuses an isolate whose runtime hash is not in the policy, naming both', async () => {
    const trusted = createHash('sha256').update('some other runtime').digest('hex');
    const edited = policy.replace(server.measurement, trusted);
    await assert.rejects(connect(server, edited, alice),
      rejectsWith(Code.AttestationFailed, new RegExp(`runtime hash ${server.measurement} is not one the policy trusts \\(linux: ${trusted}\\)`)));
  });

  it('refuses an isolate enforcing a policy that differs by one byte', async () => {
    const edited = policy.replace('"debug": false', '"debug": false ');
    await assert.rejects(connect(server, edited, alice), rejectsWith(Code.AttestationFailed, /certificate binds policy [0-9a-f]{64}, not this policy file/));
  });

  it('a byte flipped in transit fails the session, and nothing of it is accepted', async () => {
    const client = await connect(server, policy, alice);
    watchNextSession = true;
    const victim = await connect(server, policy, alice);
    watchNextSession = false;
    flipArmed = true;
    await assert.rejects(victim.writeFile('/input/hello-world-1.dat', new Uint8Array(64 * 1024).fill(0x41)));
    assert.ok(watchedSession !== undefined && tampered.has(watchedSession), 'the fault was injected');
    // The flipped upload never reached the file system: the program finds no input.
    await client.writeFile('/program/read-file.wasm', program);
    assert.equal(await client.execute('/program/read-file.wasm'), 2, 'exit code 2: input missing');
    await client.close();
  });

  it('the host relays ciphertext only: no plaintext marker ever crosses it', async () => {
    const marker = 'PLAINTEXT-MARKER-7f3a9c';
    const client = await connect(server, policy, alice);
    await client.writeFile('/program/read-file.wasm', program);
    await client.writeFile('/input/hello-world-1.dat', text(`${marker} in the input`));
    assert.equal(await client.execute('/program/read-file.wasm'), 0);
    const echoed = new TextDecoder().decode(await client.readFile('stdout'));
    assert.ok(echoed.includes(marker), 'the program saw the data');
    const result = new TextDecoder().decode(await client.readFile('/output/hello-world-1.dat'));
    assert.ok(result.includes(marker), 'and wrote it back to the reader');
    await client.close();
    assert.ok(captured.size > 0, 'the tap saw the sessions');
    let relayed = 0;
    for (const [key, chunks] of captured) {
      const stream = Buffer.concat(chunks);
      relayed += stream.length;
      assert.equal(stream.indexOf(marker), -1, `marker seen in ${key}`);
      assert.equal(stream.indexOf(Buffer.from(marker).toString('base64').slice(0, 16)), -1);
    }
    assert.ok(relayed > 10_000);
  });

  it('a policy naming this isolate\'s hash still needs a matching policy hash', async () => {
    const other = testPolicyText({
      principals: [alice], pasCertificatePem: pas.handle.caCertificatePem, runtimeHashLinux: server.measurement,
    });
    await assert.rejects(connect(server, other, alice), rejectsWith(Code.AttestationFailed, /certificate binds policy [0-9a-f]{64}, not this policy file/));
  });
});

// With the connection handed to the isolate (vc-server's default on linux), no byte of a session passes
// through vc-server; the network path, or a host that forwards TCP in front of it, still carries them.
describe('what the path in front of a handed-over connection cannot do', { timeout: 120_000 }, () => {
  let pas: TestPas;
  let alice: Party;
  let policy: string;
  let program: Uint8Array;
  let server: RunningServer;
  let proxy: Server;
  const toIsolate: Buffer[] = [];
  const toClient: Buffer[] = [];
  let flipArmed = false;
  let flipped = false;

  before(async () => {
    pas = await startTestPas();
    program = await exampleProgram('read-file');
    alice = await party('alice', ALICE_RIGHTS);
    policy = await e2ePolicy(pas, {
      parties: [alice],
      programs: [{ path: '/program/read-file.wasm', binary: program, rights: [
        { file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_READ | RIGHTS_WRITE },
        { file_name: 'stdout', rights: RIGHTS_WRITE },
      ] }],
    });
    server = await startComputation(policy, pas);
    assert.equal(server.relayed, false);
    // A TCP forwarder in front of vc-server: it records both directions and may flip a byte of a large client record.
    proxy = createServer((downstream: Socket) => {
      const upstream = connectTcp(Number(server.url.split(':').at(-1)), '127.0.0.1');
      for (const socket of [downstream, upstream]) socket.on('error', () => {});
      downstream.on('data', (chunk: Buffer) => {
        toIsolate.push(Buffer.from(chunk));
        if (flipArmed && !flipped && chunk.length > 1000) {
          flipped = true;
          chunk = Buffer.from(chunk);
          chunk[chunk.length >> 1]! ^= 0x01;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        toClient.push(Buffer.from(chunk));
        downstream.write(chunk);
      });
      downstream.on('close', () => upstream.destroy());
      upstream.on('close', () => downstream.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await new Promise((resolve) => proxy.once('listening', resolve));
  });

  after(async () => {
    proxy?.close();
    await server?.close();
    await pas?.close();
  });

  const viaProxy = (): Promise<Awaited<ReturnType<typeof connect>>> =>
    connect(server, policy, alice, { address: `127.0.0.1:${(proxy.address() as AddressInfo).port}` });

  it('a byte flipped on the way fails the session, and nothing of it is accepted', async () => {
    const victim = await viaProxy();
    flipArmed = true;
    await assert.rejects(victim.writeFile('/input/hello-world-1.dat', new Uint8Array(64 * 1024).fill(0x41)));
    flipArmed = false;
    assert.ok(flipped, 'the fault was injected');
    await victim.close().catch(() => {});
    const client = await connect(server, policy, alice);
    await client.writeFile('/program/read-file.wasm', program);
    assert.equal(await client.execute('/program/read-file.wasm'), 2, 'exit code 2: input missing');
    await client.close();
  });

  it('carries ciphertext only: no plaintext marker is ever on the wire', async () => {
    toIsolate.length = 0;
    toClient.length = 0;
    const marker = 'PLAINTEXT-MARKER-3c9e1b';
    const client = await viaProxy();
    await client.writeFile('/program/read-file.wasm', program);
    await client.writeFile('/input/hello-world-1.dat', text(`${marker} in the input`));
    assert.equal(await client.execute('/program/read-file.wasm'), 0);
    assert.ok(new TextDecoder().decode(await client.readFile('/output/hello-world-1.dat')).includes(marker));
    await client.close();
    for (const stream of [Buffer.concat(toIsolate), Buffer.concat(toClient)]) {
      assert.ok(stream.length > 1000);
      assert.equal(stream.indexOf(marker), -1);
      assert.equal(stream.indexOf('/input/hello-world-1.dat'), -1, 'not even file names');
    }
  });
});
