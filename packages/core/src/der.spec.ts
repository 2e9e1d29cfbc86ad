import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  contextTag,
  decodeDer,
  decodeDerSequence,
  derChildren,
  DerReader,
  DerTag,
  encodeBitString,
  encodeBoolean,
  encodeContext,
  encodeInteger,
  encodeNamedBits,
  encodeNull,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeSetOf,
  encodeString,
  encodeTime,
  encodeTlv,
  encodeUnsignedInteger,
  readBitString,
  readBitStringOctets,
  readBoolean,
  readInteger,
  readIntegerBytes,
  readNamedBits,
  readNaturalNumber,
  readNull,
  readOctetString,
  readOid,
  readString,
  readTime,
} from './der.ts';
import { Code, VeracruzError } from './errors.ts';

const hex = (text: string) => Uint8Array.from(text.replace(/\s+/g, '').match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function refused(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidRequest && pattern.test(error.rawMessage);
}

describe('decodeDer', () => {
  it('reads short and long definite lengths, keeping views on the input', () => {
    const short = decodeDer(hex('04 03 010203'));
    assert.equal(short.tag, DerTag.OctetString);
    assert.deepEqual([...short.value], [1, 2, 3]);
    assert.equal(short.valueOffset, 2);
    const long = new Uint8Array(3 + 200);
    long.set([0x04, 0x81, 200]);
    assert.equal(decodeDer(long).value.length, 200);
    const longer = new Uint8Array(4 + 300);
    longer.set([0x04, 0x82, 0x01, 0x2c]);
    assert.equal(decodeDer(longer).value.length, 300);
    assert.equal(decodeDer(longer).value.buffer, longer.buffer, 'a view, not a copy');
  });

  it('refuses truncation and trailing bytes, saying how long the encoding claims to be', () => {
    assert.throws(() => decodeDer(hex('04 03 0102'), 'blob'), refused(/^blob: its encoding says 5 bytes but 4 were given$/));
    assert.throws(() => decodeDer(hex('04 03 010203 00')), refused(/^DER: its encoding says 5 bytes but 6 were given$/));
    assert.throws(() => decodeDer(hex('30 82 01')), refused(/truncated in its length \(at byte 0\)/));
    assert.throws(() => decodeDer(hex('30')), refused(/truncated before its length/));
    assert.throws(() => decodeDer(new Uint8Array(0)), refused(/missing: the input ends here/));
  });

  it("refuses BER's indefinite length, non-minimal lengths and absurd lengths", () => {
    assert.throws(() => decodeDer(hex('30 80 0000')), refused(/indefinite length \(BER, not DER\) \(at byte 0\)/));
    assert.throws(() => decodeDer(hex('04 81 05 0102030405')), refused(/length 5 in the long form \(not DER\)/));
    assert.throws(() => decodeDer(hex('04 82 0005 0102030405')), refused(/length with a leading zero octet/));
    assert.throws(() => decodeDer(hex('04 85 0100000000')), refused(/5-octet length, more than 4/));
    assert.throws(() => decodeDer(hex('04 ff')), refused(/127-octet length/));
  });

  it('refuses the high tag number form', () => {
    assert.throws(() => decodeDer(hex('1f 81 00 00')), refused(/high tag number form/));
  });

  it('splits concatenated elements and refuses a truncated last one', () => {
    const parts = decodeDerSequence(hex('0401aa 0402bbcc'));
    assert.deepEqual(parts.map((part) => [part.offset, toHex(part.value)]), [[0, 'aa'], [3, 'bbcc']]);
    assert.throws(() => decodeDerSequence(hex('0401aa 0402bb')), refused(/^DER\[1\]: 2 content bytes announced but only 1 remain \(at byte 3\)$/));
  });
});

describe('DerReader', () => {
  const structure = decodeDer(encodeSequence(encodeInteger(5), encodeContext(0, encodeBoolean(true)), encodeOctetString(hex('ff'))));

  it('walks fields in order with their tags, optional fields and the end', () => {
    const reader = new DerReader(structure, 'thing');
    assert.equal(readInteger(reader.next(DerTag.Integer, 'count'), 'count'), 5n);
    assert.equal(reader.optional(contextTag(1), 'skipped'), undefined);
    const tagged = reader.optional(contextTag(0), 'flag');
    assert.ok(tagged !== undefined);
    assert.equal(readBoolean(new DerReader(tagged, 'flag').next(DerTag.Boolean, 'value'), 'flag'), true);
    assert.equal(reader.peekTag(), DerTag.OctetString);
    assert.deepEqual([...readOctetString(reader.any('data'), 'data')], [0xff]);
    assert.equal(reader.done, true);
    reader.end();
  });

  it('names the field and byte of a wrong tag, a missing field and leftovers', () => {
    const wrong = new DerReader(structure, 'thing');
    assert.throws(() => wrong.next(DerTag.Sequence, 'inner'), refused(/^thing\.inner: INTEGER where SEQUENCE was expected \(at byte 2\)$/));
    const short = new DerReader(structure, 'thing');
    short.any('a');
    short.any('b');
    short.any('c');
    assert.throws(() => short.next(DerTag.Integer, 'd'), refused(/^thing\.d: missing \(expected INTEGER\) \(at byte \d+\)$/));
    const leftover = new DerReader(structure, 'thing');
    leftover.any('a');
    assert.throws(() => leftover.end(), refused(/^thing: 8 unexpected bytes after the last field \(at byte 5\)$/));
    assert.throws(() => new DerReader(decodeDer(hex('0400')), 'x'), refused(/primitive OCTET STRING where a constructed element was expected/));
  });

  it('refuses a child whose length runs past its parent, even when the input goes on', () => {
    // A SEQUENCE of 3 bytes whose child claims 5: the INTEGER after the SEQUENCE must not be borrowed.
    const [outer] = decodeDerSequence(hex('3003 040501 02020100'));
    assert.throws(() => derChildren(outer!, 'outer'), refused(/^outer\.\[0\]: 5 content bytes announced but only 1 remain \(at byte 2\)$/));
  });
});

describe('primitive values', () => {
  it('reads INTEGERs, refusing empty and non-minimal encodings', () => {
    const int = (text: string) => decodeDer(hex(text));
    assert.equal(readInteger(int('020100'), 'n'), 0n);
    assert.equal(readInteger(int('02017f'), 'n'), 127n);
    assert.equal(readInteger(int('02020080'), 'n'), 128n);
    assert.equal(readInteger(int('0201ff'), 'n'), -1n);
    assert.equal(readInteger(int('020180'), 'n'), -128n);
    assert.equal(readInteger(int('0209 00ffffffffffffffff'), 'n'), 2n ** 64n - 1n);
    assert.equal(readNaturalNumber(int('02020100'), 'n'), 256);
    assert.deepEqual([...readIntegerBytes(int('02020080'), 'n')], [0, 0x80]);
    assert.throws(() => readInteger(int('0200'), 'n'), refused(/^n: INTEGER has no content octets/));
    assert.throws(() => readInteger(int('02020001'), 'n'), refused(/^n: INTEGER is not minimally encoded/));
    assert.throws(() => readInteger(int('0202ff80'), 'n'), refused(/not minimally encoded/));
    assert.throws(() => readNaturalNumber(int('0201ff'), 'n'), refused(/-1 is out of range/));
    assert.throws(() => readNaturalNumber(int('0208 7fffffffffffffff'), 'n'), refused(/out of range/));
    assert.throws(() => readInteger(int('0a0101'), 'n'), refused(/ENUMERATED where INTEGER was expected/));
    assert.equal(readInteger(int('0a0101'), 'n', DerTag.Enumerated), 1n);
  });

  it('reads BOOLEAN and NULL as DER has them', () => {
    assert.equal(readBoolean(decodeDer(hex('0101ff')), 'b'), true);
    assert.equal(readBoolean(decodeDer(hex('010100')), 'b'), false);
    assert.throws(() => readBoolean(decodeDer(hex('010101')), 'b'), refused(/neither 00 nor FF/));
    assert.throws(() => readBoolean(decodeDer(hex('0102ffff')), 'b'), refused(/2 content octets, expected 1/));
    assert.equal(readNull(decodeDer(hex('0500')), 'n'), null);
    assert.throws(() => readNull(decodeDer(hex('050100')), 'n'), refused(/NULL has content octets/));
  });

  it('reads BIT STRINGs, refusing bad unused-bit counts and set unused bits', () => {
    assert.deepEqual(readBitString(decodeDer(hex('03 03 06 aa c0')), 'b'), { bytes: hex('aac0'), unusedBits: 6 });
    assert.deepEqual(readBitString(decodeDer(hex('0301 00')), 'b'), { bytes: new Uint8Array(0), unusedBits: 0 });
    assert.throws(() => readBitString(decodeDer(hex('0300')), 'b'), refused(/no content octets/));
    assert.throws(() => readBitString(decodeDer(hex('0302 08ff')), 'b'), refused(/8 unused bits, more than 7/));
    assert.throws(() => readBitString(decodeDer(hex('0301 01')), 'b'), refused(/empty BIT STRING with unused bits/));
    assert.throws(() => readBitString(decodeDer(hex('0302 01ff')), 'b'), refused(/unused bits that are not zero/));
    assert.throws(() => readBitStringOctets(decodeDer(hex('0302 0180')), 'b'), refused(/where whole octets are expected/));
    assert.throws(() => readBitString(decodeDer(hex('2303 030100')), 'b'), refused(/\[3\]|tag 0x23|where BIT STRING was expected/));
  });

  it('reads and writes named bits (keyUsage) with bit 0 first', () => {
    assert.equal(readNamedBits(decodeDer(hex('03020780')), 'ku'), 1);
    assert.equal(readNamedBits(decodeDer(hex('03020106')), 'ku'), 32 | 64);
    assert.equal(readNamedBits(decodeDer(hex('03030780 80')), 'ku'), 1 | 256);
    assert.equal(toHex(encodeNamedBits(1)), '03020780');
    assert.equal(toHex(encodeNamedBits(32 | 64)), '03020106');
    assert.equal(toHex(encodeNamedBits(1 | 32)), '03020284');
    assert.equal(toHex(encodeNamedBits(1 | 256)), '0303078080');
    assert.equal(toHex(encodeNamedBits(0)), '030100');
    for (const bits of [1, 2, 5, 96, 255, 256, 511]) assert.equal(readNamedBits(decodeDer(encodeNamedBits(bits)), 'ku'), bits);
  });

  it('reads OBJECT IDENTIFIERs, large arcs included, refusing non-minimal and unfinished arcs', () => {
    assert.equal(readOid(decodeDer(hex('06 08 2a8648ce3d040302')), 'o'), '1.2.840.10045.4.3.2');
    assert.equal(readOid(decodeDer(hex('0603 551e01')), 'o'), '2.5.30.1');
    assert.equal(readOid(decodeDer(hex('0601 00')), 'o'), '0.0');
    assert.equal(readOid(decodeDer(hex('0602 8837')), 'o'), '2.999');
    const uuid = '2.25.329800735698586629295641978511506172918';
    assert.equal(readOid(decodeDer(encodeOid(uuid)), 'o'), uuid);
    assert.throws(() => readOid(decodeDer(hex('0600')), 'o'), refused(/no content octets/));
    assert.throws(() => readOid(decodeDer(hex('0602 2a86')), 'o'), refused(/ends inside an arc/));
    assert.throws(() => readOid(decodeDer(hex('0603 2a8001')), 'o'), refused(/leading 0x80 octet/));
  });

  it('writes OBJECT IDENTIFIERs and refuses text that is not one', () => {
    assert.equal(toHex(encodeOid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
    assert.equal(toHex(encodeOid('2.999')), '06028837');
    for (const text of ['1', '1.2.', '3.1', '1.40', '1.02', 'a.b']) assert.throws(() => encodeOid(text), RangeError, text);
  });

  it('reads UTCTime and GeneralizedTime in the one form RFC 5280 allows', () => {
    const time = (tag: number, text: string) => decodeDer(encodeTlv(tag, new TextEncoder().encode(text)));
    assert.equal(readTime(time(DerTag.UtcTime, '491231235959Z'), 't').toISOString(), '2049-12-31T23:59:59.000Z');
    assert.equal(readTime(time(DerTag.UtcTime, '500101000000Z'), 't').toISOString(), '1950-01-01T00:00:00.000Z');
    assert.equal(readTime(time(DerTag.GeneralizedTime, '20500101000000Z'), 't').toISOString(), '2050-01-01T00:00:00.000Z');
    assert.equal(readTime(time(DerTag.UtcTime, '240229120000Z'), 't').toISOString(), '2024-02-29T12:00:00.000Z');
    for (const text of ['2401011200Z', '240101120000', '240101120000+0100', '240101120000.5Z', '241301000000Z', '230229000000Z', '240101240000Z', '24010112006aZ']) {
      assert.throws(() => readTime(time(DerTag.UtcTime, text), 't'), refused(/^t: /), text);
    }
    assert.throws(() => readTime(time(DerTag.GeneralizedTime, '20240101120000.123Z'), 't'), refused(/not YYYYMMDDHHMMSSZ/));
    assert.throws(() => readTime(decodeDer(hex('0400')), 't'), refused(/OCTET STRING where UTCTime or GeneralizedTime was expected/));
  });

  it('writes times as UTCTime until 2049 and GeneralizedTime after, in whole seconds', () => {
    assert.equal(Buffer.from(decodeDer(encodeTime(new Date('2026-01-02T03:04:05.678Z'))).value).toString(), '260102030405Z');
    assert.equal(decodeDer(encodeTime(new Date('2049-12-31T23:59:59Z'))).tag, DerTag.UtcTime);
    assert.equal(Buffer.from(decodeDer(encodeTime(new Date('2050-01-01T00:00:00Z'))).value).toString(), '20500101000000Z');
    assert.equal(decodeDer(encodeTime(new Date('1949-12-31T23:59:59Z'))).tag, DerTag.GeneralizedTime);
    assert.throws(() => encodeTime(new Date(Number.NaN)), RangeError);
    for (const date of [new Date('1999-03-04T05:06:07Z'), new Date('2100-01-01T00:00:00Z')]) assert.equal(readTime(decodeDer(encodeTime(date)), 't').getTime(), date.getTime());
  });

  it('reads the character strings of names, refusing what their types cannot hold', () => {
    const string = (tag: number, bytes: Uint8Array) => readString(decodeDer(encodeTlv(tag, bytes)), 's');
    assert.equal(string(DerTag.Utf8String, new TextEncoder().encode('héllo 😀')), 'héllo 😀');
    assert.equal(string(DerTag.Utf8String, hex('efbbbf41')), '\ufeffA', 'a BOM is content, not stripped');
    assert.throws(() => string(DerTag.Utf8String, hex('c3')), refused(/not valid UTF-8/));
    assert.equal(string(DerTag.PrintableString, new TextEncoder().encode('Texas')), 'Texas');
    assert.throws(() => string(DerTag.PrintableString, hex('e9')), refused(/byte above 0x7f/));
    assert.equal(string(DerTag.TeletexString, hex('41e9')), 'Aé');
    assert.equal(string(DerTag.BmpString, hex('004100e9')), 'Aé');
    assert.throws(() => string(DerTag.BmpString, hex('0041 00')), refused(/odd number of octets/));
    assert.equal(string(DerTag.UniversalString, hex('00000041 0001f600')), 'A😀');
    assert.throws(() => string(DerTag.UniversalString, hex('00110000')), refused(/not a character/));
    assert.throws(() => string(DerTag.UniversalString, hex('000041')), refused(/multiple of 4/));
    assert.throws(() => string(0x12, hex('31')), refused(/tag 0x12 is not a character string/));
  });
});

describe('writer', () => {
  it('writes the shortest lengths', () => {
    assert.equal(toHex(encodeOctetString(new Uint8Array(127))).slice(0, 4), '047f');
    assert.equal(toHex(encodeOctetString(new Uint8Array(128))).slice(0, 6), '048180');
    assert.equal(toHex(encodeOctetString(new Uint8Array(256))).slice(0, 8), '04820100');
    assert.equal(toHex(encodeOctetString(new Uint8Array(65536))).slice(0, 10), '0483010000');
  });

  it('writes INTEGERs in their shortest two’s complement, and serial magnitudes as positive', () => {
    const cases: [bigint | number, string][] = [[0, '020100'], [127, '02017f'], [128, '02020080'], [-1, '0201ff'], [-128, '020180'], [-129, '0202ff7f'], [256, '02020100'], [2n ** 64n, '0209010000000000000000']];
    for (const [value, expected] of cases) {
      assert.equal(toHex(encodeInteger(value)), expected, String(value));
      assert.equal(readInteger(decodeDer(encodeInteger(value)), 'n'), BigInt(value));
    }
    assert.equal(toHex(encodeUnsignedInteger(hex('ad08'))), '020300ad08');
    assert.equal(toHex(encodeUnsignedInteger(hex('0000 01'))), '020101');
    assert.equal(toHex(encodeUnsignedInteger(hex('00'))), '020100');
  });

  it('writes BOOLEAN, NULL, BIT STRING and refuses set unused bits', () => {
    assert.equal(toHex(encodeBoolean(true)), '0101ff');
    assert.equal(toHex(encodeBoolean(false)), '010100');
    assert.equal(toHex(encodeNull()), '0500');
    assert.equal(toHex(encodeBitString(hex('a0'), 5)), '030205a0');
    assert.throws(() => encodeBitString(hex('a1'), 5), RangeError);
    assert.throws(() => encodeBitString(new Uint8Array(0), 1), RangeError);
  });

  it('sorts SET OF members by their encodings', () => {
    const set = encodeSetOf(encodeInteger(300), encodeInteger(2), encodeOctetString(hex('00')));
    assert.deepEqual(derChildren(decodeDer(set), 's').map((item) => toHex(item.der)), ['020102', '0202012c', '040100']);
  });

  it('writes strings its type can hold, and only those', () => {
    assert.equal(toHex(encodeString(DerTag.PrintableString, 'US')), '13025553');
    assert.equal(toHex(encodeString(DerTag.Utf8String, 'é')), '0c02c3a9');
    assert.throws(() => encodeString(DerTag.PrintableString, 'a@b'), RangeError);
    assert.throws(() => encodeString(DerTag.Ia5String, 'é'), RangeError);
    assert.throws(() => encodeTlv(0x1f, new Uint8Array(0)), RangeError);
  });

  it('round-trips a nested structure through the reader', () => {
    const der = encodeSequence(encodeOid('1.2.3'), encodeContext(2, Uint8Array.of(7), false), encodeSetOf(encodeNull()));
    const reader = new DerReader(decodeDer(der), 'x');
    assert.equal(readOid(reader.next(DerTag.ObjectIdentifier, 'oid'), 'oid'), '1.2.3');
    assert.deepEqual([...reader.next(contextTag(2, false), 'implicit').value], [7]);
    assert.equal(derChildren(reader.next(DerTag.Set, 'set'), 'set').length, 1);
    reader.end();
  });
});
