import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { ALL_RIGHTS, RIGHTS_READ, Right } from '@veracruz-ts/policy';
import { compileC } from '../engine/compile-c.ts';
import { ExecutionEngine } from '../engine/engine.ts';
import { PAGE_SIZE, prepareModule } from '../engine/prepare-module.ts';
import type { BudgetResource } from '../budget/memory-budget.ts';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { Errno } from '../vfs/errno.ts';
import { straceLines } from './strace.ts';
import { encodeAesCtrRequest } from '../services/aes-services.ts';
import { DEFAULT_SERVICES } from '../services/registry.ts';
import { NODE_BYTES, VirtualFileSystem } from '../vfs/file-system.ts';
import { PROBE_RIGHTS, SUPERUSER, probeFileSystem, runProbe } from './probe-harness.ts';
import { SYSTEM_CALLS } from './signatures.ts';
import { WasiProcess } from './wasi-process.ts';
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

  it('gates the clocks on enableClock (EACCES as in Veracruz: no right governs clocks, so not ENOTCAPABLE)', async () => {
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

  it('refuses escapes from a pre-open: .., absolute paths, .. through a subdirectory, absolute link targets (EPERM as wasmtime)', async () => {
    const { vfs, root } = probeFileSystem();
    root.writeFile('/output/a.txt', new TextEncoder().encode('x'));
    // A symbolic link to an absolute path is refused (EPERM, 63); linking the read-only input into
    // /output is refused by the rights check (ENOTCAPABLE, 76: /input lacks PATH_LINK_SOURCE).
    assert.equal((await runProbe(engine, program, vfs, ['escape'])).stdout, 'escape 63 63 63 63\nlinks -1 63 -1 76\n');
  });

  it('refuses writes, creation, unlinks and renames into or out of a read-only pre-open (ENOTCAPABLE)', async () => {
    const { vfs, root } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['readonly']);
    assert.equal(run.stdout, 'input secret-data\nstat-input 0 11 0 11\nwrite-input 1 76\ncreate-input -1 76\nunlink-input -1 76\nrename-across -1 76\nrename-in -1 76\n');
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
    assert.equal(new TextDecoder().decode(root.readFile('stdout')), '76 0 0\n');
    assert.equal(new TextDecoder().decode(root.readFile('/output/locked/data.txt')), 'kept');
  });

  it('narrows rights with fd_fdstat_set_rights and refuses widening (ENOTCAPABLE)', async () => {
    const { vfs } = probeFileSystem();
    // The write without FD_WRITE gets ENOTCAPABLE, which wasi-libc's write() reports as EBADF (8).
    assert.equal((await runProbe(engine, program, vfs, ['narrow'])).stdout, 'narrow 0 -1 8 76\n');
  });

  it('follows symbolic links within the pre-open: readlink, lstat, dangling links, loops (ELOOP), escapes (EPERM), trailing slashes', async () => {
    const { vfs, root } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['symlinks']);
    assert.deepEqual(run.outcome, EXITED_0);
    assert.equal(run.stdout, [
      'symlink 0 0',
      'readlink 5 t.txt',
      'readlink-short 0 3 t.t', // a short buffer gets the start of the target, as in wasmtime
      'readlink-file -1 28', // EINVAL: not a link
      'readlink-missing -1 44',
      'follow target-data',
      'lstat link 1 size 5 nlink 1',
      'stat file 1 size 11',
      'nofollow 32 32', // path_open without LOOKUP_SYMLINK_FOLLOW on a link: ELOOP (O_NOFOLLOW)
      'kind link file', // fd_readdir's filetype SYMBOLIC_LINK
      'dangling 0 0',
      'open-dangling -1 44',
      'stat-dangling -1 44',
      'lstat-dangling 0 0',
      'excl-dangling -1 20', // O_CREAT|O_EXCL does not follow a last link: EEXIST (POSIX)
      'created-through made', // O_CREAT through a dangling link creates its target (POSIX)
      'self-loop 0 0',
      'open-loop -1 32',
      'open-cycle -1 32',
      'escape-link 0 0', // a relative link may be made...
      'open-escape -1 63', // ...but following it above the pre-open is EPERM
      'absolute-link -1 63',
      'dir-link 0 0',
      'through-dir inner',
      'unlink-link 0 0',
      'target-kept target-data',
      'open-trailing -1 54', // a trailing slash on a file: ENOTDIR
      'unlink-trailing -1 54',
      'unlink-dir-trailing -1 31',
      'exists -1 20',
      'exists-dir-slash -1 20',
      'exists-file-slash -1 54',
      'new-slash -1 44',
      'rmdir-link -1 54',
      '',
    ].join('\n'));
    assert.equal(root.exists('/output/l'), false);
    assert.equal(new TextDecoder().decode(root.readFile('/output/missing.txt')), 'made');
  });

  it('makes hard links: nlink, one file under two names, unlinking one keeps the other; EEXIST, EPERM, ENOENT, EINVAL as wasmtime', async () => {
    const { vfs, root } = probeFileSystem();
    const used = vfs.budget.usage().files;
    const run = await runProbe(engine, program, vfs, ['hardlinks']);
    assert.deepEqual(run.outcome, EXITED_0);
    assert.equal(run.stdout, [
      'link 0 0',
      'nlink 2 2 same 1',
      'shared data+more',
      'unlink-first 0 0',
      'kept data+more nlink 1',
      'link-existing -1 20',
      'link-self -1 20',
      'link-dir -1 63', // EPERM: no hard links to directories
      'link-new-slash -1 44',
      'link-missing -1 44',
      'follow-flag 28', // path_link with LOOKUP_SYMLINK_FOLLOW: EINVAL (wasmtime)
      'link-to-symlink 0 0', // the link itself gets a second name (no following)
      'symlink-linked 1',
      'link-from-input -1 76', // /input grants no PATH_LINK_SOURCE
      '',
    ].join('\n'));
    assert.equal(new TextDecoder().decode(root.readFile('/output/h2')), 'data+more');
    // Every name costs NODE_BYTES and its bytes: /output (made as the pre-open), h2, other, dir, sl
    // and its second name sl2, plus the contents and the link's target are what is left.
    const names = ['output', 'h2', 'other', 'dir', 'sl', 'sl2'].join('').length;
    assert.equal(vfs.budget.usage().files - used, 6 * NODE_BYTES + names + 'data+more'.length + 'o'.length + 'h2'.length);
  });

  it('checks the rights of the path a link reaches, and refuses hard links that would change the linking principal\'s rights', async () => {
    const { vfs, root } = probeFileSystem();
    root.writeFile('/output/locked/data.txt', new TextEncoder().encode('kept'));
    root.writeFile('/output/n.txt', new TextEncoder().encode('n'));
    // /output/locked may be read and linked, not written.
    const rights = [...PROBE_RIGHTS, { file_name: '/output/locked', rights: RIGHTS_READ | Right.PATH_LINK_SOURCE | Right.PATH_LINK_TARGET }];
    const run = async (args: string[]): Promise<string> => {
      const outcome = await engine.execute({ vfs, program, args, rights });
      assert.deepEqual(outcome, EXITED_0);
      return new TextDecoder().decode(root.readFile('stdout'));
    };
    assert.equal(await run(['symlink', 'locked/data.txt', '/output/to-locked']), 'symlink 0 0\n');
    // Reached through /output (all rights), the link leads to /output/locked: read-only.
    assert.equal(await run(['access', '/output/to-locked']), 'read kept\nwrite 76\n');
    // A second name with more rights (widening) or fewer (narrowing the first name too): ENOTCAPABLE.
    assert.equal(await run(['link', '/output/locked/data.txt', '/output/widened']), 'link -1 76\n');
    assert.equal(await run(['link', '/output/n.txt', '/output/locked/narrowed']), 'link -1 76\n');
    assert.equal(await run(['access', '/output/n.txt']), 'read n\nwrite 0\n');
    assert.equal(new TextDecoder().decode(root.readFile('/output/locked/data.txt')), 'kept');
  });

  it('never lets a hard link made under wide rights widen another principal\'s rights (programs and host requests)', async () => {
    const { vfs, root } = probeFileSystem();
    const wide = [{ file_name: '/', rights: ALL_RIGHTS }, { file_name: 'stdout', rights: ALL_RIGHTS }];
    vfs.makeDirectories(['output']);
    // A principal with every right links the input, read-only for the probe, into /output, where the probe may write.
    assert.deepEqual(await engine.execute({ vfs, program, args: ['link', '/input/data.txt', '/output/copy'], rights: wide }), EXITED_0);
    assert.equal(new TextDecoder().decode(root.readFile('stdout')), 'link 0 0\n');
    // The probe reaches the file through /output/copy with only what it holds on every name: read.
    assert.equal((await runProbe(engine, program, vfs, ['access', '/output/copy'])).stdout, 'read secret-data\nwrite 76\n');
    const client = vfs.view(PROBE_RIGHTS);
    assert.equal(new TextDecoder().decode(client.readFile('/output/copy')), 'secret-data');
    assert.throws(() => client.appendFile('/output/copy', new TextEncoder().encode('x')), (error: unknown) =>
      error instanceof VeracruzError && error.code === Code.PermissionDenied && error.rawMessage === 'append /output/copy: missing FD_WRITE');
    assert.equal(new TextDecoder().decode(root.readFile('/input/data.txt')), 'secret-data');
    // Once the input's name is gone, /output/copy is the file's only name: the probe's /output rights apply.
    assert.deepEqual(await engine.execute({ vfs, program, args: ['unlink', '/input/data.txt'], rights: wide }), EXITED_0);
    assert.equal((await runProbe(engine, program, vfs, ['access', '/output/copy'])).stdout, 'read secret-data\nwrite 0\n');
  });

  it('answers as wasmtime: EISDIR for a directory opened for writing, EBADF for seeks on directories and renumbering onto a closed fd, ENOTSOCK, ENOTCAPABLE for truncation without the right, rights as held', async () => {
    const { vfs } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['errors']);
    assert.deepEqual(run.outcome, EXITED_0);
    assert.equal(run.stdout, [
      'dir-write 31 28', // O_DIRECTORY with FD_WRITE: EISDIR; with O_CREAT: EINVAL
      'dir-seek 0 8 8',
      'renumber-closed 8',
      'renumber-closed-from 8',
      'sock 8 57', // sock_shutdown: EBADF on no descriptor, ENOTSOCK on a file
      'truncate 76 76', // fd_filestat_set_size without the right; O_TRUNC on read-only /input
      'renumber 0 8', // onto an open descriptor: moved, the old number closed
      'rights 24582 24582 24582', // never more than the policy's r, however much is asked
      'nul 28 empty 44', // a NUL in a path is EINVAL (wasmtime on Unix), an empty path ENOENT
      '',
    ].join('\n'));
  });

  it('stores file times as given and starts them at 2000-01-01 (not 0), so programs can subtract from them', async () => {
    const { vfs } = probeFileSystem();
    const run = await runProbe(engine, program, vfs, ['times']);
    assert.deepEqual(run.outcome, EXITED_0);
    // UTIME_NOW reads the clock: EACCES unless the policy enables clocks.
    assert.equal(run.stdout, 'utimensat 0 0\ntimes 100 5 3600 7 positive 1\nfutimens 0 0\nfd-times 10 100\nnow -1 2\n');
    assert.match((await runProbe(engine, program, vfs, ['times'], { enableClock: true })).stdout, /\nnow 0 0\n$/);
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
        stdin: async () => {
          if (given) return null;
          given = true;
          return new TextEncoder().encode('live');
        },
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
    await runProbe(engine, program, vfs, ['files'], { strace: straceLines((line) => lines.push(line)) });
    assert.ok(lines.some((line) => /^args_sizes_get\(\d+, \d+\) = SUCCESS$/.test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => /^fd_prestat_get\(\d+, \d+\) = EBADF$/.test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => /^path_open\(4, \d+, "a.txt", 9, -?\d+, -?\d+, 0, \d+\) = SUCCESS$/.test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => /^path_open\(4, \d+, "none.txt", 0, .*\) = ENOENT$/.test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => /^fd_write\(5, "hello", 2, \d+\) = SUCCESS$/.test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => /^fd_write\(1, "seek world tell 11\\nsize 11 dir 0"\.\.\., 2, \d+\) = SUCCESS$/.test(line)), lines.join('\n'));
    lines.length = 0;
    await runProbe(engine, program, vfs, ['exit', '3'], { strace: straceLines((line) => lines.push(line)) });
    assert.equal(lines.at(-1), 'proc_exit(3) = SUCCESS');
  });
});

