import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WireReader, WireType, WireWriter } from './wire.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replaceAll(' ', ''), 'hex'));
const write = (body: (writer: WireWriter) => unknown): string => {
  const writer = new WireWriter();
  body(writer);
  return hex(writer.finish());
};
/** A reader of `text` that must be read to its end by `body`. */
const read = <T>(text: string, body: (reader: WireReader) => T): T => {
  const reader = new WireReader(fromHex(text));
  const value = body(reader);
  assert.equal(reader.pos, reader.len, `${text} read to its end`);
  return value;
};

// Varints worked out by hand: seven bits a byte, least significant first, the high bit on all but the last.
const varints: [number, string][] = [
  [0, '00'],
  [1, '01'],
  [127, '7f'],
  [128, '80 01'],
  [300, 'ac 02'],
  [16_383, 'ff 7f'],
  [16_384, '80 80 01'],
  [2 ** 31 - 1, 'ff ff ff ff 07'],
  [2 ** 32 - 1, 'ff ff ff ff 0f'],
];
const varints64: [number, string][] = [
  [2 ** 32, '80 80 80 80 10'],
  [2 ** 35, '80 80 80 80 80 01'],
  [2 ** 53 - 1, 'ff ff ff ff ff ff ff 0f'],
];

describe('wire format varints', () => {
  it('writes and reads uint32 and uint64 values at every byte-length edge', () => {
    for (const [value, bytes] of varints) {
      const expected = bytes.replaceAll(' ', '');
      assert.equal(write((writer) => writer.uint32(value)), expected, `uint32 ${value}`);
      assert.equal(write((writer) => writer.uint64(value)), expected, `uint64 ${value}`);
      assert.equal(read(bytes, (reader) => reader.uint32()), value);
      assert.equal(read(bytes, (reader) => reader.uint64()), value);
    }
    for (const [value, bytes] of varints64) {
      assert.equal(write((writer) => writer.uint64(value)), bytes.replaceAll(' ', ''), `uint64 ${value}`);
      assert.equal(read(bytes, (reader) => reader.uint64()), value);
    }
  });

  it('refuses uint64 values above 2^53 - 1, naming the value, when reading and writing', () => {
    assert.throws(() => read('80 80 80 80 80 80 80 10', (reader) => reader.uint64()), { name: 'RangeError', message: 'uint64 9007199254740992 is too large' });
    assert.throws(() => read('ff ff ff ff ff ff ff ff ff 01', (reader) => reader.uint64('offset')), { message: 'offset 18446744073709551615 is too large' });
    for (const value of [2 ** 53, 2 ** 64, -1, 1.5, Number.NaN]) assert.throws(() => new WireWriter().uint64(value), RangeError, `uint64 ${value}`);
  });

  it('reads a uint32 from a longer varint as its low 32 bits, as protobuf does', () => {
    assert.equal(read('ff ff ff ff ff ff ff ff ff 01', (reader) => reader.uint32()), 2 ** 32 - 1);
    assert.equal(read('81 80 80 80 10', (reader) => reader.uint32()), 1);
    for (const value of [2 ** 32, -1, 0.5]) assert.throws(() => new WireWriter().uint32(value), RangeError, `uint32 ${value}`);
  });

  it('writes a negative int32 as 10 bytes, sign-extended, and reads it back', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [1, '01'],
      [2 ** 31 - 1, 'ff ff ff ff 07'],
      [-1, 'ff ff ff ff ff ff ff ff ff 01'],
      [-2, 'fe ff ff ff ff ff ff ff ff 01'],
      [-(2 ** 31), '80 80 80 80 f8 ff ff ff ff 01'],
    ];
    for (const [value, bytes] of cases) {
      assert.equal(write((writer) => writer.int32(value)), bytes.replaceAll(' ', ''), `int32 ${value}`);
      assert.equal(read(bytes, (reader) => reader.int32()), value);
    }
    // A negative int32 some writers put in 5 bytes (not sign-extended) reads the same.
    assert.equal(read('ff ff ff ff 0f', (reader) => reader.int32()), -1);
    for (const value of [2 ** 31, -(2 ** 31) - 1, 0.5]) assert.throws(() => new WireWriter().int32(value), RangeError, `int32 ${value}`);
  });

  it('writes bools as 0 and 1, and reads any non-zero varint as true', () => {
    assert.equal(write((writer) => writer.bool(true).bool(false)), '0100');
    assert.equal(read('01', (reader) => reader.bool()), true);
    assert.equal(read('00', (reader) => reader.bool()), false);
    assert.equal(read('02', (reader) => reader.bool()), true);
    assert.equal(read('80 00', (reader) => reader.bool()), false);
    assert.equal(read('80 80 80 80 10', (reader) => reader.bool()), true);
  });

  it('refuses a varint longer than 10 bytes, or cut short', () => {
    const overlong = `${'80 '.repeat(10)}00`;
    assert.throws(() => read(overlong, (reader) => reader.uint32()), /longer than 10 bytes/);
    assert.throws(() => read(overlong, (reader) => reader.uint64()), /longer than 10 bytes/);
    assert.throws(() => read(overlong, (reader) => reader.skip(WireType.Varint)), /longer than 10 bytes/);
    for (const cut of ['', '80', 'ff ff ff ff ff ff ff ff ff']) {
      const reads: ((reader: WireReader) => unknown)[] = [(reader) => reader.uint32(), (reader) => reader.int32(), (reader) => reader.uint64(), (reader) => reader.bool()];
      for (const readOne of reads) {
        assert.throws(() => read(cut, readOne), { name: 'RangeError', message: /premature end/ }, `'${cut}'`);
      }
    }
  });
});

