/** Data for the shamir-secret-sharing example: a random secret split into shares over GF(2^8). */
import { runGeneratorCli, type GeneratedFiles, type GeneratorOptions } from './files.ts';
import { SeededRandom } from './random.ts';

/** Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (shift-and-add, no tables). */
export function gfMultiply(a: number, b: number): number {
  let product = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) product ^= a;
    const carry = a & 0x80;
    a = (a << 1) & 0xff;
    if (carry) a ^= 0x1b;
    b >>= 1;
  }
  return product;
}

/**
 * Splits `secret` into `shareCount` shares, any `threshold` of which recover it: each byte is the constant
 * term of a random polynomial of degree threshold - 1, and share i holds x = i + 1 then the polynomial at x.
 */
export function splitSecret(secret: Uint8Array, shareCount: number, threshold: number, random: SeededRandom): Uint8Array[] {
  if (threshold < 1 || threshold > shareCount || shareCount > 255) throw new RangeError('need 1 <= threshold <= shareCount <= 255');
  const shares = Array.from({ length: shareCount }, (_, i) => {
    const share = new Uint8Array(secret.length + 1);
    share[0] = i + 1;
    return share;
  });
  const coefficients = new Uint8Array(threshold);
  for (let k = 0; k < secret.length; k++) {
    coefficients[0] = secret[k]!;
    for (let c = 1; c < threshold; c++) coefficients[c] = random.nextU32() & 0xff;
    for (const share of shares) {
      let value = 0;
      for (let c = threshold - 1; c >= 0; c--) value = gfMultiply(value, share[0]!) ^ coefficients[c]!;
      share[k + 1] = value;
    }
  }
  return shares;
}

/** The secret the generator draws for `options` (`size` bytes, default 64). */
export function shamirSecret(options: GeneratorOptions): Uint8Array {
  return new SeededRandom(options.seed).bytes(options.size ?? 64);
}

/** Three shares (threshold 3) of `shamirSecret(options)`: `/input/shamir-0.dat` .. `/input/shamir-2.dat`. */
export function generateShamirSecretSharing(options: GeneratorOptions): GeneratedFiles {
  const random = new SeededRandom(options.seed ^ 0x5eed);
  const shares = splitSecret(shamirSecret(options), 3, 3, random);
  return Object.fromEntries(shares.map((share, i) => [`/input/shamir-${i}.dat`, share]));
}

runGeneratorCli(import.meta.url, generateShamirSecretSharing);
