import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { decodeF64, encodeF64 } from '../generators/files.ts';
import { generateMacd } from '../generators/macd.ts';
import { macd } from '../reference/macd.ts';
import { assertClose, assertExit, ExampleRunner } from './harness.ts';

describe('macd', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('computes MACD, signal and histogram for every series in /input/macd/', async () => {
    const files = generateMacd({ seed: 8, size: 1000 });
    const run = await runner.run('macd', { files });
    assertExit(run, 0);
    for (const [path, bytes] of Object.entries(files)) {
      const expected = macd([...decodeF64(bytes)]);
      const actual = decodeF64(run.read(path.replace('/input/', '/output/')));
      assert.equal(actual.length, expected.length * 3, path);
      expected.forEach((point, t) => {
        assertClose(actual[3 * t]!, point.macd, `${path} macd[${t}]`);
        assertClose(actual[3 * t + 1]!, point.signal, `${path} signal[${t}]`);
        assertClose(actual[3 * t + 2]!, point.histogram, `${path} histogram[${t}]`);
      });
    }
  });

  it('gives zeros for a constant price', async () => {
    const run = await runner.run('macd', { files: { '/input/macd/flat.dat': encodeF64([5, 5, 5]) } });
    assertExit(run, 0);
    assert.deepEqual([...decodeF64(run.read('/output/macd/flat.dat'))], new Array(9).fill(0));
  });

  it('exits 2 when /input/macd/ is missing', async () => {
    assertExit(await runner.run('macd', { files: { '/input/other.dat': encodeF64([1]) } }), 2);
  });

  it('exits 3 on an empty or partial series', async () => {
    assertExit(await runner.run('macd', { files: { '/input/macd/a.dat': new Uint8Array() } }), 3);
    assertExit(await runner.run('macd', { files: { '/input/macd/a.dat': new Uint8Array(12) } }), 3);
  });
});
