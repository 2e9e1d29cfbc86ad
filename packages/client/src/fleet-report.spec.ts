import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import {
  createTestPki,
  createTestPrincipal,
  type InProcessComputation,
  startInProcess,
  type TestPki,
  type TestPrincipal,
  testPolicyText,
} from '@veracruz-ts/runtime/testing';
import { parseClientArguments } from './cli/arguments.ts';
import { runClient } from './cli/run.ts';
import { VeracruzClient } from './client.ts';
import { explainUnavailable, fetchFleetReport } from './fleet-report.ts';
import { droppingHost, isError } from './test-fixture.ts';

/**
 * A stand-in for a fleet controller's read API, over real HTTP on loopback. The shape of
 * `GET /v1/policies/HASH` (200 with a report, 404 with an error body) is the contract that
 * packages/fleet's controller serves; what it answers here is set per policy hash by each test.
 */
interface FakeFleet {
  url: string;
  /** Paths asked for, in order. */
  asked: string[];
  /** What to answer for `hash`: a JSON value, or (`raw`) text as it is; 200 unless `status` says otherwise. */
  answer(hash: string, body: unknown, options?: { status?: number; raw?: boolean }): void;
  /** Never answer for `hash`. */
  hang(hash: string): void;
  close(): Promise<void>;
}

