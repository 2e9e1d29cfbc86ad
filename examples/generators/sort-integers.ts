/** Data for the sort-integers kernel: random unsigned 32-bit integers. */
import { runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/** `/input/ints.bin`: `size` random little-endian u32s (default 100000). */
export function generateSortIntegers(options: GeneratorOptions): GeneratedFiles {
  return { '/input/ints.bin': new SeededRandom(options.seed).bytes(4 * (options.size ?? 100000)) };
}

runGeneratorCli(import.meta.url, generateSortIntegers);
