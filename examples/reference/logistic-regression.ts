import type { LogisticRegressionInput } from '../generators/logistic-regression.ts';

/** Full-batch gradient descent on the logistic loss; returns [bias, w1..wd]. */
export function logisticRegression(input: LogisticRegressionInput): number[] {
  const d = input.features[0]?.length ?? 0;
  const n = input.features.length;
  const weights = new Array<number>(d + 1).fill(0);
  for (let iteration = 0; iteration < input.iterations; iteration++) {
    const gradient = new Array<number>(d + 1).fill(0);
    input.features.forEach((x, i) => {
      const z = x.reduce((sum, value, k) => sum + weights[k + 1]! * value, weights[0]!);
      const error = 1 / (1 + Math.exp(-z)) - input.labels[i]!;
      gradient[0]! += error;
      x.forEach((value, k) => {
        gradient[k + 1]! += error * value;
      });
    });
    gradient.forEach((g, k) => {
      weights[k]! -= (input.learningRate * g) / n;
    });
  }
  return weights;
}
