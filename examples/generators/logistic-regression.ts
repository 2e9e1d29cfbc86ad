/** Data for the logistic-regression example: labelled samples from a random logistic model. */
import { runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/** Training parameters written in the input header. */
export interface LogisticRegressionInput {
  features: number[][];
  labels: number[];
  iterations: number;
  learningRate: number;
}

/** Encodes a training set in the program's input format (header n, d, iterations, rate; then samples). */
export function encodeLogisticRegressionInput(input: LogisticRegressionInput): Uint8Array {
  const n = input.features.length;
  const d = input.features[0]?.length ?? 0;
  const out = new Uint8Array(20 + n * (d + 1) * 8);
  const view = new DataView(out.buffer);
  view.setUint32(0, n, true);
  view.setUint32(4, d, true);
  view.setUint32(8, input.iterations, true);
  view.setFloat64(12, input.learningRate, true);
  let offset = 20;
  input.features.forEach((row, i) => {
    for (const value of [...row, input.labels[i]!]) {
      view.setFloat64(offset, value, true);
      offset += 8;
    }
  });
  return out;
}

/** `size` samples (default 500) of 4 features, labels drawn from a logistic model; 100 iterations at rate 0.5. */
export function logisticRegressionInput(options: GeneratorOptions & { features?: number; iterations?: number }): LogisticRegressionInput {
  const random = new SeededRandom(options.seed);
  const n = options.size ?? 500;
  const d = options.features ?? 4;
  const truth = Array.from({ length: d + 1 }, () => random.nextGaussian() * 2);
  const features: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: d }, () => random.nextGaussian());
    const z = row.reduce((sum, x, k) => sum + truth[k + 1]! * x, truth[0]!);
    features.push(row);
    labels.push(random.nextFloat() < 1 / (1 + Math.exp(-z)) ? 1 : 0);
  }
  return { features, labels, iterations: options.iterations ?? 100, learningRate: 0.5 };
}

/** `/input/logistic-regression.dat` for `logisticRegressionInput(options)`. */
export function generateLogisticRegression(options: GeneratorOptions): GeneratedFiles {
  return { '/input/logistic-regression.dat': encodeLogisticRegressionInput(logisticRegressionInput(options)) };
}

runGeneratorCli(import.meta.url, generateLogisticRegression);
