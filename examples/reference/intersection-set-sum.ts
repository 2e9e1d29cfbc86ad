/** Sum of the spend of customers whose id is among the viewers, in customer order (so bit-exact with the program). */
export function intersectionSetSum(viewers: Uint8Array, customers: Uint8Array): number {
  const viewerView = new DataView(viewers.buffer, viewers.byteOffset, viewers.byteLength);
  const seen = new Set<bigint>();
  for (let i = 0; i + 8 <= viewers.length; i += 8) seen.add(viewerView.getBigUint64(i, true));
  const customerView = new DataView(customers.buffer, customers.byteOffset, customers.byteLength);
  let sum = 0;
  for (let i = 0; i + 16 <= customers.length; i += 16) {
    if (seen.has(customerView.getBigUint64(i, true))) sum += customerView.getFloat64(i + 8, true);
  }
  return sum;
}
