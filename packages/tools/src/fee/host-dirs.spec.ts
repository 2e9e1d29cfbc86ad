import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { VirtualFileSystem } from '@veracruz-ts/runtime';
import { type LoadSnapshot, loadHostDirectory, writeBackHostDirectory } from './host-dirs.ts';

const HOST_DIRS = fileURLToPath(new URL('./host-dirs.ts', import.meta.url));

describe('vc-fee --dir write-back', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'vc-fee-dirs-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const temporaries = (directory: string): string[] => readdirSync(directory).filter((name) => name.includes('.tmp-'));

  it('writes new and changed files, keeping the mode of those it replaces', () => {
    const host = join(work, 'plain');
    mkdirSync(host);
    writeFileSync(join(host, 'changed.txt'), 'before');
    chmodSync(join(host, 'changed.txt'), 0o640);
    writeFileSync(join(host, 'same.txt'), 'unchanged');
    const vfs = new VirtualFileSystem();
    const mapping = { host, guest: '/output' };
    const snapshot: LoadSnapshot = new Map();
    loadHostDirectory(vfs, mapping, snapshot);
    const changed = vfs.lookup(['output', 'changed.txt']);
    assert.ok(changed?.kind === 'file');
    changed.data.replace(new TextEncoder().encode('after the run'));
    const created = vfs.newFile();
    created.data.write(0, new TextEncoder().encode('new'));
    const directory = vfs.lookup(['output']);
    assert.ok(directory?.kind === 'directory');
    directory.entries.set('created.txt', created);
    const report = writeBackHostDirectory(vfs, mapping, snapshot);
    assert.deepEqual(report.written.sort(), [join(host, 'changed.txt'), join(host, 'created.txt')]);
    assert.equal(readFileSync(join(host, 'changed.txt'), 'utf8'), 'after the run');
    assert.equal(statSync(join(host, 'changed.txt')).mode & 0o777, 0o640);
    assert.equal(readFileSync(join(host, 'created.txt'), 'utf8'), 'new');
    assert.equal(statSync(join(host, 'created.txt')).mode & 0o777, 0o666 & ~process.umask());
    assert.deepEqual(temporaries(host), []);
  });

  it('leaves a host file as it was when the disk refuses its new contents, writes the others, and says which failed', () => {
    const host = join(work, 'full-disk');
    mkdirSync(host);
    writeFileSync(join(host, 'big.txt'), 'the old contents');
    writeFileSync(join(host, 'small.txt'), 'old small');
    // In a child under `ulimit -f 1` (sh: 512-byte blocks): writes past it fail with EFBIG, as on a full disk.
    const script = `
      import { VirtualFileSystem } from '@veracruz-ts/runtime';
      import { loadHostDirectory, writeBackHostDirectory } from ${JSON.stringify(HOST_DIRS)};
      const vfs = new VirtualFileSystem();
      const mapping = { host: ${JSON.stringify(host)}, guest: '/output' };
      const snapshot = new Map();
      loadHostDirectory(vfs, mapping, snapshot);
      vfs.lookup(['output', 'big.txt']).data.replace(new Uint8Array(64 * 1024).fill(120));
      vfs.lookup(['output', 'small.txt']).data.replace(new TextEncoder().encode('new small'));
      try { writeBackHostDirectory(vfs, mapping, snapshot); } catch (error) { console.log(error.message); process.exit(3); }`;
    const child = spawnSync('/bin/sh', ['-c', 'ulimit -f 1 && exec "$0" --input-type=module -e "$1"', process.execPath, script], {
      encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)),
    });
    assert.equal(readFileSync(join(host, 'big.txt'), 'utf8'), 'the old contents');
    assert.equal(child.status, 3, child.stderr);
    assert.equal(readFileSync(join(host, 'small.txt'), 'utf8'), 'new small');
    assert.deepEqual(temporaries(host), []);
    assert.equal(child.stdout.trim(), `[limit_exceeded] --dir ${host}: 1 file could not be written back (1 written): ` +
      `cannot write ${join(host, 'big.txt')}: EFBIG: file too large; it was left as it is`);
  });
});
