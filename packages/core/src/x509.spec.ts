import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate as NodeCertificate } from 'node:crypto';
import {
  decodeDer,
  encodeBitString,
  encodeBoolean,
  encodeContext,
  encodeInteger,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeSetOf,
  encodeString,
  encodeTime,
  encodeTlv,
  DerTag,
} from './der.ts';
import { Code, VeracruzError } from './errors.ts';
import {
  escapeAttributeValue,
  findExtension,
  formatName,
  KeyUsage,
  parseX509Certificate,
  readBasicConstraints,
  readExtendedKeyUsage,
  readName,
} from './x509.ts';
import { encodeName } from './x509-builder.ts';
import type { WebCryptoKey } from './x509-request.ts';
import {
  basicConstraintsExtension,
  createCertificate,
  ExtendedKeyUsage,
  extendedKeyUsageExtension,
  keyUsageExtension,
  randomSerialNumber,
  subjectKeyIdentifierExtension,
} from './x509-certificate-builder.ts';

function refused(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidRequest && pattern.test(error.rawMessage);
}

const ECDSA_SHA256 = encodeSequence(encodeOid('1.2.840.10045.4.3.2'));
const ECDSA_SHA384 = encodeSequence(encodeOid('1.2.840.10045.4.3.3'));
const name = (text: string) => encodeName(text);
const validity = encodeSequence(encodeTime(new Date('2026-01-01T00:00:00Z')), encodeTime(new Date('2027-01-01T00:00:00Z')));
let spki: Uint8Array;

/** A certificate assembled field by field (its signature is not meant to verify). */
function assemble(fields: { version?: Uint8Array | null; tbsAlgorithm?: Uint8Array; validity?: Uint8Array; subject?: Uint8Array; extensions?: Uint8Array | null; outerAlgorithm?: Uint8Array; signature?: Uint8Array; tail?: Uint8Array[] } = {}): Uint8Array {
  const version = fields.version === undefined ? encodeContext(0, encodeInteger(2)) : fields.version;
  const extensions = fields.extensions === undefined ? encodeContext(3, encodeSequence(encodeSequence(encodeOid('2.5.29.19'), encodeBoolean(true), encodeOctetString(encodeSequence(encodeBoolean(true)))))) : fields.extensions;
  const tbs = encodeSequence(
    ...(version === null ? [] : [version]),
    encodeInteger(0x1234),
    fields.tbsAlgorithm ?? ECDSA_SHA256,
    name('CN=Issuer'),
    fields.validity ?? validity,
    fields.subject ?? name('CN=Subject'),
    spki,
    ...(extensions === null ? [] : [extensions]),
  );
  return encodeSequence(tbs, fields.outerAlgorithm ?? ECDSA_SHA256, fields.signature ?? encodeBitString(new Uint8Array(8)), ...(fields.tail ?? []));
}

before(async () => {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
});

