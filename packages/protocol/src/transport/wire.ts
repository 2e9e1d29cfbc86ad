// The protobuf binary wire format, as much of it as transport_protocol uses
// (https://protobuf.dev/programming-guides/encoding/). A message is a sequence of fields, each a tag
// (field number << 3 | wire type, as a varint) and a value whose length the wire type gives. A
// varint is little-endian base 128: seven bits a byte, the high bit set on every byte but the last,
// at most 10 bytes for 64 bits.

/** Protobuf's wire types: what follows a tag, and so how to find its end. */
export const WireType = {
  /** A varint: int32, uint32, uint64, bool, enum. */
  Varint: 0,
  /** Eight bytes, little-endian: fixed64, sfixed64, double. */
  Bit64: 1,
  /** A varint length, then that many bytes: string, bytes, embedded messages, packed fields. */
  LengthDelimited: 2,
  /** The start of a group (proto2), which ends at the EndGroup tag of the same field number. */
  StartGroup: 3,
  /** The end of a group. */
  EndGroup: 4,
  /** Four bytes, little-endian: fixed32, sfixed32, float. */
  Bit32: 5,
} as const;

/** One of the {@link WireType} values. */
export type WireType = (typeof WireType)[keyof typeof WireType];

/** How deeply groups may nest inside a skipped group. */
const MAX_GROUP_DEPTH = 100;

// A leading U+FEFF in a protobuf string is text, not a byte-order mark. Invalid UTF-8 decodes as U+FFFD.
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * Reads protobuf fields from `buf`, from `pos` up to `len`. Every read that would run past the end,
 * and every varint longer than 10 bytes, throws; nothing is read outside `buf`.
 */
export class WireReader {
  /** The bytes read. */
  readonly buf: Uint8Array;
  /** Their length: the end of the message. */
  readonly len: number;
  /** The offset of the next byte to read; it may be set back to re-read a field. */
  pos = 0;
  /** The high 32 bits of the last varint read (its low 32 bits are what `#varint` returned). */
  #high = 0;

  /** A reader of `buf` from its start. */
  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.len = buf.length;
  }

  /** Reads a varint; returns its low 32 bits, unsigned, and leaves its high 32 bits in `#high`. Bits beyond 64 are dropped. */
  #varint(): number {
    let low = 0;
    let high = 0;
    for (let index = 0; index < 10; index++) {
      if (this.pos >= this.len) throw new RangeError('premature end of data in a varint');
      const byte = this.buf[this.pos++]!;
      const bits = byte & 0x7f;
      const shift = 7 * index;
      if (shift < 32) low |= bits << shift;
      if (shift === 28) high = bits >>> 4;
      else if (shift > 28) high |= bits << (shift - 32);
      if (byte < 0x80) {
        this.#high = high >>> 0;
        return low >>> 0;
      }
    }
    throw new RangeError('invalid varint: longer than 10 bytes');
  }

  /** Reads a length prefix and checks that that many bytes follow; returns where they start. */
  #delimited(): number {
    const length = this.#varint();
    if (this.#high !== 0 || length > this.len - this.pos) throw new RangeError('premature end of data: a length runs past the end');
    const start = this.pos;
    this.pos += length;
    return start;
  }

  /** Reads a tag: its field number (1 or more) and wire type. Tags above 32 bits, field 0 and wire types 6 and 7 throw. */
  tag(): [field: number, wireType: WireType] {
    const start = this.pos;
    const tag = this.#varint();
    if (this.pos - start > 5 || this.#high !== 0) throw new RangeError('illegal tag: varint overflows uint32');
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0 || wireType > 5) throw new RangeError(`illegal tag: field no ${field} wire type ${wireType}`);
    return [field, wireType as WireType];
  }

  /** Reads a `uint32` varint: the low 32 bits of a varint of up to 64, as protobuf truncates. */
  uint32(): number {
    return this.#varint();
  }

  /** Reads an `int32` varint: the low 32 bits as a signed integer (negative values are sign-extended to 10 bytes). */
  int32(): number {
    return this.#varint() | 0;
  }

  /**
   * Reads a `uint64` varint as a number; a value above 2^53 - 1 (not exact as a number) throws a
   * RangeError `${name} ${value} is too large`.
   */
  uint64(name = 'uint64'): number {
    const low = this.#varint();
    const high = this.#high;
    if (high > 0x1fffff) throw new RangeError(`${name} ${(BigInt(high) << 32n) | BigInt(low)} is too large`);
    return high * 0x1_0000_0000 + low;
  }

  /** Reads a `bool` varint: true unless all 64 bits are zero. */
  bool(): boolean {
    return (this.#varint() | this.#high) !== 0;
  }

  /** Reads a length-delimited `bytes` value, as a view of `buf` (not a copy). */
  bytes(): Uint8Array {
    const start = this.#delimited();
    return this.buf.subarray(start, this.pos);
  }

  /** Reads a length-delimited `string` value, as UTF-8 (invalid sequences decode as U+FFFD). */
  string(): string {
    const start = this.#delimited();
    return utf8Decoder.decode(this.buf.subarray(start, this.pos));
  }

  /**
   * Skips the value of a field whose tag has just been read. A group is skipped up to the EndGroup
   * tag of `field`, nested groups included (at most 100 deep); an EndGroup on its own throws.
   */
  skip(wireType: WireType, field?: number, depth = 0): void {
    switch (wireType) {
      case WireType.Varint:
        this.#varint();
        return;
      case WireType.Bit64:
      case WireType.Bit32: {
        const size = wireType === WireType.Bit64 ? 8 : 4;
        if (size > this.len - this.pos) throw new RangeError('premature end of data in a fixed-size value');
        this.pos += size;
        return;
      }
      case WireType.LengthDelimited:
        this.#delimited();
        return;
      case WireType.StartGroup:
        if (depth >= MAX_GROUP_DEPTH) throw new RangeError('maximum recursion depth reached');
        for (;;) {
          const [inner, innerType] = this.tag();
          if (innerType === WireType.EndGroup) {
            if (field !== undefined && inner !== field) throw new RangeError('invalid end group tag');
            return;
          }
          this.skip(innerType, inner, depth + 1);
        }
      default:
        throw new RangeError(`cannot skip wire type ${wireType}`);
    }
  }
}

