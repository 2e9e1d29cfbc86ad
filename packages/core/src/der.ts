/**
 * A small, strict reader and writer of DER, the ASN.1 encoding of X.509 certificates, CRLs and
 * PKCS#10 requests. Only what those structures use: low tag numbers, definite lengths in their
 * shortest form, primitive encodings of the universal primitive types. Anything else (BER's
 * indefinite lengths, padded lengths, non-minimal INTEGERs, trailing bytes) is refused with the
 * byte offset where it was found, never repaired. Platform-neutral: no Buffer, no node:*.
 */
import { Code, VeracruzError } from './errors.ts';

/** The identifier octets of the universal types this module reads and writes. */
export const DerTag = {
  Boolean: 0x01,
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Null: 0x05,
  ObjectIdentifier: 0x06,
  Enumerated: 0x0a,
  Utf8String: 0x0c,
  PrintableString: 0x13,
  TeletexString: 0x14,
  Ia5String: 0x16,
  UtcTime: 0x17,
  GeneralizedTime: 0x18,
  UniversalString: 0x1c,
  BmpString: 0x1e,
  Sequence: 0x30,
  Set: 0x31,
} as const;

/** The identifier octet of a context-specific tag `[number]` (constructed unless told otherwise). */
export function contextTag(number: number, constructed = true): number {
  if (!Number.isInteger(number) || number < 0 || number > 30) throw new RangeError(`context tag [${number}] is outside 0..30`);
  return (constructed ? 0xa0 : 0x80) | number;
}

/** One decoded element: its identifier octet, where it starts, its whole encoding and its contents. */
export interface DerElement {
  /** The identifier octet: class, constructed bit and a tag number below 31. */
  tag: number;
  /** Offset of the element's first byte in the input first given to {@link decodeDer}. */
  offset: number;
  /** The whole encoding, header included (a view on the input, not a copy). */
  der: Uint8Array;
  /** The contents octets (a view on the input, not a copy). */
  value: Uint8Array;
  /** Offset of the contents in the input first given to {@link decodeDer}. */
  valueOffset: number;
}

/** Lengths above this many octets are refused; 4 covers 4 GiB, far beyond any certificate. */
const MAX_LENGTH_OCTETS = 4;

/**
 * Refuses DER input (VeracruzError InvalidRequest): "what: reason (at byte n)"; an empty `what`
 * leaves the reason alone, an absent offset its position. For the readers of structures built on DER.
 */
function refuse(what: string, reason: string, offset?: number): never {
  const where = offset === undefined ? '' : ` (at byte ${offset})`;
  throw new VeracruzError(Code.InvalidRequest, `${what === '' ? reason : `${what}: ${reason}`}${where}`);
}
export { refuse as refuseDer };

