import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALL_RIGHTS, RIGHTS_READ } from '@veracruz-ts/policy';
import { compileC } from '../engine/compile-c.ts';
import { ExecutionEngine } from '../engine/engine.ts';
import { PAGE_SIZE, prepareModule } from '../engine/prepare-module.ts';
import { NODE_BYTES, VirtualFileSystem } from '../vfs/file-system.ts';
import { PROBE_RIGHTS, SUPERUSER, probeFileSystem, runProbe } from './probe-harness.ts';
import { WASI_PROBE_SOURCE } from './wasi-probe.c.ts';

const EXITED_0 = { kind: 'exited', exitCode: 0 };
let program: Uint8Array;
let engine: ExecutionEngine;

before(async () => {
  program = await compileC(WASI_PROBE_SOURCE);
  engine = new ExecutionEngine();
});
after(() => engine.close());

describe('WASI over the VFS, driven by a wasi-libc C program', () => {
  it('writes, appends, reads, seeks, stats, truncates and reports ENOENT', async () => {
    const { vfs, root } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['files']);
    assert.deepEqual(run.outcome, EXITED_0);
    assert.equal(run.stdout, 'read 11 hello world\nseek world tell 11\nsize 11 dir 0\ntruncated 7\nmissing 1 44\n');
    assert.deepEqual([...root.readFile('/output/a.txt')], [...new TextEncoder().encode('hel\0\0XY')]);
  });

  it('creates, lists, renames, unlinks and removes directories', async () => {
    const { vfs, root } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['dirs']);
    assert.deepEqual(run.outcome, EXITED_0);
    assert.equal(run.stdout, 'mkdir 0\nmkdir-again -1 20\nlist . .. a b c\nrename 0\nunlink 0\nrmdir-nonempty -1 55\nrmdir 0\ngone -1 44\n');
    assert.equal(root.exists('/output/d'), false);
  });

  it('passes arguments and environment', async () => {
    const { vfs } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['args', 'one', 'two words'], { env: { GREETING: 'hello' } });
    assert.equal(run.stdout, 'arg one\narg two words\nenv hello\n');
  });

  it('gates the clocks on enableClock (EACCES as in Veracruz)', async () => {
    const { vfs } = probeFileSystem();
    assert.equal((await runProbe(engine, program, vfs, ['clock'])).stdout, 'clock -1 2 0\n');
    assert.equal((await runProbe(engine, program, vfs, ['clock'], { enableClock: true })).stdout, 'clock 0 0 1\n');
  });

  it('provides random bytes, sleeps through poll_oneoff and creates anonymous files', async () => {
    const { vfs } = probeFileSystem();
    assert.equal((await runProbe(engine, program, vfs, ['random'])).stdout, 'random differ\n');
    assert.equal((await runProbe(engine, program, vfs, ['sleep'])).stdout, 'sleep 0\n');
    assert.equal((await runProbe(engine, program, vfs, ['fdcreate'])).stdout, 'fdcreate 0 anon\n');
  });

  it('refuses escapes from a pre-open: .., absolute paths, .. through a subdirectory (ENOTCAPABLE), links', async () => {
    const { vfs, root } = probeFileSystem();
    root.writeFile('/output/a.txt', new TextEncoder().encode('x'));
    // No symbolic or hard links: ENOTSUP (58). Linking a read-only input into /output would widen it;
    // here it is refused already by the rights check (EACCES, 2: /input lacks PATH_LINK_SOURCE).
    assert.equal((await runProbe(engine, program, vfs, ['escape'])).stdout, 'escape 76 76 76 76\nlinks -1 58 -1 2\n');
  });

  it('refuses writes, creation, unlinks and renames into or out of a read-only pre-open (EACCES)', async () => {
    const { vfs, root } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['readonly']);
    assert.equal(run.stdout, 'input secret-data\nstat-input 0 11 0 11\nwrite-input 1 2\ncreate-input -1 2\nunlink-input -1 2\nrename-across -1 2\nrename-in -1 2\n');
    assert.equal(new TextDecoder().decode(root.readFile('/input/data.txt')), 'secret-data');
    assert.equal(root.exists('/output/stolen.txt'), false);
    assert.equal(root.exists('/input/moved.txt'), false);
  });

  it('gives a nested entry its own rights even when reached through a wider pre-open', async () => {
    const { vfs, root } = probeFileSystem();
    // /output is full, /output/locked read-only: opening through the /output pre-open must not write.
    root.writeFile('/output/locked/data.txt', new TextEncoder().encode('kept'));
    const rights = [...PROBE_RIGHTS, { file_name: '/output/locked', rights: RIGHTS_READ }];
    const source = await compileC(String.raw`
#include <wasi/api.h>
#include <stdio.h>
int main(void) {
  __wasi_fd_t fd;
  /* fd 3 = /input, 4 = /output, 5 = /output/locked (sorted) */
  __wasi_errno_t e = __wasi_path_open(4, 0, "locked/data.txt", __WASI_OFLAGS_TRUNC, __WASI_RIGHTS_FD_WRITE, 0, 0, &fd);
  __wasi_errno_t r = __wasi_path_open(4, 0, "locked/data.txt", 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0, &fd);
  __wasi_fdstat_t st; __wasi_fd_fdstat_get(fd, &st);
  printf("%d %d %d\n", e, r, (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE) != 0);
  return 0;
}`);
    const outcome = await engine.execute({ vfs, program: source, rights });
    assert.deepEqual(outcome, EXITED_0);
    assert.equal(new TextDecoder().decode(root.readFile('stdout')), '2 0 0\n');
    assert.equal(new TextDecoder().decode(root.readFile('/output/locked/data.txt')), 'kept');
  });

  it('narrows rights with fd_fdstat_set_rights and refuses widening', async () => {
    const { vfs } = probeFileSystem();
    assert.equal((await runProbe(engine, program, vfs, ['narrow'])).stdout, 'narrow 0 -1 2 76\n');
  });

  it('gives std streams only where granted', async () => {
    const { vfs, root } = probeFileSystem();
    const onlyStdout = PROBE_RIGHTS.filter((entry) => entry.file_name !== 'stderr');
    const outcome = await engine.execute({ vfs, program, args: ['streams'], rights: onlyStdout });
    assert.deepEqual(outcome, EXITED_0);
    assert.equal(new TextDecoder().decode(root.readFile('stdout')), 'to-stdout\n');
    assert.equal(root.fileSize('stderr'), 0);
    const both = await runProbe(engine, program, vfs, ['streams']);
    assert.equal(both.stderr, 'to-stderr\n');
  });

  it('reads stdin from the VFS stream and streams output live through hooks', async () => {
    const { vfs, root } = probeFileSystem();
    root.writeFile('stdin', new TextEncoder().encode('shout this'));
    const rights = [...PROBE_RIGHTS, { file_name: 'stdin', rights: ALL_RIGHTS }];
    const outcome = await engine.execute({ vfs, program, args: ['stdin'], rights });
    assert.deepEqual(outcome, EXITED_0);
    assert.equal(new TextDecoder().decode(root.readFile('stdout')), 'SHOUT THIS');
    const chunks: string[] = [];
    let given = false;
    await engine.execute({
      vfs, program, args: ['stdin'], rights,
      streams: {
        stdin: async () => (given ? null : ((given = true), new TextEncoder().encode('live'))),
        stdout: (data) => chunks.push(new TextDecoder().decode(data)),
      },
    });
    assert.equal(chunks.join(''), 'LIVE');
  });

  it('returns the exit code of exit() and of a normal return', async () => {
    const { vfs } = probeFileSystem();
    assert.deepEqual((await runProbe(engine, program, vfs, ['exit', '42'])).outcome, { kind: 'exited', exitCode: 42 });
    assert.deepEqual((await runProbe(engine, program, vfs, ['unknown'])).outcome, { kind: 'exited', exitCode: 2 });
  });

  it('refuses hostile arguments with an errno: too many iovecs (EINVAL), pointers outside memory (EFAULT)', async () => {
    const { vfs } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['hostile']);
    assert.deepEqual(run.outcome, EXITED_0);
    assert.equal(run.stdout, 'xxx\nhostile 28 0 21\n');
  });

  it('fails writes past the memory budget with ENOSPC, whole, returns removed files\' bytes, and ends the run as a limit', async () => {
    // The program's own memory draws on the budget too; on top of it, a few nodes (NODE_BYTES each)
    // and the input use part of 1 MiB: 15 blocks fit, not 16.
    assert.ok(16 * NODE_BYTES < 65536);
    const programMemory = prepareModule(program, { maxPages: 65536, fuel: false }).initialPages * PAGE_SIZE;
    const vfs = new VirtualFileSystem({ maxBytes: 1024 * 1024 + programMemory });
    vfs.view(SUPERUSER).writeFile('/input/data.txt', new TextEncoder().encode('secret-data'));
    const run = await runProbe(engine, program, vfs, ['fill']);
    assert.equal(run.stdout, `fill ${15 * 65536} 51 65536\n`, 'the program handled ENOSPC and carried on');
    assert.equal(run.outcome.kind, 'limit');
    assert.match(run.outcome.kind === 'limit' ? `${run.outcome.limit}: ${run.outcome.message}` : '',
      /^budget: the isolate's memory budget \(\d+ bytes\) refused 65536 more bytes of files; the program then exited with code 0$/);
    assert.equal(vfs.budget.used, vfs.budget.usage().files + vfs.budget.usage().stdout, 'the program\'s memory was given back');
  });

  it('logs each system call with strace', async () => {
    const { vfs } = probeFileSystem();
    const lines: string[] = [];
    await runProbe(engine, program, vfs, ['files'], { strace: (line) => lines.push(line) });
    assert.ok(lines.some((line) => /^args_sizes_get\(\d+, \d+\) = SUCCESS$/.test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => /^fd_prestat_get\(\d+, \d+\) = EBADF$/.test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => /^path_open\(4, \d+, "a.txt", 9, -?\d+, -?\d+, 0, \d+\) = SUCCESS$/.test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => /^path_open\(4, \d+, "none.txt", 0, .*\) = ENOENT$/.test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => /^fd_write\(5, "hello", 2, \d+\) = SUCCESS$/.test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => /^fd_write\(1, "seek world tell 11\\nsize 11 dir 0"\.\.\., 2, \d+\) = SUCCESS$/.test(line)), lines.join('\n'));
    lines.length = 0;
    await runProbe(engine, program, vfs, ['exit', '3'], { strace: (line) => lines.push(line) });
    assert.equal(lines.at(-1), 'proc_exit(3) = SUCCESS');
  });
});
