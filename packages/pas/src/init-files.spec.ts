import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runCli, temporaryDirectory } from './testing.ts';

const VC_PAS = fileURLToPath(new URL('../bin/vc-pas.ts', import.meta.url));

/** `vc-pas init --dir DIR` under `ulimit -f 1` (sh: 512-byte blocks): writes past it fail with EFBIG, as on a full disk. */
function initWithTinyDisk(dir: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', 'ulimit -f 1 && exec "$@"', 'sh', process.execPath, VC_PAS, 'init', '--dir', dir], (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stderr });
    });
  });
}

describe('vc-pas init writes its files whole or not at all', () => {
  let workspace: Awaited<ReturnType<typeof temporaryDirectory>>;
  before(async () => {
    workspace = await temporaryDirectory();
  });
  after(async () => workspace?.remove());

  it('leaves no half-made PAS directory when a write fails, so init can simply be run again', async () => {
    const dir = join(workspace.dir, 'full-disk');
    const failed = await initWithTinyDisk(dir);
    assert.equal(failed.code, 1);
    assert.deepEqual(await readdir(dir), [], 'no CA key, no truncated certificate, no temporary file');
    assert.match(failed.stderr, /^vc-pas: \[limit_exceeded\] cannot write .*: EFBIG: file too large$/m);
    const again = await runCli(['init', '--dir', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((await readdir(dir)).sort(), ['ca.key', 'ca.pem', 'pas.db', 'pas.json']);
  });

  it('never replaces an existing CA key, and leaves nothing of its own behind', async () => {
    const dir = join(workspace.dir, 'has-a-key');
    await mkdir(dir);
    await writeFile(join(dir, 'ca.key'), 'a CA key someone still needs', { mode: 0o600 });
    const result = await runCli(['init', '--dir', dir]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[already_exists\] .*ca\.key exists; refusing to overwrite a CA key/);
    assert.equal(await readFile(join(dir, 'ca.key'), 'utf8'), 'a CA key someone still needs');
    assert.deepEqual(await readdir(dir), ['ca.key']);
  });

  it('removes the files it created when a later one already exists', async () => {
    const dir = join(workspace.dir, 'has-a-certificate');
    await mkdir(dir);
    await writeFile(join(dir, 'ca.pem'), 'an unrelated certificate');
    const result = await runCli(['init', '--dir', dir]);
    assert.equal(result.code, 1);
    assert.equal(await readFile(join(dir, 'ca.pem'), 'utf8'), 'an unrelated certificate');
    assert.deepEqual(await readdir(dir), ['ca.pem'], 'the CA key this init made is gone again');
    assert.match(result.stderr, /\[already_exists\] .*ca\.pem exists already; it was left as it is/);
  });
});
