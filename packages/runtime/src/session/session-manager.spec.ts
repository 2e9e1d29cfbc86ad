import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import {
  decodeResponse,
  encodeFrameHeader,
  encodeRequest,
  FrameDecoder,
  frameMessage,
  ResponseStatus,
  type RuntimeManagerRequest,
  type RuntimeManagerResponse,
} from '@veracruz-ts/protocol';
import {
  createTestPki,
  createTestPrincipal,
  type InProcessComputation,
  startInProcess,
  type TestPki,
  type TestPrincipal,
  testPolicyText,
} from './test-fixture.ts';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const ascii = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** A bare TLS client speaking the framed protocol, without the SDK's checks. */
class RawSession {
  readonly socket: tls.TLSSocket;
  readonly #decoder = new FrameDecoder();
  readonly #waiting: ((response: RuntimeManagerResponse) => void)[] = [];
  readonly closed: Promise<void>;

  constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (const message of this.#decoder.push(bytes)) this.#waiting.shift()?.(decodeResponse(message));
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => {
      socket.once('end', () => resolve());
      socket.once('close', () => resolve());
    });
  }

  static async open(computation: InProcessComputation, principal: { certificatePem: string; privateKeyPem: string }, options: tls.ConnectionOptions = {}): Promise<RawSession> {
    const socket = tls.connect({
      socket: computation.openSession(),
      ca: [computation.policy.proxy_service_cert],
      cert: principal.certificatePem,
      key: principal.privateKeyPem,
      minVersion: 'TLSv1.3',
      checkServerIdentity: () => undefined,
      ...options,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return new RawSession(socket);
  }

  sendBytes(framed: Uint8Array): Promise<RuntimeManagerResponse> {
    const response = new Promise<RuntimeManagerResponse>((resolve) => this.#waiting.push(resolve));
    this.socket.write(framed);
    return Promise.race([response, this.closed.then(() => { throw new Error('session closed'); })]);
  }

  send(request: RuntimeManagerRequest): Promise<RuntimeManagerResponse> {
    return this.sendBytes(frameMessage(encodeRequest(request)));
  }
}

// A program that exits with code 7 through WASI proc_exit (hand-assembled wasm).
const EXIT_7 = Uint8Array.from(Buffer.from(
  '0061736d01000000' + '01080260017f00600000' +
  '0224' + '01' + '16' + Buffer.from('wasi_snapshot_preview1').toString('hex') + '09' + Buffer.from('proc_exit').toString('hex') + '0000' +
  '03020101' + '0503010001' +
  '0713' + '02' + '06' + Buffer.from('memory').toString('hex') + '0200' + '06' + Buffer.from('_start').toString('hex') + '0001' +
  '0a08010600410710000b', 'hex'));
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

  it('drops a client whose certificate is not in the policy before it can send anything', async () => {
    const session = await RawSession.open(computation, outsider);
    await assert.rejects(session.send({ kind: 'request_policy_hash' }), /session closed/);
    assert.ok(computation.sessionErrors.some((message) => /TLS handshake refused/.test(message)), computation.sessionErrors.join('\n'));
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
