/** Data for the sha256 kernel: random bytes. */
import { runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/** `/input/data.bin`: `size` random bytes (default 1 MiB). */
export function generateSha256(options: GeneratorOptions): GeneratedFiles {
  return { '/input/data.bin': new SeededRandom(options.seed).bytes(options.size ?? 1 << 20) };
}

runGeneratorCli(import.meta.url, generateSha256);
