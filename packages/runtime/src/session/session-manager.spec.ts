import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { encodeFrameHeader, frameMessage, ResponseStatus } from '@veracruz-ts/protocol';
import {
  createTestPki,
  createTestPrincipal,
  EXIT_7_PROGRAM,
  type InProcessComputation,
  RawSession,
  startInProcess,
  type TestPki,
  type TestPrincipal,
  testPolicyText,
} from './test-fixture.ts';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const ascii = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

const EXIT_7 = EXIT_7_PROGRAM;
// A program whose _start hits `unreachable`.
const TRAP = Uint8Array.from(Buffer.from(
  '0061736d01000000' + '010401600000' + '03020100' + '0503010001' +
  '0713' + '02' + '06' + Buffer.from('memory').toString('hex') + '0200' + '06' + Buffer.from('_start').toString('hex') + '0000' +
  '0a05010300000b', 'hex'));

describe('SessionManager (in-process TLS 1.3 over duplex pairs)', () => {
  let pki: TestPki;
  let owner: TestPrincipal;
  let reader: TestPrincipal;
  let outsider: TestPrincipal;
  let computation: InProcessComputation;

  before(async () => {
    pki = await createTestPki();
    owner = await createTestPrincipal('owner', [
      { file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE },
      { file_name: '/input/', rights: RIGHTS_WRITE },
      { file_name: '/shared/', rights: RIGHTS_WRITE | RIGHTS_READ },
      { file_name: 'stdin', rights: RIGHTS_WRITE },
      { file_name: 'stdout', rights: RIGHTS_READ },
    ]);
    reader = await createTestPrincipal('reader', [{ file_name: '/output/', rights: RIGHTS_READ }]);
    outsider = await createTestPrincipal('outsider', [{ file_name: '/', rights: RIGHTS_READ }]);
    const programRights = [{ file_name: '/output/', rights: RIGHTS_WRITE }, { file_name: 'stdout', rights: RIGHTS_WRITE }];
    const policy = testPolicyText({
      principals: [owner, reader],
      pasCertificatePem: pki.ca.certificatePem,
      runtimeHashLinux: pki.runtimeHash,
      programs: [
        { path: '/program/exit7.wasm', binary: EXIT_7, rights: programRights },
        { path: '/program/trap.wasm', binary: TRAP, rights: programRights },
      ],
      fileHashes: [{ path: '/shared/reference.dat', data: text('reference') }],
      pipelines: [{ name: 'twice', script: '/program/exit7.wasm ; /program/exit7.wasm', rights: programRights }],
    });
    computation = await startInProcess(policy, pki, { maxMessageBytes: 1024 * 1024 });
  });
  after(async () => computation.close());

  it('answers the policy hash as ASCII hex of the exact policy bytes', async () => {
    const session = await RawSession.open(computation, owner);
    const response = await session.send({ kind: 'request_policy_hash' });
    assert.equal(response.status, ResponseStatus.SUCCESS);
    assert.equal(response.body?.kind, 'policy_hash');
    assert.equal(ascii(response.body?.kind === 'policy_hash' ? response.body.data : undefined), computation.policy.hash);
    session.socket.end();
  });

  it('writes, appends and reads back files and the std streams; an empty file reads as empty', async () => {
    const session = await RawSession.open(computation, owner);
    assert.equal((await session.send({ kind: 'write_file', fileName: '/shared/a.txt', data: text('hello ') })).status, ResponseStatus.SUCCESS);
    assert.equal((await session.send({ kind: 'append_file', fileName: 'shared/a.txt', data: text('world') })).status, ResponseStatus.SUCCESS);
    const read = await session.send({ kind: 'read_file', fileName: '/shared/a.txt' });
    assert.deepEqual(read.body, { kind: 'result', data: text('hello world') });
    const range = await session.send({ kind: 'read_file_range', fileName: '/shared/a.txt', offset: 6, length: 100 });
    assert.deepEqual(range.body, { kind: 'result', data: text('world') });
    const size = await session.send({ kind: 'request_file_size', fileName: '/shared/a.txt' });
    assert.deepEqual(size.body, { kind: 'file_size', size: 11 });
    await session.send({ kind: 'write_file', fileName: '/shared/empty', data: new Uint8Array(0) });
    const empty = await session.send({ kind: 'read_file', fileName: '/shared/empty' });
    assert.equal(empty.status, ResponseStatus.SUCCESS);
    assert.deepEqual(empty.body, { kind: 'result', data: new Uint8Array(0) });
    assert.equal((await session.send({ kind: 'write_file', fileName: 'stdin', data: text('in') })).status, ResponseStatus.SUCCESS);
    assert.equal((await session.send({ kind: 'read_file', fileName: 'stdout' })).status, ResponseStatus.SUCCESS);
    session.socket.end();
  });

  it('refuses a read without rights, naming the path and the missing right', async () => {
    const session = await RawSession.open(computation, reader);
    const denied = await session.send({ kind: 'read_file', fileName: '/shared/a.txt' });
    assert.equal(denied.status, ResponseStatus.FAILED_INVALID_ROLE);
    assert.equal(denied.errorDetail?.code, 'permission_denied');
    assert.match(denied.errorDetail?.message ?? '', /\/shared\/a\.txt/);
    const write = await session.send({ kind: 'write_file', fileName: '/output/x', data: text('secret-marker') });
    assert.equal(write.errorDetail?.code, 'permission_denied');
    assert.match(write.errorDetail?.message ?? '', /\/output\/x: missing .*FD_WRITE/);
    assert.doesNotMatch(write.errorDetail?.message ?? '', /secret-marker/);
    session.socket.end();
  });

  it('enforces file_hashes: wrong bytes are refused naming the path, appends always', async () => {
    const session = await RawSession.open(computation, owner);
    const wrong = await session.send({ kind: 'write_file', fileName: '/shared/reference.dat', data: text('tampered-marker') });
    assert.equal(wrong.errorDetail?.code, 'permission_denied');
    assert.match(wrong.errorDetail?.message ?? '', /write \/shared\/reference\.dat: .*file_hashes/);
    assert.doesNotMatch(wrong.errorDetail?.message ?? '', /tampered-marker/);
    const right = await session.send({ kind: 'write_file', fileName: '/shared/reference.dat', data: text('reference') });
    assert.equal(right.status, ResponseStatus.SUCCESS);
    const append = await session.send({ kind: 'append_file', fileName: '/shared/reference.dat', data: text('') });
    assert.equal(append.errorDetail?.code, 'permission_denied');
    const program = await session.send({ kind: 'write_file', fileName: '/program/exit7.wasm', data: TRAP });
    assert.equal(program.errorDetail?.code, 'permission_denied');
    session.socket.end();
  });

  it('executes a program with its own rights and returns the exit code as u32 LE', async () => {
    const session = await RawSession.open(computation, owner);
    const before = await session.send({ kind: 'request_result', fileName: '/program/exit7.wasm' });
    assert.equal(before.errorDetail?.code, 'not_found', 'execute before upload');
    await session.send({ kind: 'write_file', fileName: '/program/exit7.wasm', data: EXIT_7 });
    const result = await session.send({ kind: 'request_result', fileName: '/program/exit7.wasm' });
    assert.deepEqual(result, { status: ResponseStatus.SUCCESS, body: { kind: 'result', data: new Uint8Array([7, 0, 0, 0]) } });
    const pipeline = await session.send({ kind: 'request_pipeline', fileName: 'twice' });
    assert.equal(pipeline.status, ResponseStatus.SUCCESS, JSON.stringify(pipeline.errorDetail));
    const missing = await session.send({ kind: 'request_pipeline', fileName: '9' });
    assert.equal(missing.errorDetail?.code, 'not_found');
    session.socket.end();
  });

  it('refuses to execute without the execute right', async () => {
    const session = await RawSession.open(computation, reader);
    const response = await session.send({ kind: 'request_result', fileName: '/program/exit7.wasm' });
    assert.equal(response.errorDetail?.code, 'permission_denied');
    session.socket.end();
  });

  it('reports a trapping program as program_failed while another session carries on', async () => {
    const trapping = await RawSession.open(computation, owner);
    const other = await RawSession.open(computation, owner);
    await trapping.send({ kind: 'write_file', fileName: '/program/trap.wasm', data: TRAP });
    const [trap, write] = await Promise.all([
      trapping.send({ kind: 'request_result', fileName: '/program/trap.wasm' }),
      other.send({ kind: 'write_file', fileName: '/shared/during', data: text('x') }),
    ]);
    assert.equal(trap.errorDetail?.code, 'program_failed');
    assert.equal(trap.status, ResponseStatus.FAILED_VM_ERROR);
    assert.equal(write.status, ResponseStatus.SUCCESS);
    // The trapping party's own session is still usable.
    assert.equal((await trapping.send({ kind: 'request_policy_hash' })).status, ResponseStatus.SUCCESS);
    trapping.socket.end();
    other.socket.end();
  });

  it('answers a malformed request with invalid_request and keeps the session', async () => {
    const session = await RawSession.open(computation, owner);
    const malformed = await session.sendBytes(frameMessage(Uint8Array.from([0x12, 0x0f, 0x0a])));
    assert.equal(malformed.status, ResponseStatus.FAILED_INVALID_REQUEST);
    assert.equal(malformed.errorDetail?.code, 'invalid_request');
    const legacy = await session.send({ kind: 'request_pi_hash', fileName: '/program/x' });
    assert.equal(legacy.errorDetail?.code, 'invalid_request');
    const none = await session.send({ kind: 'none' });
    assert.equal(none.errorDetail?.code, 'invalid_request');
    assert.equal((await session.send({ kind: 'request_policy_hash' })).status, ResponseStatus.SUCCESS);
    session.socket.end();
  });

  it('ends only the session that announces a message over the limit', async () => {
    const bystander = await RawSession.open(computation, owner);
    const session = await RawSession.open(computation, owner);
    const response = await session.sendBytes(encodeFrameHeader(2 * 1024 * 1024));
    assert.equal(response.errorDetail?.code, 'limit_exceeded');
    await session.closed;
    assert.equal((await bystander.send({ kind: 'request_policy_hash' })).status, ResponseStatus.SUCCESS);
    bystander.socket.end();
  });

  it('refuses a whole-file read above one message, and serves it in ranges', async () => {
    const session = await RawSession.open(computation, owner);
    const big = new Uint8Array(1024 * 1024 - 1000).fill(1);
    await session.send({ kind: 'write_file', fileName: '/shared/big', data: big });
    await session.send({ kind: 'append_file', fileName: '/shared/big', data: big });
    const whole = await session.send({ kind: 'read_file', fileName: '/shared/big' });
    assert.equal(whole.errorDetail?.code, 'limit_exceeded');
    assert.match(whole.errorDetail?.message ?? '', /read it in ranges/);
    const part = await session.send({ kind: 'read_file_range', fileName: '/shared/big', offset: big.length - 1, length: 2 });
    assert.deepEqual(part.body, { kind: 'result', data: new Uint8Array([1, 1]) });
    session.socket.end();
  });

  it('refuses a client whose certificate is not in the policy with a certificate_unknown alert, before it can send anything', async () => {
    const session = await RawSession.open(computation, outsider);
    // TLS 1.3: the client's handshake is done before the server judges its certificate; the alert
    // arrives at its first read.
    const alert = once(session.socket, 'error') as Promise<[NodeJS.ErrnoException]>;
    await assert.rejects(session.send({ kind: 'request_policy_hash' }), /session closed/);
    const [error] = await alert;
    assert.match(String(error.code), /ALERT_CERTIFICATE_UNKNOWN$/);
    assert.match(error.message, /SSL alert number 46/);
    assert.ok(computation.sessionErrors.some((message) =>
      message === '[permission_denied] TLS handshake refused: the client certificate is not one of the policy identities (sent TLS alert certificate_unknown)'),
    computation.sessionErrors.join('\n'));
  });

  it('refuses a client that sends no certificate with a certificate_required alert', async () => {
    const socket = tls.connect({
      socket: computation.openSession(), ca: [computation.policy.proxy_service_cert], minVersion: 'TLSv1.3', checkServerIdentity: () => undefined,
    });
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    assert.match(String(error.code), /ALERT_CERTIFICATE_REQUIRED$/);
    socket.destroy();
  });

  it('drops a client that has a policy certificate but the wrong key', async () => {
    const session = RawSession.open(computation, { certificatePem: owner.certificatePem, privateKeyPem: outsider.privateKeyPem });
    await assert.rejects(session.then((opened) => opened.send({ kind: 'request_policy_hash' })));
  });

  it('refuses TLS 1.2', async () => {
    await assert.rejects(RawSession.open(computation, owner, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }));
  });

  it('calls onShutdown after any identity asks, and refuses requests afterwards', async () => {
    const session = await RawSession.open(computation, reader);
    const response = await session.send({ kind: 'request_shutdown' });
    assert.equal(response.status, ResponseStatus.SUCCESS);
    await computation.shutdown;
    const later = await session.send({ kind: 'request_policy_hash' });
    assert.equal(later.errorDetail?.code, 'unavailable');
    session.socket.end();
  });
});

