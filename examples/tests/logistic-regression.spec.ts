import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { decodeF64 } from '../generators/files.ts';
import { encodeLogisticRegressionInput, logisticRegressionInput } from '../generators/logistic-regression.ts';
import { logisticRegression } from '../reference/logistic-regression.ts';
import { assertClose, assertExit, ExampleRunner } from './harness.ts';

const INPUT = '/input/logistic-regression.dat';
const OUTPUT = '/output/logistic-regression.dat';

describe('logistic-regression', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('trains the same weights as the reference gradient descent, and they classify the data', async () => {
    const input = logisticRegressionInput({ seed: 12, size: 800, features: 5, iterations: 200 });
    const run = await runner.run('logistic-regression', { files: { [INPUT]: encodeLogisticRegressionInput(input) } });
    assertExit(run, 0);
    const weights = decodeF64(run.read(OUTPUT));
    const expected = logisticRegression(input);
    assert.equal(weights.length, expected.length);
    expected.forEach((w, k) => {
      assertClose(weights[k]!, w, `weight ${k}`);
    });
    const correct = input.features.filter((x, i) => {
      const z = x.reduce((sum, value, k) => sum + weights[k + 1]! * value, weights[0]!);
      return (z > 0 ? 1 : 0) === input.labels[i];
    }).length;
    assert.ok(correct / input.features.length > 0.7, `accuracy ${correct / input.features.length}`);
  });

  it('exits 2 without its input', async () => {
    assertExit(await runner.run('logistic-regression'), 2);
  });

  it('exits 3 on a short header, a wrong length or a label other than 0 and 1', async () => {
    const good = encodeLogisticRegressionInput({ features: [[1], [2]], labels: [0, 1], iterations: 1, learningRate: 0.1 });
    assertExit(await runner.run('logistic-regression', { files: { [INPUT]: good.subarray(0, 19) } }), 3);
    assertExit(await runner.run('logistic-regression', { files: { [INPUT]: good.subarray(0, good.length - 8) } }), 3);
    const badLabel = encodeLogisticRegressionInput({ features: [[1], [2]], labels: [0, 2], iterations: 1, learningRate: 0.1 });
    assertExit(await runner.run('logistic-regression', { files: { [INPUT]: badLabel } }), 3);
  });
});
