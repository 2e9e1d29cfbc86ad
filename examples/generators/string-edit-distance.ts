/** Data for the string-edit-distance example: a random text and an edited copy of it. */
import { runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

const ALPHABET = [...'abcdefghijklmnopqrstuvwxyz   éüß漢字😀'];

/**
 * `/input/hello-world-1.dat`: `size` code points (default 200) of UTF-8 text, some of them multi-byte;
 * `/input/hello-world-2.dat`: a copy with about one edit (insert, delete, substitute, swap neighbours) per 10.
 */
export function generateStringEditDistance(options: GeneratorOptions): GeneratedFiles {
  const random = new SeededRandom(options.seed);
  const count = options.size ?? 200;
  const pick = () => ALPHABET[random.nextInt(ALPHABET.length)]!;
  const first = Array.from({ length: count }, pick);
  const second = [...first];
  const edits = Math.ceil(count / 10);
  for (let e = 0; e < edits; e++) {
    const at = random.nextInt(second.length + 1);
    switch (random.nextInt(4)) {
      case 0: second.splice(at, 0, pick()); break;
      case 1: second.splice(at, 1); break;
      case 2: if (at < second.length) second[at] = pick(); break;
      default:
        if (at + 1 < second.length) [second[at], second[at + 1]] = [second[at + 1]!, second[at]!];
    }
  }
  const encoder = new TextEncoder();
  return { '/input/hello-world-1.dat': encoder.encode(first.join('')), '/input/hello-world-2.dat': encoder.encode(second.join('')) };
}

runGeneratorCli(import.meta.url, generateStringEditDistance);
