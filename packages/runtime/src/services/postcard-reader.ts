import { encodeUnsignedLeb128 } from '../leb128.ts';

/**
 * A reader for the postcard (Rust `postcard` crate) encodings the native services' requests use:
 * fixed byte arrays raw, `Vec<u8>`/`String`/`PathBuf` as a LEB128 length then the bytes, `bool`
 * as one byte. Reading past the end returns `undefined` (the request is not complete yet).
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
}

/** Postcard encoding of a `Vec<u8>`/`String` length prefix (LEB128). */
export function encodeVarint(value: number): Uint8Array {
  return Uint8Array.from(encodeUnsignedLeb128(value));
}
