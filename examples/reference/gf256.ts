import { gfMultiply } from '../generators/shamir-secret-sharing.ts';

/** Multiplicative inverse in GF(2^8) by exhaustive search (slow but obviously right). */
function gfInverse(a: number): number {
  for (let b = 1; b < 256; b++) if (gfMultiply(a, b) === 1) return b;
  throw new RangeError('0 has no inverse');
}

/** Recovers a Shamir secret from shares (x byte + values) by Lagrange interpolation at 0 over GF(2^8). */
export function combineShares(shares: readonly Uint8Array[]): Uint8Array {
  const length = shares[0]!.length - 1;
  const secret = new Uint8Array(length);
  shares.forEach((share, i) => {
    let basis = 1;
    shares.forEach((other, j) => {
      if (j !== i) basis = gfMultiply(basis, gfMultiply(other[0]!, gfInverse(other[0]! ^ share[0]!)));
    });
    for (let k = 0; k < length; k++) secret[k]! ^= gfMultiply(basis, share[k + 1]!);
  });
  return secret;
}