describe('names and writes at the limits', () => {
  it('refuses names over 255 bytes and paths over 4096 bytes with ENAMETOOLONG (37), also where a link leads', async () => {
    const { vfs } = probeFileSystem();
    const source = await compileC(String.raw`
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static char path[8192];
static const char *named(size_t length) {
  strcpy(path, "/output/");
  memset(path + 8, 'n', length);
  path[8 + length] = 0;
  return path;
}
static int result(int status) { return status < 0 ? errno : 0; }
static int create(const char *name) {
  int fd = open(name, O_WRONLY | O_CREAT, 0644);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}
int main(void) {
  printf("create-255 %d\n", create(named(255)));
  printf("create-256 %d\n", create(named(256)));
  printf("mkdir-256 %d\n", result(mkdir(named(256), 0755)));
  char target[300];
  strcpy(target, named(255));
  printf("rename-256 %d\n", result(rename(target, named(256))));
  strcpy(path, "/output/");
  for (size_t at = 8; at < 4104; at += 2) memcpy(path + at, "./", 2);
  strcpy(path + 4104, "f");
  printf("path-4097 %d\n", create(path));
  memset(target, 'm', 299);
  target[299] = 0;
  printf("symlink-long-name %d\n", result(symlink(target, "/output/long")));
  printf("through-link %d\n", create("/output/long"));
  return 0;
}`);
    const outcome = await engine.execute({ vfs, program: source, rights: PROBE_RIGHTS });
    assert.deepEqual(outcome, EXITED_0);
    assert.equal(new TextDecoder().decode(vfs.view(SUPERUSER).readFile('stdout')), [
      'create-255 0',
      'create-256 37',
      'mkdir-256 37',
      'rename-256 37',
      'path-4097 37',
      'symlink-long-name 0', // a link's target may hold any name (POSIX); following it cannot
      'through-link 37',
      '',
    ].join('\n'));
  });

  it('applies a gathered write whole or not at all, even when the budget is taken between its buffers', () => {
    // Another thread (a program's memory.grow) takes what is left of the budget right after the
    // write's first reservation: a write reserved buffer by buffer would be left half applied.
    class RacingBudget extends MemoryBudget {
      race = false;
      override tryReserve(bytes: number, resource: BudgetResource): boolean {
        const reserved = super.tryReserve(bytes, resource);
        if (reserved && this.race && resource === 'files') {
          this.race = false;
          super.tryReserve(this.available('program memory'), 'program memory');
        }
        return reserved;
      }
    }
    const budget = new RacingBudget(64 * 1024, 0);
    const vfs = new VirtualFileSystem({ budget });
    const wasi = new WasiProcess({ vfs, rights: [], args: [], env: {}, enableClock: false });
    const memory = new WebAssembly.Memory({ initial: 1 });
    wasi.attachMemory(memory);
    const view = new DataView(memory.buffer);
    const call = (name: string, ...args: (number | bigint)[]): number => wasi.dispatch(SYSTEM_CALLS.findIndex((entry) => entry.name === name), args) as number;
    assert.equal(call('fd_create', 0), 0);
    const fd = view.getUint32(0, true);
    // Two iovecs of 1000 bytes each, at 1000 and 2000.
    [1000, 1000, 2000, 1000].forEach((value, index) => {
      view.setUint32(16 + index * 4, value, true);
    });
    new Uint8Array(memory.buffer, 1000, 2000).fill(7);
    budget.race = true;
    assert.equal(call('fd_write', fd, 16, 2, 8), 0, 'reserved at once, before the budget was taken');
    assert.equal(view.getUint32(8, true), 2000);
    assert.equal(call('fd_filestat_get', fd, 64), 0);
    assert.equal(view.getBigUint64(64 + 32, true), 2000n, 'all of the write, not its first buffer');
    wasi.close();
    assert.equal(vfs.budget.usage().files, 3 * NODE_BYTES, 'the anonymous file went back with close()');
    assert.equal(call('fd_create', 0), Errno.CANCELED, 'no call after close()');
  });
});

