import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ALL_RIGHTS, type FileRights, type PolicyStream, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { compileC } from '../engine/compile-c.ts';
import { ExecutionEngine } from '../engine/engine.ts';
import { FOLLOW_STREAM_SOURCE } from '../session/test-fixture.ts';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import { StreamRegistry, type StreamState } from '../vfs/streams.ts';
import { PROBE_RIGHTS } from './probe-harness.ts';

const WRITER: FileRights[] = [{ file_name: '/input/', rights: RIGHTS_WRITE }];
const ROOT: FileRights[] = [{ file_name: '/', rights: ALL_RIGHTS }, { file_name: 'stdout', rights: ALL_RIGHTS }];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Holds a descriptor on the (empty) stream /input/s, renames a 5-byte /input/t over its path, then
 * reads the descriptor: its file is no longer the stream's.
 */
const RENAMED_SOURCE = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  int in = open("/input/s", O_RDONLY);
  int t = open("/input/t", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (in < 0 || t < 0 || write(t, "hello", 5) != 5 || close(t) != 0) return 2;
  if (rename("/input/t", "/input/s") != 0) return 3;
  char buffer[4];
  printf("read %ld\n", (long)read(in, buffer, sizeof buffer));
  return 0;
}
`;

/**
 * Opens /input/s with O_TRUNC and says how that went: `truncated`, or `open failed <errno>`, then
 * tries ftruncate on it and says `ftruncate failed <errno>` if that fails too (exit 1).
 */
const TRUNCATE_SOURCE = String.raw`
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  int fd = open("/input/s", O_WRONLY | O_TRUNC);
  if (fd < 0) {
    printf("open failed %d\n", errno);
    int w = open("/input/s", O_WRONLY);
    if (w >= 0 && ftruncate(w, 0) != 0) printf("ftruncate failed %d\n", errno);
    return 1;
  }
  printf("truncated\n");
  return 0;
}
`;

let program: Uint8Array;
let renamed: Uint8Array;
let truncate: Uint8Array;
let engine: ExecutionEngine;

before(async () => {
  [program, renamed, truncate] = await Promise.all([compileC(FOLLOW_STREAM_SOURCE), compileC(RENAMED_SOURCE), compileC(TRUNCATE_SOURCE)]);
  engine = new ExecutionEngine();
});
after(() => engine.close());

/** A file system whose policy declares /input/s a stream written by identity 0. */
function streamFileSystem(settings: Partial<PolicyStream> = {}): { vfs: VirtualFileSystem; stream: StreamState; append: (text: string) => void } {
  const vfs = new VirtualFileSystem({ maxBytes: 256 * 1024 * 1024 });
  const registry = new StreamRegistry({
    streams: [{ path: '/input/s', max_buffered_bytes: 8 * 1024 * 1024, on_writer_disconnect: 'abort', ...settings }],
    identities: [{ id: 0, file_rights: WRITER }],
  }, vfs);
  const stream = registry.get('/input/s')!;
  const writer = vfs.view(WRITER);
  const session = {};
  return {
    vfs,
    stream,
    // As the dispatcher appends for a principal's session.
    append: (text) => {
      writer.appendFile('/input/s', encoder.encode(text));
      stream.appended(session, 0);
    },
  };
}

const run = (vfs: VirtualFileSystem, timeoutMs = 20_000) => engine.execute({ vfs, program, rights: PROBE_RIGHTS, limits: { timeoutMs } });
const text = (vfs: VirtualFileSystem, path: string): string => decoder.decode(vfs.view(ROOT).readFile(path));

describe('a program reading a policy stream (wasi-libc read)', () => {
  it('waits at the end while a writer appends, and gets end of file once the stream has ended', async () => {
    const { vfs, stream, append } = streamFileSystem();
    const running = run(vfs);
    // The program is at the (empty) stream's end before anything arrives.
    await sleep(150);
    const parts = ['first line\n', 'a second, longer line of readings\n', 'x', '', 'last\n'];
    for (const part of parts) {
      append(part);
      await sleep(30);
    }
    stream.close(0);
    const outcome = await running;
    assert.deepEqual(outcome, { kind: 'exited', exitCode: 0 });
    const expected = parts.join('');
    assert.equal(text(vfs, 'stdout'), `eof after ${expected.length}\n`);
    assert.equal(text(vfs, '/output/copy'), expected);
  });

  it('reads what is there, then gets EIO once the stream failed', async () => {
    const { vfs, stream, append } = streamFileSystem();
    append('0123456789');
    const running = run(vfs);
    await sleep(150);
    stream.fail('writer identity 0 left without closing it');
    assert.deepEqual(await running, { kind: 'exited', exitCode: 5 });
    // EIO is 29 in WASI's numbering, which wasi-libc keeps.
    assert.equal(text(vfs, 'stdout'), 'error 29 after 10\n');
    assert.equal(stream.takeFailedProgramReads(), 1);
  });

  it('a program stopped by its time limit while waiting leaves the stream working: its wait and its reading end with it', async () => {
    const { vfs, stream, append } = streamFileSystem({ max_buffered_bytes: 4 });
    append('twenty bytes of data');
    const stopped = await run(vfs, 400);
    assert.equal(stopped.kind, 'limit');
    assert.equal(stopped.kind === 'limit' && stopped.limit, 'time');
    // While a program read it, 100 unread bytes would hold this append; the stopped one reads no more.
    append('x'.repeat(100));
    await stream.holdWhileFull({});
    assert.equal(stream.unconsumed, 0);
    append('!');
    stream.close(0);
    assert.deepEqual(await run(vfs), { kind: 'exited', exitCode: 0 });
    assert.equal(text(vfs, 'stdout'), 'eof after 121\n');
  });

  it('a descriptor whose file is no longer the stream\'s (another file renamed over its path) reads as that file: end of file at its end, at once', async () => {
    const { vfs, stream } = streamFileSystem();
    const started = performance.now();
    const outcome = await engine.execute({ vfs, program: renamed, rights: ROOT, limits: { timeoutMs: 1000 } });
    assert.ok(performance.now() - started < 2000, `the run took ${Math.round(performance.now() - started)} ms`);
    assert.deepEqual(outcome, { kind: 'exited', exitCode: 0 });
    assert.equal(text(vfs, 'stdout'), 'read 0\n');
    // The renamed file is the stream now, still open for its writers.
    assert.equal(stream.size, 5);
    assert.equal(stream.status, 'open');
  });

  it('refuses to empty an open input stream (O_TRUNC, ftruncate: EBUSY), its data kept; once it has ended, O_TRUNC empties it', async () => {
    const { vfs, stream, append } = streamFileSystem();
    append('from a writer');
    const refused = await engine.execute({ vfs, program: truncate, rights: ROOT, limits: { timeoutMs: 20_000 } });
    assert.deepEqual(refused, { kind: 'exited', exitCode: 1 });
    // EBUSY is 10 in WASI's numbering, which wasi-libc keeps.
    assert.equal(text(vfs, 'stdout'), 'open failed 10\nftruncate failed 10\n');
    assert.equal(text(vfs, '/input/s'), 'from a writer');
    stream.close(0);
    vfs.view(ROOT).writeFile('stdout', []);
    assert.deepEqual(await engine.execute({ vfs, program: truncate, rights: ROOT, limits: { timeoutMs: 20_000 } }), { kind: 'exited', exitCode: 0 });
    assert.equal(text(vfs, 'stdout'), 'truncated\n');
    assert.equal(stream.size, 0);
  });
});
