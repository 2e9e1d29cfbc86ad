/** Data for the MACD example: price series as random walks. */
import { encodeF64, runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/** Three series `/input/macd/series-{0,1,2}.dat` of `size` prices each (default 500), geometric random walks. */
export function generateMacd(options: GeneratorOptions): GeneratedFiles {
  const random = new SeededRandom(options.seed);
  const count = options.size ?? 500;
  const files: GeneratedFiles = {};
  for (let s = 0; s < 3; s++) {
    let price = 50 + random.nextFloat() * 100;
    const prices: number[] = [];
    for (let t = 0; t < count; t++) {
      price *= Math.exp(random.nextGaussian() * 0.01);
      prices.push(price);
    }
    files[`/input/macd/series-${s}.dat`] = encodeF64(prices);
  }
  return files;
}

runGeneratorCli(import.meta.url, generateMacd);
