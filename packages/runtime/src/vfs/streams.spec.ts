import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { ALL_RIGHTS, type FileRights, type PolicyStream, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { VirtualFileSystem } from './file-system.ts';
import type { DirectoryNode } from './nodes.ts';
import { StreamRegistry, type StreamState } from './streams.ts';

const ROOT: FileRights[] = [{ file_name: '/', rights: ALL_RIGHTS }];
// Identities 0 and 1 write /input; 2 only reads. Nobody writes /output.
const IDENTITIES = [
  { id: 0, file_rights: [{ file_name: '/input/', rights: RIGHTS_WRITE }] },
  { id: 1, file_rights: [{ file_name: '/input/', rights: RIGHTS_WRITE | RIGHTS_READ }] },
  { id: 2, file_rights: [{ file_name: '/', rights: RIGHTS_READ }] },
];

function stream(path: string, settings: Partial<PolicyStream> = {}): PolicyStream {
  return { path, max_buffered_bytes: 8 * 1024 * 1024, on_writer_disconnect: 'abort', ...settings };
}

function setup(streams: PolicyStream[]): { vfs: VirtualFileSystem; registry: StreamRegistry; get: (path: string) => StreamState } {
  const vfs = new VirtualFileSystem({ maxBytes: 64 * 1024 * 1024 });
  const registry = new StreamRegistry({ streams, identities: IDENTITIES }, vfs);
  return { vfs, registry, get: (path) => registry.get(path)! };
}

const bytes = (length: number): Uint8Array => new Uint8Array(length).fill(7);
function directory(vfs: VirtualFileSystem, components: string[]): DirectoryNode {
  const node = vfs.lookup(components);
  assert.equal(node?.kind, 'directory');
  return node as DirectoryNode;
}
/** Whether `promise` is still pending after the event loop has turned a few times. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true), () => (settled = true));
  await sleep(20);
  return !settled;
}

describe('StreamRegistry: the streams of a policy', () => {
  it('creates each stream file empty, with its directories, and finds streams by path and by file', () => {
    const { vfs, registry } = setup([stream('/input/a/readings'), stream('/output/live')]);
    const root = vfs.view(ROOT);
    assert.equal(root.fileSize('/input/a/readings'), 0);
    assert.equal(root.fileSize('/output/live'), 0);
    assert.equal(StreamRegistry.of(vfs), registry);
    assert.equal(registry.get('input//a/./readings')?.path, '/input/a/readings');
    assert.equal(registry.get('/input/a'), undefined);
    const node = registry.get('/input/a/readings')!.file!;
    assert.equal(registry.streamAt(node)?.path, '/input/a/readings');
    // Replaced by another file under the same name: that file is the stream now.
    root.appendFile('/input/other', bytes(1));
    const other = vfs.lookup(['input', 'other']);
    assert.equal(other?.kind === 'file' && registry.streamAt(other), undefined);
    vfs.move(directory(vfs, ['input']), 'other', directory(vfs, ['input', 'a']), 'readings');
    assert.equal(other?.kind === 'file' && registry.streamAt(other)?.path, '/input/a/readings');
    assert.equal(registry.streamAt(node), undefined);
  });

  it('has no registry for a policy without streams, and keeps a file already there', () => {
    const vfs = new VirtualFileSystem({ maxBytes: 1024 * 1024 });
    new StreamRegistry({ streams: [], identities: IDENTITIES }, vfs);
    assert.equal(StreamRegistry.of(vfs), undefined);
    vfs.view(ROOT).writeFile('/input/s', bytes(3));
    new StreamRegistry({ streams: [stream('/input/s')], identities: IDENTITIES }, vfs);
    assert.equal(vfs.view(ROOT).fileSize('/input/s'), 3);
  });

  it('refuses a stream path taken by a directory, or under a file', () => {
    const vfs = new VirtualFileSystem({ maxBytes: 1024 * 1024 });
    vfs.view(ROOT).writeFile('/input/file', bytes(1));
    vfs.makeDirectories(['input', 'dir']);
    const refused = (path: string, message: RegExp) =>
      assert.throws(() => new StreamRegistry({ streams: [stream(path)], identities: IDENTITIES }, vfs), (error: unknown) =>
        error instanceof VeracruzError && error.code === Code.InvalidPolicy && message.test(error.rawMessage));
    refused('/input/dir', /^streams: \/input\/dir is taken by a directory or a service's special file, not a file$/);
    refused('/input/file/s', /^streams: \/input\/file\/s cannot be created: /);
  });

  it('knows its writers: identities with FD_WRITE on the path; none makes an output stream', () => {
    const { get } = setup([stream('/input/s'), stream('/output/o')]);
    assert.deepEqual([...get('/input/s').writers], [0, 1]);
    assert.equal(get('/input/s').isOutput, false);
    assert.deepEqual([...get('/output/o').writers], []);
    assert.equal(get('/output/o').isOutput, true);
  });
});

describe('StreamState: an input stream', () => {
  it('ends when every writer has closed it; a writer that closed, or anyone after the end, may not append', () => {
    const { get } = setup([stream('/input/s')]);
    const s = get('/input/s');
    s.checkWritable('append', 0);
    s.close(0);
    assert.equal(s.status, 'open');
    assert.throws(() => s.checkWritable('append', 0), /^VeracruzError: \[invalid_request\] append \/input\/s: identity 0 has closed stream \/input\/s$/);
    s.checkWritable('append', 1);
    s.close(1);
    assert.equal(s.status, 'ended');
    assert.throws(() => s.checkWritable('write', 1), (error: unknown) =>
      error instanceof VeracruzError && error.code === Code.InvalidRequest && error.rawMessage === 'write /input/s: stream /input/s has ended');
  });

  it('ends at its deadline, counted from when it opens (first append), not from its creation', async () => {
    const { get } = setup([stream('/input/s', { deadline_ms: 50 })]);
    const s = get('/input/s');
    await sleep(120);
    assert.equal(s.status, 'open', 'not opened yet');
    s.appended({}, 0);
    assert.equal(s.status, 'open');
    const opened = performance.now();
    assert.equal(await s.waitForData({}, 1000), 'changed');
    assert.equal(s.status, 'ended');
    assert.ok(performance.now() - opened >= 45);
    assert.equal(s.failure, '');
  });

  it('a program waiting on it opens it too', async () => {
    const { get } = setup([stream('/input/s', { deadline_ms: 30 })]);
    const s = get('/input/s');
    const program = {};
    assert.equal(s.programEnd(s.file!), 'wait');
    const waited = s.waitForData(program, 0, { file: s.file! });
    assert.equal(await waited, 'changed');
    assert.equal(s.status, 'ended');
    assert.equal(s.programEnd(s.file!), 'eof');
  });

  it('a program\'s file that is no longer the stream\'s (another renamed over its path) is an ordinary file: end of file, no wait', async () => {
    const { vfs, get } = setup([stream('/input/s')]);
    const s = get('/input/s');
    const held = s.file!;
    const root = vfs.view(ROOT);
    root.appendFile('/input/t', bytes(5));
    vfs.move(directory(vfs, ['input']), 't', directory(vfs, ['input']), 's');
    assert.equal(s.size, 5);
    assert.equal(s.programEnd(held), 'eof');
    assert.equal(await pending(s.waitForData({}, 0, { file: held })), false, 'no wait on a file that is no longer the stream\'s');
    // The stream's own file now waits as before.
    assert.equal(s.programEnd(s.file!), 'wait');
    assert.equal(await pending(s.waitForData({}, 5, { file: s.file! })), true);
  });

  it('wakes a wait for data on an append, at its end, when its owner goes, and at its timeout', async () => {
    const { vfs, get } = setup([stream('/input/s')]);
    const s = get('/input/s');
    const root = vfs.view(ROOT);
    const owner = {};
    // Data beyond the offset already there: no wait.
    root.appendFile('/input/s', bytes(2));
    assert.equal(await s.waitForData(owner, 1), 'changed');
    const forData = s.waitForData(owner, 2);
    assert.equal(await pending(forData), true);
    root.appendFile('/input/s', bytes(1));
    s.appended({}, 1);
    assert.equal(await forData, 'changed');
    const forGone = s.waitForData(owner, 3);
    s.ownerGone({});
    assert.equal(await pending(forGone), true, 'another owner going changes nothing');
    s.ownerGone(owner);
    assert.equal(await forGone, 'gone');
    assert.equal(await s.waitForData(owner, 3, { timeoutMs: 10 }), 'timeout');
    const forEnd = s.waitForData(owner, 3);
    s.close(0);
    s.close(1);
    assert.equal(await forEnd, 'changed');
    assert.equal(s.size, 3);
  });

  it('applies on_writer_disconnect to a session that appended and left without closing', () => {
    const { get } = setup([
      stream('/input/abort'),
      stream('/input/close', { on_writer_disconnect: 'close' }),
      stream('/input/wait', { on_writer_disconnect: 'wait' }),
    ]);
    const [abort, close, wait] = ['/input/abort', '/input/close', '/input/wait'].map(get) as [StreamState, StreamState, StreamState];
    const quiet = {};
    const session = {};
    for (const s of [abort, close, wait]) {
      s.sessionEnded(quiet);
      s.appended(session, 1);
      s.sessionEnded(session);
    }
    assert.equal(abort.status, 'failed');
    assert.equal(abort.failure, 'writer identity 1 left without closing it');
    assert.equal(abort.failedError('read_stream').message, '[unavailable] read_stream /input/abort: stream /input/abort failed: writer identity 1 left without closing it');
    assert.equal(abort.programEnd(abort.file!), 'failed');
    assert.equal(abort.takeFailedProgramReads(), 1);
    assert.equal(abort.takeFailedProgramReads(), 0);
    assert.throws(() => abort.checkWritable('append', 0), /append \/input\/abort: stream \/input\/abort has ended: it failed \(writer identity 1 left without closing it\)/);
    // `close` counts as identity 1's close; identity 0 may still append, and its close ends the stream.
    assert.equal(close.status, 'open');
    assert.throws(() => close.checkWritable('append', 1), /identity 1 has closed stream/);
    close.close(0);
    assert.equal(close.status, 'ended');
    assert.equal(wait.status, 'open');
    wait.checkWritable('append', 1);
  });

  it('a writer that closed before its session ended is no disconnect', () => {
    const { get } = setup([stream('/input/s')]);
    const s = get('/input/s');
    const session = {};
    s.appended(session, 0);
    s.close(0);
    s.sessionEnded(session);
    assert.equal(s.status, 'open');
  });
});

describe('StreamState: backpressure', () => {
  it('holds an append while more than max_buffered_bytes wait unread by a running program', async () => {
    const { vfs, get } = setup([stream('/input/s', { max_buffered_bytes: 10 })]);
    const s = get('/input/s');
    const root = vfs.view(ROOT);
    const session = {};
    const program = {};
    // Nobody reads it: stored, not held, whatever its size.
    root.appendFile('/input/s', bytes(50));
    assert.equal(await pending(s.holdWhileFull(session)), false);
    s.consumed(program, 4);
    assert.equal(s.unconsumed, 46);
    const held = s.holdWhileFull(session);
    assert.equal(await pending(held), true);
    s.consumed(program, 30);
    assert.equal(await pending(held), true, '20 unread bytes are still more than 10');
    s.consumed(program, 40);
    await held;
    // Exactly max_buffered_bytes unread is not more than it.
    assert.equal(s.unconsumed, 10);
    assert.equal(await pending(s.holdWhileFull(session)), false);
    // Released too when the reading program goes, and when the stream ends.
    root.appendFile('/input/s', bytes(50));
    const untilGone = s.holdWhileFull(session);
    assert.equal(await pending(untilGone), true);
    s.ownerGone(program);
    await untilGone;
    assert.equal(s.unconsumed, 0);
    s.consumed(program, 0);
    const untilEnd = s.holdWhileFull(session);
    assert.equal(await pending(untilEnd), true);
    s.close(0);
    s.close(1);
    await untilEnd;
  });

  it('lets a held append go when its own session goes', async () => {
    const { vfs, get } = setup([stream('/input/s', { max_buffered_bytes: 1 })]);
    const s = get('/input/s');
    vfs.view(ROOT).appendFile('/input/s', bytes(5));
    s.consumed({}, 0);
    const session = {};
    const held = s.holdWhileFull(session);
    assert.equal(await pending(held), true);
    s.ownerGone(session);
    await held;
  });
});

describe('StreamState: an output stream', () => {
  it('is open before any run, opens with each run that may write it and ends when that run finishes', async () => {
    const { registry, get } = setup([stream('/output/o'), stream('/input/s')]);
    const o = get('/output/o');
    assert.equal(o.status, 'open');
    // Programs never wait on it: no other program can write it while one runs.
    assert.equal(o.programEnd(o.file!), 'eof');
    const follower = o.waitForData({}, 0);
    assert.deepEqual(registry.runStarting([{ file_name: '/output/', rights: RIGHTS_READ }]), [], 'a run that may not write it');
    const written = registry.runStarting([{ file_name: '/output/', rights: RIGHTS_WRITE }]);
    assert.deepEqual(written, [o]);
    assert.equal(await pending(follower), true);
    registry.runFinished(written);
    assert.equal(o.status, 'ended');
    assert.equal(await follower, 'changed');
    registry.runStarting([{ file_name: '/', rights: ALL_RIGHTS }]);
    assert.equal(o.status, 'open');
    // An input stream is not opened or ended by runs.
    assert.equal(get('/input/s').status, 'open');
  });

  it('fails when the run writing it did not exit normally, and opens again, failure forgotten, with the next run', async () => {
    const { registry, get } = setup([stream('/output/o'), stream('/input/s')]);
    const o = get('/output/o');
    const written = registry.runStarting([{ file_name: '/', rights: ALL_RIGHTS }]);
    const follower = o.waitForData({}, 0);
    registry.runFinished(written, 'the run that wrote it reached its time limit');
    assert.equal(await follower, 'changed');
    assert.equal(o.status, 'failed');
    assert.equal(o.failedError('read_stream').message, '[unavailable] read_stream /output/o: stream /output/o failed: the run that wrote it reached its time limit');
    assert.equal(get('/input/s').status, 'open', 'an input stream is not failed by runs');
    registry.runStarting([{ file_name: '/output/', rights: RIGHTS_WRITE }]);
    assert.equal(o.status, 'open');
    assert.equal(o.failure, '');
  });

  it('refuses a writer\'s whole-file write while an input stream is open, and says whether it is append-only', () => {
    const { get } = setup([stream('/output/o'), stream('/input/s')]);
    const s = get('/input/s');
    assert.equal(s.appendOnly, true);
    s.checkWritable('append', 0);
    assert.throws(() => s.checkWritable('write', 0), (error: unknown) =>
      error instanceof VeracruzError && error.code === Code.InvalidRequest && error.rawMessage === 'write /input/s: stream /input/s is open: writers append to it');
    s.close(0);
    s.close(1);
    assert.equal(s.appendOnly, false);
    assert.equal(get('/output/o').appendOnly, false, 'programs write an output stream as they like');
  });
});
