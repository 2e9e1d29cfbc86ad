import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { generateSha256 } from '../generators/sha256.ts';
import { assertExit, ExampleRunner } from './harness.ts';

const INPUT = '/input/stream';
const OUTPUT = '/output/stream-hash';

/** What the program should write for `data`: digest by node:crypto, words as maximal runs of non-space bytes. */
function expected(data: Uint8Array): string {
  const words = Buffer.from(data).toString('latin1').match(/[^ \t\n\v\f\r]+/g)?.length ?? 0;
  return `${JSON.stringify({ sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length, words })}\n`;
}

describe('stream-hash', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('hashes and counts a large input read in many pieces', async () => {
    const data = generateSha256({ seed: 11, size: (1 << 20) + 77 })['/input/data.bin']!;
    const run = await runner.run('stream-hash', { files: { [INPUT]: data } });
    assertExit(run, 0);
    assert.equal(run.text(OUTPUT), expected(data));
  });

  it('counts words across whitespace of every kind and handles lengths around the padding boundary', async () => {
    const text = new TextEncoder().encode('  one\ttwo\nthree\r\nfour\vfive\fsix  ');
    const run = await runner.run('stream-hash', { files: { [INPUT]: text } });
    assertExit(run, 0);
    assert.equal(JSON.parse(run.text(OUTPUT)).words, 6);
    assert.equal(run.text(OUTPUT), expected(text));
    for (const size of [0, 55, 56, 64, 65]) {
      const data = generateSha256({ seed: size, size })['/input/data.bin']!;
      const sized = await runner.run('stream-hash', { files: { [INPUT]: data } });
      assertExit(sized, 0);
      assert.equal(sized.text(OUTPUT), expected(data), `length ${size}`);
    }
  });

  it('needs no more than read on /input/ and write on /output/', async () => {
    const rights = [{ file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_WRITE }];
    const data = new TextEncoder().encode('a b');
    const run = await runner.run('stream-hash', { files: { [INPUT]: data }, rights });
    assertExit(run, 0);
    assert.equal(run.text(OUTPUT), expected(data));
  });

  it('exits 2 without its input and 4 when it may not write its output', async () => {
    assertExit(await runner.run('stream-hash'), 2);
    const readOnly = await runner.run('stream-hash', { files: { [INPUT]: new Uint8Array(3) }, rights: [{ file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_READ }] });
    assertExit(readOnly, 4);
  });
});
