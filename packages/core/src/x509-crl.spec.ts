import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeBitString, encodeBoolean, encodeContext, encodeInteger, encodeOctetString, encodeOid, encodeSequence, encodeTime } from './der.ts';
import { Code, VeracruzError } from './errors.ts';
import { parseX509Crl } from './x509-crl.ts';
import { encodeName } from './x509-builder.ts';

function refused(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidRequest && pattern.test(error.rawMessage);
}

const ECDSA_SHA256 = encodeSequence(encodeOid('1.2.840.10045.4.3.2'));
const thisUpdate = encodeTime(new Date('2025-06-19T10:00:00Z'));
const nextUpdate = encodeTime(new Date('2025-07-19T10:00:00Z'));
const crlNumber = encodeSequence(encodeOid('2.5.29.20'), encodeOctetString(encodeInteger(1)));
const entry = (serial: number, extensions?: Uint8Array) => encodeSequence(encodeInteger(serial), thisUpdate, ...(extensions === undefined ? [] : [extensions]));

/** A CRL assembled field by field (its signature is not meant to verify). */
function assemble(fields: { version?: Uint8Array | null; tbsAlgorithm?: Uint8Array; next?: Uint8Array | null; revoked?: Uint8Array | null; extensions?: Uint8Array | null } = {}): Uint8Array {
  const version = fields.version === undefined ? encodeInteger(1) : fields.version;
  const next = fields.next === undefined ? nextUpdate : fields.next;
  const revoked = fields.revoked === undefined ? encodeSequence(entry(0x1234), entry(0x80, encodeSequence(encodeSequence(encodeOid('2.5.29.21'), encodeOctetString(Uint8Array.of(10, 1, 1)))))) : fields.revoked;
  const extensions = fields.extensions === undefined ? encodeContext(0, encodeSequence(crlNumber)) : fields.extensions;
  const tbs = encodeSequence(
    ...(version === null ? [] : [version]),
    fields.tbsAlgorithm ?? ECDSA_SHA256,
    encodeName('CN=Intel SGX PCK Platform CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US'),
    thisUpdate,
    ...(next === null ? [] : [next]),
    ...(revoked === null ? [] : [revoked]),
    ...(extensions === null ? [] : [extensions]),
  );
  return encodeSequence(tbs, ECDSA_SHA256, encodeBitString(new Uint8Array(8)));
}

describe('parseX509Crl', () => {
  it('reads the issuer, update times, revoked serials and extensions', () => {
    const crl = parseX509Crl(assemble());
    assert.equal(crl.version, 2);
    assert.equal(crl.issuer, 'CN=Intel SGX PCK Platform CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US');
    assert.equal(crl.thisUpdate.toISOString(), '2025-06-19T10:00:00.000Z');
    assert.equal(crl.nextUpdate?.toISOString(), '2025-07-19T10:00:00.000Z');
    assert.deepEqual(crl.revoked.map((revoked) => revoked.serialNumber), ['1234', '0080']);
    assert.deepEqual(crl.revoked[1]?.extensions.map((extension) => extension.oid), ['2.5.29.21']);
    assert.deepEqual(crl.extensions.map((extension) => extension.oid), ['2.5.29.20']);
    assert.equal(crl.signatureAlgorithm.oid, '1.2.840.10045.4.3.2');
    assert.deepEqual(crl.signature, new Uint8Array(8));
  });

  it('reads a version 1 CRL without nextUpdate or revoked certificates', () => {
    const crl = parseX509Crl(assemble({ version: null, next: null, revoked: null, extensions: null }));
    assert.equal(crl.version, 1);
    assert.equal(crl.nextUpdate, undefined);
    assert.deepEqual(crl.revoked, []);
  });

  it('refuses truncation, trailing bytes and BER', () => {
    const der = assemble();
    assert.throws(() => parseX509Crl(der.subarray(0, der.length - 1)), refused(/^its encoding says/));
    assert.throws(() => parseX509Crl(Uint8Array.of(...der, 0)), refused(/^its encoding says/));
    const indefinite = Uint8Array.from(der);
    indefinite[1] = 0x80;
    assert.throws(() => parseX509Crl(indefinite), refused(/indefinite length/));
  });

  it('refuses a version other than 2, extensions in version 1 and differing signature algorithms', () => {
    assert.throws(() => parseX509Crl(assemble({ version: encodeInteger(2) })), refused(/^tbsCertList\.version: version 3 is not 2/));
    assert.throws(() => parseX509Crl(assemble({ version: null })), refused(/entry extensions in a version 1 CRL/));
    assert.throws(() => parseX509Crl(assemble({ version: null, revoked: null })), refused(/^tbsCertList\.crlExtensions: present in a version 1 CRL/));
    assert.throws(() => parseX509Crl(assemble({ tbsAlgorithm: encodeSequence(encodeOid('1.2.840.10045.4.3.3')) })), refused(/^tbsCertList\.signature: differs from signatureAlgorithm/));
  });

  it('refuses malformed entries and extensions, naming them', () => {
    assert.throws(() => parseX509Crl(assemble({ revoked: encodeSequence(encodeSequence(encodeInteger(1))) })), refused(/^tbsCertList\.revokedCertificates\[0\]\.revocationDate: missing/));
    assert.throws(() => parseX509Crl(assemble({ revoked: encodeSequence(encodeSequence(encodeBoolean(true), thisUpdate)) })), refused(/userCertificate: BOOLEAN where INTEGER was expected/));
    assert.throws(() => parseX509Crl(assemble({ extensions: encodeContext(0, encodeSequence(crlNumber, crlNumber)) })), refused(/extension 2\.5\.29\.20 appears twice/));
  });
});
