/**
 * The data crypto-bench generates for itself (examples/programs/crypto-bench): splitmix64 from `seed`,
 * 8 little-endian bytes a step, so a test or benchmark can compute the same operations in the clear.
 */
export function cryptoBenchData(length: number, seed: number): Buffer {
  const data = Buffer.alloc(length);
  const mask = (1n << 64n) - 1n;
  let state = BigInt(seed);
  for (let i = 0; i < length; i += 8) {
    state = (state + 0x9e3779b97f4a7c15n) & mask;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
    z ^= z >> 31n;
    data.writeBigUInt64LE(z, i);
  }
  return data;
}