async function startFakeFleet(): Promise<FakeFleet> {
  const answers = new Map<string, { status: number; text: string } | 'hang'>();
  const asked: string[] = [];
  const server = http.createServer((request, response) => {
    const path = request.url ?? '';
    asked.push(path);
    const hash = /^\/v1\/policies\/([^/]+)$/.exec(path)?.[1];
    const answer = request.method === 'GET' && hash !== undefined ? answers.get(hash) : undefined;
    if (answer === 'hang') return;
    const { status, text } = answer ?? {
      status: 404,
      text: JSON.stringify({ error: { code: 'not_found', message: `no isolate of this fleet was given the policy ${hash}` } }),
    };
    response.writeHead(status, { 'content-type': 'application/json' }).end(text);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    asked,
    answer: (hash, body, options = {}) => answers.set(hash, {
      status: options.status ?? 200,
      text: options.raw === true ? String(body) : JSON.stringify(body),
    }),
    hang: (hash) => answers.set(hash, 'hang'),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A loopback address nothing listens on: a port reserved, then closed (connections are refused). */
async function refusedAddress(): Promise<string> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return `127.0.0.1:${port}`;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const LOST_AT = '2030-01-02T03:04:05.000Z';

/** A report as the fleet's reconciler writes it when the member serving `isolate` dies. */
function lostReport(isolate: string, address: string) {
  return {
    computation: 'ledger', isolate, state: 'lost',
    ended: { code: 137, reason: 'killed by SIGKILL', at: LOST_AT },
    reason: `isolate ${isolate} (member m-3, ${address}) died at ${LOST_AT}: killed by SIGKILL`,
  };
}

describe('fetchFleetReport and explainUnavailable', () => {
  let fleet: FakeFleet;
  const unavailable = new VeracruzError(Code.Unavailable, 'cannot reach the Veracruz server at 127.0.0.1:1: connect ECONNREFUSED');
  before(async () => {
    fleet = await startFakeFleet();
  });
  after(() => fleet.close());

  it('reads the report the fleet serves for a policy hash, at /v1/policies/HASH', async () => {
    const hash = sha256('report');
    fleet.answer(hash, lostReport('main', '127.0.0.1:1'));
    assert.deepEqual(await fetchFleetReport(`${fleet.url}/`, hash), lostReport('main', '127.0.0.1:1'));
    assert.equal(fleet.asked.at(-1), `/v1/policies/${hash}`);
  });

  it('has no report, without throwing, for a 404, bad JSON, a wrong shape, an unreachable fleet or one that does not answer in time', async () => {
    assert.equal(await fetchFleetReport(fleet.url, sha256('unknown')), undefined);
    fleet.answer(sha256('bad json'), '{"computation": ', { raw: true });
    assert.equal(await fetchFleetReport(fleet.url, sha256('bad json')), undefined);
    fleet.answer(sha256('shape'), { computation: 'c', isolate: 'i', state: 'exploded' });
    assert.equal(await fetchFleetReport(fleet.url, sha256('shape')), undefined);
    fleet.answer(sha256('error status'), lostReport('main', '127.0.0.1:1'), { status: 500 });
    assert.equal(await fetchFleetReport(fleet.url, sha256('error status')), undefined);
    assert.equal(await fetchFleetReport(`http://${await refusedAddress()}`, sha256('x')), undefined);
    assert.equal(await fetchFleetReport('not a url', sha256('x')), undefined);
    fleet.hang(sha256('slow'));
    const started = Date.now();
    assert.equal(await fetchFleetReport(fleet.url, sha256('slow'), { timeoutMs: 200 }), undefined);
    assert.ok(Date.now() - started < 2000, 'the timeout bounds the wait');
  });

  it('says what the fleet reports of a failed computation and of an isolate that ended in order', async () => {
    fleet.answer(sha256('failed'), { computation: 'ledger', isolate: 'main', state: 'failed', reason: 'cancelled by the operator' });
    const failed = await explainUnavailable(unavailable, fleet.url, sha256('failed'));
    assert.equal(failed.code, Code.Unavailable);
    assert.equal(failed.rawMessage, `the fleet at ${fleet.url} reports (unauthenticated) that computation ledger failed: cancelled by the operator`);
    assert.equal(failed.cause, unavailable);

    fleet.answer(sha256('ended'), {
      computation: 'ledger', isolate: 'main', state: 'completed',
      ended: { code: 0, reason: 'shut down by a principal', at: LOST_AT },
    });
    const ended = await explainUnavailable(unavailable, fleet.url, sha256('ended'));
    assert.equal(ended.rawMessage,
      `the fleet at ${fleet.url} reports (unauthenticated) that isolate main of computation ledger ended at ${LOST_AT} (shut down by a principal)`);
    assert.equal(ended.cause, unavailable);
  });

  it('keeps the failure itself when the fleet says another isolate was lost and this one still runs', async () => {
    fleet.answer(sha256('sibling'), { computation: 'ledger', isolate: 'reader', state: 'lost', reason: 'isolate main (member m-3) died' });
    const explained = await explainUnavailable(unavailable, fleet.url, sha256('sibling'));
    assert.equal(explained.rawMessage,
      `the fleet at ${fleet.url} reports (unauthenticated) that computation ledger was lost: isolate main (member m-3) died; ` +
      `its isolate reader, which serves this policy, had not ended when the fleet answered (${unavailable.rawMessage})`);
  });

  it('returns the error itself for another code (without asking) and when the fleet says the isolate is serving', async () => {
    const hash = sha256('denied');
    fleet.answer(hash, lostReport('main', '127.0.0.1:1'));
    const asked = fleet.asked.length;
    const denied = new VeracruzError(Code.PermissionDenied, 'the isolate does not know this identity');
    assert.equal(await explainUnavailable(denied, fleet.url, hash), denied);
    assert.equal(fleet.asked.length, asked, 'the fleet is not asked about other codes');
    fleet.answer(sha256('ready'), { computation: 'ledger', isolate: 'main', state: 'ready' });
    assert.equal(await explainUnavailable(unavailable, fleet.url, sha256('ready'), { settleMs: 0 }), unavailable);
    fleet.answer(sha256('pending'), { computation: 'ledger', isolate: 'main', state: 'pending' });
    assert.equal(await explainUnavailable(unavailable, fleet.url, sha256('pending'), { settleMs: 0 }), unavailable);
  });

  it('asks again, for a moment, while the fleet still reports the computation running (it learns of a death after the client)', async () => {
    const hash = sha256('dying');
    fleet.answer(hash, { computation: 'ledger', isolate: 'main', state: 'ready' });
    setTimeout(() => fleet.answer(hash, lostReport('main', '127.0.0.1:1')), 300);
    const explained = await explainUnavailable(unavailable, fleet.url, hash);
    assert.match(explained.message, /that computation ledger lost its isolate main at /);
    assert.ok(fleet.asked.filter((path) => path.endsWith(hash)).length >= 2, 'asked more than once');
  });
});

describe('VeracruzClient.connect to an isolate whose address is dead', () => {
  let fleet: FakeFleet;
  let alice: TestPrincipal;
  let address: string;
  let policyText: string;
  let policyHash: string;
  const connect = (fleetUrl?: string) => VeracruzClient.connect({
    policy: policyText,
    certificatePem: alice.certificatePem,
    privateKeyPem: alice.privateKeyPem,
    ...(fleetUrl === undefined ? {} : { fleet: fleetUrl }),
  });
  const refused = () => new RegExp(`^\\[unavailable\\] cannot reach the Veracruz server at ${address}: connect ECONNREFUSED`);

  before(async () => {
    fleet = await startFakeFleet();
    const pki = await createTestPki();
    alice = await createTestPrincipal('alice', [{ file_name: '/input/', rights: RIGHTS_WRITE }]);
    // The isolate's address, as the fleet wrote it into the policy: its member died, so nothing listens there.
    address = await refusedAddress();
    policyText = testPolicyText({ principals: [alice], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash, serverAddress: address });
    policyHash = sha256(policyText);
  });
  after(() => fleet.close());

  it('says, as the fleet\'s unauthenticated report, that the computation lost the isolate', async () => {
    fleet.answer(policyHash, lostReport('main', address));
    await assert.rejects(connect(fleet.url), (error: unknown) => {
      assert.ok(error instanceof VeracruzError);
      assert.equal(error.code, Code.Unavailable);
      assert.equal(error.message,
        `[unavailable] the fleet at ${fleet.url} reports (unauthenticated) that computation ledger lost its isolate main at ${LOST_AT}: killed by SIGKILL; ` +
        'what that isolate held is gone, and no other isolate serves this policy');
      assert.ok(error.cause instanceof VeracruzError);
      assert.match(error.cause.message, refused());
      return true;
    });
    assert.equal(fleet.asked.at(-1), `/v1/policies/${policyHash}`);
  });

  it('throws the plain unavailable error without a fleet', async () => {
    const asked = fleet.asked.length;
    await assert.rejects(connect(), isError(Code.Unavailable, refused()));
    assert.equal(fleet.asked.length, asked);
  });

  it('throws the original error when the fleet knows no such policy, cannot be reached, or says the isolate is ready', async () => {
    const asked = fleet.asked.length;
    await assert.rejects(connect(`${fleet.url}/unknown-prefix`), isError(Code.Unavailable, refused()));
    assert.equal(fleet.asked.length, asked + 1, 'asked, and answered 404');
    await assert.rejects(connect(`http://${await refusedAddress()}`), isError(Code.Unavailable, refused()));
    fleet.answer(policyHash, { computation: 'ledger', isolate: 'main', state: 'ready' });
    await assert.rejects(connect(fleet.url), isError(Code.Unavailable, refused()));
  });

  it('vc-client --fleet prints the fleet\'s report as the error', async () => {
    fleet.answer(policyHash, lostReport('main', address));
    const dir = await mkdtemp(join(tmpdir(), 'vc-client-fleet-'));
    try {
      await writeFile(join(dir, 'policy.json'), policyText);
      await writeFile(join(dir, 'alice.crt'), alice.certificatePem);
      await writeFile(join(dir, 'alice.key'), alice.privateKeyPem);
      const plan = parseClientArguments([join(dir, 'policy.json'), '-i', join(dir, 'alice.crt'), '-k', join(dir, 'alice.key'), '-q', '-s', '--fleet', fleet.url]);
      assert.ok(typeof plan === 'object');
      const stderr = new PassThrough();
      const parts: Buffer[] = [];
      stderr.on('data', (part: Buffer) => parts.push(part));
      const code = await runClient(plan, { stdin: Readable.from([]), stdout: new PassThrough(), stderr });
      assert.equal(code, 1);
      assert.match(Buffer.concat(parts).toString('utf8'),
        new RegExp(`\\[unavailable\\] the fleet at ${fleet.url} reports \\(unauthenticated\\) that computation ledger lost its isolate main at .*no other isolate serves this policy`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a request after the connection to the isolate dropped', () => {
  let fleet: FakeFleet;
  let pki: TestPki;
  let alice: TestPrincipal;
  let policyText: string;
  let computation: InProcessComputation;

  before(async () => {
    fleet = await startFakeFleet();
    pki = await createTestPki();
    alice = await createTestPrincipal('alice', [{ file_name: '/input/', rights: RIGHTS_WRITE | RIGHTS_READ }]);
    policyText = testPolicyText({ principals: [alice], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash });
    computation = await startInProcess(policyText, pki);
  });
  after(async () => {
    await computation.close();
    await fleet.close();
  });

  it('fails with the fleet\'s report once the session is gone, asking once; errors of an open session pass as they are', async () => {
    fleet.answer(computation.policy.hash, lostReport('main', '127.0.0.1:3011'));
    const host = await droppingHost(computation, 'reset');
    try {
      const client = await VeracruzClient.connect({
        policy: policyText, certificatePem: alice.certificatePem, privateKeyPem: alice.privateKeyPem,
        transport: host.transport, fleet: fleet.url,
      });
      // The isolate's own refusal, over a live session: not the fleet's business.
      await assert.rejects(client.readFile('/output/none'), isError(Code.PermissionDenied, /\/output\/none/));
      assert.equal(fleet.asked.length, 0);
      host.arm();
      const lost = new RegExp(`^\\[unavailable\\] the fleet at ${fleet.url} reports \\(unauthenticated\\) that computation ledger lost its isolate main at ` +
        '.*; what that isolate held is gone, and no other isolate serves this policy$');
      let first: unknown;
      await assert.rejects(client.readFile('/input/a.txt'), (error: unknown) => {
        isError(Code.Unavailable, lost)(error);
        const cause = (error as VeracruzError).cause;
        assert.ok(cause instanceof VeracruzError);
        assert.match(cause.message, /the connection to the isolate was lost mid-request \(read_file \/input\/a\.txt\): the host reset it/);
        first = error;
        return true;
      });
      // Every later request fails at once with the same explained error; the fleet was asked once.
      await assert.rejects(client.policyHash(), (error: unknown) => error === first);
      await assert.rejects(client.readFileStream('/input/a.txt').next(), (error: unknown) => error === first);
      assert.deepEqual(fleet.asked, [`/v1/policies/${computation.policy.hash}`]);
      await client.close();
    } finally {
      host.close();
    }
  });
});
