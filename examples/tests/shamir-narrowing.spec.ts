import assert from 'node:assert/strict';
import { createHash, createPrivateKey, sign, verify, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type SignedResult, signedResultStatement } from '@veracruz-ts/attestation/signed-result';
import { type FileRights, parsePolicy, type Policy, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE, resolveRights } from '@veracruz-ts/policy';
import { ResponseStatus, type RuntimeManagerRequest, type RuntimeManagerResponse } from '@veracruz-ts/protocol';
import { MemoryBudget, VirtualFileSystem } from '@veracruz-ts/runtime';
import { RequestDispatcher, type SessionPrincipal } from '@veracruz-ts/runtime/session';
import { createTestPki, createTestPrincipal, testPolicyText } from '@veracruz-ts/runtime/testing';
import { combineShares } from '../reference/gf256.ts';
import { ExampleRunner, programBytes } from './harness.ts';

const PROGRAM = '/program/shamir-narrowing.wasm';
const OWNER = 0;
/** Custodians are the principals 1..CUSTODIANS. */
const CUSTODIANS = 5;

const encodeU32s = (...values: number[]): Uint8Array => {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (const [i, value] of values.entries()) view.setUint32(i * 4, value, true);
  return bytes;
};

/** The receivers in the clear: the k highest scores, ties to the lower id. */
function topK(scores: ReadonlyMap<number, number>, k: number): number[] {
  return [...scores].sort(([idA, a], [idB, b]) => b - a || idA - idB).slice(0, k).map(([id]) => id);
}

/** Every subset of `items` of `size` elements. */
function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  return items.flatMap((item, i) => subsets(items.slice(i + 1), size - 1).map((rest) => [item, ...rest]));
}

type Send = (id: number, request: RuntimeManagerRequest) => Promise<RuntimeManagerResponse>;

