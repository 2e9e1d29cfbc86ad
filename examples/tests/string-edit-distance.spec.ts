import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { generateStringEditDistance } from '../generators/string-edit-distance.ts';
import { damerauLevenshtein } from '../reference/damerau-levenshtein.ts';
import { assertExit, ExampleRunner } from './harness.ts';

const FIRST = '/input/hello-world-1.dat';
const SECOND = '/input/hello-world-2.dat';
const OUTPUT = '/output/string-edit-distance.dat';
const encode = (text: string) => new TextEncoder().encode(text);

describe('string-edit-distance', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('matches the full-matrix Damerau-Levenshtein distance (generated texts)', async () => {
    for (const seed of [1, 2]) {
      const files = generateStringEditDistance({ seed, size: 400 });
      const run = await runner.run('string-edit-distance', { files });
      assertExit(run, 0);
      const decoder = new TextDecoder();
      assert.equal(run.text(OUTPUT), `${damerauLevenshtein(decoder.decode(files[FIRST]), decoder.decode(files[SECOND]))}\n`);
    }
  });

  const cases: [string, string, number][] = [
    ['kitten', 'sitting', 3],
    ['ca', 'abc', 2], // unrestricted: the optimal-string-alignment variant says 3
    ['', 'abc', 3],
    ['abc', '', 3],
    ['', '', 0],
    ['😀é', 'é😀', 1], // one transposition of two multi-byte code points
    ['hello world', 'hello world', 0],
  ];
  for (const [first, second, distance] of cases) {
    it(`gives ${distance} for ${JSON.stringify(first)} and ${JSON.stringify(second)}`, async () => {
      assert.equal(damerauLevenshtein(first, second), distance, 'reference');
      const run = await runner.run('string-edit-distance', { files: { [FIRST]: encode(first), [SECOND]: encode(second) } });
      assertExit(run, 0);
      assert.equal(run.text(OUTPUT), `${distance}\n`);
    });
  }

  it('exits 2 when a text is missing', async () => {
    assertExit(await runner.run('string-edit-distance', { files: { [FIRST]: encode('a') } }), 2);
  });

  it('exits 3 on invalid UTF-8 (a lone surrogate, a truncated sequence)', async () => {
    assertExit(await runner.run('string-edit-distance', { files: { [FIRST]: new Uint8Array([0xed, 0xa0, 0x80]), [SECOND]: encode('a') } }), 3);
    assertExit(await runner.run('string-edit-distance', { files: { [FIRST]: encode('a'), [SECOND]: new Uint8Array([0x61, 0xe2, 0x82]) } }), 3);
  });
});
