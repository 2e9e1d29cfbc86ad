import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { generateSha256 } from '../generators/sha256.ts';
import { assertExit, ExampleRunner } from './harness.ts';

const INPUT = '/input/data.bin';
const digest = (data: Uint8Array) => `${createHash('sha256').update(data).digest('hex')}\n`;

describe('sha256', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('prints the digest of a large input', async () => {
    const files = generateSha256({ seed: 6, size: (3 << 20) + 7 });
    const run = await runner.run('sha256', { files });
    assertExit(run, 0);
    assert.equal(run.stdout, digest(files[INPUT]!));
  });

  it('handles every length around the padding boundary', async () => {
    for (const size of [0, 55, 56, 63, 64, 65, 119, 120]) {
      const data = generateSha256({ seed: size, size })[INPUT]!;
      const run = await runner.run('sha256', { files: { [INPUT]: data } });
      assertExit(run, 0);
      assert.equal(run.stdout, digest(data), `length ${size}`);
    }
  });

  it('exits 2 without its input', async () => {
    assertExit(await runner.run('sha256'), 2);
  });
});
