/**
 * Writing the postcard encodings the native services read (see PostcardReader): what a program, or
 * a test, writes to a service's special file. The isolate only reads them.
 */
import { encodeUnsignedLeb128 } from '../leb128.ts';
import {
  ARRAY1_LENGTH,
  ARRAY2_LENGTH,
  ENUM1_CHARS,
  ENUM2_2_LENGTH,
  type PostcardEnum1,
  type PostcardEnum2,
  type PostcardStruct2,
  type PostcardStruct3,
} from './postcard-service.ts';

/** Postcard encoding of a `Vec<u8>`/`String` length prefix (LEB128). */
export function encodeVarint(value: number): Uint8Array {
  return Uint8Array.from(encodeUnsignedLeb128(value));
}

/** A writer of the postcard encodings, for the request encoders. Values out of their type's range throw. */
export class PostcardWriter {
  readonly #bytes: number[] = [];

  /** The bytes written so far. */
  finish(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }

  /** An unsigned varint of a `bits`-bit integer (also lengths and variant indices). */
  unsigned(value: number | bigint, bits: number): this {
    let rest = BigInt(value);
    if (rest < 0n || rest >> BigInt(bits) !== 0n) throw new RangeError(`${value} is not a u${bits}`);
    do {
      const low = Number(rest & 0x7fn);
      rest >>= 7n;
      this.#bytes.push(rest === 0n ? low : low | 0x80);
    } while (rest !== 0n);
    return this;
  }

  /** A signed (zigzag) varint of a `bits`-bit integer. */
  signed(value: number | bigint, bits: number): this {
    const wide = BigInt(value);
    const limit = 1n << BigInt(bits - 1);
    if (wide < -limit || wide >= limit) throw new RangeError(`${value} is not an i${bits}`);
    return this.unsigned(wide < 0n ? -2n * wide - 1n : 2n * wide, bits);
  }

  /** An `f64`, little-endian. */
  f64(value: number): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    this.#bytes.push(...bytes);
    return this;
  }

  /** A `char` (exactly one Unicode scalar value). */
  char(value: string): this {
    if ([...value].length !== 1 || /\p{Surrogate}/u.test(value)) throw new RangeError(`${JSON.stringify(value)} is not one char`);
    const bytes = new TextEncoder().encode(value);
    this.unsigned(bytes.length, 64);
    this.#bytes.push(...bytes);
    return this;
  }
}

function writeArray<T>(values: readonly T[], length: number, what: string, write: (value: T) => void): void {
  if (values.length !== length) throw new RangeError(`${what} must hold ${length} items, not ${values.length}`);
  for (const value of values) write(value);
}

function writeEnum1(writer: PostcardWriter, value: PostcardEnum1): void {
  if ('ENUM1_1' in value) writer.unsigned(0, 32).unsigned(value.ENUM1_1, 32);
  else if ('ENUM1_2' in value) writer.unsigned(1, 32).signed(value.ENUM1_2, 64);
  else if ('ENUM1_3' in value) writer.unsigned(2, 32).char(value.ENUM1_3);
  else {
    writer.unsigned(3, 32);
    writeArray(value.ENUM1_4, ENUM1_CHARS, 'ENUM1_4', (char) => writer.char(char));
  }
}

function writeStruct2(writer: PostcardWriter, value: PostcardStruct2): void {
  writer.unsigned(value.u1, 64).unsigned(value.u2, 64).unsigned(value.u3, 64);
  const t1 = value.t1;
  writer.f64(t1.f1).f64(t1.f2).f64(t1.f3).signed(t1.i1, 64).signed(t1.i2, 64).signed(t1.i3, 64).char(t1.c1).char(t1.c2).char(t1.c3);
  writeEnum1(writer, t1.e1);
  writeArray(value.array1, ARRAY1_LENGTH, 'array1', (item) => writer.unsigned(item, 16));
  writeArray(value.array2, ARRAY2_LENGTH, 'array2', (item) => writer.signed(item, 32));
  writeEnum1(writer, value.e1);
}

function writeEnum2(writer: PostcardWriter, value: PostcardEnum2): void {
  if ('ENUM2_1' in value) {
    writer.unsigned(0, 32);
    writeStruct2(writer, value.ENUM2_1);
  } else if ('ENUM2_2' in value) {
    writer.unsigned(1, 32);
    writeArray(value.ENUM2_2, ENUM2_2_LENGTH, 'ENUM2_2', (item) => writer.unsigned(item, 16));
  } else writer.unsigned(2, 32).unsigned(value.ENUM2_3, 16);
}

/** Postcard encoding of a Postcard Service request (what Veracruz's data generator writes to `postcard.dat`). */
export function encodePostcardRequest(values: readonly PostcardStruct3[]): Uint8Array {
  const writer = new PostcardWriter().unsigned(values.length, 64);
  for (const value of values) for (const field of [value.e1, value.e2, value.e3]) writeEnum2(writer, field);
  return writer.finish();
}
