import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { ALL_RIGHTS } from '@veracruz-ts/policy';
import { compileC } from '../engine/compile-c.ts';
import { ExecutionEngine } from '../engine/engine.ts';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import { POSTCARD_RESULT_PATH, parsePostcardRequest, postcardResultJson } from './postcard-service.ts';
import { encodePostcardRequest } from './postcard-writer.ts';
import type { PostcardStruct2, PostcardStruct3 } from './postcard-service.ts';
import { servicesFromPolicy } from './registry.ts';
import { formatJsonF64 } from './serde-json-format.ts';

const SPECIAL_FILE = '/services/postcard_string.dat';
const ROOT = [{ file_name: '/', rights: ALL_RIGHTS }, { file_name: 'stdin', rights: ALL_RIGHTS }, { file_name: 'stderr', rights: ALL_RIGHTS }];

/** Mounted as Veracruz's own generated policy single_client_postcard_native.json declares it. */
function fileSystem() {
  const services = servicesFromPolicy([{ name: 'Postcard Service', type: { Static: { special_file: SPECIAL_FILE } } }]);
  const vfs = new VirtualFileSystem({ services });
  return { vfs, root: vfs.view(ROOT) };
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

const zeros = (count: number): number[] => new Array<number>(count).fill(0);
function plainStruct2(t1: Partial<PostcardStruct2['t1']>, e1: PostcardStruct2['e1'] = { ENUM1_2: 1n }): PostcardStruct2 {
  return {
    u1: 0n, u2: 0n, u3: 0n,
    t1: { f1: 0, f2: 0, f3: 0, i1: 0n, i2: 0n, i3: 0n, c1: 'a', c2: 'b', c3: 'c', e1: { ENUM1_1: 1 }, ...t1 },
    array1: zeros(7), array2: zeros(13), e1,
  };
}

/** The values of fixtures/serde-json-golden.rs (edge cases of every type), in the same order. */
const GOLDEN_VALUES: PostcardStruct3[] = [
  {
    e1: { ENUM2_1: {
      u1: 0n, u2: 2n ** 64n - 1n, u3: 300n,
      t1: { f1: 0.1, f2: -0, f3: 1e-7, i1: -(2n ** 63n), i2: 2n ** 63n - 1n, i3: -1n, c1: 'a', c2: '"', c3: '\u{1f600}', e1: { ENUM1_1: 2 ** 32 - 1 } },
      array1: [0, 1, 127, 128, 16383, 16384, 65535],
      array2: [0, -1, 1, -64, 64, -65, 65, -(2 ** 31), 2 ** 31 - 1, 8191, -8192, 1000000, -1000000],
      e1: { ENUM1_4: ['\n', '\\', '\u{7f}', '\u{e9}', '\u{1}', '\t', '\u{2028}', 'x', '\b', '\f', '\r'] },
    } },
    e2: { ENUM2_2: [1, 2, 3, 4, 65535] },
    e3: { ENUM2_3: 7 },
  },
  {
    e1: { ENUM2_3: 0 },
    e2: { ENUM2_1: {
      u1: 1n, u2: 2n ** 53n, u3: 2n ** 53n + 1n,
      t1: { f1: 1e16, f2: 1.5e300, f3: 5e-324, i1: 0n, i2: 1n, i3: -(2n ** 53n) - 1n, c1: '\u{0}', c2: '/', c3: '\u{10ffff}', e1: { ENUM1_2: -5n } },
      array1: zeros(7), array2: zeros(13), e1: { ENUM1_3: '\u{1f}' },
    } },
    e3: { ENUM2_2: [0, 0, 0, 0, 0] },
  },
  {
    e1: { ENUM2_1: {
      u1: 12345678901234567890n, u2: 2n, u3: 3n,
      t1: { f1: NaN, f2: Infinity, f3: -Infinity, i1: 2n, i2: 3n, i3: 4n, c1: 'Z', c2: '\u{7ff}', c3: '\u{800}', e1: { ENUM1_1: 0 } },
      array1: [1, 2, 3, 4, 5, 6, 7], array2: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], e1: { ENUM1_2: -(2n ** 63n) },
    } },
    e2: { ENUM2_3: 65535 },
    e3: { ENUM2_1: plainStruct2({ f1: 1, f2: 100, f3: 123456.789, c1: ' ', c2: ' ', c3: ' ', e1: { ENUM1_3: '\u{20ac}' } }, { ENUM1_1: 128 }) },
  },
  { e1: { ENUM2_3: 1 }, e2: { ENUM2_3: 2 }, e3: { ENUM2_1: plainStruct2({ f1: 1e-5, f2: 1.234e-5, f3: 1e15 }) } },
  {
    e1: { ENUM2_1: plainStruct2({ f1: 1e17, f2: Number.MAX_VALUE, f3: -1.5 }) },
    e2: { ENUM2_1: plainStruct2({ f1: 0.3, f2: 2.2250738585072014e-308, f3: 123456789012345680000 }) },
    e3: { ENUM2_3: 3 },
  },
];

