import { encodeUnsignedLeb128 } from '../leb128.ts';

/**
 * A small reader/writer for the WebAssembly binary format: sections, types, imports, exports,
 * and LEB128 numbers. Enough to check a program's imports and to rewrite it (memory as a shared
 * import, fuel metering) without a third-party toolchain inside the trusted runtime.
 */

/** Section ids of the core format. */
export const SectionId = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  tag: 13,
} as const;

/** A malformed binary (message says where). */
export class WasmFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WasmFormatError';
  }
}

/** A cursor over wasm bytes. */
export class WasmReader {
  readonly bytes: Uint8Array;
  offset: number;
  readonly end: number;

  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  get done(): boolean {
    return this.offset >= this.end;
  }

  u8(): number {
    if (this.offset >= this.end) throw new WasmFormatError(`unexpected end at byte ${this.offset}`);
    return this.bytes[this.offset++] as number;
  }

  /** Unsigned LEB128 up to 32 bits. */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new WasmFormatError(`LEB128 too long at byte ${this.offset}`);
    }
  }

  /** Skips a signed or unsigned LEB128 of any length up to 64 bits. */
  skipLeb(): void {
    for (let count = 0; count < 10; count++) if ((this.u8() & 0x80) === 0) return;
    throw new WasmFormatError(`LEB128 too long at byte ${this.offset}`);
  }

  /** Signed LEB128 up to 33 bits (block types). */
  s33(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.u8();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    if (byte & 0x40) result -= 2 ** shift;
    return result;
  }

  skip(count: number): void {
    if (this.offset + count > this.end) throw new WasmFormatError(`unexpected end at byte ${this.offset}`);
    this.offset += count;
  }

  name(): string {
    const length = this.u32();
    const start = this.offset;
    this.skip(length);
    return new TextDecoder().decode(this.bytes.subarray(start, start + length));
  }
}

/** Unsigned LEB128 encoding. */
export const encodeU32: (value: number) => number[] = encodeUnsignedLeb128;

