import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, VeracruzError } from './errors.ts';
import { readPemBlock, readPemBlocks, toPem } from './pem.ts';

const bytes = (length: number): Uint8Array => Uint8Array.from({ length }, (_, index) => (index * 7) & 0xff);
const refusedWith = (pattern: RegExp) => (error: unknown) =>
  error instanceof VeracruzError && error.code === Code.InvalidRequest && pattern.test(error.rawMessage);

describe('PEM', () => {
  it('round-trips DER through 64-column armour, large inputs included', () => {
    for (const length of [1, 48, 49, 200_000]) {
      const pem = toPem(bytes(length), 'CERTIFICATE');
      assert.ok(pem.split('\n').slice(1, -2).every((line) => line.length <= 64));
      assert.deepEqual(readPemBlock(pem, 'CERTIFICATE'), bytes(length));
    }
  });

  it('reads every block in order, skipping other labels unless strict', () => {
    const text = `${toPem(bytes(3), 'CERTIFICATE')}${toPem(bytes(5), 'PRIVATE KEY')}${toPem(bytes(4), 'CERTIFICATE')}`;
    assert.deepEqual(readPemBlocks(text).map((block) => [block.label, block.der.length]), [['CERTIFICATE', 3], ['PRIVATE KEY', 5], ['CERTIFICATE', 4]]);
    assert.deepEqual(readPemBlocks(text, { label: 'CERTIFICATE' }).map((block) => block.der.length), [3, 4]);
    assert.throws(() => readPemBlocks(text, { label: 'CERTIFICATE', strict: true, what: 'chain' }), refusedWith(/^chain: expected "CERTIFICATE" blocks, found BEGIN PRIVATE KEY$/));
  });

  it('ignores whitespace inside a body (one-line bodies included)', () => {
    const oneLine = toPem(bytes(100), 'CERTIFICATE').replace(/\n(?!-----END)/g, '').replace('-----END', '\n-----END');
    assert.deepEqual(readPemBlock(`\n  ${oneLine}  \n`, 'CERTIFICATE'), bytes(100));
  });

  it('refuses a body that is not base64, an empty body, and mismatched labels, naming the input', () => {
    assert.throws(() => readPemBlocks('-----BEGIN CERTIFICATE-----\nAB*D\n-----END CERTIFICATE-----', { what: 'policy' }), refusedWith(/^policy: block 0 \(CERTIFICATE\) is not base64$/));
    assert.throws(() => readPemBlocks('-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----'), refusedWith(/is not base64/));
    assert.throws(() => readPemBlocks('-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----'), refusedWith(/BEGIN CERTIFICATE ends with END PRIVATE KEY/));
  });

  it('refuses text outside the blocks when strict', () => {
    assert.throws(() => readPemBlocks(`junk\n${toPem(bytes(3), 'CERTIFICATE')}`, { strict: true }), refusedWith(/text outside the BEGIN\/END lines/));
    assert.equal(readPemBlocks(`junk\n${toPem(bytes(3), 'CERTIFICATE')}`).length, 1);
  });

  it('wants exactly one block from readPemBlock', () => {
    assert.throws(() => readPemBlock('nothing here', 'CERTIFICATE', 'ca.pem'), refusedWith(/^ca\.pem: no PEM "CERTIFICATE" block$/));
    assert.throws(() => readPemBlock(toPem(bytes(1), 'CERTIFICATE').repeat(2), 'CERTIFICATE', 'ca.pem'), refusedWith(/found 2/));
  });
});

describe('PEM framing', () => {
  it('refuses a BEGIN line without an END line, and a dash inside a body, instead of skipping the block', () => {
    const good = toPem(bytes(3), 'CERTIFICATE');
    assert.throws(() => readPemBlocks(`${good}-----BEGIN CERTIFICATE-----\nAAAA\n`), refusedWith(/BEGIN CERTIFICATE has no END line after its body/));
    assert.throws(() => readPemBlocks('-----BEGIN CERTIFICATE-----\nAA-A\n-----END CERTIFICATE-----\n'), refusedWith(/block 0 \(CERTIFICATE\) is not base64/));
  });

  it('refuses, when strict, an END line without a BEGIN line', () => {
    assert.throws(() => readPemBlocks(`-----END CERTIFICATE-----\n${toPem(bytes(3), 'CERTIFICATE')}`, { strict: true }), refusedWith(/text outside the BEGIN\/END lines/));
  });
});