/** `serde_json::to_string(&values)` for GOLDEN_VALUES, as fixtures/serde-json-golden.rs prints it. */
const GOLDEN_JSON =
  '[{"e1":{"ENUM2_1":{"u1":0,"u2":18446744073709551615,"u3":300,"t1":{"f1":0.1,"f2":-0.0,"f3":1e-7,' +
  '"i1":-9223372036854775808,"i2":9223372036854775807,"i3":-1,"c1":"a","c2":"\\"","c3":"\u{1f600}",' +
  '"e1":{"ENUM1_1":4294967295}},"array1":[0,1,127,128,16383,16384,65535],"array2":[0,-1,1,-64,64,-65,' +
  '65,-2147483648,2147483647,8191,-8192,1000000,-1000000],"e1":{"ENUM1_4":["\\n","\\\\","\u{7f}",' +
  '"\u{e9}","\\u0001","\\t","\u{2028}","x","\\b","\\f","\\r"]}}},"e2":{"ENUM2_2":[1,2,3,4,65535]},' +
  '"e3":{"ENUM2_3":7}},{"e1":{"ENUM2_3":0},"e2":{"ENUM2_1":{"u1":1,"u2":9007199254740992,' +
  '"u3":9007199254740993,"t1":{"f1":1e16,"f2":1.5e300,"f3":5e-324,"i1":0,"i2":1,"i3":-9007199254740993,' +
  '"c1":"\\u0000","c2":"/","c3":"\u{10ffff}","e1":{"ENUM1_2":-5}},"array1":[0,0,0,0,0,0,0],"array2":[0,' +
  '0,0,0,0,0,0,0,0,0,0,0,0],"e1":{"ENUM1_3":"\\u001f"}}},"e3":{"ENUM2_2":[0,0,0,0,0]}},' +
  '{"e1":{"ENUM2_1":{"u1":12345678901234567890,"u2":2,"u3":3,"t1":{"f1":null,"f2":null,"f3":null,' +
  '"i1":2,"i2":3,"i3":4,"c1":"Z","c2":"\u{7ff}","c3":"\u{800}","e1":{"ENUM1_1":0}},"array1":[1,2,3,4,5,' +
  '6,7],"array2":[1,2,3,4,5,6,7,8,9,10,11,12,13],"e1":{"ENUM1_2":-9223372036854775808}}},' +
  '"e2":{"ENUM2_3":65535},"e3":{"ENUM2_1":{"u1":0,"u2":0,"u3":0,"t1":{"f1":1.0,"f2":100.0,' +
  '"f3":123456.789,"i1":0,"i2":0,"i3":0,"c1":" ","c2":" ","c3":" ","e1":{"ENUM1_3":"\u{20ac}"}},' +
  '"array1":[0,0,0,0,0,0,0],"array2":[0,0,0,0,0,0,0,0,0,0,0,0,0],"e1":{"ENUM1_1":128}}}},' +
  '{"e1":{"ENUM2_3":1},"e2":{"ENUM2_3":2},"e3":{"ENUM2_1":{"u1":0,"u2":0,"u3":0,"t1":{"f1":0.00001,' +
  '"f2":0.00001234,"f3":1000000000000000.0,"i1":0,"i2":0,"i3":0,"c1":"a","c2":"b","c3":"c",' +
  '"e1":{"ENUM1_1":1}},"array1":[0,0,0,0,0,0,0],"array2":[0,0,0,0,0,0,0,0,0,0,0,0,0],' +
  '"e1":{"ENUM1_2":1}}}},{"e1":{"ENUM2_1":{"u1":0,"u2":0,"u3":0,"t1":{"f1":1e17,' +
  '"f2":1.7976931348623157e308,"f3":-1.5,"i1":0,"i2":0,"i3":0,"c1":"a","c2":"b","c3":"c",' +
  '"e1":{"ENUM1_1":1}},"array1":[0,0,0,0,0,0,0],"array2":[0,0,0,0,0,0,0,0,0,0,0,0,0],' +
  '"e1":{"ENUM1_2":1}}},"e2":{"ENUM2_1":{"u1":0,"u2":0,"u3":0,"t1":{"f1":0.3,' +
  '"f2":2.2250738585072014e-308,"f3":1.2345678901234568e20,"i1":0,"i2":0,"i3":0,"c1":"a","c2":"b",' +
  '"c3":"c","e1":{"ENUM1_1":1}},"array1":[0,0,0,0,0,0,0],"array2":[0,0,0,0,0,0,0,0,0,0,0,0,0],' +
  '"e1":{"ENUM1_2":1}}},"e3":{"ENUM2_3":3}}]';

