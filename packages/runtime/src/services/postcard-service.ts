import type { NativeService, ServiceFiles } from './native-service.ts';
import { PostcardReader } from './postcard-reader.ts';
import { formatJsonF64, formatJsonString } from './serde-json-format.ts';

/*
 * Veracruz's "Postcard Service" (execution-engine native_modules/postcard.rs): a demonstration
 * service that reads a postcard `Vec<Struct3>` of made-up nested types and writes it back as
 * `serde_json::to_string` would. The type names below are Veracruz's, as they appear in the JSON.
 */

/** Veracruz's made-up `Enum1` (`ENUM1_4` holds 11 chars). */
export type PostcardEnum1 = { ENUM1_1: number } | { ENUM1_2: bigint } | { ENUM1_3: string } | { ENUM1_4: string[] };

/** Veracruz's made-up `Struct1`: `f64` x3, `i64` x3, `char` x3, an `Enum1`. */
export interface PostcardStruct1 {
  f1: number;
  f2: number;
  f3: number;
  i1: bigint;
  i2: bigint;
  i3: bigint;
  c1: string;
  c2: string;
  c3: string;
  e1: PostcardEnum1;
}

/** Veracruz's made-up `Struct2`: `u64` x3, a `Struct1`, `[u16; 7]`, `[i32; 13]`, an `Enum1`. */
export interface PostcardStruct2 {
  u1: bigint;
  u2: bigint;
  u3: bigint;
  t1: PostcardStruct1;
  array1: number[];
  array2: number[];
  e1: PostcardEnum1;
}

/** Veracruz's made-up `Enum2`. */
export type PostcardEnum2 = { ENUM2_1: PostcardStruct2 } | { ENUM2_2: number[] } | { ENUM2_3: number };

/** Veracruz's made-up `Struct3`: three `Enum2`s. A Postcard Service request is a `Vec<Struct3>`. */
export interface PostcardStruct3 {
  e1: PostcardEnum2;
  e2: PostcardEnum2;
  e3: PostcardEnum2;
}

/** Where the Postcard Service writes its result (replacing the file), whatever its special file: Veracruz's fixed path. */
export const POSTCARD_RESULT_PATH = '/services/postcard_result.dat';

/** The fixed lengths of the made-up types' arrays: `ENUM1_4`, `array1`, `array2`, `ENUM2_2`. */
export const ENUM1_CHARS = 11;
export const ARRAY1_LENGTH = 7;
export const ARRAY2_LENGTH = 13;
export const ENUM2_2_LENGTH = 5;

/** Thrown out of the parse functions when the bytes end early: the request is not complete yet. */
const INCOMPLETE = Symbol('incomplete');

/** `value`, or INCOMPLETE thrown when the reader ran out of bytes. */
function need<T>(value: T | undefined): T {
  if (value === undefined) throw INCOMPLETE;
  return value;
}

function readArray<T>(count: number, read: () => T): T[] {
  const items: T[] = [];
  for (let index = 0; index < count; index++) items.push(read());
  return items;
}

function readEnum1(reader: PostcardReader): PostcardEnum1 {
  const variant = need(reader.u32());
  switch (variant) {
    case 0: return { ENUM1_1: need(reader.u32()) };
    case 1: return { ENUM1_2: need(reader.i64()) };
    case 2: return { ENUM1_3: need(reader.char()) };
    case 3: return { ENUM1_4: readArray(ENUM1_CHARS, () => need(reader.char())) };
    default: throw new Error(`Enum1 has no variant ${variant}`);
  }
}

function readStruct1(reader: PostcardReader): PostcardStruct1 {
  return {
    f1: need(reader.f64()), f2: need(reader.f64()), f3: need(reader.f64()),
    i1: need(reader.i64()), i2: need(reader.i64()), i3: need(reader.i64()),
    c1: need(reader.char()), c2: need(reader.char()), c3: need(reader.char()),
    e1: readEnum1(reader),
  };
}

