import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parsePipeline } from '@veracruz-ts/policy';
import { generateSortNumbers } from '../generators/sort-numbers.ts';
import { assertExit, ExampleRunner } from './harness.ts';

const UNSORTED = '/output/unsorted_numbers.txt';
const SORTED = '/output/sorted_numbers.txt';
const PIPELINE = '/program/random-u32-list.wasm ; if /output/unsorted_numbers.txt { /program/sort-numbers.wasm ; }';
const encode = (text: string) => new TextEncoder().encode(text);

function sortedLine(text: string): string {
  return `${text.trim().split(',').map(Number).sort((a, b) => a - b).join(',')}\n`;
}

describe('random-u32-list and sort-numbers', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('run as a pipeline: 32 random numbers, then the same numbers sorted', async () => {
    const run = await runner.runPipeline(['random-u32-list', 'sort-numbers'], parsePipeline(PIPELINE));
    assertExit(run, 0);
    const unsorted = run.text(UNSORTED);
    assert.match(unsorted, /^\d+(,\d+){31}\n$/);
    assert.ok(unsorted.trim().split(',').every((n) => Number(n) <= 0xffffffff));
    assert.equal(run.text(SORTED), sortedLine(unsorted));
  });

  it('sort-numbers sorts generated numbers on its own', async () => {
    const files = generateSortNumbers({ seed: 21, size: 500 });
    const run = await runner.run('sort-numbers', { files });
    assertExit(run, 0);
    assert.equal(run.text(SORTED), sortedLine(new TextDecoder().decode(files[UNSORTED])));
  });

  it('sort-numbers exits 2 without its input', async () => {
    assertExit(await runner.run('sort-numbers'), 2);
  });

  it('sort-numbers exits 3 on an empty field, a non-digit or a number above 2^32 - 1', async () => {
    for (const text of ['1,,2\n', '1,x\n', '4294967296\n', '\n', '1,2,']) {
      const run = await runner.run('sort-numbers', { files: { [UNSORTED]: encode(text) } });
      assertExit(run, 3);
      assert.equal(run.exists(SORTED), false, JSON.stringify(text));
    }
  });
});
