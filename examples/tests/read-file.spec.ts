import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { GeneratedFiles } from '../generators/files.ts';
import { generateReadFile } from '../generators/read-file.ts';
import { assertExit, ExampleRunner } from './harness.ts';

const INPUT = '/input/hello-world-1.dat';

describe('read-file', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('prints its input, creates /output/test/test.txt and writes the input plus a listing of /output/', async () => {
    const files: GeneratedFiles = { ...generateReadFile({ seed: 2 }), '/output/earlier.txt': new TextEncoder().encode('x') };
    const input = new TextDecoder().decode(files[INPUT]);
    const run = await runner.run('read-file', { files });
    assertExit(run, 0);
    assert.equal(run.stdout, input);
    assert.equal(run.text('/output/test/test.txt'), 'hello\n');
    // The listing is taken before /output/hello-world-1.dat itself is written.
    assert.equal(run.text('/output/hello-world-1.dat'), `${input}earlier.txt\ntest\n`);
  });

  it('runs again over its own outputs', async () => {
    const first = await runner.run('read-file', { files: generateReadFile({ seed: 3 }) });
    assertExit(first, 0);
    const second = await runner.run('read-file', { vfs: first.vfs });
    assertExit(second, 0);
    assert.match(second.text('/output/hello-world-1.dat'), /\nhello-world-1\.dat\ntest\n$/);
  });

  it('exits 2 without its input', async () => {
    const run = await runner.run('read-file');
    assertExit(run, 2);
    assert.match(run.stderr, /hello-world-1\.dat/);
  });
});
