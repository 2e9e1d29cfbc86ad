import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { decodeF64, encodeF64 } from '../generators/files.ts';
import { generateLinearRegression } from '../generators/linear-regression.ts';
import { linearRegression } from '../reference/linear-regression.ts';
import { assertClose, assertExit, ExampleRunner } from './harness.ts';

const INPUT = '/input/linear-regression.dat';
const OUTPUT = '/output/linear-regression.dat';

describe('linear-regression', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('fits the least-squares line of generated points', async () => {
    const files = generateLinearRegression({ seed: 7, size: 2000 });
    const run = await runner.run('linear-regression', { files });
    assertExit(run, 0);
    const [gradient, intercept] = decodeF64(run.read(OUTPUT));
    const expected = linearRegression(decodeF64(files[INPUT]!));
    assertClose(gradient!, expected.gradient, 'gradient');
    assertClose(intercept!, expected.intercept, 'intercept');
  });

  it('fits two points exactly', async () => {
    const run = await runner.run('linear-regression', { files: { [INPUT]: encodeF64([1, 3, 3, 7]) } });
    assertExit(run, 0);
    assert.deepEqual([...decodeF64(run.read(OUTPUT))], [2, 1]);
  });

  it('exits 2 without its input, writing nothing', async () => {
    const run = await runner.run('linear-regression');
    assertExit(run, 2);
    assert.match(run.stderr, /linear-regression\.dat/);
    assert.equal(run.exists(OUTPUT), false);
  });

  it('exits 3 on a truncated pair', async () => {
    const run = await runner.run('linear-regression', { files: { [INPUT]: encodeF64([1, 2, 3, 4]).subarray(0, 24) } });
    assertExit(run, 3);
  });

  it('exits 3 on fewer than two points or a vertical line', async () => {
    assertExit(await runner.run('linear-regression', { files: { [INPUT]: encodeF64([1, 2]) } }), 3);
    assertExit(await runner.run('linear-regression', { files: { [INPUT]: encodeF64([5, 1, 5, 2, 5, 3]) } }), 3);
  });
});
