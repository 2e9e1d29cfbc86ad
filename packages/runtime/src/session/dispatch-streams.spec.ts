import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { type FileRights, parsePolicy, type Policy, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { ResponseStatus, type RuntimeManagerRequest, type RuntimeManagerResponse } from '@veracruz-ts/protocol';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { compileC } from '../engine/compile-c.ts';
import { ExecutionEngine } from '../engine/engine.ts';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import { MAX_STREAM_WAIT_MS, RequestDispatcher, type SessionPrincipal } from './dispatch.ts';
import { createTestPki, createTestPrincipal, FOLLOW_STREAM_SOURCE, testPolicyText } from './test-fixture.ts';

/**
 * Reads one byte of /input/s and says so in /output/copy, then reads /input/gate to its end, then the
 * rest of /input/s; prints the bytes of /input/s.
 */
const GATED_SOURCE = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int in = open("/input/s", O_RDONLY);
  int gate = open("/input/gate", O_RDONLY);
  char buffer[64];
  if (in < 0 || gate < 0 || read(in, buffer, 1) != 1) return 3;
  int out = open("/output/copy", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  write(out, "ready", 5);
  while (read(gate, buffer, sizeof buffer) > 0) {}
  long total = 1;
  ssize_t count;
  while ((count = read(in, buffer, sizeof buffer)) > 0) total += count;
  printf("read %ld\n", total);
  return count < 0 ? 5 : 0;
}
`;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PROGRAM_RIGHTS: FileRights[] = [
  { file_name: '/input/', rights: RIGHTS_READ },
  { file_name: '/output/', rights: RIGHTS_WRITE | RIGHTS_READ },
  { file_name: 'stdout', rights: RIGHTS_WRITE },
];
const WRITER_RIGHTS: FileRights[] = [
  { file_name: '/input/', rights: RIGHTS_WRITE | RIGHTS_READ },
  { file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE },
  { file_name: 'stdout', rights: RIGHTS_READ },
];
const SECOND_WRITER_RIGHTS: FileRights[] = [{ file_name: '/input/', rights: RIGHTS_WRITE }];
const FOLLOWER_RIGHTS: FileRights[] = [{ file_name: '/output/', rights: RIGHTS_READ }, { file_name: '/input/plain', rights: RIGHTS_READ }];

let follow: Uint8Array;
let gated: Uint8Array;
let policy: Policy;
let engine: ExecutionEngine;

before(async () => {
  [follow, gated] = await Promise.all([compileC(FOLLOW_STREAM_SOURCE), compileC(GATED_SOURCE)]);
  const pki = await createTestPki();
  const principals = await Promise.all([
    createTestPrincipal('writer', WRITER_RIGHTS),
    createTestPrincipal('second writer', SECOND_WRITER_RIGHTS),
    createTestPrincipal('follower', FOLLOWER_RIGHTS),
  ]);
  const value = JSON.parse(testPolicyText({
    principals,
    pasCertificatePem: pki.ca.certificatePem,
    runtimeHashLinux: pki.runtimeHash,
    programs: [
      { path: '/program/follow.wasm', binary: follow, rights: PROGRAM_RIGHTS },
      { path: '/program/gated.wasm', binary: gated, rights: PROGRAM_RIGHTS },
      // The same program, stopped by a short time limit.
      { path: '/program/brief.wasm', binary: follow, rights: PROGRAM_RIGHTS, limits: { timeout_ms: 400 } },
    ],
    pipelines: [{ name: 'follow', script: '/program/follow.wasm', rights: PROGRAM_RIGHTS }],
  })) as Record<string, unknown>;
  value['streams'] = [
    { path: '/input/s', max_buffered_bytes: 10 },
    { path: '/input/gate' },
    { path: '/input/closing', on_writer_disconnect: 'close' },
    { path: '/input/patient', on_writer_disconnect: 'wait' },
    { path: '/input/timed', deadline_ms: 150 },
    { path: '/output/copy' },
  ];
  policy = await parsePolicy(JSON.stringify(value, null, 2));
  engine = new ExecutionEngine();
});
after(() => engine.close());

/** A fresh computation of the policy: its dispatcher, and a new session for an identity (0 writer, 1 second writer, 2 follower). */
function computation(): { dispatcher: RequestDispatcher; vfs: VirtualFileSystem; session: (id: number) => Session } {
  const vfs = new VirtualFileSystem({ budget: new MemoryBudget(policy.max_memory_mib * 1024 * 1024) });
  const dispatcher = new RequestDispatcher({ policy, vfs, engine });
  return {
    dispatcher,
    vfs,
    session: (id) => {
      const fileRights = policy.identities[id]!.file_rights;
      const principal: SessionPrincipal = { id, fileRights, view: vfs.view(fileRights) };
      return { principal, send: (request) => dispatcher.dispatch(principal, request) };
    },
  };
}

interface Session {
  principal: SessionPrincipal;
  send(request: RuntimeManagerRequest): Promise<RuntimeManagerResponse>;
}

const append = (fileName: string, data: string): RuntimeManagerRequest => ({ kind: 'append_file', fileName, data: encoder.encode(data) });
const readStream = (fileName: string, offset: number, waitMs = 0, length = 1024): RuntimeManagerRequest => ({ kind: 'read_stream', fileName, offset, length, waitMs });

function ok(response: RuntimeManagerResponse): RuntimeManagerResponse {
  assert.equal(response.status, ResponseStatus.SUCCESS, JSON.stringify(response.errorDetail));
  return response;
}
function chunk(response: RuntimeManagerResponse): { text: string; end: boolean } {
  const body = ok(response).body;
  assert.equal(body?.kind, 'stream_chunk');
  return body?.kind === 'stream_chunk' ? { text: decoder.decode(body.data), end: body.end } : { text: '', end: false };
}
function refused(response: RuntimeManagerResponse, code: string, message: string | RegExp): void {
  assert.notEqual(response.status, ResponseStatus.SUCCESS);
  assert.equal(response.errorDetail?.code, code, response.errorDetail?.message);
  if (typeof message === 'string') assert.equal(response.errorDetail?.message, message);
  else assert.match(response.errorDetail?.message ?? '', message);
}
/** Whether `promise` is still pending after a while. */
async function pending(promise: Promise<unknown>, ms = 100): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true), () => (settled = true));
  await sleep(ms);
  return !settled;
}
async function fileText(session: Session, fileName: string): Promise<string> {
  const body = ok(await session.send({ kind: 'read_file', fileName })).body;
  return body?.kind === 'result' ? decoder.decode(body.data) : '';
}
async function upload(writer: Session): Promise<void> {
  ok(await writer.send({ kind: 'write_file', fileName: '/program/follow.wasm', data: follow }));
  ok(await writer.send({ kind: 'write_file', fileName: '/program/gated.wasm', data: gated }));
  ok(await writer.send({ kind: 'write_file', fileName: '/program/brief.wasm', data: follow }));
}

describe('RequestDispatcher: streams', () => {
  it('creates every stream file empty when it is set up', async () => {
    const { session } = computation();
    const writer = session(0);
    assert.deepEqual(ok(await writer.send({ kind: 'request_file_size', fileName: '/input/s' })).body, { kind: 'file_size', size: 0 });
    assert.deepEqual(chunk(await session(2).send(readStream('/output/copy', 0))), { text: '', end: false });
  });

  it('read_stream answers at once with data, waits for data at the end, and stops waiting at wait_ms', async () => {
    const { session } = computation();
    const writer = session(0);
    const reader = session(0);
    ok(await writer.send(append('/input/s', 'hello')));
    assert.deepEqual(chunk(await reader.send(readStream('/input/s', 1, 5000, 3))), { text: 'ell', end: false });
    const waiting = reader.send(readStream('/input/s', 5, 5000));
    assert.equal(await pending(waiting), true);
    ok(await session(1).send(append('/input/s', ' world')));
    assert.deepEqual(chunk(await waiting), { text: ' world', end: false });
    const started = performance.now();
    assert.deepEqual(chunk(await reader.send(readStream('/input/s', 11, 120))), { text: '', end: false });
    assert.ok(performance.now() - started >= 110);
    // No wait asked: an answer at once.
    assert.deepEqual(chunk(await reader.send(readStream('/input/s', 11))), { text: '', end: false });
    assert.equal(MAX_STREAM_WAIT_MS, 30_000);
  });

  it('close_stream: the stream ends once every writer closed it; then read_stream says so and appends are refused', async () => {
    const { session } = computation();
    const writer = session(0);
    const second = session(1);
    ok(await writer.send(append('/input/s', 'abc')));
    ok(await writer.send({ kind: 'close_stream', fileName: '/input/s' }));
    refused(await writer.send(append('/input/s', 'more')), 'invalid_request', 'append /input/s: identity 0 has closed stream /input/s');
    const waiting = writer.send(readStream('/input/s', 3, 5000));
    assert.equal(await pending(waiting), true, 'one writer is still open');
    ok(await second.send(append('/input/s', 'de')));
    assert.deepEqual(chunk(await waiting), { text: 'de', end: false });
    const atEnd = writer.send(readStream('/input/s', 5, 5000));
    ok(await second.send({ kind: 'close_stream', fileName: 'input//s' }));
    assert.deepEqual(chunk(await atEnd), { text: '', end: true });
    assert.deepEqual(chunk(await writer.send(readStream('/input/s', 0))), { text: 'abcde', end: true });
    assert.deepEqual(chunk(await writer.send(readStream('/input/s', 0, 0, 2))), { text: 'ab', end: false }, 'end only once the data reaches it');
    refused(await second.send(append('/input/s', 'late')), 'invalid_request', 'append /input/s: stream /input/s has ended');
    refused(await second.send({ kind: 'write_file', fileName: '/input/s', data: encoder.encode('x') }), 'invalid_request', 'write /input/s: stream /input/s has ended');
    // Closing again changes nothing.
    ok(await second.send({ kind: 'close_stream', fileName: '/input/s' }));
  });

  it('refuses write_file on an open input stream: its writers append to it, and a whole-file write would replace their data', async () => {
    const { session } = computation();
    const writer = session(0);
    const second = session(1);
    refused(await writer.send({ kind: 'write_file', fileName: '/input/s', data: encoder.encode('x') }), 'invalid_request', 'write /input/s: stream /input/s is open: writers append to it');
    ok(await writer.send(append('/input/s', 'abc')));
    refused(await second.send({ kind: 'write_file', fileName: 'input//s', data: encoder.encode('replaced') }), 'invalid_request', 'write /input/s: stream /input/s is open: writers append to it');
    assert.deepEqual(chunk(await writer.send(readStream('/input/s', 0))), { text: 'abc', end: false });
  });

  it('close_stream is refused for a file that is no stream, and for an identity that does not write the stream', async () => {
    const { session } = computation();
    refused(await session(0).send({ kind: 'close_stream', fileName: '/input/plain' }), 'invalid_request', 'close_stream /input/plain: the policy declares no stream at this path');
    refused(await session(0).send({ kind: 'close_stream', fileName: 'stdin' }), 'invalid_request', 'close_stream stdin: the policy declares no stream at this path');
    refused(await session(2).send({ kind: 'close_stream', fileName: '/input/s' }), 'permission_denied', 'close_stream /input/s: missing FD_WRITE (identity 2 does not write this stream)');
    refused(await session(2).send({ kind: 'close_stream', fileName: '/output/copy' }), 'permission_denied', /^close_stream \/output\/copy: missing FD_WRITE/);
    // Nor may someone who does not write a stream learn its state through an append.
    refused(await session(2).send(append('/input/s', 'x')), 'permission_denied', /^append \/input\/s: /);
  });

  it('read_stream needs the rights of a ranged read, and treats a file that is no stream as ended', async () => {
    const { session } = computation();
    const writer = session(0);
    const follower = session(2);
    refused(await follower.send(readStream('/input/s', 0, 1000)), 'permission_denied', /^read \/input\/s: /);
    ok(await writer.send({ kind: 'write_file', fileName: '/input/plain', data: encoder.encode('0123456789') }));
    assert.deepEqual(chunk(await follower.send(readStream('/input/plain', 4, 5000, 4))), { text: '4567', end: false });
    assert.deepEqual(chunk(await follower.send(readStream('/input/plain', 8, 5000))), { text: '89', end: true });
    const started = performance.now();
    assert.deepEqual(chunk(await follower.send(readStream('/input/plain', 20, 5000))), { text: '', end: true });
    assert.ok(performance.now() - started < 1000, 'no wait on a file that is no stream');
    refused(await follower.send(readStream('/input/plain', 0, 0, 1 << 30)), 'limit_exceeded', /^read_stream \/input\/plain: a range of 1073741824 bytes is more than one message carries/);
  });

  it('a writer session that ends without closing fails the stream (abort); read_stream then answers unavailable naming the writer', async () => {
    const { dispatcher, session } = computation();
    const writer = session(1);
    const reader = session(0);
    ok(await writer.send(append('/input/s', 'partial')));
    const waiting = reader.send(readStream('/input/s', 7, 5000));
    // A session that never appended changes nothing when it ends.
    dispatcher.sessionEnded(session(0).principal);
    assert.equal(await pending(waiting), true);
    dispatcher.sessionEnded(writer.principal);
    refused(await waiting, 'unavailable', 'read_stream /input/s: stream /input/s failed: writer identity 1 left without closing it');
    refused(await reader.send(readStream('/input/s', 0)), 'unavailable', /writer identity 1 left without closing it/);
    refused(await session(0).send(append('/input/s', 'x')), 'invalid_request', /^append \/input\/s: stream \/input\/s has ended: it failed/);
  });

  it('on_writer_disconnect close counts as the writer\'s close; wait changes nothing', async () => {
    const { dispatcher, session } = computation();
    const first = session(0);
    const second = session(1);
    for (const path of ['/input/closing', '/input/patient']) {
      ok(await first.send(append(path, 'a')));
      ok(await second.send(append(path, 'b')));
    }
    ok(await first.send({ kind: 'close_stream', fileName: '/input/closing' }));
    ok(await first.send({ kind: 'close_stream', fileName: '/input/patient' }));
    dispatcher.sessionEnded(second.principal);
    assert.deepEqual(chunk(await first.send(readStream('/input/closing', 0))), { text: 'ab', end: true });
    assert.deepEqual(chunk(await first.send(readStream('/input/patient', 0))), { text: 'ab', end: false });
    // The writer comes back in a new session and goes on.
    const back = session(1);
    ok(await back.send(append('/input/patient', 'c')));
    ok(await back.send({ kind: 'close_stream', fileName: '/input/patient' }));
    assert.deepEqual(chunk(await first.send(readStream('/input/patient', 0))), { text: 'abc', end: true });
  });

  it('a stream ends at its deadline after its first append', async () => {
    const { session } = computation();
    const writer = session(0);
    await sleep(200);
    ok(await writer.send(append('/input/timed', 'in time')));
    const atEnd = writer.send(readStream('/input/timed', 7, 5000));
    assert.deepEqual(chunk(await atEnd), { text: '', end: true });
    refused(await writer.send(append('/input/timed', 'late')), 'invalid_request', 'append /input/timed: stream /input/timed has ended');
  });

  it('a closed connection ends its session\'s wait at once', async () => {
    const { dispatcher, session } = computation();
    const reader = session(0);
    const waiting = reader.send(readStream('/input/s', 0, 20_000));
    assert.equal(await pending(waiting), true);
    dispatcher.sessionClosed(reader.principal);
    assert.deepEqual(chunk(await waiting), { text: '', end: false });
    // Its later requests wait for nothing either.
    assert.deepEqual(chunk(await reader.send(readStream('/input/s', 0, 20_000))), { text: '', end: false });
  });
});

describe('RequestDispatcher: programs on streams', () => {
  it('a program follows an input stream; its output stream is followed as it is written and ends with the run', async () => {
    const { session } = computation();
    const writer = session(0);
    const follower = session(2);
    await upload(writer);
    // Before any run the output stream is open: a follower waits.
    const early = follower.send(readStream('/output/copy', 0, 10_000));
    assert.equal(await pending(early), true);
    const run = writer.send({ kind: 'request_result', fileName: '/program/follow.wasm' });
    assert.equal(await pending(run, 200), true, 'the program waits for data');
    ok(await writer.send(append('/input/s', 'hello')));
    assert.equal((chunk(await early)).text, 'hello');
    ok(await writer.send(append('/input/s', ', streams')));
    ok(await writer.send({ kind: 'close_stream', fileName: '/input/s' }));
    ok(await session(1).send({ kind: 'close_stream', fileName: '/input/s' }));
    assert.deepEqual(ok(await run).body, { kind: 'result', data: new Uint8Array(4) });
    assert.deepEqual(chunk(await follower.send(readStream('/output/copy', 0, 10_000))), { text: 'hello, streams', end: true });
    assert.equal(await fileText(writer, 'stdout'), 'eof after 14\n');
    // The next run that may write it opens it again (here a pipeline of the same program, whose input has ended).
    ok(await writer.send({ kind: 'request_pipeline', fileName: 'follow' }));
    assert.deepEqual(chunk(await follower.send(readStream('/output/copy', 0))), { text: 'hello, streams', end: true });
  });

  /** A run of the follow program on /input/s, to which a second writer appended 'abc' and whose session then ends without closing it. */
  async function runWithLeavingWriter(beforeLeaving: (session: ReturnType<typeof computation>['session']) => Promise<void>) {
    const { dispatcher, session } = computation();
    const writer = session(0);
    const leaving = session(1);
    await upload(writer);
    ok(await leaving.send(append('/input/s', 'abc')));
    const run = writer.send({ kind: 'request_result', fileName: '/program/follow.wasm' });
    await beforeLeaving(session);
    dispatcher.sessionEnded(leaving.principal);
    return { run, session };
  }

  it('a run that read past the data of a failed stream fails as unavailable, naming the stream and the writer', async () => {
    const { run } = await runWithLeavingWriter(() => sleep(200));
    refused(await run, 'unavailable',
      'program /program/follow.wasm read past the data it had: stream /input/s failed (writer identity 1 left without closing it); the program got EIO and then exited with code 5');
  });

  it('holds an append while a running program leaves more than max_buffered_bytes unread, until it reads them', async () => {
    const { session } = computation();
    const writer = session(0);
    const second = session(1);
    await upload(writer);
    const run = writer.send({ kind: 'request_result', fileName: '/program/gated.wasm' });
    const appender = session(0);
    ok(await appender.send(append('/input/s', 'a')));
    // Once the program has read that byte it says so, and waits at the gate: 30 more unread bytes exceed the 10 allowed.
    assert.equal(chunk(await session(2).send(readStream('/output/copy', 0, 20_000))).text, 'ready');
    const held = appender.send(append('/input/s', 'b'.repeat(30)));
    assert.equal(await pending(held, 300), true, 'the append is held');
    // The data is stored meanwhile: a follower sees it.
    assert.equal(chunk(await session(0).send(readStream('/input/s', 0, 0, 100))).text.length, 31);
    ok(await second.send(append('/input/gate', 'go')));
    ok(await second.send({ kind: 'close_stream', fileName: '/input/gate' }));
    ok(await session(0).send({ kind: 'close_stream', fileName: '/input/gate' }));
    ok(await held);
    ok(await second.send({ kind: 'close_stream', fileName: '/input/s' }));
    ok(await appender.send({ kind: 'close_stream', fileName: '/input/s' }));
    assert.deepEqual(ok(await run).body, { kind: 'result', data: new Uint8Array(4) });
    assert.equal(await fileText(writer, 'stdout'), 'read 31\n');
  });

  it('an output stream fails when the run writing it does not exit: a follower gets unavailable naming the stream and why', async () => {
    const { session } = computation();
    const writer = session(0);
    const follower = session(2);
    await upload(writer);
    // The writer's session stays: /input/s stays open, and the program waits on it until its time limit.
    ok(await writer.send(append('/input/s', 'partial')));
    const run = writer.send({ kind: 'request_result', fileName: '/program/brief.wasm' });
    assert.deepEqual(chunk(await follower.send(readStream('/output/copy', 0, 10_000))), { text: 'partial', end: false });
    const waiting = follower.send(readStream('/output/copy', 7, 10_000));
    refused(await run, 'limit_exceeded', /^program \/program\/brief\.wasm reached its time limit/);
    const failure = 'read_stream /output/copy: stream /output/copy failed: the run that wrote it reached its time limit';
    refused(await waiting, 'unavailable', failure);
    refused(await follower.send(readStream('/output/copy', 0)), 'unavailable', failure);
    // The next run that may write it opens it again; its output goes after the old one unless the program truncates it (this one does).
    ok(await writer.send({ kind: 'close_stream', fileName: '/input/s' }));
    ok(await session(1).send({ kind: 'close_stream', fileName: '/input/s' }));
    assert.deepEqual(ok(await writer.send({ kind: 'request_result', fileName: '/program/follow.wasm' })).body, { kind: 'result', data: new Uint8Array(4) });
    assert.deepEqual(chunk(await follower.send(readStream('/output/copy', 0))), { text: 'partial', end: true });
  });

  it('an output stream fails when the run writing it read past the data of a failed input stream', async () => {
    const { run, session } = await runWithLeavingWriter(async (sessions) => {
      assert.deepEqual(chunk(await sessions(2).send(readStream('/output/copy', 0, 10_000))), { text: 'abc', end: false });
    });
    refused(await run, 'unavailable', /read past the data it had/);
    refused(await session(2).send(readStream('/output/copy', 0)), 'unavailable',
      'read_stream /output/copy: stream /output/copy failed: the run that wrote it read past the data of failed stream /input/s');
  });
});