describe('SessionManager under the isolate\'s memory budget', () => {
  const MIB = 1024 * 1024;
  let pki: TestPki;
  let owner: TestPrincipal;
  let computation: InProcessComputation;

  before(async () => {
    pki = await createTestPki();
    owner = await createTestPrincipal('owner', [{ file_name: '/data/', rights: RIGHTS_WRITE | RIGHTS_READ }]);
    // 24 MiB: 12 MiB for data, 12 MiB kept for serving principals (sessions, requests, responses).
    const policy = testPolicyText({ principals: [owner], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash, maxMemoryMib: 24 });
    computation = await startInProcess(policy, pki);
  });
  after(async () => computation.close());

  it('refuses a write that does not fit before storing anything, names the resource, and keeps the session', async () => {
    const session = await RawSession.open(computation, owner);
    assert.equal((await session.send({ kind: 'write_file', fileName: '/data/a', data: new Uint8Array(6 * MIB).fill(1) })).status, ResponseStatus.SUCCESS);
    const refused = await session.send({ kind: 'write_file', fileName: '/data/b', data: new Uint8Array(7 * MIB) });
    assert.equal(refused.errorDetail?.code, 'limit_exceeded');
    assert.match(refused.errorDetail?.message ?? '', /^write \/data\/b: the isolate's memory budget \(24 MiB\) cannot hold \d+ more bytes of files/);
    const appended = await session.send({ kind: 'append_file', fileName: '/data/a', data: new Uint8Array(7 * MIB) });
    assert.equal(appended.errorDetail?.code, 'limit_exceeded');
    // Outputs that fill the data part of the budget can still be read: responses use the serving reserve.
    const read = await session.send({ kind: 'read_file', fileName: '/data/a' });
    assert.equal(read.body?.kind === 'result' ? read.body.data.length : -1, 6 * MIB);
    assert.equal((await session.send({ kind: 'request_file_size', fileName: '/data/b' })).errorDetail?.code, 'not_found', 'no empty /data/b left behind');
    assert.equal((await session.send({ kind: 'write_file', fileName: '/data/a', data: new Uint8Array(0) })).status, ResponseStatus.SUCCESS);
    session.socket.end();
  });

  it('charges each open session, refuses one the budget cannot hold, and returns the charge when it closes', async () => {
    const budget = computation.vfs.budget;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = budget.usage().sessions;
    const sessions: RawSession[] = [];
    let refusal: unknown;
    for (let count = 0; count < 64 && refusal === undefined; count++) {
      try {
        const session = await RawSession.open(computation, owner);
        sessions.push(session);
        await session.send({ kind: 'request_policy_hash' }); // admitted: no longer in its handshake
      } catch (reason) {
        refusal = reason;
      }
    }
    assert.match(String(refusal), /limit_exceeded.*session refused: the isolate's memory budget \(24 MiB\) cannot hold \d+ more bytes of sessions/);
    assert.ok(sessions.length >= 3 && sessions.length < 16, `${sessions.length} sessions fitted`);
    await Promise.all(sessions.map(async (session) => {
      session.socket.end();
      await session.closed;
      session.socket.destroy();
    }));
    while (budget.usage().sessions > before) await new Promise((resolve) => setTimeout(resolve, 10));
    const again = await RawSession.open(computation, owner);
    assert.equal((await again.send({ kind: 'request_policy_hash' })).status, ResponseStatus.SUCCESS);
    again.socket.end();
  });

  it('lets sessions still in their handshake hold only part of the serving reserve, never the data\'s part', async () => {
    const budget = computation.vfs.budget;
    const dataBefore = budget.available('files');
    const sessionsBefore = budget.usage().sessions;
    const idle: ReturnType<typeof computation.openSession>[] = [];
    let refusal: unknown;
    for (let count = 0; count < 64 && refusal === undefined; count++) {
      try {
        idle.push(computation.openSession()); // connected, never says a word
      } catch (reason) {
        refusal = reason;
      }
    }
    assert.match(String(refusal), /limit_exceeded.*session refused: \d+ sessions are in their TLS handshake, the most the isolate's memory budget allows/);
    assert.ok(idle.length >= 4 && idle.length <= 8, `${idle.length} handshakes were let in`);
    assert.equal(budget.available('files'), dataBefore, 'the data\'s part is untouched');
    for (const stream of idle) stream.destroy();
    while (budget.usage().sessions > sessionsBefore) await new Promise((resolve) => setTimeout(resolve, 10));
  });

  it('ends a session whose request the budget cannot hold, with limit_exceeded, leaving others as they were', async () => {
    const budget = computation.vfs.budget;
    const session = await RawSession.open(computation, owner);
    const taken = budget.free - 64 * 1024;
    assert.ok(budget.tryReserve(taken, 'responses'));
    try {
      const refused = await session.send({ kind: 'write_file', fileName: '/data/c', data: new Uint8Array(MIB) });
      assert.equal(refused.errorDetail?.code, 'limit_exceeded');
      assert.match(refused.errorDetail?.message ?? '', /^request: the isolate's memory budget \(24 MiB\) cannot hold \d+ more bytes of requests/);
      await session.closed;
    } finally {
      budget.release(taken, 'responses');
    }
    assert.equal(budget.usage().requests, 0, 'the session\'s partial request was given back');
  });
});

describe('the session manager on a client\'s TCP socket itself (a connection the host handed over)', () => {
  let pki: TestPki;
  let owner: TestPrincipal;
  let outsider: TestPrincipal;
  let computation: InProcessComputation;

  before(async () => {
    pki = await createTestPki();
    owner = await createTestPrincipal('owner', [{ file_name: '/shared/', rights: RIGHTS_WRITE | RIGHTS_READ }]);
    outsider = await createTestPrincipal('outsider', [{ file_name: '/', rights: RIGHTS_READ }]);
    const policy = testPolicyText({ principals: [owner], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash, ciphersuite: 'TLS1_3_AES_256_GCM_SHA384' });
    computation = await startInProcess(policy, pki, { maxMessageBytes: 4 * 1024 * 1024 });
  });
  after(async () => computation.close());

  it('serves writes stored from the TLS records they came in, and ranged reads sent as they were copied', async () => {
    const session = await RawSession.open(computation, owner, { socket: await computation.openSocketSession() });
    const data = Uint8Array.from({ length: 3 * 1024 * 1024 + 5 }, (_, index) => (index * 13) & 0xff);
    const half = 1536 * 1024;
    assert.equal((await session.send({ kind: 'write_file', fileName: '/shared/big', data: data.subarray(0, half) })).status, ResponseStatus.SUCCESS);
    assert.equal((await session.send({ kind: 'append_file', fileName: '/shared/big', data: data.subarray(half) })).status, ResponseStatus.SUCCESS);
    const parts: Uint8Array[] = [];
    // Several ranges of one size in a row: the session copies them into buffers it reuses.
    for (let offset = 0; offset < data.length; offset += 512 * 1024) {
      const response = await session.send({ kind: 'read_file_range', fileName: '/shared/big', offset, length: 512 * 1024 });
      assert.equal(response.status, ResponseStatus.SUCCESS);
      parts.push(response.body?.kind === 'result' ? Uint8Array.from(response.body.data) : new Uint8Array(0));
    }
    assert.ok(Buffer.concat(parts).equals(data));
    const whole = await session.send({ kind: 'read_file', fileName: '/shared/big' });
    assert.ok(whole.body?.kind === 'result' && Buffer.from(whole.body.data).equals(data));
    session.socket.end();
    await session.closed;
  });

  it('gives the budget back when the session ends: its charge, its requests, and the buffers it kept', async () => {
    const closed = async (session: RawSession): Promise<void> => {
      session.socket.end();
      await session.closed;
      while (computation.manager.openSessions > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const writer = await RawSession.open(computation, owner, { socket: await computation.openSocketSession() });
    await writer.send({ kind: 'write_file', fileName: '/shared/small', data: new Uint8Array(300_000).fill(1) });
    await closed(writer);
    const withFile = computation.vfs.budget.used;
    const reader = await RawSession.open(computation, owner, { socket: await computation.openSocketSession() });
    for (let round = 0; round < 3; round++) await reader.send({ kind: 'read_file_range', fileName: '/shared/small', offset: 0, length: 300_000 });
    assert.ok(computation.vfs.budget.used > withFile, 'the session holds its charge and a buffer');
    await closed(reader);
    assert.equal(computation.vfs.budget.used, withFile);
  });

  it('refuses a client whose certificate is not in the policy with a certificate_unknown alert, as on a relayed stream', async () => {
    const session = await RawSession.open(computation, outsider, { socket: await computation.openSocketSession() });
    const alert = once(session.socket, 'error') as Promise<[NodeJS.ErrnoException]>;
    await assert.rejects(session.send({ kind: 'request_policy_hash' }), /session closed/);
    const [error] = await alert;
    assert.match(String(error.code), /ALERT_CERTIFICATE_UNKNOWN$/);
    assert.match(error.message, /SSL alert number 46/);
  });

  it('refuses a client that sends no certificate with a certificate_required alert', async () => {
    const socket = tls.connect({
      socket: await computation.openSocketSession(), ca: [computation.policy.proxy_service_cert], minVersion: 'TLSv1.3', checkServerIdentity: () => undefined,
    });
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    assert.match(String(error.code), /ALERT_CERTIFICATE_REQUIRED$/);
    socket.destroy();
  });
});
