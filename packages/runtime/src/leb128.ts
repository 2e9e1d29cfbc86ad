/**
 * Unsigned LEB128, the variable-length integer of both the WebAssembly binary format and
 * Rust's postcard (used by the native services' requests).
 */
export function encodeUnsignedLeb128(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    out.push(byte);
  } while (rest > 0);
  return out;
}
