import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const BIN = fileURLToPath(new URL('../../bin/vc-pgen.ts', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs vc-pgen in `cwd`; with `fileSizeLimitKib`, under `ulimit -f` (writes past it fail with EFBIG, as on a full disk). */
function run(cwd: string, args: string[], fileSizeLimitKib?: number): Promise<Run> {
  const [command, argv] = fileSizeLimitKib === undefined
    ? [process.execPath, [BIN, ...args]]
    : ['/bin/sh', ['-c', `ulimit -f ${fileSizeLimitKib} && exec "$@"`, 'sh', process.execPath, BIN, ...args]];
  return new Promise((resolve) => {
    execFile(command, argv, { cwd, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

describe('vc-pgen -o: the policy file is replaced whole or not at all', () => {
  let dir: string;
  const generate = (output: string): string[] => [
    '-c', 'alice.pem', '-p', '/input/:w,/program/:wx',
    '-w', '/program/sum.wasm=sum.wasm', '-p', '/input/:r,/output/:w',
    '-s', '127.0.0.1:3011', '-t', '127.0.0.1:3010', '--proxy-attestation-server-cert', 'pas.pem',
    '-b', 'runtime.js', '-x', 'Tue, 1 Jul 2031 10:52:37 +0200', '-o', output,
  ];
  const temporaries = async (): Promise<string[]> => (await readdir(dir)).filter((name) => name.includes('.tmp-'));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vc-pgen-output-'));
    for (const name of ['alice', 'pas']) assert.equal((await run(dir, ['identity', name])).code, 0);
    await writeFile(join(dir, 'runtime.js'), 'isolate bundle');
    await writeFile(join(dir, 'sum.wasm'), '\0asm\x01\0\0\0');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes a new policy with the usual mode, and keeps the mode of one it replaces', async () => {
    const fresh = await run(dir, generate('fresh.json'));
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stdout, /^[0-9a-f]{64} {2}fresh\.json\n$/);
    assert.equal((await stat(join(dir, 'fresh.json'))).mode & 0o777, 0o666 & ~process.umask());
    await chmod(join(dir, 'fresh.json'), 0o640);
    assert.equal((await run(dir, generate('fresh.json'))).code, 0);
    assert.equal((await stat(join(dir, 'fresh.json'))).mode & 0o777, 0o640);
    assert.deepEqual(await temporaries(), []);
  });

  it('leaves the previous policy as it was when the disk refuses the new one', async () => {
    await writeFile(join(dir, 'agreed.json'), 'the policy every party agreed on');
    const result = await run(dir, generate('agreed.json'), 1);
    assert.equal(result.code, 1);
    assert.equal(await readFile(join(dir, 'agreed.json'), 'utf8'), 'the policy every party agreed on');
    assert.deepEqual(await temporaries(), []);
    assert.match(result.stderr, /^vc-pgen: \[limit_exceeded\] cannot write agreed\.json: EFBIG: file too large; it was left as it is$/m);
  });

  it('creates nothing when the directory does not exist, and refuses a directory', async () => {
    const missing = await run(dir, generate('no-such-dir/policy.json'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\[not_found\] cannot write no-such-dir\/policy\.json: ENOENT/);
    await mkdir(join(dir, 'a-directory'));
    const directory = await run(dir, generate('a-directory'));
    assert.equal(directory.code, 1);
    assert.match(directory.stderr, /\[invalid_request\] cannot write a-directory: it is a directory/);
    assert.deepEqual(await temporaries(), []);
  });
});
