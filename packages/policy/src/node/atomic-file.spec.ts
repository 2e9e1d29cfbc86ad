import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { VeracruzError } from '@veracruz-ts/core';
import { isAtomicTemporaryName, writeFileAtomically, writeFileAtomicallySync } from './atomic-file.ts';

const HELPER = fileURLToPath(new URL('./atomic-file.ts', import.meta.url));

describe('writeFileAtomically', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'atomic-file-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const temporaries = (directory = dir): string[] => readdirSync(directory).filter(isAtomicTemporaryName);

  async function* failingAfter(chunks: string[], reason = new Error('the connection was lost')): AsyncGenerator<Uint8Array> {
    for (const chunk of chunks) yield Buffer.from(chunk);
    throw reason;
  }

  it('creates a new file 0600 by default, or with the mode asked for (less the umask)', async () => {
    await writeFileAtomically(join(dir, 'secret.txt'), 'result');
    assert.equal(readFileSync(join(dir, 'secret.txt'), 'utf8'), 'result');
    assert.equal(statSync(join(dir, 'secret.txt')).mode & 0o777, 0o600);
    await writeFileAtomically(join(dir, 'public.txt'), Buffer.from('policy'), { mode: 0o644 });
    assert.equal(statSync(join(dir, 'public.txt')).mode & 0o777, 0o644 & ~process.umask());
    assert.deepEqual(temporaries(), []);
  });

  it('replaces an existing file with chunks as they arrive, keeping its mode', async () => {
    const path = join(dir, 'kept-mode.txt');
    writeFileSync(path, 'old');
    chmodSync(path, 0o640);
    await writeFileAtomically(path, (async function* () {
      yield Buffer.from('new ');
      yield Buffer.from('contents');
    })());
    assert.equal(readFileSync(path, 'utf8'), 'new contents');
    assert.equal(statSync(path).mode & 0o777, 0o640);
  });

  it('leaves an existing file untouched and no temporary file when the source fails midway', async () => {
    const path = join(dir, 'keep.txt');
    writeFileSync(path, 'precious');
    await assert.rejects(writeFileAtomically(path, failingAfter(['partial ', 'data'])), /the connection was lost/);
    assert.equal(readFileSync(path, 'utf8'), 'precious');
    assert.deepEqual(temporaries(), []);
  });

  it('creates nothing at all for a source that fails before its first chunk', async () => {
    const path = join(dir, 'never.txt');
    let seen: string[] | undefined;
    const source = (async function* (): AsyncGenerator<Uint8Array> {
      seen = readdirSync(dir).filter((name) => name.includes('never'));
      throw new Error('permission denied by the isolate');
    })();
    await assert.rejects(writeFileAtomically(path, source), /permission denied/);
    assert.deepEqual(seen, [], 'not even a temporary file while the source was asked');
    assert.deepEqual(readdirSync(dir).filter((name) => name.includes('never')), []);
  });

  it('writes beside the destination while data arrives, under a recognisable hidden name', async () => {
    const path = join(dir, 'streamed.bin');
    let during: string[] = [];
    await writeFileAtomically(path, (async function* () {
      yield Buffer.from('first');
      during = temporaries();
      yield Buffer.from('second');
    })());
    assert.equal(during.length, 1);
    assert.match(during[0]!, /^\.streamed\.bin\.tmp-[0-9a-f]{12}$/);
    assert.equal(readFileSync(path, 'utf8'), 'firstsecond');
  });

  it('refuses a directory before reading anything', async () => {
    mkdirSync(join(dir, 'a-directory'));
    let asked = false;
    const source = (async function* () {
      asked = true;
      yield Buffer.from('x');
    })();
    await assert.rejects(writeFileAtomically(join(dir, 'a-directory'), source),
      (error: unknown) => error instanceof VeracruzError && error.code === 'invalid_request' && /is a directory/.test(error.message));
    assert.equal(asked, false);
  });

  it('replaces the target of a symbolic link and keeps the link', async () => {
    writeFileSync(join(dir, 'real.txt'), 'old');
    symlinkSync('real.txt', join(dir, 'link.txt'));
    await writeFileAtomically(join(dir, 'link.txt'), 'through the link');
    assert.equal(readlinkSync(join(dir, 'link.txt')), 'real.txt');
    assert.equal(readFileSync(join(dir, 'real.txt'), 'utf8'), 'through the link');
  });

  it('writes to a device such as /dev/null directly', async () => {
    await writeFileAtomically('/dev/null', 'discarded');
    assert.equal(statSync('/dev/null').isCharacterDevice(), true);
  });

  it('with exclusive, never replaces a file, even one that appears while data arrives', async () => {
    const path = join(dir, 'exclusive.txt');
    writeFileSync(path, 'first');
    await assert.rejects(writeFileAtomically(path, 'second', { exclusive: true }), /\[already_exists\] .*exclusive\.txt exists already/);
    const late = join(dir, 'late.txt');
    await assert.rejects(writeFileAtomically(late, (async function* () {
      yield Buffer.from('mine');
      writeFileSync(late, 'someone else');
    })(), { exclusive: true }), /\[already_exists\]/);
    assert.equal(readFileSync(path, 'utf8'), 'first');
    assert.equal(readFileSync(late, 'utf8'), 'someone else');
    assert.deepEqual(temporaries(), []);
    await writeFileAtomically(join(dir, 'fresh.txt'), 'new', { exclusive: true });
    assert.equal(readFileSync(join(dir, 'fresh.txt'), 'utf8'), 'new');
  });

  it('lets the caller check the complete file before it takes the destination\'s place', async () => {
    const path = join(dir, 'checked.json');
    writeFileSync(path, '{"good":true}');
    await assert.rejects(writeFileAtomically(path, '{"bad"', {
      verify: (temporary) => {
        assert.equal(readFileSync(temporary, 'utf8'), '{"bad"');
        throw new Error('does not parse');
      },
    }), /does not parse/);
    assert.equal(readFileSync(path, 'utf8'), '{"good":true}');
    assert.deepEqual(temporaries(), []);
  });

  it('names a missing directory as not_found', async () => {
    await assert.rejects(writeFileAtomically(join(dir, 'no-such-dir', 'x'), 'x'),
      /^VeracruzError: \[not_found\] cannot write .*no-such-dir\/x: ENOENT: no such file or directory$/);
  });

  it('has a synchronous form with the same guarantees', () => {
    const path = join(dir, 'sync.txt');
    writeFileSync(path, 'before');
    assert.throws(() => writeFileAtomicallySync(path, (function* () {
      yield Buffer.from('half');
      throw new Error('read failed');
    })()), /read failed/);
    assert.equal(readFileSync(path, 'utf8'), 'before');
    assert.deepEqual(temporaries(), []);
    writeFileAtomicallySync(path, [Buffer.from('af'), Buffer.from('ter')]);
    assert.equal(readFileSync(path, 'utf8'), 'after');
  });

  it('leaves the destination as it was when the disk refuses the write (file size limit)', () => {
    const path = join(dir, 'big.txt');
    writeFileSync(path, 'the old contents');
    // ulimit -f 1: writes beyond 1 KiB fail with EFBIG, as on a full disk.
    const script = `import { writeFileAtomicallySync } from ${JSON.stringify(HELPER)};
      try { writeFileAtomicallySync(${JSON.stringify(path)}, Buffer.alloc(64 * 1024, 120)); } catch (error) { console.log(error.message); process.exit(3); }`;
    const child = spawnSync('/bin/sh', ['-c', `ulimit -f 1 && exec "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: 'utf8' });
    assert.equal(child.status, 3, child.stderr);
    assert.match(child.stdout, /^\[limit_exceeded\] cannot write .*big\.txt: EFBIG: file too large; it was left as it is$/m);
    assert.equal(readFileSync(path, 'utf8'), 'the old contents');
    assert.deepEqual(temporaries(), []);
  });

  it('removes the temporary file when interrupted (SIGINT), and still ends as SIGINT does', async () => {
    const path = join(dir, 'interrupted.txt');
    writeFileSync(path, 'untouched');
    const script = `import { writeFileAtomically } from ${JSON.stringify(HELPER)};
      await writeFileAtomically(${JSON.stringify(path)}, (async function* () {
        yield Buffer.from('some of it');
        await new Promise(() => setInterval(() => {}, 1000));
      })());`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    try {
      for (let tries = 0; temporaries().length === 0; tries++) {
        assert.ok(tries < 200, 'the temporary file never appeared');
        await sleep(25);
      }
      child.kill('SIGINT');
      const [code, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null];
      assert.deepEqual([code, signal], [null, 'SIGINT']);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(readFileSync(path, 'utf8'), 'untouched');
    assert.deepEqual(temporaries(), []);
  });
});