/**
 * Writes protobuf fields into a buffer that grows as needed; {@link finish} returns them. Values
 * out of their type's range throw rather than being written wrapped.
 */
export class WireWriter {
  #buffer = new Uint8Array(128);
  #pos = 0;
  /** Where each open {@link fork} began. */
  #forks: number[] = [];

  /** Makes room for `size` more bytes. */
  #reserve(size: number): void {
    if (this.#pos + size <= this.#buffer.length) return;
    let capacity = this.#buffer.length * 2;
    while (capacity < this.#pos + size) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#buffer);
    this.#buffer = grown;
  }

  /** Writes a non-negative safe integer as a varint. */
  #varint(value: number): this {
    this.#reserve(10);
    while (value >= 0x80) {
      this.#buffer[this.#pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.#buffer[this.#pos++] = value;
    return this;
  }

  /** Writes a tag: `field` (1 to 2^29 - 1) and `wireType`. */
  tag(field: number, wireType: WireType): this {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fff_ffff) throw new RangeError(`invalid field number: ${field}`);
    return this.#varint(field * 8 + wireType);
  }

  /** Writes a `uint32` varint (0 to 2^32 - 1). */
  uint32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`invalid uint32: ${value}`);
    return this.#varint(value);
  }

  /** Writes a `uint64` varint; only safe integers (0 to 2^53 - 1), as {@link WireReader.uint64} reads. */
  uint64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`invalid uint64: ${value}`);
    return this.#varint(value);
  }

  /** Writes an `int32` varint (-2^31 to 2^31 - 1); a negative value takes 10 bytes, sign-extended to 64 bits. */
  int32(value: number): this {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) throw new RangeError(`invalid int32: ${value}`);
    if (value >= 0) return this.#varint(value);
    this.#reserve(10);
    for (let index = 0; index < 9; index++) {
      this.#buffer[this.#pos++] = (value & 0x7f) | 0x80;
      value >>= 7;
    }
    this.#buffer[this.#pos++] = 1;
    return this;
  }

  /** Writes a `bool` varint: 1 or 0. */
  bool(value: boolean): this {
    return this.#varint(value ? 1 : 0);
  }

  /** Writes a length-delimited `bytes` value. */
  bytes(value: Uint8Array): this {
    this.uint32(value.length);
    this.#reserve(value.length);
    this.#buffer.set(value, this.#pos);
    this.#pos += value.length;
    return this;
  }

  /** Writes a length-delimited `string` value, as UTF-8 (a lone surrogate is written as U+FFFD). */
  string(value: string): this {
    return this.bytes(utf8Encoder.encode(value));
  }

  /** Starts a length-delimited value (an embedded message): what is written until {@link join} is its content. */
  fork(): this {
    this.#forks.push(this.#pos);
    return this;
  }

  /** Ends the last {@link fork}: puts the length of what was written since in front of it. */
  join(): this {
    const start = this.#forks.pop();
    if (start === undefined) throw new Error('join() without fork()');
    const length = this.#pos - start;
    let prefix = 1;
    for (let rest = length; rest >= 0x80; rest = Math.floor(rest / 0x80)) prefix++;
    // Room for the prefix past the end, so that writing it at `start` below needs no more.
    this.#reserve(10);
    this.#buffer.copyWithin(start + prefix, start, this.#pos);
    this.#pos = start;
    this.uint32(length);
    this.#pos += length;
    return this;
  }

  /** Returns everything written, as a new array, and empties the writer. An open {@link fork} throws. */
  finish(): Uint8Array {
    if (this.#forks.length > 0) throw new Error('finish() with a fork() not joined');
    const written = this.#buffer.slice(0, this.#pos);
    this.#pos = 0;
    return written;
  }
}
