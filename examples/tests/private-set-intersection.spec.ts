import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { generatePrivateSetIntersection } from '../generators/private-set-intersection.ts';
import { privateSetIntersection } from '../reference/private-set-intersection.ts';
import { assertExit, ExampleRunner } from './harness.ts';

const SET1 = '/input/private-set-1.dat';
const SET2 = '/input/private-set-2.dat';
const OUTPUT = '/output/private-set.dat';
const encode = (text: string) => new TextEncoder().encode(text);

describe('private-set-intersection', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('outputs the common people, sorted and unique (generated data)', async () => {
    const files = generatePrivateSetIntersection({ seed: 11, size: 300 });
    const run = await runner.run('private-set-intersection', { files });
    assertExit(run, 0);
    const decoder = new TextDecoder();
    const expected = privateSetIntersection(decoder.decode(files[SET1]), decoder.decode(files[SET2]));
    assert.ok(expected.length > 0, 'the generated sets overlap');
    assert.equal(run.text(OUTPUT), expected);
  });

  it('compares whole lines, by bytes', async () => {
    const run = await runner.run('private-set-intersection', {
      files: { [SET1]: encode('Zoë,1\nbob,2\nAlice,3\nAlice,3\nAl,4\n'), [SET2]: encode('Alice,3\nZoë,1\nAl,44\nbob,2\n') },
    });
    assertExit(run, 0);
    assert.equal(run.text(OUTPUT), 'Alice,3\nZoë,1\nbob,2\n');
  });

  it('outputs nothing for empty sets', async () => {
    const run = await runner.run('private-set-intersection', { files: { [SET1]: encode(''), [SET2]: encode('a\n') } });
    assertExit(run, 0);
    assert.equal(run.text(OUTPUT), '');
  });

  it('exits 2 when a set is missing', async () => {
    assertExit(await runner.run('private-set-intersection', { files: { [SET1]: encode('a\n') } }), 2);
  });

  it('exits 3 on invalid UTF-8 or a last line without a newline', async () => {
    const invalid = new Uint8Array([0x61, 0xc3, 0x28, 0x0a]);
    assertExit(await runner.run('private-set-intersection', { files: { [SET1]: invalid, [SET2]: encode('a\n') } }), 3);
    assertExit(await runner.run('private-set-intersection', { files: { [SET1]: encode('a\n'), [SET2]: encode('a\nb') } }), 3);
  });
});