describe('wire format tags, bytes and strings', () => {
  it('writes and reads tags', () => {
    assert.equal(write((writer) => writer.tag(1, WireType.Varint)), '08');
    assert.equal(write((writer) => writer.tag(16, WireType.LengthDelimited)), '8201');
    assert.equal(write((writer) => writer.tag(2 ** 29 - 1, WireType.Bit32)), 'fdffffff0f');
    assert.deepEqual(read('08', (reader) => reader.tag()), [1, WireType.Varint]);
    assert.deepEqual(read('82 01', (reader) => reader.tag()), [16, WireType.LengthDelimited]);
    assert.deepEqual(read('fd ff ff ff 0f', (reader) => reader.tag()), [2 ** 29 - 1, WireType.Bit32]);
    for (const field of [0, 2 ** 29, 1.5]) assert.throws(() => new WireWriter().tag(field, WireType.Varint), RangeError, `field ${field}`);
  });

  it('refuses field 0, wire types 6 and 7, and tags beyond 32 bits', () => {
    assert.throws(() => read('02', (reader) => reader.tag()), /field no 0/);
    assert.throws(() => read('0e', (reader) => reader.tag()), /wire type 6/);
    assert.throws(() => read('0f', (reader) => reader.tag()), /wire type 7/);
    assert.throws(() => read('88 80 80 80 10', (reader) => reader.tag()), /overflows uint32/);
    assert.throws(() => read('88 80 80 80 80 00', (reader) => reader.tag()), /overflows uint32/);
  });

  it('writes and reads length-delimited bytes and UTF-8 strings', () => {
    assert.equal(write((writer) => writer.bytes(new Uint8Array([1, 2, 3])).bytes(new Uint8Array(0))), '0301020300');
    assert.equal(write((writer) => writer.string('aü€')), '0661c3bce282ac');
    assert.equal(write((writer) => writer.string('')), '00');
    assert.equal(write((writer) => writer.string('a'.repeat(200))).slice(0, 6), 'c80161');
    assert.equal(read('06 61 c3 bc e2 82 ac', (reader) => reader.string()), 'aü€');
    assert.equal(read('03 01 02 03', (reader) => hex(reader.bytes())), '010203');
    assert.equal(read('00', (reader) => reader.bytes().length), 0);
  });

  it('reads bytes as a view of the message, not a copy', () => {
    const message = fromHex('03 01 02 03');
    const bytes = new WireReader(message).bytes();
    assert.equal(bytes.buffer, message.buffer);
    assert.equal(bytes.byteOffset, 1);
  });

  it('decodes invalid UTF-8 as U+FFFD, keeps a leading U+FEFF, and writes a lone surrogate as U+FFFD', () => {
    assert.equal(read('03 61 ff 62', (reader) => reader.string()), 'a\ufffdb');
    assert.equal(read('03 ef bb bf', (reader) => reader.string()), '\ufeff');
    assert.equal(write((writer) => writer.string('\ud800')), '03efbfbd');
  });

  it('refuses a length that runs past the end, or beyond 32 bits', () => {
    assert.throws(() => read('04 01 02 03', (reader) => reader.bytes()), /premature end/);
    assert.throws(() => read('04 61 62 63', (reader) => reader.string()), /premature end/);
    assert.throws(() => read('ff ff ff ff 0f 00', (reader) => reader.bytes()), /premature end/);
    // 2^32: its low 32 bits are 0, but it is a length no message here has.
    assert.throws(() => read('80 80 80 80 10', (reader) => reader.bytes()), /premature end/);
  });
});