describe('parseX509Certificate on certificates OpenSSL also reads', () => {
  const kinds = [
    { label: 'ECDSA P-256', algorithm: { name: 'ECDSA', namedCurve: 'P-256' } },
    { label: 'ECDSA P-384', algorithm: { name: 'ECDSA', namedCurve: 'P-384' } },
    { label: 'RSA PKCS#1 v1.5', algorithm: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } },
    { label: 'RSA-PSS', algorithm: { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' } },
  ];
  for (const kind of kinds) {
    it(`${kind.label}: every field as node:crypto sees it, and a signature node:crypto verifies`, async () => {
      const keys = (await crypto.subtle.generateKey(kind.algorithm, true, ['sign', 'verify'])) as { publicKey: WebCryptoKey; privateKey: WebCryptoKey };
      const keySpki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
      const serial = randomSerialNumber();
      const der = await createCertificate(
        {
          serialNumber: serial,
          issuer: 'C=US, O=Veracruz, CN=Test CA',
          subject: 'C=US, ST=Texas, L=Austin, O=Veracruz, OU=Compute Enclave, CN=VeracruzCompute',
          notBefore: new Date('2026-01-01T00:00:00Z'),
          notAfter: new Date('2051-06-01T12:30:45Z'),
          publicKey: keySpki,
          extensions: [
            basicConstraintsExtension(true, 1),
            keyUsageExtension(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature),
            extendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
            await subjectKeyIdentifierExtension(keySpki),
          ],
        },
        keys.privateKey,
      );
      const certificate = parseX509Certificate(der);
      const node = new NodeCertificate(der);
      assert.ok(node.verify(node.publicKey), 'OpenSSL verifies the signature');
      assert.equal(certificate.version, 3);
      assert.equal(certificate.serialNumber, serial);
      assert.equal(certificate.serialNumber.toUpperCase(), node.serialNumber);
      assert.equal(certificate.subject, 'C=US, ST=Texas, L=Austin, O=Veracruz, OU=Compute Enclave, CN=VeracruzCompute');
      assert.equal(certificate.subject.split(', ').join('\n'), node.subject);
      assert.equal(certificate.issuer.split(', ').join('\n'), node.issuer);
      assert.equal(certificate.commonName, 'VeracruzCompute');
      assert.equal(certificate.notBefore.getTime(), new Date(node.validFrom).getTime());
      assert.equal(certificate.notAfter.toISOString(), '2051-06-01T12:30:45.000Z');
      assert.equal(certificate.notAfter.getTime(), new Date(node.validTo).getTime());
      assert.deepEqual(certificate.subjectPublicKeyInfo, new Uint8Array(node.publicKey.export({ type: 'spki', format: 'der' })));
      assert.deepEqual(certificate.subjectPublicKeyInfo, keySpki);
      assert.deepEqual(certificate.basicConstraints, { ca: true, pathLength: 1 });
      assert.equal(node.ca, true);
      assert.equal(certificate.keyUsage, KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature);
      assert.deepEqual(readExtendedKeyUsage(findExtension(certificate, '2.5.29.37')!.value), node.keyUsage);
      assert.deepEqual(certificate.issuerDer, name('C=US, O=Veracruz, CN=Test CA'));
      assert.deepEqual(decodeDer(certificate.tbsDer).der, certificate.tbsDer);
      assert.equal(certificate.extensions.map((extension) => `${extension.oid}${extension.critical ? '!' : ''}`).join(' '), '2.5.29.19! 2.5.29.15! 2.5.29.37 2.5.29.14');
    });
  }
});

describe('parseX509Certificate refuses what is not a DER certificate, naming the field', () => {
  it('accepts the well-formed sample the other cases spoil', () => {
    const certificate = parseX509Certificate(assemble());
    assert.equal(certificate.subject, 'CN=Subject');
    assert.equal(certificate.serialNumber, '1234');
    assert.deepEqual(certificate.basicConstraints, { ca: true });
  });

  it('truncation, trailing bytes, and bytes after the signature', () => {
    const der = assemble();
    assert.throws(() => parseX509Certificate(der.subarray(0, der.length - 1)), refused(/^its encoding says \d+ bytes but \d+ were given$/));
    assert.throws(() => parseX509Certificate(Uint8Array.of(...der, 0)), refused(/^its encoding says/));
    assert.throws(() => parseX509Certificate(assemble({ tail: [encodeInteger(0)] })), refused(/unexpected bytes after the last field/));
    assert.throws(() => parseX509Certificate(new Uint8Array([0x30, 0x03, 1, 2, 3])), refused(/^tbsCertificate: BOOLEAN where SEQUENCE was expected \(at byte 2\)$/));
    assert.throws(() => parseX509Certificate(encodeOctetString(new Uint8Array(3))), refused(/^not a DER SEQUENCE/));
  });

  it('an indefinite length or a padded length deep inside', () => {
    const der = assemble();
    const tbs = decodeDer(der).valueOffset;
    const indefinite = Uint8Array.from(der);
    indefinite[tbs + 1] = 0x80;
    assert.throws(() => parseX509Certificate(indefinite), refused(new RegExp(`^tbsCertificate: indefinite length \\(BER, not DER\\) \\(at byte ${tbs}\\)$`)));
    const padded = encodeSequence(Uint8Array.of(0x30, 0x81, 0x01, 0x05));
    assert.throws(() => parseX509Certificate(padded), refused(/^tbsCertificate: length 1 in the long form \(not DER\) \(at byte 2\)$/));
  });

  it('versions that do not exist, and extensions outside version 3', () => {
    assert.throws(() => parseX509Certificate(assemble({ version: encodeContext(0, encodeInteger(3)) })), refused(/^tbsCertificate\.version: version 4 does not exist/));
    assert.throws(() => parseX509Certificate(assemble({ version: null })), refused(/^tbsCertificate\.extensions: present in a version 1 certificate/));
    assert.equal(parseX509Certificate(assemble({ version: null, extensions: null })).version, 1);
  });

  it('two different signature algorithms, and a signature with unused bits', () => {
    assert.throws(() => parseX509Certificate(assemble({ tbsAlgorithm: ECDSA_SHA384 })), refused(/^tbsCertificate\.signature: differs from signatureAlgorithm/));
    assert.throws(() => parseX509Certificate(assemble({ signature: encodeBitString(Uint8Array.of(0x80), 7) })), refused(/^signatureValue: BIT STRING has 7 unused bits/));
  });

  it('times outside RFC 5280 forms', () => {
    const bad = encodeSequence(encodeTlv(DerTag.UtcTime, new TextEncoder().encode('2601010000Z')), encodeTime(new Date()));
    assert.throws(() => parseX509Certificate(assemble({ validity: bad })), refused(/^tbsCertificate\.validity\.notBefore: UTCTime "2601010000Z" is not YYMMDDHHMMSSZ/));
  });

  it('repeated, empty or malformed extensions', () => {
    const extension = encodeSequence(encodeOid('2.5.29.15'), encodeOctetString(Uint8Array.of(3, 2, 7, 0x80)));
    assert.throws(() => parseX509Certificate(assemble({ extensions: encodeContext(3, encodeSequence(extension, extension)) })), refused(/extension 2\.5\.29\.15 appears twice/));
    assert.throws(() => parseX509Certificate(assemble({ extensions: encodeContext(3, encodeSequence()) })), refused(/^tbsCertificate\.extensions: empty/));
    const badBasic = encodeSequence(encodeOid('2.5.29.19'), encodeOctetString(encodeSequence(encodeInteger(-1))));
    assert.throws(() => parseX509Certificate(assemble({ extensions: encodeContext(3, encodeSequence(badBasic)) })), refused(/basicConstraints\.pathLenConstraint: -1 is out of range/));
  });

  it('accepts an explicit critical FALSE, which some CAs write although DER omits defaults', () => {
    const extension = encodeSequence(encodeOid('1.2.3'), encodeBoolean(false), encodeOctetString(new Uint8Array(0)));
    const certificate = parseX509Certificate(assemble({ extensions: encodeContext(3, encodeSequence(extension)) }));
    assert.deepEqual(certificate.extensions, [{ oid: '1.2.3', critical: false, value: new Uint8Array(0) }]);
  });

  it('empty relative distinguished names', () => {
    assert.throws(() => parseX509Certificate(assemble({ subject: encodeSequence(encodeTlv(DerTag.Set, new Uint8Array(0))) })), refused(/^tbsCertificate\.subject\[0\]: empty RelativeDistinguishedName/));
  });
});

describe('name text', () => {
  const attribute = (oid: string, value: Uint8Array) => encodeSequence(encodeOid(oid), value);
  const utf8 = (text: string) => encodeString(DerTag.Utf8String, text);
  const text = (...rdns: Uint8Array[][]) => readName(decodeDer(encodeSequence(...rdns.map((rdn) => encodeSetOf(...rdn)))), 'name').text;

  it('prints short names in encoded order, other types as their OID', () => {
    assert.equal(text([attribute('2.5.4.6', encodeString(DerTag.PrintableString, 'US'))], [attribute('2.5.4.3', utf8('x'))]), 'C=US, CN=x');
    assert.equal(text([attribute('2.5.4.5', encodeString(DerTag.PrintableString, '1234'))]), '2.5.4.5=1234');
    assert.equal(
      text([attribute('0.9.2342.19200300.100.1.25', encodeString(DerTag.Ia5String, 'dc'))], [attribute('1.2.840.113549.1.9.1', encodeString(DerTag.Ia5String, 'a@b'))], [attribute('2.5.4.42', utf8('g'))], [attribute('2.5.4.43', utf8('i'))], [attribute('2.5.4.4', utf8('sn'))], [attribute('2.5.4.12', utf8('t'))], [attribute('2.5.4.7', utf8('l'))], [attribute('2.5.4.8', utf8('st'))], [attribute('2.5.4.10', utf8('o'))], [attribute('2.5.4.11', utf8('ou'))]),
      'DC=dc, E=a@b, G=g, I=i, SN=sn, T=t, L=l, ST=st, O=o, OU=ou',
    );
  });

  it('joins the attributes of a multi-valued RDN with +', () => {
    assert.equal(text([attribute('2.5.4.3', utf8('a')), attribute('2.5.4.10', utf8('b'))], [attribute('2.5.4.6', encodeString(DerTag.PrintableString, 'US'))]), 'CN=a+O=b, C=US');
  });

  it('escapes RFC 4514 specials, leading # or space, trailing space, and line breaks', () => {
    assert.equal(escapeAttributeValue('a,b+c"d\\e<f>g;h'), 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h');
    assert.equal(escapeAttributeValue('#x'), '\\#x');
    assert.equal(escapeAttributeValue(' both '), '\\ both\\ ');
    assert.equal(escapeAttributeValue('a\nb\tc\rd\ne'), 'a\\0Ab\\09c\\0Dd\\0Ae');
    assert.equal(escapeAttributeValue('=x'), '=x');
    assert.equal(text([attribute('2.5.4.3', utf8('Alice, Research'))]), 'CN=Alice\\, Research');
    assert.equal(text([attribute('2.5.4.3', utf8('hospital\u001b[2J B\u0007'))]), 'CN=hospital\u001b[2J B\u0007', 'other control characters are left to whoever prints');
  });

  it('prints values that are not character strings as #hex of their DER', () => {
    assert.equal(text([attribute('2.5.4.3', encodeTlv(0x12, new TextEncoder().encode('12345')))]), 'CN=#12053132333435');
    assert.equal(text([attribute('2.5.4.3', encodeSequence(encodeOid('1.2.3')))]), 'CN=#300406022a03');
  });

  it('decodes BMPString, UniversalString and TeletexString values', () => {
    assert.equal(text([attribute('2.5.4.3', encodeTlv(DerTag.BmpString, Uint8Array.of(0, 0x41, 0, 0xe9)))]), 'CN=Aé');
    assert.equal(text([attribute('2.5.4.3', encodeTlv(DerTag.UniversalString, Uint8Array.of(0, 1, 0xf6, 0)))]), 'CN=😀');
    assert.equal(text([attribute('2.5.4.3', encodeTlv(DerTag.TeletexString, Uint8Array.of(0x41, 0xe9)))]), 'CN=Aé');
  });

  it('formats RDNs given directly the same way', () => {
    assert.equal(formatName([[{ type: '2.5.4.3', text: 'a+b', der: new Uint8Array(0) }], [{ type: '1.2.3', der: Uint8Array.of(5, 0) }]]), 'CN=a\\+b, 1.2.3=#0500');
  });
});

describe('extension values', () => {
  it('reads basicConstraints with its defaults', () => {
    assert.deepEqual(readBasicConstraints(encodeSequence()), { ca: false });
    assert.deepEqual(readBasicConstraints(encodeSequence(encodeBoolean(true), encodeInteger(0))), { ca: true, pathLength: 0 });
    assert.throws(() => readBasicConstraints(encodeSequence(encodeInteger(0), encodeBoolean(true))), refused(/unexpected bytes/));
  });
});
