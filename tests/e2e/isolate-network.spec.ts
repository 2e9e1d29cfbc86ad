// Networks of isolates end to end: a sender isolate (a hospital's mapper) pushes its output to a
// receiver isolate (the reducer) over mutual attested TLS that the two hosts open and hand over; real
// vc-pas, two vc-servers on the linux platform, a TCP relay between them playing the hosts' network
// (it records, or flips a byte), and the SDK.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createCertificateAuthority, createIsolateIdentity, derToPem, encodePolicyBinding, issueIsolateCertificate } from '@veracruz-ts/attestation/certificates';
import type { VeracruzClient } from '@veracruz-ts/client';
import { freePort } from '@veracruz-ts/server';
import { Code } from '@veracruz-ts/core';
import { type FileRights, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import type { RunningServer } from '@veracruz-ts/server';
import { connect, e2ePolicy, readU64, exampleProgram, party, type Party, rejectsWith, startComputation, startTestPas, type TestPas, text } from './harness.ts';

const MAP = '/program/regression-map.wasm';
const REDUCE = '/program/regression-reduce.wasm';
const PROGRAM_RIGHTS: FileRights[] = [{ file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_WRITE }];
const MARKER = 'PLAINTEXT-MARKER-7f3a';
const ZEROS = '0'.repeat(64);
const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');
/** A PAS CA no policy here names. */
const FOREIGN_CA = (await createCertificateAuthority()).certificatePem.trim();

/** A shard of records whose header carries the marker, so any plaintext crossing the hosts would show it. */
function shard(seed: number, rows = 200): Uint8Array {
  let state = seed;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const lines = [`age,${MARKER},outcome`];
  for (let row = 0; row < rows; row++) {
    const age = 20 + 60 * next();
    const bmi = 18 + 20 * next();
    lines.push(`${age.toFixed(3)},${bmi.toFixed(3)},${(2 + 0.5 * age + 1.5 * bmi + next()).toFixed(4)}`);
  }
  return text(`${lines.join('\n')}\n`);
}

/** A TCP relay to `target`, as the hosts' network: it keeps every byte it carries and may flip one. */
class Relay {
  readonly server: Server;
  readonly carried: Buffer[] = [];
  flipNext = false;
  connections = 0;
  readonly #sockets = new Set<Socket>();
  constructor(target: () => number) {
    this.server = createServer((inbound: Socket) => {
      this.connections++;
      const outbound = tcpConnect(target(), '127.0.0.1');
      for (const socket of [inbound, outbound]) {
        this.#sockets.add(socket);
        socket.once('close', () => this.#sockets.delete(socket));
      }
      const pipe = (from: Socket, to: Socket, flips: boolean): void => {
        from.on('data', (chunk: Buffer) => {
          this.carried.push(Buffer.from(chunk));
          // After the handshake's first flights: the client's application data.
          if (flips && this.flipNext && chunk.length > 200) {
            this.flipNext = false;
            chunk[chunk.length - 20]! ^= 0x01;
          }
          to.write(chunk);
        });
        from.on('end', () => to.end());
        from.on('error', () => to.destroy());
      };
      pipe(inbound, outbound, true);
      pipe(outbound, inbound, false);
    }).listen(0, '127.0.0.1');
  }
  close(): void {
    this.server.close();
    for (const socket of this.#sockets) socket.destroy();
  }
  async address(): Promise<string> {
    if (!this.server.listening) await once(this.server, 'listening');
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

describe('isolates pushing outputs to isolates (linux, two vc-servers)', { timeout: 300_000 }, () => {
  let pas: TestPas;
  let hospital: Party;
  let analyst: Party;
  const programs: Record<string, Uint8Array> = {};
  const running: RunningServer[] = [];
  const clients: VeracruzClient[] = [];
  const relays: Relay[] = [];

  before(async () => {
    pas = await startTestPas();
    programs[MAP] = await exampleProgram('regression-map');
    programs[REDUCE] = await exampleProgram('regression-reduce');
    hospital = await party('hospital', [{ file_name: '/input/', rights: RIGHTS_WRITE }, { file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE }, { file_name: '/output/', rights: RIGHTS_READ }]);
    analyst = await party('analyst', [{ file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE }, { file_name: '/output/', rights: RIGHTS_READ }]);
  });
  after(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    for (const server of running) await server.close().catch(() => {});
    for (const relay of relays) relay.close();
    await pas?.close();
  });

  /** The sender's policy pushing /output/stats.dat to `path` at `address` of the receiver with `receiverHash`. */
  async function senderPolicy(address: string, receiverHash: string, path: string, isolate: Record<string, string> = {}): Promise<string> {
    const base = JSON.parse(await e2ePolicy(pas, { parties: [hospital], programs: [{ path: MAP, binary: programs[MAP]!, rights: PROGRAM_RIGHTS }] }));
    base.dataflow = [{ address, file: '/output/stats.dat', isolate: { policy_hash: receiverHash, ...isolate }, path }];
    return JSON.stringify(base, null, 2);
  }

  /** The receiver's policy: the analyst, and each sender (by identity hash) writing its own path. */
  async function receiverPolicy(senders: { identityHash: string; path: string; isolate?: Record<string, string> }[], deadlineMs = 60_000): Promise<string> {
    const base = JSON.parse(await e2ePolicy(pas, { parties: [analyst], programs: [{ path: REDUCE, binary: programs[REDUCE]!, rights: PROGRAM_RIGHTS }] }));
    for (const [index, sender] of senders.entries()) {
      base.identities.push({ file_rights: [{ file_name: sender.path, rights: RIGHTS_WRITE }], id: index + 1, isolate: { policy_hash: sender.identityHash, ...sender.isolate } });
    }
    base.await_inputs = [{ deadline_ms: deadlineMs, files: senders.map((sender) => sender.path), program: REDUCE }];
    return JSON.stringify(base, null, 2);
  }

  async function client(server: RunningServer, policy: string, who: Party): Promise<VeracruzClient> {
    const opened = await connect(server, policy, who);
    clients.push(opened);
    return opened;
  }

  /** A sender and a receiver wired through a relay, the programs uploaded, the hospital's shard provisioned. */
  async function network(options: { senderIsolate?: Record<string, string>; receiverIsolate?: Record<string, string>; receiverHash?: (real: string) => string; identityHash?: (real: string) => string; deadlineMs?: number } = {}) {
    // The receiver's address must be in the sender's policy before the receiver starts.
    const port = await freePort('127.0.0.1');
    const relay = new Relay(() => port);
    relays.push(relay);
    const address = await relay.address();
    const path = '/input/stats/hospital';
    const identityHash = sha256(await senderPolicy(address, ZEROS, path, options.senderIsolate));
    const receiver = await receiverPolicy([{ identityHash: options.identityHash?.(identityHash) ?? identityHash, path, ...(options.receiverIsolate ? { isolate: options.receiverIsolate } : {}) }], options.deadlineMs);
    const sender = await senderPolicy(address, options.receiverHash?.(sha256(receiver)) ?? sha256(receiver), path, options.senderIsolate);
    const senderLog: string[] = [];
    const [receiverServer, senderServer] = await Promise.all([
      startComputation(receiver, pas, { listen: `127.0.0.1:${port}` }),
      startComputation(sender, pas, { log: (line) => senderLog.push(line) }),
    ]);
    running.push(receiverServer, senderServer);
    const [hospitalClient, analystClient] = await Promise.all([client(senderServer, sender, hospital), client(receiverServer, receiver, analyst)]);
    await hospitalClient.writeFile(MAP, programs[MAP]!);
    await hospitalClient.writeFile('/input/records.csv', shard(1));
    await analystClient.writeFile(REDUCE, programs[REDUCE]!);
    return { relay, receiver, sender, receiverServer, senderServer, path, hospitalClient, analystClient, identityHash, senderLog };
  }

  it("delivers a mapper's output to the reducer, which runs once it has arrived; no plaintext crosses between the hosts", async () => {
    const { relay, hospitalClient, analystClient, receiverServer, receiver } = await network();
    const reduced = analystClient.execute(REDUCE);
    assert.equal(await hospitalClient.execute(MAP), 0);
    assert.equal(await reduced, 0);
    const mine = await hospitalClient.readFile('/output/stats.dat');
    const coefficients = new TextDecoder().decode(await analystClient.readFile('/output/coefficients.txt'));
    assert.match(coefficients, /^intercept = /);
    assert.match(coefficients, new RegExp(`${MARKER} = `));
    assert.ok(relay.connections >= 1);
    const carried = Buffer.concat(relay.carried);
    assert.ok(carried.length > mine.length, 'the relay carried the transfer');
    assert.equal(carried.includes(MARKER), false, 'no plaintext marker in what the hosts relayed');
    assert.equal(carried.includes(Buffer.from(mine.subarray(0, 64))), false);
    // The reducer's analyst cannot read the partial, and the hospital is no principal of the reducer.
    await assert.rejects(analystClient.readFile('/input/stats/hospital'), rejectsWith(Code.PermissionDenied, /read/));
    await assert.rejects(connect(receiverServer, receiver, hospital), rejectsWith(Code.PermissionDenied, /not one of the policy identities|certificate/));
  });

  it('fails a transfer whose bytes a host flipped, accepts nothing of it, and delivers on the retry', async () => {
    const { relay, hospitalClient, analystClient, senderLog } = await network();
    relay.flipNext = true;
    assert.equal(await hospitalClient.execute(MAP), 0);
    assert.equal(await analystClient.execute(REDUCE), 0);
    assert.equal(relay.flipNext, false, 'a byte was flipped');
    assert.ok(relay.connections >= 2, `the first attempt failed and was retried (${relay.connections} connections)`);
    const coefficients = await analystClient.readFile('/output/coefficients.dat');
    assert.equal(new DataView(coefficients.buffer, coefficients.byteOffset).getUint32(8, true), 1, 'exactly one partial');
    assert.equal(readU64(coefficients, 0), 200, 'every row once');
    assert.match(senderLog.join('\n'), /dataflow: \/output\/stats\.dat to \/input\/stats\/hospital at [\d.:]+, attempt 1 failed: [^\n]*(bad record mac|decrypt)[\s\S]*delivered .* attempt 2\)/);
  });

  it('reports a mapper killed mid-run; relaunched and re-provisioned, it completes the computation exactly once', async () => {
    const { senderServer, sender, hospitalClient, analystClient } = await network({ deadlineMs: 2000 });
    await hospitalClient.writeFile('/input/records.csv', shard(2, 400_000));
    const run = hospitalClient.execute(MAP);
    await sleep(30);
    process.kill(senderServer.isolatePid!, 'SIGKILL');
    await assert.rejects(run);
    const exit = await senderServer.exited;
    assert.notEqual(exit.code, 0);
    assert.match(exit.reason, /isolate/);
    await assert.rejects(analystClient.execute(REDUCE), rejectsWith(Code.Unavailable, /missing: \/input\/stats\/hospital$/));
    // A new isolate for the same policy holds none of the dead one's data: the hospital provisions again.
    const relaunched = await startComputation(sender, pas);
    running.push(relaunched);
    const again = await client(relaunched, sender, hospital);
    await assert.rejects(again.readFile('/output/stats.dat'), rejectsWith(Code.NotFound, /stats\.dat/));
    await again.writeFile(MAP, programs[MAP]!);
    await again.writeFile('/input/records.csv', shard(3, 1000));
    assert.equal(await again.execute(MAP), 0);
    assert.equal(await analystClient.execute(REDUCE), 0);
    const coefficients = await analystClient.readFile('/output/coefficients.dat');
    assert.equal(new DataView(coefficients.buffer, coefficients.byteOffset).getUint32(8, true), 1, 'exactly one partial');
    assert.equal(readU64(coefficients, 0), 1000, "the relaunched mapper's rows, once");
  });

  it('refuses a client presenting an isolate-like certificate from another CA, binding the sender\'s identity', async () => {
    const { receiverServer, receiver, identityHash } = await network();
    const ca = await createCertificateAuthority();
    const forged = await createIsolateIdentity({ policyBinding: encodePolicyBinding(new Uint8Array(32), Buffer.from(identityHash, 'hex')) });
    const leaf = await issueIsolateCertificate({ csrDer: forged.csrDer, measurement: Buffer.from(JSON.parse(receiver).runtime_manager_hash_linux, 'hex'), ca, notBefore: new Date(Date.now() - 60_000) });
    const impostor = { name: 'impostor', rights: [], certificatePem: derToPem(leaf, 'CERTIFICATE'), privateKeyPem: forged.privateKeyPem };
    await assert.rejects(connect(receiverServer, receiver, impostor), rejectsWith(Code.PermissionDenied, /bad.certificate|refused/i));
  });

  it('reports exactly which inputs are missing when the deadline passes', async () => {
    const { analystClient } = await network({ deadlineMs: 1500 });
    await assert.rejects(analystClient.execute(REDUCE), rejectsWith(Code.Unavailable, /waited 1500 ms for its inputs \(await_inputs\); missing: \/input\/stats\/hospital$/));
  });

  // The receiver's refusals reach the sender as TLS alerts; the sender's own are its checks of the receiver.
  for (const [name, options, reason] of [
    ['a sender whose identity hash is not the one the receiver names', { identityHash: () => 'ab'.repeat(32) }, /attempt 1 failed, giving up: \[permission_denied\] the peer refused this isolate: .*alert certificate unknown/i],
    ['a sender whose runtime hash the receiver does not list', { receiverIsolate: { runtime_manager_hash_linux: 'cd'.repeat(32) } }, /attempt 1 failed, giving up: \[permission_denied\] the peer refused this isolate: .*alert bad certificate/i],
    ['a sender certified by another PAS CA than the receiver names', { receiverIsolate: { proxy_service_cert: FOREIGN_CA } }, /attempt 1 failed, giving up: \[permission_denied\] the peer refused this isolate: .*alert bad certificate/i],
    ['a receiver enforcing another policy than the sender names', { receiverHash: () => 'ef'.repeat(32) }, /peer isolate: it enforces policy [0-9a-f]{64}, not (ef){32}/],
    ['a receiver whose runtime hash the sender does not list', { senderIsolate: { runtime_manager_hash_linux: 'cd'.repeat(32) } }, /peer isolate: runtime hash [0-9a-f]{64} is not one the policy lists/],
    ['a receiver certified by another PAS CA than the sender names', { senderIsolate: { proxy_service_cert: FOREIGN_CA } }, /peer isolate: does not chain to the PAS CA the policy names/],
  ] as const) {
    it(`refuses ${name}: nothing arrives`, async () => {
      const { analystClient, hospitalClient, relay, senderLog } = await network({ ...options, deadlineMs: 3000 } as Parameters<typeof network>[0]);
      assert.equal(await hospitalClient.execute(MAP), 0);
      await assert.rejects(analystClient.execute(REDUCE), rejectsWith(Code.Unavailable, /missing: \/input\/stats\/hospital$/));
      assert.ok(relay.connections >= 1, 'the sender tried');
      assert.match(senderLog.join('\n'), reason);
      assert.equal(Buffer.concat(relay.carried).includes(MARKER), false);
    });
  }
});
