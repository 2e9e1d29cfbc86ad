/** Data for the linear-regression example: noisy points around a random line. */
import { encodeF64, runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/** `size` points (default 1000) as x, y f64 pairs in `/input/linear-regression.dat`. */
export function generateLinearRegression(options: GeneratorOptions): GeneratedFiles {
  const random = new SeededRandom(options.seed);
  const count = options.size ?? 1000;
  const gradient = random.nextFloat() * 10 - 5;
  const intercept = random.nextFloat() * 100 - 50;
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    const x = random.nextFloat() * 200 - 100;
    values.push(x, gradient * x + intercept + random.nextGaussian() * 3);
  }
  return { '/input/linear-regression.dat': encodeF64(values) };
}

runGeneratorCli(import.meta.url, generateLinearRegression);