/** Signed LEB128 encoding of a bigint. */
export function encodeS64(value: bigint): number[] {
  const out: number[] = [];
  let rest = value;
  for (;;) {
    const byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if ((rest === 0n && (byte & 0x40) === 0) || (rest === -1n && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** A name as encoded in the binary. */
export function encodeName(name: string): number[] {
  const bytes = new TextEncoder().encode(name);
  return [...encodeU32(bytes.length), ...bytes];
}

/** One section: id and payload range. */
export interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  payloadStart: number;
  end: number;
}

/** Splits a module into sections; throws WasmFormatError if it is not a wasm module. */
export function readSections(bytes: Uint8Array): Section[] {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmFormatError('not a WebAssembly module (bad magic number)');
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) throw new WasmFormatError('unsupported WebAssembly version (a component?)');
  const reader = new WasmReader(bytes, 8);
  const sections: Section[] = [];
  while (!reader.done) {
    const start = reader.offset;
    const id = reader.u8();
    const size = reader.u32();
    const payloadStart = reader.offset;
    reader.skip(size);
    sections.push({ id, start, payloadStart, end: reader.offset });
  }
  return sections;
}

/** A function type: parameter and result value types (bytes: 0x7f i32, 0x7e i64, ...). */
export interface FuncType {
  params: number[];
  results: number[];
}

/** An import entry. */
export interface ImportEntry {
  module: string;
  name: string;
  /** 0 function, 1 table, 2 memory, 3 global, 4 tag. */
  kind: number;
  /** For functions: the type index. */
  typeIndex?: number;
}

/** An export entry. */
export interface ExportEntry {
  name: string;
  kind: number;
  index: number;
}

function skipValueType(reader: WasmReader): number {
  const type = reader.u8();
  // Reference types with a heap type immediate (GC proposal): (ref ht) / (ref null ht).
  if (type === 0x63 || type === 0x64) reader.s33();
  return type;
}

function skipLimits(reader: WasmReader): void {
  const flags = reader.u8();
  reader.skipLeb();
  if (flags & 1) reader.skipLeb();
}

/** The function types of the type section (GC rec groups are read for their function types only). */
export function readTypes(bytes: Uint8Array, section: Section | undefined): (FuncType | undefined)[] {
  if (section === undefined) return [];
  const reader = new WasmReader(bytes, section.payloadStart, section.end);
  const types: (FuncType | undefined)[] = [];
  const readComposite = (): void => {
    const form = reader.u8();
    if (form === 0x60) {
      const params: number[] = [];
      const results: number[] = [];
      for (let count = reader.u32(); count > 0; count--) params.push(skipValueType(reader));
      for (let count = reader.u32(); count > 0; count--) results.push(skipValueType(reader));
      types.push({ params, results });
    } else if (form === 0x5f) {
      for (let count = reader.u32(); count > 0; count--) {
        skipValueType(reader);
        reader.u8();
      }
      types.push(undefined);
    } else if (form === 0x5e) {
      skipValueType(reader);
      reader.u8();
      types.push(undefined);
    } else {
      throw new WasmFormatError(`unknown type form 0x${form.toString(16)}`);
    }
  };
  const readSub = (): void => {
    const first = reader.bytes[reader.offset];
    if (first === 0x50 || first === 0x4f) {
      reader.u8();
      for (let count = reader.u32(); count > 0; count--) reader.u32();
    }
    readComposite();
  };
  for (let count = reader.u32(); count > 0; count--) {
    if (reader.bytes[reader.offset] === 0x4e) {
      reader.u8();
      for (let inner = reader.u32(); inner > 0; inner--) readSub();
    } else {
      readSub();
    }
  }
  return types;
}

/** The entries of a section that is a vector, each read by `entry` (none if the section is absent). */
export function readVector<T>(bytes: Uint8Array, section: Section | undefined, entry: (reader: WasmReader) => T): T[] {
  if (section === undefined) return [];
  const reader = new WasmReader(bytes, section.payloadStart, section.end);
  const entries: T[] = [];
  for (let count = reader.u32(); count > 0; count--) entries.push(entry(reader));
  return entries;
}

/** The import entries. */
export function readImports(bytes: Uint8Array, section: Section | undefined): ImportEntry[] {
  return readVector(bytes, section, (reader): ImportEntry => {
    const module = reader.name();
    const name = reader.name();
    const kind = reader.u8();
    if (kind === 0) return { module, name, kind, typeIndex: reader.u32() };
    if (kind === 1) {
      skipValueType(reader);
      skipLimits(reader);
    } else if (kind === 2) skipLimits(reader);
    else if (kind === 3) {
      skipValueType(reader);
      reader.u8();
    } else if (kind === 4) {
      reader.u8();
      reader.u32();
    } else throw new WasmFormatError(`unknown import kind ${kind}`);
    return { module, name, kind };
  });
}

/** The export entries. */
export function readExports(bytes: Uint8Array, section: Section | undefined): ExportEntry[] {
  return readVector(bytes, section, (reader) => ({ name: reader.name(), kind: reader.u8(), index: reader.u32() }));
}

/** The memory limits of the memory section (flags, minimum and optional maximum, in pages). */
export interface MemoryLimits {
  flags: number;
  minimum: number;
  maximum: number | undefined;
}

/** The memories the memory section defines. */
export function readMemories(bytes: Uint8Array, section: Section | undefined): MemoryLimits[] {
  return readVector(bytes, section, (reader) => {
    const flags = reader.u8();
    return { flags, minimum: reader.u32(), maximum: flags & 1 ? reader.u32() : undefined };
  });
}

/** Builds a section from its id and payload bytes. */
export function encodeSection(id: number, payload: readonly number[] | Uint8Array): Uint8Array {
  const header = [id, ...encodeU32(payload.length)];
  const out = new Uint8Array(header.length + payload.length);
  out.set(header);
  out.set(payload, header.length);
  return out;
}

export { concatBytes } from '@veracruz-ts/core';
