import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Files a generator produces: absolute path inside the isolate (e.g. `/input/x.dat`) to contents. */
export type GeneratedFiles = Record<string, Uint8Array>;

/** Options every generator accepts. */
export interface GeneratorOptions {
  /** Seed of the pseudo-random data; the same seed always gives the same files. */
  seed: number;
  /** How much data, in the generator's own unit (points, ids, characters, bytes...); each has a default. */
  size?: number;
}

/** Writes `files` under `directory`, each at its isolate path (`/input/x.dat` -> `<directory>/input/x.dat`). */
export function writeGeneratedFiles(directory: string, files: GeneratedFiles): string[] {
  const written: string[] = [];
  for (const [path, data] of Object.entries(files)) {
    const target = join(directory, path.replace(/^\/+/, ''));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
    written.push(target);
  }
  return written;
}

/** Little-endian f64 array encoding. */
export function encodeF64(values: readonly number[] | Float64Array): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => {
    view.setFloat64(i * 8, value, true);
  });
  return out;
}

/** Little-endian f64 array decoding (the length must be a multiple of 8). */
export function decodeF64(bytes: Uint8Array): Float64Array {
  if (bytes.length % 8 !== 0) throw new Error(`${bytes.length} bytes is not a whole number of f64s`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

/**
 * Command-line entry shared by the generators:
 *   node examples/generators/<name>.ts --out DIR [--seed N] [--size N]
 * Runs `generate` when `moduleUrl` is the script Node was started with.
 */
export function runGeneratorCli(moduleUrl: string, generate: (options: GeneratorOptions) => GeneratedFiles): void {
  const script = process.argv[1];
  if (script === undefined || fileURLToPath(moduleUrl) !== script) return;
  const { values } = parseArgs({
    options: { out: { type: 'string' }, seed: { type: 'string', default: '1' }, size: { type: 'string' } },
  });
  if (values.out === undefined) {
    process.stderr.write(`usage: node ${script} --out DIR [--seed N] [--size N]\n`);
    process.exitCode = 2;
    return;
  }
  const seed = Number(values.seed);
  const size = values.size === undefined ? undefined : Number(values.size);
  if (!Number.isInteger(seed) || (size !== undefined && !(Number.isInteger(size) && size >= 0))) {
    process.stderr.write('--seed and --size must be integers (size >= 0)\n');
    process.exitCode = 2;
    return;
  }
  for (const path of writeGeneratedFiles(values.out, generate(size === undefined ? { seed } : { seed, size }))) {
    process.stdout.write(`${path}\n`);
  }
}