function readStruct2(reader: PostcardReader): PostcardStruct2 {
  return {
    u1: need(reader.u64()), u2: need(reader.u64()), u3: need(reader.u64()),
    t1: readStruct1(reader),
    array1: readArray(ARRAY1_LENGTH, () => need(reader.u16())),
    array2: readArray(ARRAY2_LENGTH, () => need(reader.i32())),
    e1: readEnum1(reader),
  };
}

function readEnum2(reader: PostcardReader): PostcardEnum2 {
  const variant = need(reader.u32());
  switch (variant) {
    case 0: return { ENUM2_1: readStruct2(reader) };
    case 1: return { ENUM2_2: readArray(ENUM2_2_LENGTH, () => need(reader.u16())) };
    case 2: return { ENUM2_3: need(reader.u16()) };
    default: throw new Error(`Enum2 has no variant ${variant}`);
  }
}

/**
 * Parses a Postcard Service request, a postcard `Vec<Struct3>`: `undefined` while the bytes are a
 * prefix of one; throws when they can never be one (unknown variant, overflowing integer, bad
 * char). Bytes after a complete vector are ignored, as `postcard::from_bytes` does.
 */
export function parsePostcardRequest(bytes: Uint8Array): PostcardStruct3[] | undefined {
  const reader = new PostcardReader(bytes);
  try {
    // A huge declared count costs nothing: the loop stops when the bytes run out.
    const count = Number(need(reader.u64()));
    return readArray(count, () => ({ e1: readEnum2(reader), e2: readEnum2(reader), e3: readEnum2(reader) }));
  } catch (reason) {
    if (reason === INCOMPLETE) return undefined;
    throw reason;
  }
}

function enum1Json(value: PostcardEnum1): string {
  if ('ENUM1_1' in value) return `{"ENUM1_1":${value.ENUM1_1}}`;
  if ('ENUM1_2' in value) return `{"ENUM1_2":${value.ENUM1_2}}`;
  if ('ENUM1_3' in value) return `{"ENUM1_3":${formatJsonString(value.ENUM1_3)}}`;
  return `{"ENUM1_4":[${value.ENUM1_4.map(formatJsonString).join(',')}]}`;
}

function struct1Json(value: PostcardStruct1): string {
  return `{"f1":${formatJsonF64(value.f1)},"f2":${formatJsonF64(value.f2)},"f3":${formatJsonF64(value.f3)},`
    + `"i1":${value.i1},"i2":${value.i2},"i3":${value.i3},`
    + `"c1":${formatJsonString(value.c1)},"c2":${formatJsonString(value.c2)},"c3":${formatJsonString(value.c3)},`
    + `"e1":${enum1Json(value.e1)}}`;
}

function struct2Json(value: PostcardStruct2): string {
  return `{"u1":${value.u1},"u2":${value.u2},"u3":${value.u3},"t1":${struct1Json(value.t1)},`
    + `"array1":[${value.array1.join(',')}],"array2":[${value.array2.join(',')}],"e1":${enum1Json(value.e1)}}`;
}

function enum2Json(value: PostcardEnum2): string {
  if ('ENUM2_1' in value) return `{"ENUM2_1":${struct2Json(value.ENUM2_1)}}`;
  if ('ENUM2_2' in value) return `{"ENUM2_2":[${value.ENUM2_2.join(',')}]}`;
  return `{"ENUM2_3":${value.ENUM2_3}}`;
}

/** The JSON the Postcard Service writes for `values`: `serde_json::to_string`'s exact bytes (compact, fields in order, enums externally tagged). */
export function postcardResultJson(values: readonly PostcardStruct3[]): string {
  return `[${values.map((value) => `{"e1":${enum2Json(value.e1)},"e2":${enum2Json(value.e2)},"e3":${enum2Json(value.e3)}}`).join(',')}]`;
}

/** "Postcard Service": a postcard `Vec<Struct3>` written to its special file becomes JSON in {@link POSTCARD_RESULT_PATH}. */
export const postcardService: NativeService = {
  name: 'Postcard Service',
  parse: parsePostcardRequest,
  serve(request: unknown, writer: ServiceFiles): void {
    writer.writeFile(POSTCARD_RESULT_PATH, new TextEncoder().encode(postcardResultJson(request as PostcardStruct3[])));
  },
};
