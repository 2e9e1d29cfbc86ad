/** Data for the sort-numbers program on its own (in the pipeline, random-u32-list writes its input). */
import { runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/** `/output/unsorted_numbers.txt`: `size` random u32s (default 32), comma-separated, then '\n'. */
export function generateSortNumbers(options: GeneratorOptions): GeneratedFiles {
  const random = new SeededRandom(options.seed);
  const numbers = Array.from({ length: options.size ?? 32 }, () => random.nextU32());
  return { '/output/unsorted_numbers.txt': new TextEncoder().encode(`${numbers.join(',')}\n`) };
}

runGeneratorCli(import.meta.url, generateSortNumbers);
