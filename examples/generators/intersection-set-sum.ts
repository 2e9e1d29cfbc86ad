/** Data for the intersection-set-sum example: advertisement viewers and customers with overlapping ids. */
import { runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/**
 * `size` viewers and `size` customers (default 1000 each), ids drawn from [0, 2 * size) so about half overlap:
 * `/input/intersection-advertisement-viewer.dat` (u64 ids) and `/input/intersection-customer.dat` (u64 id, f64 spend).
 */
export function generateIntersectionSetSum(options: GeneratorOptions): GeneratedFiles {
  const random = new SeededRandom(options.seed);
  const count = options.size ?? 1000;
  const idRange = Math.max(2 * count, 1);
  const viewers = new Uint8Array(count * 8);
  const viewerView = new DataView(viewers.buffer);
  for (let i = 0; i < count; i++) viewerView.setBigUint64(i * 8, BigInt(random.nextInt(idRange)), true);
  const customers = new Uint8Array(count * 16);
  const customerView = new DataView(customers.buffer);
  for (let i = 0; i < count; i++) {
    customerView.setBigUint64(i * 16, BigInt(random.nextInt(idRange)), true);
    customerView.setFloat64(i * 16 + 8, Math.round(random.nextFloat() * 100000) / 100, true);
  }
  return {
    '/input/intersection-advertisement-viewer.dat': viewers,
    '/input/intersection-customer.dat': customers,
  };
}

runGeneratorCli(import.meta.url, generateIntersectionSetSum);