describe('wire format skipping', () => {
  // One field of each wire type, then field 15 (varint 1) to show where skipping stopped.
  const fields: [string, WireType, string][] = [
    ['varint', WireType.Varint, '08 ac 02'],
    ['10-byte varint', WireType.Varint, '08 ff ff ff ff ff ff ff ff ff 01'],
    ['fixed64', WireType.Bit64, '11 01 02 03 04 05 06 07 08'],
    ['length-delimited', WireType.LengthDelimited, '1a 03 61 62 63'],
    ['group', WireType.StartGroup, '23 08 01 1a 01 61 24'],
    ['nested groups', WireType.StartGroup, '23 2b 08 01 2c 33 34 24'],
    ['empty group', WireType.StartGroup, '23 24'],
    ['fixed32', WireType.Bit32, '2d 01 02 03 04'],
  ];

  it('skips a field of every wire type', () => {
    for (const [name, wireType, bytes] of fields) {
      const reader = new WireReader(fromHex(`${bytes} 78 01`));
      const [field, type] = reader.tag();
      assert.equal(type, wireType, name);
      reader.skip(type, field);
      assert.deepEqual(reader.tag(), [15, WireType.Varint], name);
      assert.equal(reader.uint32(), 1);
      assert.equal(reader.pos, reader.len);
    }
  });

  it('refuses a group closed by another field, an end with no start, and groups nested too deeply', () => {
    assert.throws(() => read('23 08 01 2c', (reader) => reader.skip(WireType.StartGroup, reader.tag()[0])), /invalid end group tag/);
    assert.throws(() => read('24', (reader) => reader.skip(reader.tag()[1])), /cannot skip wire type 4/);
    const deep = (depth: number): string => `${'0b '.repeat(depth)}${'0c '.repeat(depth)}`;
    assert.doesNotThrow(() => read(deep(100), (reader) => reader.skip(WireType.StartGroup, reader.tag()[0])));
    assert.throws(() => read(deep(101), (reader) => reader.skip(WireType.StartGroup, reader.tag()[0])), /maximum recursion depth/);
  });

  it('refuses a field of every wire type cut short at every byte', () => {
    for (const [name, , bytes] of fields) {
      const whole = fromHex(bytes);
      for (let cut = 1; cut < whole.length; cut++) {
        const reader = new WireReader(whole.subarray(0, cut));
        assert.throws(() => {
          const [field, type] = reader.tag();
          reader.skip(type, field);
        }, /premature end/, `${name} cut at ${cut}`);
      }
    }
  });
});

