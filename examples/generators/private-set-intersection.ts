/** Data for the private-set-intersection example: two lists of people drawn from one pool. */
import { runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

const FIRST_NAMES = ['Alice', 'Bob', 'Chloé', 'Dmitri', 'Eşref', 'Fatima', 'György', 'Hana', 'Ìfẹ́', 'José', 'Łukasz', '李雷', 'Zoë'];
const LAST_NAMES = ['Smith', 'Müller', 'García', 'Nakamura', 'Ødegaard', 'Ivanova', 'Okafor', '王', 'Dubois', 'Kowalski'];

/** Picks one person line ("First Last,id") from a pool of `poolSize`. */
function person(random: SeededRandom, poolSize: number): string {
  const id = random.nextInt(poolSize);
  return `${FIRST_NAMES[id % FIRST_NAMES.length]} ${LAST_NAMES[Math.floor(id / FIRST_NAMES.length) % LAST_NAMES.length]},${id}`;
}

/**
 * `size` lines per party (default 200), UTF-8 "First Last,id" each ending in '\n', drawn with repetition from a
 * pool of 2 * size people: `/input/private-set-1.dat` and `/input/private-set-2.dat`.
 */
export function generatePrivateSetIntersection(options: GeneratorOptions): GeneratedFiles {
  const random = new SeededRandom(options.seed);
  const count = options.size ?? 200;
  const poolSize = Math.max(2 * count, 1);
  const encoder = new TextEncoder();
  const set = () => encoder.encode(Array.from({ length: count }, () => `${person(random, poolSize)}\n`).join(''));
  return { '/input/private-set-1.dat': set(), '/input/private-set-2.dat': set() };
}

runGeneratorCli(import.meta.url, generatePrivateSetIntersection);