/** Modes: exit and trap with anonymous files open, renumber over one, exit with an unlinked file open, fill a hole, call a service. */
const HOLDER_SOURCE = String.raw`
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>
__attribute__((import_module("veracruz_si"), import_name("fd_create")))
uint32_t veracruz_fd_create(uint32_t *fd);
static char block[1 << 20];
static int anonymous(void) {
  uint32_t fd;
  if (veracruz_fd_create(&fd) != 0) return -1;
  return write((int)fd, block, sizeof block) == sizeof block ? (int)fd : -1;
}
int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  memset(block, 7, sizeof block);
  if (!strcmp(mode, "exit")) {
    int first = anonymous();
    int second = anonymous();
    printf("anonymous %d %d\n", first >= 0, second >= 0);
    return 0;
  }
  if (!strcmp(mode, "trap")) {
    anonymous();
    __builtin_trap();
  }
  if (!strcmp(mode, "renumber")) {
    int first = anonymous();
    uint32_t second;
    veracruz_fd_create(&second);
    printf("renumber %d\n", __wasi_fd_renumber(second, (uint32_t)first));
    printf("write %d\n", write(first, block, sizeof block) == sizeof block ? 0 : errno);
    return 0;
  }
  if (!strcmp(mode, "unlinked")) {
    int fd = open("/output/gone", O_RDWR | O_CREAT, 0644);
    unlink("/output/gone");
    printf("write %d\n", write(fd, block, sizeof block) == sizeof block ? 0 : errno);
    return 0;
  }
  if (!strcmp(mode, "hole")) {
    int fd = open("/output/hole", O_RDWR | O_CREAT, 0644);
    printf("ftruncate %d\n", ftruncate(fd, 8 << 20));
    unlink("/output/hole");
    int other = open("/output/other", O_WRONLY | O_CREAT, 0644);
    int blocks = 0;
    while (blocks < 8 && write(other, block, sizeof block) == sizeof block) blocks++;
    int filled = 0;
    while (filled < 8 && pwrite(fd, block, sizeof block, (off_t)filled << 20) == sizeof block) filled++;
    printf("other %d filled %d\n", blocks, filled);
    return 0;
  }
  if (!strcmp(mode, "service")) {
    int request = open("/input/request.bin", O_RDONLY);
    ssize_t length = read(request, block, sizeof block);
    int service = open("/services/aesctr.dat", O_WRONLY);
    printf("service %d\n", write(service, block, (size_t)length) == length ? 0 : errno);
    return 0;
  }
  return 2;
}`;