describe('wire format messages', () => {
  /** A message with a field of each kind the protocol uses, and an embedded message. */
  const writeSample = (writer: WireWriter): WireWriter => {
    writer.tag(1, WireType.Varint).uint64(2 ** 40);
    writer.tag(2, WireType.LengthDelimited).string('/input/ü');
    writer.tag(3, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).bytes(new Uint8Array([9, 8, 7]));
    writer.tag(2, WireType.Varint).int32(-5);
    writer.tag(3, WireType.Varint).bool(true);
    writer.join();
    return writer.tag(4, WireType.Varint).uint32(300);
  };
  const readSample = (reader: WireReader): unknown[] => {
    const values: unknown[] = [];
    const expect = (field: number, wireType: WireType): void => assert.deepEqual(reader.tag(), [field, wireType]);
    expect(1, WireType.Varint);
    values.push(reader.uint64());
    expect(2, WireType.LengthDelimited);
    values.push(reader.string());
    expect(3, WireType.LengthDelimited);
    const inner = new WireReader(reader.bytes());
    assert.deepEqual(inner.tag(), [1, WireType.LengthDelimited]);
    values.push(hex(inner.bytes()));
    assert.deepEqual(inner.tag(), [2, WireType.Varint]);
    values.push(inner.int32());
    assert.deepEqual(inner.tag(), [3, WireType.Varint]);
    values.push(inner.bool());
    assert.equal(inner.pos, inner.len);
    expect(4, WireType.Varint);
    values.push(reader.uint32());
    return values;
  };
  const sample = `08 80 80 80 80 80 20 12 09 ${Buffer.from('/input/ü').toString('hex')} 1a 12 0a 03 09 08 07 10 fb ff ff ff ff ff ff ff ff 01 18 01 20 ac 02`;

  it('writes a sample message byte for byte and reads it back', () => {
    assert.equal(hex(writeSample(new WireWriter()).finish()), sample.replaceAll(' ', ''));
    assert.deepEqual(read(sample, readSample), [2 ** 40, '/input/ü', '090807', -5, true, 300]);
  });

  it('refuses the sample message cut short at every byte', () => {
    const whole = fromHex(sample);
    for (let cut = 0; cut < whole.length; cut++) {
      assert.throws(() => readSample(new WireReader(whole.subarray(0, cut))), /premature end/, `cut at ${cut}`);
    }
  });

  it('writes embedded messages of every length-prefix size, nested, growing the buffer', () => {
    for (const size of [0, 1, 127, 128, 16_383, 16_384, 1 << 21]) {
      const content = new Uint8Array(size).map((_, index) => index);
      const writer = new WireWriter().tag(1, WireType.Varint).uint32(7);
      writer.tag(2, WireType.LengthDelimited).fork();
      writer.tag(3, WireType.LengthDelimited).fork().bytes(content).join();
      writer.join().tag(4, WireType.Varint).bool(true);
      const reader = new WireReader(writer.finish());
      assert.deepEqual([reader.tag(), reader.uint32(), reader.tag()], [[1, 0], 7, [2, 2]]);
      const outer = new WireReader(reader.bytes());
      assert.deepEqual(outer.tag(), [3, WireType.LengthDelimited]);
      const inner = new WireReader(outer.bytes());
      assert.deepEqual(inner.bytes(), content, `${size} bytes`);
      assert.equal(inner.pos, inner.len);
      assert.equal(outer.pos, outer.len);
      assert.deepEqual([reader.tag(), reader.bool()], [[4, 0], true]);
      assert.equal(reader.pos, reader.len);
    }
  });

  it('finishes with a new array and starts again empty; refuses an unmatched join or an open fork', () => {
    const writer = new WireWriter().uint32(1);
    const first = writer.finish();
    assert.equal(first.buffer.byteLength, 1);
    assert.equal(hex(writer.uint32(2).finish()), '02');
    assert.equal(hex(first), '01');
    assert.equal(new WireWriter().finish().length, 0);
    assert.throws(() => new WireWriter().join(), /join\(\) without fork\(\)/);
    assert.throws(() => new WireWriter().fork().finish(), /not joined/);
  });
});
