/**
 * A reader for the postcard (Rust `postcard` crate, 1.x wire format) encodings the native services'
 * requests use: fixed byte arrays raw, `Vec<u8>`/`String`/`PathBuf` as a LEB128 length then the
 * bytes, `bool` as one byte, integers wider than a byte as LEB128 varints (signed ones zigzag
 * encoded first), `f64` as 8 little-endian bytes, `char` as a one-character string, enum
 * variants as a varint index. Reading past the end returns `undefined` (the request is not
 * complete yet); bytes that can never be valid throw.
 */
export class PostcardReader {
  readonly #bytes: Uint8Array;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** `count` raw bytes (a Rust `[u8; count]`). */
  fixedBytes(count: number): Uint8Array | undefined {
    if (this.#offset + count > this.#bytes.length) return undefined;
    const value = this.#bytes.slice(this.#offset, this.#offset + count);
    this.#offset += count;
    return value;
  }

  /** A LEB128 unsigned length (at most 2^32). */
  varint(): number | undefined {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.#bytes[this.#offset];
      if (byte === undefined) return undefined;
      this.#offset++;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new Error('length prefix too long');
  }

  /** A `Vec<u8>`. */
  byteVector(): Uint8Array | undefined {
    const length = this.varint();
    return length === undefined ? undefined : this.fixedBytes(length);
  }

  /** A `String`/`PathBuf` (UTF-8). */
  string(): string | undefined {
    const bytes = this.byteVector();
    return bytes === undefined ? undefined : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  }

  /** A `bool`. */
  bool(): boolean | undefined {
    const byte = this.fixedBytes(1);
    if (byte === undefined) return undefined;
    if (byte[0] !== 0 && byte[0] !== 1) throw new Error('bool is neither 0 nor 1');
    return byte[0] === 1;
  }

  /** A `u16` (varint of at most 3 bytes). */
  u16(): number | undefined {
    const value = this.#unsigned(16, 'u16');
    return value === undefined ? undefined : Number(value);
  }

  /** A `u32` (varint of at most 5 bytes); also an enum's variant index. */
  u32(): number | undefined {
    const value = this.#unsigned(32, 'u32');
    return value === undefined ? undefined : Number(value);
  }

  /** A `u64` (varint of at most 10 bytes); also a `usize` length, as the 64-bit runtimes of Veracruz read it. */
  u64(): bigint | undefined {
    return this.#unsigned(64, 'u64');
  }

  /** An `i32` (zigzag varint). */
  i32(): number | undefined {
    const value = this.#unsigned(32, 'i32');
    return value === undefined ? undefined : Number(unzigzag(value));
  }

  /** An `i64` (zigzag varint). */
  i64(): bigint | undefined {
    const value = this.#unsigned(64, 'i64');
    return value === undefined ? undefined : unzigzag(value);
  }

  /** An `f64` (8 bytes, little-endian). */
  f64(): number | undefined {
    const bytes = this.fixedBytes(8);
    return bytes === undefined ? undefined : new DataView(bytes.buffer).getFloat64(0, true);
  }

  /**
   * A `char`: a length (1 to 4) then the UTF-8 bytes of exactly one Unicode scalar value. The
   * postcard crate would take the first character of a longer string; such bytes come from no
   * Rust `char`, so they are refused here.
   */
  char(): string | undefined {
    const length = this.u64();
    if (length === undefined) return undefined;
    if (length < 1n || length > 4n) throw new Error(`char of ${length} bytes (1 to 4 expected)`);
    const bytes = this.fixedBytes(Number(length));
    if (bytes === undefined) return undefined;
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new Error('char is not UTF-8');
    }
    if ([...text].length !== 1) throw new Error('char holds more than one character');
    return text;
  }

  /** A LEB128 varint of a `bits`-bit integer: at most ceil(bits / 7) bytes, and no bit beyond `bits`. */
  #unsigned(bits: number, type: string): bigint | undefined {
    const maxBytes = Math.ceil(bits / 7);
    let value = 0n;
    for (let index = 0; index < maxBytes; index++) {
      const byte = this.#bytes[this.#offset];
      if (byte === undefined) return undefined;
      this.#offset++;
      value |= BigInt(byte & 0x7f) << BigInt(7 * index);
      if ((byte & 0x80) === 0) {
        if (value >> BigInt(bits) !== 0n) throw new Error(`varint overflows ${type}`);
        return value;
      }
    }
    throw new Error(`varint of ${type} longer than ${maxBytes} bytes`);
  }
}

/** Zigzag decoding: 0, 1, 2, 3, ... become 0, -1, 1, -2, ... */
function unzigzag(value: bigint): bigint {
  return (value & 1n) === 0n ? value >> 1n : -(value >> 1n) - 1n;
}