/** Waits (up to 5 s) until `done`: what a run holds goes back once its worker has stopped. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('what a program\'s descriptors hold in the memory budget', () => {
  const MIB = 1024 * 1024;
  const rights = [{ file_name: '/output', rights: ALL_RIGHTS }, { file_name: 'stdout', rights: ALL_RIGHTS }];
  let holder: Uint8Array;
  let holderMemory: number;
  const stdout = (vfs: VirtualFileSystem): string => new TextDecoder().decode(vfs.stream('stdout').data.toBytes());

  before(async () => {
    holder = await compileC(HOLDER_SOURCE);
    holderMemory = prepareModule(holder, { maxPages: 65536, fuel: false }).initialPages * PAGE_SIZE;
  });

  it('gives back anonymous files (fd_create) a program leaves open, whether it exits or traps', async () => {
    const vfs = new VirtualFileSystem({ budget: new MemoryBudget(64 * MIB, 0) });
    vfs.makeDirectories(['output']);
    const files = vfs.budget.usage().files;
    assert.deepEqual(await engine.execute({ vfs, program: holder, args: ['exit'], rights }), EXITED_0);
    assert.equal(stdout(vfs), 'anonymous 1 1\n');
    await until(() => vfs.budget.usage().files === files);
    assert.equal(vfs.budget.usage().files, files, 'both anonymous files went back when the program exited');
    assert.equal((await engine.execute({ vfs, program: holder, args: ['trap'], rights })).kind, 'trapped');
    await until(() => vfs.budget.usage().files === files);
    assert.equal(vfs.budget.usage().files, files, 'and when it trapped');
    await until(() => vfs.budget.used === files + vfs.budget.usage().stdout);
    assert.equal(vfs.budget.used, files + vfs.budget.usage().stdout);
  });

  it('gives back an anonymous file whose descriptor fd_renumber replaces, at once', async () => {
    // Room for the program and one 1 MiB anonymous file, not two.
    const vfs = new VirtualFileSystem({ budget: new MemoryBudget(holderMemory + 4 * NODE_BYTES + 'output'.length + 1.5 * MIB, 0) });
    vfs.makeDirectories(['output']);
    assert.deepEqual(await engine.execute({ vfs, program: holder, args: ['renumber'], rights }), EXITED_0);
    assert.equal(stdout(vfs), 'renumber 0\nwrite 0\n');
  });

  it('counts an unlinked file while the program holds it open, its growth and its hole, and gives it back when the run ends', async () => {
    const vfs = new VirtualFileSystem({ budget: new MemoryBudget(64 * MIB, 0) });
    vfs.makeDirectories(['output']);
    const files = vfs.budget.usage().files;
    assert.deepEqual(await engine.execute({ vfs, program: holder, args: ['unlinked'], rights }), EXITED_0);
    assert.equal(stdout(vfs), 'write 0\n');
    await until(() => vfs.budget.usage().files === files);
    assert.equal(vfs.budget.usage().files, files, 'what was written after the unlink went back with the last descriptor');
    // An 8 MiB hole still counts once unlinked: another file cannot take its place, and filling it
    // takes nothing more from the budget.
    const small = new VirtualFileSystem({ budget: new MemoryBudget(holderMemory + 12 * MIB, 0) });
    small.makeDirectories(['output']);
    const before = small.budget.usage().files;
    assert.equal((await engine.execute({ vfs: small, program: holder, args: ['hole'], rights })).kind, 'limit');
    const [, other, filled] = /^ftruncate 0\nother (\d) filled (\d)\n$/.exec(stdout(small)) ?? [];
    assert.ok(Number(other) < 4, `the other file got what the hole left (${other} MiB): ${stdout(small)}`);
    assert.equal(filled, '8', 'the hole was filled within what it counted');
    const kept = small.lookup(['output', 'other']);
    assert.ok(kept?.kind === 'file');
    const expected = before + NODE_BYTES + 'other'.length + kept.data.charged;
    await until(() => small.budget.usage().files === expected);
    assert.equal(small.budget.usage().files, expected, 'the unlinked file went back when the run ended');
  });

  it('answers a service refused by the budget with ENOSPC and ends the run as a budget limit', async () => {
    const vfs = new VirtualFileSystem({ services: DEFAULT_SERVICES, budget: new MemoryBudget(holderMemory + 6 * MIB, 0) });
    const root = vfs.view(SUPERUSER);
    root.writeFile('/input/plain.bin', new Uint8Array(4 * MIB));
    root.writeFile('/input/request.bin', encodeAesCtrRequest({ key: new Uint8Array(16), iv: new Uint8Array(16), inputPath: '/input/plain.bin', outputPath: '/output/cipher.bin', isEncryption: true }));
    const outcome = await engine.execute({ vfs, program: holder, args: ['service'], rights: SUPERUSER });
    assert.equal(stdout(vfs), 'service 51\n');
    assert.match(outcome.kind === 'limit' ? `${outcome.limit}: ${outcome.message}` : JSON.stringify(outcome),
      /^budget: the isolate's memory budget \(\d+ bytes\) refused \d+ more bytes of files; the program then exited with code 0$/);
    assert.equal(root.exists('/output/cipher.bin'), false);
  });
});