/**
 * One Struct3 assembled by hand from the postcard 1.x wire format, independently of our encoder:
 * Vec length 1; e1 = ENUM2_3(300); e2 = ENUM2_2([0, 1, 127, 128, 65535]); e3 = ENUM2_1(Struct2
 * { u1: 1, u2: 2^64-1, u3: 0, t1: { f1: 1.5, f2: -2, f3: 0, i1: -1, i2: 1, i3: i64::MIN, c1: 'é',
 * c2: 'a', c3: '😀', e1: ENUM1_3('x') }, array1: [0..6], array2: [-1, 0 x 11, i32::MAX], e1: ENUM1_1(0) }).
 */
const HAND_ASSEMBLED = Uint8Array.from([
  0x01, // Vec<Struct3> length 1
  0x02, 0xac, 0x02, // e1: variant 2 (ENUM2_3), u16 300 as varint
  0x01, 0x00, 0x01, 0x7f, 0x80, 0x01, 0xff, 0xff, 0x03, // e2: variant 1 (ENUM2_2), five u16 varints
  0x00, // e3: variant 0 (ENUM2_1)
  0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, // u1 = 1, u2 = u64::MAX (10 bytes), u3 = 0
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, // f1 = 1.5, f64 little-endian
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, // f2 = -2
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // f3 = 0
  0x01, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // i1 = -1, i2 = 1, i3 = i64::MIN (zigzag)
  0x02, 0xc3, 0xa9, 0x01, 0x61, 0x04, 0xf0, 0x9f, 0x98, 0x80, // chars: length-prefixed UTF-8
  0x02, 0x01, 0x78, // t1.e1: variant 2 (ENUM1_3), char 'x'
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, // array1: [u16; 7]
  0x01, ...zeros(11), 0xfe, 0xff, 0xff, 0xff, 0x0f, // array2: [i32; 13] zigzag: -1, zeros, i32::MAX
  0x00, 0x00, // e1: variant 0 (ENUM1_1), u32 0
]);
const HAND_ASSEMBLED_JSON = '[{"e1":{"ENUM2_3":300},"e2":{"ENUM2_2":[0,1,127,128,65535]},"e3":{"ENUM2_1":{"u1":1,"u2":18446744073709551615,"u3":0,'
  + '"t1":{"f1":1.5,"f2":-2.0,"f3":0.0,"i1":-1,"i2":1,"i3":-9223372036854775808,"c1":"\u{e9}","c2":"a","c3":"\u{1f600}","e1":{"ENUM1_3":"x"}},'
  + '"array1":[0,1,2,3,4,5,6],"array2":[-1,0,0,0,0,0,0,0,0,0,0,0,2147483647],"e1":{"ENUM1_1":0}}}}]';

/** Veracruz's postcard-native example (a Rust program), the same steps in C: input -> service -> result -> output. */
const POSTCARD_NATIVE = `
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static size_t slurp(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(1); }
  size_t n = fread(buf, 1, size, f);
  fclose(f);
  return n;
}
static void spill(const char *path, const char *buf, size_t n) {
  /* Rust's fs::write: O_WRONLY | O_CREAT | O_TRUNC, then the whole buffer in one write. */
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror(path); exit(2); }
  if (write(fd, buf, n) != (ssize_t)n) { perror(path); exit(3); }
  close(fd);
}
int main(void) {
  static char input[1 << 16], result[1 << 18];
  size_t n = slurp("/input/postcard.dat", input, sizeof input);
  spill("/services/postcard_string.dat", input, n);
  size_t m = slurp("/services/postcard_result.dat", result, sizeof result);
  spill("/output/postcard_native.txt", result, m);
  return 0;
}`;