describe('shamir-narrowing', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());
  let program: Uint8Array;
  let policy: Policy;
  let signer: { certificatePem: string; sign: (data: Uint8Array) => Uint8Array };

  before(async () => {
    program = await programBytes('shamir-narrowing');
    const pki = await createTestPki();
    const rights = (entries: Record<string, number>): FileRights[] => Object.entries(entries).map(([file_name, bits]) => ({ file_name, rights: bits }));
    const owner = await createTestPrincipal('owner', rights({
      '/program/': RIGHTS_WRITE | RIGHTS_EXECUTE, '/input/secret.dat': RIGHTS_WRITE, '/input/params.dat': RIGHTS_WRITE,
      '/output/receivers.json': RIGHTS_READ | RIGHTS_WRITE, '/output/receivers.sig': RIGHTS_READ, stderr: RIGHTS_READ,
    }));
    const custodians = await Promise.all(Array.from({ length: CUSTODIANS }, (_, i) => createTestPrincipal(`custodian-${i + 1}`, rights({
      [`/input/scores/${i + 1}`]: RIGHTS_WRITE, '/output/shares/': RIGHTS_READ, '/output/receivers.json': RIGHTS_READ, '/output/receivers.sig': RIGHTS_READ,
    }))));
    const programRights = rights({ '/input/': RIGHTS_READ, '/output/': RIGHTS_READ | RIGHTS_WRITE, stderr: RIGHTS_WRITE });
    policy = await parsePolicy(testPolicyText({
      principals: [owner, ...custodians], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash,
      programs: [{ path: PROGRAM, binary: program, rights: programRights }],
    }));
    const bound = await pki.bind(policy);
    const key = createPrivateKey(bound.privateKeyPem);
    const end = '-----END CERTIFICATE-----';
    signer = { certificatePem: `${bound.chainPem.slice(0, bound.chainPem.indexOf(end) + end.length)}\n`, sign: (data) => sign('sha256', data, key) };
  });

  /** A fresh computation of the policy, served by the isolate's dispatcher; `send(id, request)` speaks as principal `id`. */
  async function computation(): Promise<Send> {
    // Narrowing changes the policy's rights in place: each computation parses its own.
    const fresh = await parsePolicy(policy.text);
    const vfs = new VirtualFileSystem({ budget: new MemoryBudget(fresh.max_memory_mib * 1024 * 1024) });
    const dispatcher = new RequestDispatcher({ policy: fresh, vfs, engine: runner.engine, signer });
    return (id, request) => {
      const fileRights = fresh.identities[id]!.file_rights;
      const principal: SessionPrincipal = { id, fileRights, view: vfs.view(fileRights) };
      return dispatcher.dispatch(principal, request);
    };
  }

  async function write(send: Send, id: number, fileName: string, data: Uint8Array): Promise<void> {
    const response = await send(id, { kind: 'write_file', fileName, data });
    assert.equal(response.status, ResponseStatus.SUCCESS, `principal ${id} writing ${fileName}: ${response.errorDetail?.message}`);
  }

  /** The data of a read, or undefined when it was refused. */
  async function read(send: Send, id: number, fileName: string): Promise<Uint8Array | undefined> {
    const response = await send(id, { kind: 'read_file', fileName });
    if (response.status !== ResponseStatus.SUCCESS) return undefined;
    assert.equal(response.body?.kind, 'result');
    return response.body?.kind === 'result' ? response.body.data : undefined;
  }

  /** Uploads the inputs (only those given) and the program, runs it, and returns its exit code. */
  async function run(send: Send, inputs: { scores?: ReadonlyMap<number, number>; secret?: Uint8Array; params?: Uint8Array }): Promise<number> {
    for (const [id, score] of inputs.scores ?? []) await write(send, id, `/input/scores/${id}`, encodeU32s(score));
    if (inputs.secret !== undefined) await write(send, OWNER, '/input/secret.dat', inputs.secret);
    if (inputs.params !== undefined) await write(send, OWNER, '/input/params.dat', inputs.params);
    await write(send, OWNER, PROGRAM, program);
    return exitCode(send);
  }

  async function exitCode(send: Send): Promise<number> {
    const response = await send(OWNER, { kind: 'request_result', fileName: PROGRAM });
    assert.equal(response.status, ResponseStatus.SUCCESS, response.errorDetail?.message);
    assert.equal(response.body?.kind, 'result');
    const data = response.body?.kind === 'result' ? response.body.data : new Uint8Array(4);
    return new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
  }

  it('shares the secret among the top-k custodians, narrows reads to each one\'s share, locks the outputs and signs the receivers', async () => {
    const send = await computation();
    const scores = new Map([[1, 10], [2, 50], [3, 50], [4, 5], [5, 30]]);
    const [k, t] = [3, 2];
    const secret = createHash('sha512').update('the launch code').digest();
    assert.equal(await run(send, { scores, secret, params: encodeU32s(k, t) }), 0, new TextDecoder().decode(await read(send, OWNER, 'stderr')));

    const receivers = topK(scores, k);
    assert.deepEqual(receivers, [2, 3, 5]);
    const json = await read(send, OWNER, '/output/receivers.json');
    assert.equal(new TextDecoder().decode(json), `${JSON.stringify({ receivers, k, t })}\n`);

    // Each receiver reads its own share (x = its rank) and no other; the excluded read none.
    const shares: Uint8Array[] = [];
    for (const [rank, id] of receivers.entries()) {
      const share = await read(send, id, `/output/shares/${id}`);
      assert.ok(share, `custodian ${id} reads its share`);
      assert.equal(share.length, secret.length + 1);
      assert.equal(share[0], rank + 1);
      shares.push(share);
      for (const other of receivers.filter((r) => r !== id)) {
        assert.equal(await read(send, id, `/output/shares/${other}`), undefined, `${id} reads ${other}'s share`);
      }
    }
    for (const id of [1, 4]) {
      for (const other of receivers) assert.equal(await read(send, id, `/output/shares/${other}`), undefined, `excluded ${id} reads ${other}'s share`);
    }

    // Any t shares give the secret back; one share alone is not it.
    for (const subset of subsets(shares, t)) assert.deepEqual(combineShares(subset), new Uint8Array(secret));
    for (const share of shares) assert.notDeepEqual(share.subarray(1), new Uint8Array(secret));

    // The rights in force, as every party can ask for them.
    const report = JSON.parse(new TextDecoder().decode(await rightsReport(send))) as {
      subjects: { subject: number; file_rights: FileRights[] }[];
    };
    const inForce = (subject: number, path: string): number =>
      resolveRights(report.subjects.find((entry) => entry.subject === subject)!.file_rights, path)?.rights ?? 0;
    for (const id of [1, 4]) assert.equal(inForce(id, `/output/shares/${id}`), 0, `excluded custodian ${id}`);
    for (const id of receivers) {
      for (const other of receivers) {
        assert.equal(inForce(id, `/output/shares/${other}`), other === id ? RIGHTS_READ : 0, `custodian ${id} on ${other}'s share`);
      }
    }
    assert.equal(inForce(OWNER, '/output/receivers.json'), RIGHTS_READ, 'the owner kept its read, lost its write');

    // The lock holds: the owner's second write is refused, and so is the program's next run.
    const rewrite = await send(OWNER, { kind: 'write_file', fileName: '/output/receivers.json', data: new TextEncoder().encode('{"receivers":[1]}\n') });
    assert.notEqual(rewrite.status, ResponseStatus.SUCCESS);
    assert.deepEqual(await read(send, 2, '/output/receivers.json'), json);
    assert.equal(await exitCode(send), 4, 'a second run can no longer write the shares');
    assert.deepEqual(await read(send, 2, '/output/shares/2'), shares[0]);

    const envelope = JSON.parse(new TextDecoder().decode(await read(send, 4, '/output/receivers.sig'))) as SignedResult;
    assert.deepEqual([envelope.path, envelope.size, envelope.sha256, envelope.policy_hash, envelope.program],
      ['/output/receivers.json', json!.length, createHash('sha256').update(json!).digest('hex'), policy.hash, PROGRAM]);
    const publicKey = new X509Certificate(envelope.certificate).publicKey;
    assert.ok(verify('sha256', signedResultStatement(envelope), publicKey, Buffer.from(envelope.signature, 'base64')));
  });

  it('with every custodian chosen and t = k, needs all the shares', async () => {
    const send = await computation();
    const scores = new Map([[1, 7], [2, 7], [3, 7], [4, 7], [5, 7]]);
    const secret = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff);
    assert.equal(await run(send, { scores, secret, params: encodeU32s(5, 5) }), 0);
    const shares: Uint8Array[] = [];
    for (const [rank, id] of topK(scores, 5).entries()) {
      assert.equal(id, rank + 1, 'equal scores rank by id');
      const share = await read(send, id, `/output/shares/${id}`);
      assert.ok(share);
      shares.push(share);
    }
    assert.deepEqual(combineShares(shares), secret);
    assert.notDeepEqual(combineShares(shares.slice(1)), secret);
  });

  it('exits 2 without params, a secret or scores', async () => {
    const scores = new Map([[1, 1], [2, 2]]);
    const secret = new Uint8Array([1, 2, 3]);
    assert.equal(await run(await computation(), { scores, secret }), 2);
    assert.equal(await run(await computation(), { scores, params: encodeU32s(1, 1) }), 2);
    assert.equal(await run(await computation(), { secret, params: encodeU32s(1, 1) }), 2);
  });

  it('exits 3 when k exceeds the custodians, on malformed params, and on a malformed score', async () => {
    const scores = new Map([[1, 1], [2, 2]]);
    const secret = new Uint8Array([1, 2, 3]);
    assert.equal(await run(await computation(), { scores, secret, params: encodeU32s(3, 2) }), 3);
    assert.equal(await run(await computation(), { scores, secret, params: encodeU32s(2, 3) }), 3);
    assert.equal(await run(await computation(), { scores, secret, params: encodeU32s(2, 0) }), 3);
    assert.equal(await run(await computation(), { scores, secret, params: new Uint8Array(7) }), 3);
    const send = await computation();
    await write(send, 1, '/input/scores/1', new Uint8Array(3));
    assert.equal(await run(send, { secret, params: encodeU32s(1, 1) }), 3);
  });
});

/** `request_rights`'s answer: the rights in force of every subject. */
async function rightsReport(send: Send): Promise<Uint8Array> {
  const response = await send(1, { kind: 'request_rights' });
  assert.equal(response.status, ResponseStatus.SUCCESS);
  return response.body?.kind === 'result' ? response.body.data : new Uint8Array();
}
