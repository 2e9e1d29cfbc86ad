/** Data for the read-file example: a short text. */
import { runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

const WORDS = ['hello', 'world', 'veracruz', 'isolate', 'policy', 'wasm', 'ünïcödé', '世界'];

/** `/input/hello-world-1.dat`: `size` words (default 8) separated by spaces, then '\n'. */
export function generateReadFile(options: GeneratorOptions): GeneratedFiles {
  const random = new SeededRandom(options.seed);
  const words = Array.from({ length: options.size ?? 8 }, () => WORDS[random.nextInt(WORDS.length)]);
  return { '/input/hello-world-1.dat': new TextEncoder().encode(`${words.join(' ')}\n`) };
}

runGeneratorCli(import.meta.url, generateReadFile);