/** The program rights of single_client_postcard_native.json (vc-pgen's numbers). */
const VERACRUZ_PROGRAM_RIGHTS = [
  { file_name: '/input/', rights: 24582 }, { file_name: '/output/', rights: 550470 },
  { file_name: 'stdin', rights: 24582 }, { file_name: 'stderr', rights: 534084 }, { file_name: 'stdout', rights: 534084 },
  { file_name: '/services/', rights: 550470 },
];

let engine: ExecutionEngine;
let postcardNative: Uint8Array;
before(async () => {
  engine = new ExecutionEngine();
  postcardNative = await compileC(POSTCARD_NATIVE);
});
after(() => engine.close());

/** The error a host write to the special file gives. */
function serviceFailure(pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof VeracruzError);
    assert.equal(error.code, Code.InvalidRequest);
    assert.match(error.rawMessage, pattern);
    return true;
  };
}

describe('Postcard Service', () => {
  it('writes exactly the bytes serde_json writes (golden output of fixtures/serde-json-golden.rs)', () => {
    const request = encodePostcardRequest(GOLDEN_VALUES);
    assert.equal(postcardResultJson(parsePostcardRequest(request)!), GOLDEN_JSON);
    assert.equal(postcardResultJson(parsePostcardRequest(Uint8Array.of(0))!), '[]');
  });

  it('reads the postcard wire format byte by byte, and our encoder writes the same bytes', () => {
    const parsed = parsePostcardRequest(HAND_ASSEMBLED)!;
    assert.equal(postcardResultJson(parsed), HAND_ASSEMBLED_JSON);
    assert.deepEqual(encodePostcardRequest(parsed), HAND_ASSEMBLED);
    // Bytes after a complete vector are ignored, as postcard::from_bytes does.
    assert.equal(postcardResultJson(parsePostcardRequest(Uint8Array.of(...HAND_ASSEMBLED, 0xff, 0xff))!), HAND_ASSEMBLED_JSON);
  });

  it('formats f64 as serde_json (ryu) does: 20000 values against the Rust output\'s digest', () => {
    // The generator of fixtures/serde-json-golden.rs `floats`, step by step.
    const mask = (1n << 64n) - 1n;
    let x = 0x9e3779b97f4a7c15n;
    const view = new DataView(new ArrayBuffer(8));
    const values: string[] = [];
    for (let i = 0; i < 20000; i++) {
      x ^= (x << 13n) & mask;
      x ^= x >> 7n;
      x ^= (x << 17n) & mask;
      let value: number;
      switch (i % 4) {
        case 0:
          view.setBigUint64(0, x);
          value = view.getFloat64(0);
          break;
        case 1: value = Number(x >> 11n) / 2 ** 53; break;
        case 2: value = Number(`${(x >> 11n) % 1_000_000_007n}e${Number(x % 64n) - 32}`); break;
        default: value = (Number(x % 2_000_001n) - 1_000_000) / 1000;
      }
      values.push(formatJsonF64(value));
    }
    const digest = createHash('sha256').update(`[${values.join(',')}]`).digest('hex');
    assert.equal(digest, '8418486a0e6d83df943dede414eaceebda32c4b3ff221268825703e975ac0ae2');
  });

  it('serves a host write: the JSON replaces the result file each time', () => {
    const { root } = fileSystem();
    root.writeFile(SPECIAL_FILE, encodePostcardRequest(GOLDEN_VALUES));
    assert.equal(text(root.readFile(POSTCARD_RESULT_PATH)), GOLDEN_JSON);
    root.writeFile(SPECIAL_FILE, HAND_ASSEMBLED);
    assert.equal(text(root.readFile(POSTCARD_RESULT_PATH)), HAND_ASSEMBLED_JSON);
  });

  it('waits for a complete request', () => {
    const { root } = fileSystem();
    const request = encodePostcardRequest(GOLDEN_VALUES);
    for (let cut = 0; cut < request.length; cut++) assert.equal(parsePostcardRequest(request.subarray(0, cut)), undefined, `prefix of ${cut} bytes`);
    root.appendFile(SPECIAL_FILE, request.subarray(0, 100));
    assert.equal(root.exists(POSTCARD_RESULT_PATH), false);
    root.appendFile(SPECIAL_FILE, request.subarray(100));
    assert.equal(text(root.readFile(POSTCARD_RESULT_PATH)), GOLDEN_JSON);
    // A vector declaring more elements than its bytes could hold is incomplete, not an error.
    assert.equal(parsePostcardRequest(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 2, 0)), undefined);
  });

  it('refuses malformed requests with an error, writes nothing, and serves the next request', () => {
    // A Vec of one Struct3 whose e1 is ENUM2_1, up to the chars of its Struct1: u1-u3, f1-f3, i1-i3.
    const toChars = [1, 0, ...zeros(3 + 24 + 3)];
    const cases: [string, number[], RegExp][] = [
      ['unknown Enum2 variant', [1, 3], /Enum2 has no variant 3/],
      ['unknown Enum1 variant', [...toChars, 1, 0x61, 1, 0x62, 1, 0x63, 4], /Enum1 has no variant 4/],
      ['u16 overflow', [1, 2, 0xff, 0xff, 0x04], /varint overflows u16/],
      ['u16 varint too long', [1, 2, 0x80, 0x80, 0x80, 0x00], /varint of u16 longer than 3 bytes/],
      ['variant index overflowing u32', [1, 0xff, 0xff, 0xff, 0xff, 0x1f], /varint overflows u32/],
      ['char of 5 bytes', [...toChars, 5], /char of 5 bytes/],
      ['empty char', [...toChars, 0], /char of 0 bytes/],
      ['char that is not UTF-8', [...toChars, 1, 0xff], /char is not UTF-8/],
      ['char holding two characters', [...toChars, 2, 0x61, 0x62], /char holds more than one character/],
      ['vector length overflowing u64', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02], /varint overflows u64/],
    ];
    const { root } = fileSystem();
    for (const [what, bytes, reason] of cases) {
      assert.throws(() => parsePostcardRequest(Uint8Array.from(bytes)), reason, what);
      assert.throws(() => root.writeFile(SPECIAL_FILE, Uint8Array.from(bytes)), serviceFailure(/write \/services\/postcard_string\.dat: service failed: Postcard Service: malformed request/), what);
      assert.equal(root.exists(POSTCARD_RESULT_PATH), false, what);
    }
    root.writeFile(SPECIAL_FILE, HAND_ASSEMBLED);
    assert.equal(text(root.readFile(POSTCARD_RESULT_PATH)), HAND_ASSEMBLED_JSON);
  });

  it('writes its result with the writer\'s rights', () => {
    const { vfs } = fileSystem();
    const onlyTheSpecialFile = vfs.view([{ file_name: SPECIAL_FILE, rights: ALL_RIGHTS }]);
    assert.throws(() => onlyTheSpecialFile.writeFile(SPECIAL_FILE, HAND_ASSEMBLED), serviceFailure(/service failed: Postcard Service: .*\/services\/postcard_result\.dat/));
  });

  it('runs Veracruz\'s postcard-native example (in C) with the rights of single_client_postcard_native.json', async () => {
    const { vfs, root } = fileSystem();
    root.writeFile('/input/postcard.dat', encodePostcardRequest(GOLDEN_VALUES));
    const outcome = await engine.execute({ vfs, program: postcardNative, rights: VERACRUZ_PROGRAM_RIGHTS });
    assert.deepEqual(outcome, { kind: 'exited', exitCode: 0 }, text(root.readFile('stderr')));
    assert.equal(text(root.readFile('/output/postcard_native.txt')), GOLDEN_JSON);
    // A malformed input: the program's write() fails with ECANCELED and it says so.
    root.writeFile('/input/postcard.dat', Uint8Array.of(1, 3));
    const failed = await engine.execute({ vfs, program: postcardNative, rights: VERACRUZ_PROGRAM_RIGHTS });
    assert.deepEqual(failed, { kind: 'exited', exitCode: 3 });
    assert.match(text(root.readFile('stderr')), /postcard_string\.dat: Operation canceled/);
  });
});
