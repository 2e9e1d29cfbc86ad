import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, X509Certificate as NodeCertificate } from 'node:crypto';
import { decodeDer, DerReader, readBitString } from './der.ts';
import { Code, } from './errors.ts';
import { toPem } from './pem.ts';
import { KeyUsage, parseX509Certificate } from './x509.ts';
import {
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  createCertificate,
  ExtendedKeyUsage,
  extendedKeyUsageExtension,
  keyIdentifier,
  keyUsageExtension,
  randomSerialNumber,
  subjectKeyIdentifierExtension,
} from './x509-certificate-builder.ts';
import { ecKeys, openssl, refusedWith } from './testing.ts';

const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const refused = (pattern: RegExp) => refusedWith(Code.InvalidRequest, pattern);

describe('extensions', () => {
  it('encode as the PAS and identities have always carried them', () => {
    assert.equal(toHex(basicConstraintsExtension(true, 0).value), '30060101ff020100');
    assert.equal(basicConstraintsExtension(true, 0).critical, true);
    assert.equal(toHex(basicConstraintsExtension(false).value), '3000');
    assert.equal(toHex(keyUsageExtension(KeyUsage.keyCertSign | KeyUsage.cRLSign).value), '03020106');
    assert.equal(toHex(keyUsageExtension(KeyUsage.digitalSignature).value), '03020780');
    assert.equal(toHex(keyUsageExtension(KeyUsage.digitalSignature | KeyUsage.keyCertSign).value), '03020284');
    assert.equal(toHex(extendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]).value), '300a06082b06010505070301');
    assert.equal(toHex(extendedKeyUsageExtension([ExtendedKeyUsage.clientAuth, ExtendedKeyUsage.serverAuth]).value), '301406082b0601050507030206082b06010505070301');
    assert.equal(extendedKeyUsageExtension([]).critical, false);
    assert.throws(() => basicConstraintsExtension(false, 0), RangeError);
  });

  it('identify keys by the SHA-1 of their subjectPublicKey bits (RFC 5280 method 1)', async () => {
    const keys = await ecKeys();
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
    const reader = new DerReader(decodeDer(spki), 'spki');
    reader.any('algorithm');
    const bits = readBitString(reader.any('key'), 'key').bytes;
    const expected = createHash('sha1').update(bits).digest('hex');
    assert.equal(toHex(await keyIdentifier(spki)), expected);
    assert.equal(toHex((await subjectKeyIdentifierExtension(spki)).value), `0414${expected}`);
    assert.equal(toHex((await authorityKeyIdentifierExtension(spki)).value), `30168014${expected}`);
  });
});

describe('createCertificate', () => {
  it('makes a certificate OpenSSL reads and verifies, with every extension in order', async (t) => {
    const issuerKeys = await ecKeys();
    const subjectKeys = await ecKeys();
    const issuerSpki = new Uint8Array(await crypto.subtle.exportKey('spki', issuerKeys.publicKey));
    const subjectSpki = new Uint8Array(await crypto.subtle.exportKey('spki', subjectKeys.publicKey));
    const serial = randomSerialNumber();
    const der = await createCertificate(
      {
        serialNumber: serial,
        issuer: 'C=US, O=Veracruz, CN=Issuer',
        subject: 'CN=Leaf',
        notBefore: new Date('2026-01-01T00:00:00.900Z'),
        notAfter: new Date('2060-01-01T00:00:00Z'),
        publicKey: subjectKeys.publicKey,
        extensions: [
          basicConstraintsExtension(false),
          keyUsageExtension(KeyUsage.digitalSignature),
          extendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]),
          await subjectKeyIdentifierExtension(subjectSpki),
          await authorityKeyIdentifierExtension(issuerSpki),
          { oid: '2.5.30.1', critical: false, value: new Uint8Array(32).fill(7) },
        ],
      },
      issuerKeys.privateKey,
    );
    const node = new NodeCertificate(der);
    assert.ok(node.verify(createPublicKey({ key: Buffer.from(issuerSpki), format: 'der', type: 'spki' })));
    const certificate = parseX509Certificate(der);
    assert.equal(certificate.notBefore.toISOString(), '2026-01-01T00:00:00.000Z', 'whole seconds');
    assert.equal(certificate.notAfter.toISOString(), '2060-01-01T00:00:00.000Z');
    assert.equal(certificate.serialNumber, serial);
    assert.match(serial, /^[4-7][0-9a-f]{31}$/);
    const text = openssl(['x509', '-noout', '-text'], toPem(der, 'CERTIFICATE'));
    if (text === undefined) return t.skip('openssl is not installed');
    assert.match(text, /Version: 3 \(0x2\)/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.match(text, /X509v3 Extended Key Usage: \s*TLS Web Server Authentication/);
    assert.match(text, /X509v3 Subject Key Identifier: \s*[0-9A-F:]{59}/);
    assert.match(text, /X509v3 Authority Key Identifier: \s*(keyid:)?[0-9A-F:]{59}/);
    assert.match(text, /2\.5\.30\.1: \s*\.{32}/);
    assert.match(text, /Not After : Jan {2}1 00:00:00 2060 GMT/);
  });

  it('refuses serial numbers that are zero or too long, and validity that ends first', async () => {
    const keys = await ecKeys();
    const template = { issuer: 'CN=x', subject: 'CN=x', notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z'), publicKey: keys.publicKey };
    await assert.rejects(createCertificate({ ...template, serialNumber: '0000' }, keys.privateKey), refused(/must be positive/));
    await assert.rejects(createCertificate({ ...template, serialNumber: '01'.repeat(21) }, keys.privateKey), refused(/at most 20 octets/));
    await assert.rejects(createCertificate({ ...template, serialNumber: 'xyz' }, keys.privateKey), refused(/not hex/));
    await assert.rejects(createCertificate({ ...template, serialNumber: '01', notAfter: new Date('2025-01-01T00:00:00Z') }, keys.privateKey), refused(/notAfter not before notBefore/));
    const highBit = parseX509Certificate(await createCertificate({ ...template, serialNumber: 'ad08' }, keys.privateKey));
    assert.equal(highBit.serialNumber, '00ad08', 'kept positive with a sign octet');
  });
});

