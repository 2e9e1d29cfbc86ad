/** Data for the number-stream-accumulation example: a starting value and two streams of numbers. */
import { encodeF64, runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/** The starting value and the two streams (`size` numbers each, default 10). */
export function numberStreams(options: GeneratorOptions): { init: number; stream1: number[]; stream2: number[] } {
  const random = new SeededRandom(options.seed);
  const count = options.size ?? 10;
  const draw = () => Math.round((random.nextFloat() * 2000 - 1000) * 1000) / 1000;
  const init = draw();
  return { init, stream1: Array.from({ length: count }, draw), stream2: Array.from({ length: count }, draw) };
}

/** `/input/number-stream-init.dat` (one f64) and the whole streams `/input/number-stream-{1,2}.dat` (f64s). */
export function generateNumberStreamAccumulation(options: GeneratorOptions): GeneratedFiles {
  const { init, stream1, stream2 } = numberStreams(options);
  return {
    '/input/number-stream-init.dat': encodeF64([init]),
    '/input/number-stream-1.dat': encodeF64(stream1),
    '/input/number-stream-2.dat': encodeF64(stream2),
  };
}

runGeneratorCli(import.meta.url, generateNumberStreamAccumulation);