function child(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

/** The name of a tag in messages: "SEQUENCE", "[0]", "tag 0x45". */
export function describeTag(tag: number): string {
  const universal = TAG_NAMES.get(tag);
  if (universal !== undefined) return universal;
  if ((tag & 0xc0) === 0x80) return `[${tag & 0x1f}]`;
  return `tag 0x${tag.toString(16).padStart(2, '0')}`;
}

const TAG_NAMES = new Map<number, string>([
  [DerTag.Boolean, 'BOOLEAN'],
  [DerTag.Integer, 'INTEGER'],
  [DerTag.BitString, 'BIT STRING'],
  [DerTag.OctetString, 'OCTET STRING'],
  [DerTag.Null, 'NULL'],
  [DerTag.ObjectIdentifier, 'OBJECT IDENTIFIER'],
  [DerTag.Enumerated, 'ENUMERATED'],
  [DerTag.Utf8String, 'UTF8String'],
  [DerTag.PrintableString, 'PrintableString'],
  [DerTag.TeletexString, 'TeletexString'],
  [DerTag.Ia5String, 'IA5String'],
  [DerTag.UtcTime, 'UTCTime'],
  [DerTag.GeneralizedTime, 'GeneralizedTime'],
  [DerTag.UniversalString, 'UniversalString'],
  [DerTag.BmpString, 'BMPString'],
  [DerTag.Sequence, 'SEQUENCE'],
  [DerTag.Set, 'SET'],
]);

interface Header {
  tag: number;
  headerLength: number;
  length: number;
}

/** Reads the identifier and length octets at `position`; the contents are not bounds-checked here. */
function readHeader(bytes: Uint8Array, position: number, base: number, what: string): Header {
  const at = base + position;
  const tag = bytes[position];
  if (tag === undefined) refuse(what, 'missing: the input ends here', at);
  if ((tag & 0x1f) === 0x1f) refuse(what, `high tag number form (0x${tag.toString(16)}), which X.509 never needs`, at);
  const first = bytes[position + 1];
  if (first === undefined) refuse(what, 'truncated before its length', at);
  if (first < 0x80) return { tag, headerLength: 2, length: first };
  if (first === 0x80) refuse(what, 'indefinite length (BER, not DER)', at);
  const count = first & 0x7f;
  if (count > MAX_LENGTH_OCTETS) refuse(what, `${count}-octet length, more than ${MAX_LENGTH_OCTETS}`, at);
  if (position + 2 + count > bytes.length) refuse(what, 'truncated in its length', at);
  if (bytes[position + 2] === 0) refuse(what, 'length with a leading zero octet (not DER)', at);
  let length = 0;
  for (let index = 0; index < count; index++) length = length * 256 + (bytes[position + 2 + index] as number);
  if (length < 0x80) refuse(what, `length ${length} in the long form (not DER)`, at);
  return { tag, headerLength: 2 + count, length };
}

function element(bytes: Uint8Array, position: number, base: number, header: Header): DerElement {
  const end = position + header.headerLength + header.length;
  return {
    tag: header.tag,
    offset: base + position,
    der: bytes.subarray(position, end),
    value: bytes.subarray(position + header.headerLength, end),
    valueOffset: base + position + header.headerLength,
  };
}

/** Reads the element at `position`, refusing one whose contents run past the end of `bytes`. */
function readElement(bytes: Uint8Array, position: number, base: number, what: string): DerElement {
  const header = readHeader(bytes, position, base, what);
  const left = bytes.length - position - header.headerLength;
  if (header.length > left) refuse(what, `${header.length} content bytes announced but only ${left} remain`, base + position);
  return element(bytes, position, base, header);
}

/**
 * Decodes `bytes` as exactly one DER element. A length that disagrees with the input (truncated,
 * or followed by anything) is refused as "its encoding says N bytes but M were given".
 * `what` names the input in refusals ('' for none: the caller names it).
 */
export function decodeDer(bytes: Uint8Array, what = 'DER'): DerElement {
  const header = readHeader(bytes, 0, 0, what);
  const total = header.headerLength + header.length;
  if (total !== bytes.length) refuse(what, `its encoding says ${total} bytes but ${bytes.length} were given`);
  return element(bytes, 0, 0, header);
}

/**
 * Splits a concatenation of DER elements (each must fit) into its elements, in order. Used for
 * chains sent as DER ‖ DER.
 */
export function decodeDerSequence(bytes: Uint8Array, what = 'DER'): DerElement[] {
  const out: DerElement[] = [];
  let position = 0;
  while (position < bytes.length) {
    const item = readElement(bytes, position, 0, `${what || 'DER'}[${out.length}]`);
    out.push(item);
    position += item.der.length;
  }
  return out;
}

/**
 * Walks the contents of a constructed element one child at a time, so that a structure's fields
 * are read in order, each checked for its tag, and nothing is left over.
 */
export class DerReader {
  readonly #bytes: Uint8Array;
  readonly #base: number;
  readonly #what: string;
  #position = 0;

  /** Reads the children of `parent`, which must be constructed; `what` names it in refusals ('' for the top). */
  constructor(parent: DerElement, what: string) {
    if ((parent.tag & 0x20) === 0) refuse(what, `primitive ${describeTag(parent.tag)} where a constructed element was expected`, parent.offset);
    this.#bytes = parent.value;
    this.#base = parent.valueOffset;
    this.#what = what;
  }

  /** Whether every child has been read. */
  get done(): boolean {
    return this.#position >= this.#bytes.length;
  }

  /** The tag of the next child, or undefined at the end. */
  peekTag(): number | undefined {
    return this.#bytes[this.#position];
  }

  /** The next child, whatever its tag; `what` names it in refusals. */
  any(what: string): DerElement {
    if (this.done) refuse(child(this.#what, what), 'missing', this.#base + this.#position);
    const item = readElement(this.#bytes, this.#position, this.#base, child(this.#what, what));
    this.#position += item.der.length;
    return item;
  }

  /** The next child, which must carry `tag`. */
  next(tag: number, what: string): DerElement {
    const found = this.peekTag();
    if (found === undefined) refuse(child(this.#what, what), `missing (expected ${describeTag(tag)})`, this.#base + this.#position);
    if (found !== tag) refuse(child(this.#what, what), `${describeTag(found)} where ${describeTag(tag)} was expected`, this.#base + this.#position);
    return this.any(what);
  }

  /** The next child if it carries `tag` (an OPTIONAL or DEFAULT field), else undefined. */
  optional(tag: number, what: string): DerElement | undefined {
    return this.peekTag() === tag ? this.any(what) : undefined;
  }

  /** Refuses anything left after the fields read. */
  end(): void {
    if (!this.done) refuse(this.#what, `${this.#bytes.length - this.#position} unexpected bytes after the last field`, this.#base + this.#position);
  }
}

/** Every child of a constructed element (the members of a SEQUENCE OF or SET OF). */
export function derChildren(parent: DerElement, what: string): DerElement[] {
  const reader = new DerReader(parent, what);
  const out: DerElement[] = [];
  while (!reader.done) out.push(reader.any(`[${out.length}]`));
  return out;
}

function expectTag(item: DerElement, tag: number, what: string): void {
  if (item.tag !== tag) refuse(what, `${describeTag(item.tag)} where ${describeTag(tag)} was expected`, item.offset);
}

/**
 * The contents octets of an INTEGER (or ENUMERATED, with `tag`), checked to be present and
 * minimally encoded: two's complement, big-endian, as written.
 */
export function readIntegerBytes(item: DerElement, what: string, tag: number = DerTag.Integer): Uint8Array {
  expectTag(item, tag, what);
  const value = item.value;
  if (value.length === 0) refuse(what, `${describeTag(tag)} has no content octets`, item.offset);
  if (value.length > 1) {
    const [first, second] = value as unknown as [number, number];
    if ((first === 0x00 && second < 0x80) || (first === 0xff && second >= 0x80)) {
      refuse(what, `${describeTag(tag)} is not minimally encoded`, item.offset);
    }
  }
  return value;
}

/** An INTEGER (or ENUMERATED, with `tag`) as a bigint. */
export function readInteger(item: DerElement, what: string, tag: number = DerTag.Integer): bigint {
  const value = readIntegerBytes(item, what, tag);
  let result = 0n;
  for (const byte of value) result = (result << 8n) | BigInt(byte);
  if (((value[0] as number) & 0x80) !== 0) result -= 1n << BigInt(value.length * 8);
  return result;
}

/** An INTEGER (or ENUMERATED) that must lie in 0..Number.MAX_SAFE_INTEGER. */
export function readNaturalNumber(item: DerElement, what: string, tag: number = DerTag.Integer): number {
  const value = readInteger(item, what, tag);
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) refuse(what, `${value} is out of range`, item.offset);
  return Number(value);
}

/** A BOOLEAN: one octet, 00 or FF (DER allows nothing else). */
export function readBoolean(item: DerElement, what: string): boolean {
  expectTag(item, DerTag.Boolean, what);
  if (item.value.length !== 1) refuse(what, `BOOLEAN has ${item.value.length} content octets, expected 1`, item.offset);
  const byte = item.value[0];
  if (byte !== 0x00 && byte !== 0xff) refuse(what, 'BOOLEAN is neither 00 nor FF (not DER)', item.offset);
  return byte === 0xff;
}

/** A NULL: no content octets. */
export function readNull(item: DerElement, what: string): null {
  expectTag(item, DerTag.Null, what);
  if (item.value.length !== 0) refuse(what, 'NULL has content octets', item.offset);
  return null;
}

/** An OCTET STRING's contents (primitive encoding only). */
export function readOctetString(item: DerElement, what: string): Uint8Array {
  expectTag(item, DerTag.OctetString, what);
  return item.value;
}

/** A BIT STRING: its bytes (the unused bits of the last one are zero) and the number of unused bits. */
export interface BitString {
  bytes: Uint8Array;
  unusedBits: number;
}

/** A BIT STRING, with DER's rules: at most 7 unused bits, none in an empty string, and those zero. */
export function readBitString(item: DerElement, what: string): BitString {
  expectTag(item, DerTag.BitString, what);
  const unusedBits = item.value[0];
  if (unusedBits === undefined) refuse(what, 'BIT STRING has no content octets', item.offset);
  if (unusedBits > 7) refuse(what, `BIT STRING says ${unusedBits} unused bits, more than 7`, item.offset);
  const bytes = item.value.subarray(1);
  if (bytes.length === 0 && unusedBits !== 0) refuse(what, 'empty BIT STRING with unused bits', item.offset);
  if (bytes.length > 0 && ((bytes[bytes.length - 1] as number) & ((1 << unusedBits) - 1)) !== 0) {
    refuse(what, 'BIT STRING has unused bits that are not zero (not DER)', item.offset);
  }
  return { bytes, unusedBits };
}

/** A BIT STRING that must hold whole octets (keys and signatures). */
export function readBitStringOctets(item: DerElement, what: string): Uint8Array {
  const bits = readBitString(item, what);
  if (bits.unusedBits !== 0) refuse(what, `BIT STRING has ${bits.unusedBits} unused bits where whole octets are expected`, item.offset);
  return bits.bytes;
}

/**
 * A named-bit BIT STRING (keyUsage) as a number: bit 0 (the first bit sent) is 1, bit 1 is 2, and
 * so on. DER drops trailing zero bits, which the reader does not insist on.
 */
export function readNamedBits(item: DerElement, what: string): number {
  const { bytes } = readBitString(item, what);
  if (bytes.length > 4) refuse(what, `BIT STRING of ${bytes.length} octets is too long for named bits`, item.offset);
  let result = 0;
  bytes.forEach((byte, index) => {
    for (let bit = 0; bit < 8; bit++) if ((byte & (0x80 >> bit)) !== 0) result += 2 ** (index * 8 + bit);
  });
  return result;
}

/** An OBJECT IDENTIFIER in dotted form ("1.2.840.10045.2.1"), each arc minimally encoded. */
export function readOid(item: DerElement, what: string): string {
  expectTag(item, DerTag.ObjectIdentifier, what);
  const value = item.value;
  if (value.length === 0) refuse(what, 'OBJECT IDENTIFIER has no content octets', item.offset);
  if (((value[value.length - 1] as number) & 0x80) !== 0) refuse(what, 'OBJECT IDENTIFIER ends inside an arc', item.offset);
  const arcs: bigint[] = [];
  let arc = 0n;
  let arcStart = true;
  for (const byte of value) {
    if (arcStart && byte === 0x80) refuse(what, 'OBJECT IDENTIFIER has an arc with a leading 0x80 octet (not minimal)', item.offset);
    arc = (arc << 7n) | BigInt(byte & 0x7f);
    arcStart = (byte & 0x80) === 0;
    if (arcStart) {
      arcs.push(arc);
      arc = 0n;
    }
  }
  const first = arcs[0] as bigint;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

const DIGITS = /^[0-9]+$/;

function twoDigits(text: string, index: number): number {
  return Number(text.slice(index, index + 2));
}

/**
 * A UTCTime (YYMMDDHHMMSSZ, years 1950-2049) or GeneralizedTime (YYYYMMDDHHMMSSZ) as RFC 5280
 * requires them: UTC, whole seconds, every field in range. Other forms (offsets, fractions,
 * missing seconds) are refused.
 */
export function readTime(item: DerElement, what: string): Date {
  let text = '';
  for (const byte of item.value) text += String.fromCharCode(byte);
  let year: number;
  let rest: string;
  if (item.tag === DerTag.UtcTime) {
    if (text.length !== 13 || !text.endsWith('Z') || !DIGITS.test(text.slice(0, 12))) refuse(what, `UTCTime "${printable(text)}" is not YYMMDDHHMMSSZ`, item.offset);
    const yy = twoDigits(text, 0);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
    rest = text.slice(2, 12);
  } else if (item.tag === DerTag.GeneralizedTime) {
    if (text.length !== 15 || !text.endsWith('Z') || !DIGITS.test(text.slice(0, 14))) refuse(what, `GeneralizedTime "${printable(text)}" is not YYYYMMDDHHMMSSZ`, item.offset);
    year = Number(text.slice(0, 4));
    rest = text.slice(4, 14);
  } else {
    refuse(what, `${describeTag(item.tag)} where UTCTime or GeneralizedTime was expected`, item.offset);
  }
  const [month, day, hour, minute, second] = [0, 2, 4, 6, 8].map((index) => twoDigits(rest, index)) as [number, number, number, number, number];
  const time = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(time);
  // Date.UTC rolls over (February 30th becomes March 2nd); a round trip shows it.
  if (
    month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 ||
    date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day
  ) {
    refuse(what, `time "${printable(text)}" is not a valid date`, item.offset);
  }
  return date;
}

/** Text safe to quote in a message: control and non-ASCII characters as \\u{..}. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, (char) => `\\u{${(char.codePointAt(0) as number).toString(16)}}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The string types {@link readString} decodes. */
export const DER_STRING_TAGS: ReadonlySet<number> = new Set([
  DerTag.Utf8String,
  DerTag.PrintableString,
  DerTag.TeletexString,
  DerTag.Ia5String,
  DerTag.UniversalString,
  DerTag.BmpString,
]);

/**
 * A character string: UTF8String (must be valid UTF-8), PrintableString and IA5String (7-bit),
 * TeletexString (read as Latin-1, as most software does), BMPString (UTF-16BE) and
 * UniversalString (UTF-32BE).
 */
export function readString(item: DerElement, what: string): string {
  const value = item.value;
  switch (item.tag) {
    case DerTag.Utf8String:
      try {
        return utf8.decode(value);
      } catch {
        return refuse(what, 'UTF8String is not valid UTF-8', item.offset);
      }
    case DerTag.PrintableString:
    case DerTag.Ia5String:
      if (value.some((byte) => byte >= 0x80)) refuse(what, `${describeTag(item.tag)} holds a byte above 0x7f`, item.offset);
      return latin1(value);
    case DerTag.TeletexString:
      return latin1(value);
    case DerTag.BmpString: {
      if (value.length % 2 !== 0) refuse(what, 'BMPString has an odd number of octets', item.offset);
      let text = '';
      for (let index = 0; index < value.length; index += 2) text += String.fromCharCode(((value[index] as number) << 8) | (value[index + 1] as number));
      return text;
    }
    case DerTag.UniversalString: {
      if (value.length % 4 !== 0) refuse(what, 'UniversalString is not a multiple of 4 octets', item.offset);
      let text = '';
      for (let index = 0; index < value.length; index += 4) {
        const point = (((value[index] as number) << 24) >>> 0) + ((value[index + 1] as number) << 16) + ((value[index + 2] as number) << 8) + (value[index + 3] as number);
        if (point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) refuse(what, `UniversalString holds U+${point.toString(16)}, not a character`, item.offset);
        text += String.fromCodePoint(point);
      }
      return text;
    }
    default:
      return refuse(what, `${describeTag(item.tag)} is not a character string`, item.offset);
  }
}

function latin1(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Writer

/** Concatenates byte strings. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function lengthOctets(length: number): number[] {
  if (length < 0x80) return [length];
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return [0x80 | octets.length, ...octets];
}

/** One element: identifier octet `tag`, the shortest length, then `value`. */
export function encodeTlv(tag: number, value: Uint8Array): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) throw new RangeError(`tag 0x${tag.toString(16)} cannot be written`);
  return concatBytes([Uint8Array.of(tag, ...lengthOctets(value.length)), value]);
}

/** A SEQUENCE of already-encoded elements. */
export function encodeSequence(...items: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  return encodeTlv(DerTag.Sequence, concatBytes(items));
}

/** A SET OF already-encoded elements, sorted by their encodings as DER requires. */
export function encodeSetOf(...items: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const sorted = [...items].sort(compareBytes);
  return encodeTlv(DerTag.Set, concatBytes(sorted));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const difference = (a[index] as number) - (b[index] as number);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

/**
 * A context-specific element `[number]` holding `value`: constructed for EXPLICIT tagging (value is
 * the inner element's encoding), primitive for IMPLICIT tagging of a primitive type (value is its
 * content octets).
 */
export function encodeContext(number: number, value: Uint8Array, constructed = true): Uint8Array<ArrayBuffer> {
  return encodeTlv(contextTag(number, constructed), value);
}

/** An INTEGER in its shortest two's-complement form. */
export function encodeInteger(value: bigint | number): Uint8Array<ArrayBuffer> {
  let rest = BigInt(value);
  const octets: number[] = [];
  // Emit low octets until what is left is only sign extension of the last one written.
  for (;;) {
    const octet = Number(rest & 0xffn);
    octets.unshift(octet);
    rest >>= 8n;
    if ((rest === 0n && (octet & 0x80) === 0) || (rest === -1n && (octet & 0x80) !== 0)) break;
  }
  return encodeTlv(DerTag.Integer, Uint8Array.from(octets));
}

/**
 * An INTEGER from an unsigned big-endian magnitude (a serial number as bytes): leading zero octets
 * are dropped and one is added where the top bit would otherwise make it negative.
 */
export function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array<ArrayBuffer> {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.length === 0 ? Uint8Array.of(0) : magnitude.subarray(start);
  const value = ((trimmed[0] as number) & 0x80) !== 0 ? concatBytes([Uint8Array.of(0), trimmed]) : trimmed;
  return encodeTlv(DerTag.Integer, value);
}

/** A BOOLEAN (FF for true, as DER requires). */
export function encodeBoolean(value: boolean): Uint8Array<ArrayBuffer> {
  return encodeTlv(DerTag.Boolean, Uint8Array.of(value ? 0xff : 0x00));
}

/** A NULL. */
export function encodeNull(): Uint8Array<ArrayBuffer> {
  return encodeTlv(DerTag.Null, new Uint8Array(0));
}

/** An OCTET STRING. */
export function encodeOctetString(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return encodeTlv(DerTag.OctetString, bytes);
}

/** A BIT STRING of `bytes`, whose last `unusedBits` bits must be zero. */
export function encodeBitString(bytes: Uint8Array, unusedBits = 0): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new RangeError(`a BIT STRING of ${bytes.length} octets cannot have ${unusedBits} unused bits`);
  }
  if (bytes.length > 0 && ((bytes[bytes.length - 1] as number) & ((1 << unusedBits) - 1)) !== 0) throw new RangeError('the unused bits of a BIT STRING must be zero');
  return encodeTlv(DerTag.BitString, concatBytes([Uint8Array.of(unusedBits), bytes]));
}

/** A named-bit BIT STRING (keyUsage) from a number where bit 0 is 1, bit 1 is 2, ...; trailing zero bits dropped. */
export function encodeNamedBits(bits: number): Uint8Array<ArrayBuffer> {
  if (!Number.isSafeInteger(bits) || bits < 0 || bits >= 2 ** 32) throw new RangeError(`named bits ${bits} are out of range`);
  const octets: number[] = [];
  let highest = -1;
  for (let bit = 0; bit < 32; bit++) {
    if (Math.floor(bits / 2 ** bit) % 2 === 1) {
      const index = bit >> 3;
      while (octets.length <= index) octets.push(0);
      octets[index] = (octets[index] as number) | (0x80 >> (bit & 7));
      highest = bit;
    }
  }
  const unusedBits = highest < 0 ? 0 : 7 - (highest & 7);
  return encodeBitString(Uint8Array.from(octets), unusedBits);
}

/** A dotted OBJECT IDENTIFIER as text: `1.2.840.10045.2.1`. */
export const OID_TEXT = /^[0-2](\.(0|[1-9][0-9]*))+$/;

/** An OBJECT IDENTIFIER from its dotted form. */
export function encodeOid(oid: string): Uint8Array<ArrayBuffer> {
  if (!OID_TEXT.test(oid)) throw new RangeError(`"${oid}" is not a dotted OBJECT IDENTIFIER`);
  const arcs = oid.split('.').map(BigInt) as [bigint, bigint, ...bigint[]];
  if (arcs[0] < 2n && arcs[1] >= 40n) throw new RangeError(`"${oid}": under arc ${arcs[0]} the second arc must be below 40`);
  const octets: number[] = [];
  for (const arc of [arcs[0] * 40n + arcs[1], ...arcs.slice(2)]) {
    const group = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) group.unshift(Number(rest & 0x7fn) | 0x80);
    octets.push(...group);
  }
  return encodeTlv(DerTag.ObjectIdentifier, Uint8Array.from(octets));
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/**
 * A certificate time as RFC 5280 §4.1.2.5 wants it: UTCTime for 1950-2049, GeneralizedTime
 * otherwise, in UTC. A DER time has whole seconds; milliseconds are dropped.
 */
export function encodeTime(date: Date): Uint8Array<ArrayBuffer> {
  const time = date.getTime();
  if (Number.isNaN(time)) throw new RangeError('cannot encode an invalid Date');
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`year ${year} cannot be encoded`);
  const tail = `${pad(date.getUTCMonth() + 1, 2)}${pad(date.getUTCDate(), 2)}${pad(date.getUTCHours(), 2)}${pad(date.getUTCMinutes(), 2)}${pad(date.getUTCSeconds(), 2)}Z`;
  if (year >= 1950 && year < 2050) return encodeTlv(DerTag.UtcTime, asciiBytes(`${pad(year % 100, 2)}${tail}`));
  return encodeTlv(DerTag.GeneralizedTime, asciiBytes(`${pad(year, 4)}${tail}`));
}

function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** Whether `text` fits a PrintableString (letters, digits, space and '()+,-./:=?). */
export function isPrintableString(text: string): boolean {
  return PRINTABLE.test(text);
}

/** Whether `text` fits an IA5String (ASCII). */
export function isIa5String(text: string): boolean {
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) > 0x7f) return false;
  return true;
}

/** A character string of type UTF8String, PrintableString or IA5String; refuses text the type cannot hold. */
export function encodeString(tag: number, text: string): Uint8Array<ArrayBuffer> {
  switch (tag) {
    case DerTag.Utf8String:
      return encodeTlv(tag, new TextEncoder().encode(text));
    case DerTag.PrintableString:
      if (!isPrintableString(text)) throw new RangeError(`"${printable(text)}" is not a PrintableString`);
      return encodeTlv(tag, asciiBytes(text));
    case DerTag.Ia5String:
      if (!isIa5String(text)) throw new RangeError(`"${printable(text)}" is not an IA5String`);
      return encodeTlv(tag, asciiBytes(text));
    default:
      throw new RangeError(`${describeTag(tag)} strings are not written`);
  }
}
