// Every command-line tool works when invoked directly (node_modules/.bin/vc-..., as a user's shell
// or script does), with only the system's Node on PATH: the bins are small JavaScript launchers that
// run the TypeScript tools here, or on the pinned Node 24 when this Node cannot.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPOSITORY_ROOT } from '@veracruz-ts/server';
import { LOOP_PROGRAM } from './harness.ts';

/** Pids of processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  }).map(Number);
}

const BINS = ['vc-pgen', 'vc-fee', 'vc-wc', 'vc-cc', 'vc-client', 'vc-pas', 'vc-server', 'vc-fleet', 'vc-operator'];

/** PATH without this project's node_modules/.bin (where npm scripts put the pinned Node). */
const SYSTEM_PATH = (process.env.PATH ?? '').split(delimiter).filter((entry) => entry !== '' && !entry.includes('node_modules')).join(delimiter);
const systemNode = SYSTEM_PATH.split(delimiter).map((entry) => join(entry, 'node')).find((candidate) => existsSync(candidate));

describe('the bins with only the system Node on PATH', { skip: systemNode === undefined ? 'skipped: no Node on the system PATH' : false }, () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'veracruz-bins-'));
  });
  after(() => rm(work, { recursive: true, force: true }));

  for (const bin of BINS) {
    it(`${bin} behaves as it does on the pinned Node (no ERR_UNKNOWN_FILE_EXTENSION)`, () => {
      const direct = spawnSync(join(REPOSITORY_ROOT, 'node_modules/.bin', bin), ['--help'], { env: { PATH: SYSTEM_PATH, HOME: work }, encoding: 'utf8' });
      const pinned = spawnSync(process.execPath, [join(REPOSITORY_ROOT, 'node_modules/.bin', bin), '--help'], { encoding: 'utf8' });
      assert.doesNotMatch(direct.stderr, /ERR_UNKNOWN_FILE_EXTENSION/);
      assert.equal(direct.status, pinned.status, direct.stderr);
      assert.equal(direct.stdout, pinned.stdout);
      assert.ok(direct.stdout.length + direct.stderr.length > 0, 'it says something');
    });
  }

  it('passes signals to the tool and ends as the tool ended', async () => {
    const program = join(work, 'loop.wasm');
    await writeFile(program, LOOP_PROGRAM);
    const child = spawn(join(REPOSITORY_ROOT, 'node_modules/.bin/vc-fee'), ['run', '--timeout-ms', '60000', program], { env: { PATH: SYSTEM_PATH, HOME: work }, stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGTERM');
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    assert.equal(signal, 'SIGTERM', `exit code ${code}`);
    // The tool itself (a process of its own when this Node cannot run TypeScript) stopped too.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(processesMentioning(program), []);
  });
});
