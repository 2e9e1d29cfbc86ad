import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { decodeDer, DerReader, DerTag, derChildren, readOid } from './der.ts';
import { Code, } from './errors.ts';
import { toPem } from './pem.ts';
import { readExtensionList, readName } from './x509.ts';
import { createCertificationRequest, ecdsaSignatureFromDer, encodeName, parseDistinguishedName, signatureSchemeFor } from './x509-builder.ts';
import { ecdsaSignatureToDer, EXTENSION_REQUEST_OID, type WebCryptoKey } from './x509-request.ts';
import { ecKeys, type KeyPair, openssl, refusedWith } from './testing.ts';

const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const refused = (pattern: RegExp) => refusedWith(Code.InvalidRequest, pattern);

describe('parseDistinguishedName', () => {
  it('reads the forms this project writes: ", " or "," between RDNs, "+" inside one', () => {
    assert.deepEqual(parseDistinguishedName('C=US, O=Veracruz, CN=Veracruz Proxy Attestation Service CA'), [
      [{ type: '2.5.4.6', value: 'US' }],
      [{ type: '2.5.4.10', value: 'Veracruz' }],
      [{ type: '2.5.4.3', value: 'Veracruz Proxy Attestation Service CA' }],
    ]);
    assert.deepEqual(parseDistinguishedName('CN=aws.nitro-enclaves,OU=AWS'), [[{ type: '2.5.4.3', value: 'aws.nitro-enclaves' }], [{ type: '2.5.4.11', value: 'AWS' }]]);
    assert.deepEqual(parseDistinguishedName('CN=a+O=b, C=US'), [[{ type: '2.5.4.3', value: 'a' }, { type: '2.5.4.10', value: 'b' }], [{ type: '2.5.4.6', value: 'US' }]]);
    assert.deepEqual(parseDistinguishedName(''), []);
  });

  it('reads escapes, hex escapes, OIDs, lower-case labels and #hex values', () => {
    assert.deepEqual(parseDistinguishedName('CN=\\#1 a\\+b=c\\; \\"d\\"\\ '), [[{ type: '2.5.4.3', value: '#1 a+b=c; "d" ' }]]);
    assert.deepEqual(parseDistinguishedName('cn=caf\\C3\\A9, 2.5.4.5=42, OID.1.2.3=x'), [[{ type: '2.5.4.3', value: 'café' }], [{ type: '2.5.4.5', value: '42' }], [{ type: '1.2.3', value: 'x' }]]);
    assert.deepEqual(parseDistinguishedName('CN=#0c0161'), [[{ type: '2.5.4.3', value: Uint8Array.of(0x0c, 1, 0x61) }]]);
    assert.deepEqual(parseDistinguishedName('CN=line\\0Abreak'), [[{ type: '2.5.4.3', value: 'line\nbreak' }]]);
  });

  it('refuses what it cannot read, quoting the text', () => {
    assert.throws(() => parseDistinguishedName('CN'), refused(/"CN" has no "="/));
    assert.throws(() => parseDistinguishedName('XX=1'), refused(/unknown attribute type "XX"/));
    assert.throws(() => parseDistinguishedName('CN=a\\q'), refused(/"\\q" is not an escape/));
    assert.throws(() => parseDistinguishedName('CN=a"b'), refused(/unescaped " in a value/));
    assert.throws(() => parseDistinguishedName('CN=#0c02'), refused(/value #0c02/));
    assert.throws(() => parseDistinguishedName('CN=#xyz'), refused(/"#xyz" is not hex/));
    assert.throws(() => parseDistinguishedName('CN=\\C3'), refused(/not UTF-8/));
  });
});

describe('encodeName', () => {
  it('writes the isolate subject byte for byte as before: six PrintableStrings in order', () => {
    assert.equal(
      toHex(encodeName('C=US, ST=Texas, L=Austin, O=Veracruz, OU=Compute Enclave, CN=VeracruzCompute')),
      '3075310b3009060355040613025553310e300c060355040813055465786173310f300d0603550407130641757374696e3111300f060355040a1308566572616372757a31183016060355040b130f436f6d7075746520456e636c617665311830160603550403130f566572616372757a436f6d70757465',
    );
  });

  it('chooses PrintableString, UTF8String or IA5String by the value and type', () => {
    const tags = (text: string) => readName(decodeDer(encodeName(text)), 'n').rdns.flat().map((attribute) => attribute.der[0]);
    assert.deepEqual(tags('CN=Alice\\, Research, O=a@b, E=x@y, DC=dc, CN=é'), [DerTag.PrintableString, DerTag.Utf8String, DerTag.Ia5String, DerTag.Ia5String, DerTag.Utf8String]);
    assert.throws(() => encodeName('E=é@x'), refused(/must be ASCII/));
  });

  it('round-trips text through the reader, sorting the members of a multi-valued RDN', () => {
    for (const text of ['CN=Test Root', 'OU=Engineering, C=US, L=Santa Clara, ST=CA, O=Advanced Micro Devices, CN=ARK-Milan', 'CN=\\#1 a\\+b=c\\; \\"d\\"\\ ', '2.5.4.5=123, CN=x', 'CN=#12053132333435']) {
      assert.equal(readName(decodeDer(encodeName(text)), 'n').text, text);
    }
    assert.equal(readName(decodeDer(encodeName('O=b+CN=a')), 'n').text, 'CN=a+O=b');
  });

  it('takes RDN lists and Name DER too', () => {
    const der = encodeName([[{ type: 'CN', value: 'x, y' }]]);
    assert.equal(readName(decodeDer(der), 'n').text, 'CN=x\\, y');
    assert.deepEqual(encodeName(der), der);
    assert.throws(() => encodeName([[]]), refused(/at least one attribute/));
  });
});

describe('ECDSA signatures', () => {
  it('convert between r||s and DER, leading zeros and high bits included', async () => {
    const raw = new Uint8Array(64);
    raw[0] = 0x80; // r needs a 00 sign octet
    raw[63] = 1; // s is 1: all leading zeros dropped
    const der = ecdsaSignatureToDer(raw);
    assert.equal(toHex(der).slice(0, 12), '3026022100' + '80');
    assert.ok(toHex(der).endsWith('020101'));
    assert.deepEqual(ecdsaSignatureFromDer(der, 32), raw);
    const keys = await ecKeys('P-384');
    const data = new TextEncoder().encode('signed');
    const p1363 = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-384' }, keys.privateKey, data));
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    assert.ok(verify('sha384', data, { key, dsaEncoding: 'der' }, ecdsaSignatureToDer(p1363)));
    assert.deepEqual(ecdsaSignatureFromDer(ecdsaSignatureToDer(p1363), 48), p1363);
    assert.throws(() => ecdsaSignatureFromDer(ecdsaSignatureToDer(new Uint8Array(66).fill(0x7f)), 32), refused(/longer than 32 bytes/));
    assert.throws(() => ecdsaSignatureToDer(new Uint8Array(3)), RangeError);
  });
});

describe('signatureSchemeFor', () => {
  it('names each key kind as certificates do', async () => {
    const pss = (await crypto.subtle.generateKey({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' }, true, ['sign', 'verify'])) as KeyPair;
    const scheme = signatureSchemeFor(pss.privateKey);
    assert.equal(toHex(scheme.algorithmIdentifier), '303d06092a864886f70d01010a3030a00d300b0609608648016503040202a11a301806092a864886f70d010108300b0609608648016503040202a203020130');
    assert.deepEqual(scheme.params, { name: 'RSA-PSS', saltLength: 48 });
    assert.equal(toHex(signatureSchemeFor((await ecKeys('P-256')).privateKey).algorithmIdentifier), '300a06082a8648ce3d040302');
    assert.equal(toHex(signatureSchemeFor((await ecKeys('P-384')).privateKey).algorithmIdentifier), '300a06082a8648ce3d040303');
    assert.equal(toHex(signatureSchemeFor((await ecKeys('P-384')).privateKey, 'SHA-256').algorithmIdentifier), '300a06082a8648ce3d040302');
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    assert.throws(() => signatureSchemeFor(hmac as WebCryptoKey), refused(/HMAC/));
  });
});

describe('createCertificationRequest', () => {
  for (const kind of ['ECDSA P-256', 'RSA PKCS#1 v1.5'] as const) {
    it(`${kind}: a request OpenSSL verifies`, async (t) => {
      const keys = kind === 'ECDSA P-256'
        ? await ecKeys()
        : ((await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])) as KeyPair);
      const der = await createCertificationRequest({ subject: 'C=US, CN=Request', keys });
      const text = openssl(['req', '-noout', '-text', '-verify'], toPem(der, 'CERTIFICATE REQUEST'));
      if (text === undefined) return t.skip('openssl is not installed');
      assert.match(text, /self-signature verify OK/);
      assert.match(text, /Subject: C ?= ?US, CN ?= ?Request/);
      assert.match(text, /Attributes:\s+\(none\)/);
    });
  }

  it('puts no attributes in a request without extensions, as before they could be asked for', async () => {
    // RSASSA-PKCS1-v1_5 signs deterministically, so equal bytes mean equal requests.
    const rsa = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    const keys = (await crypto.subtle.generateKey(rsa, true, ['sign', 'verify'])) as KeyPair;
    const plain = await createCertificationRequest({ subject: 'CN=Request', keys });
    assert.deepEqual(await createCertificationRequest({ subject: 'CN=Request', keys, extensions: [] }), plain);
    const info = new DerReader(decodeDer(plain), 'csr').next(DerTag.Sequence, 'info');
    assert.equal(toHex(info.der.subarray(-2)), 'a000', 'an empty attributes [0]');
  });

  it('asks for extensions in one PKCS#9 extensionRequest attribute, critical flag and value as given', async (t) => {
    const extensions = [
      { oid: '2.25.1', critical: false, value: new Uint8Array(64).fill(7) },
      { oid: '1.2.3.4', critical: true, value: Uint8Array.of(0x05, 0x00) },
    ];
    const der = await createCertificationRequest({ subject: 'CN=Request', keys: await ecKeys(), extensions });
    const info = new DerReader(decodeDer(der), 'csr').next(DerTag.Sequence, 'info');
    const attributes = derChildren(derChildren(info, 'info')[3]!, 'attributes');
    assert.equal(attributes.length, 1);
    const [type, values] = derChildren(attributes[0]!, 'attribute') as [ReturnType<typeof decodeDer>, ReturnType<typeof decodeDer>];
    assert.equal(readOid(type, 'type'), EXTENSION_REQUEST_OID);
    assert.equal(values.tag, DerTag.Set);
    assert.deepEqual(readExtensionList(derChildren(values, 'values')[0]!, 'extensions'), extensions);
    const text = openssl(['req', '-noout', '-text', '-verify'], toPem(der, 'CERTIFICATE REQUEST'));
    if (text === undefined) return t.skip('openssl is not installed');
    assert.match(text, /self-signature verify OK/);
    assert.match(text, /Requested Extensions:\s+2\.25\.1:\s+\.{64}\s+1\.2\.3\.4: critical\s+\.\./);
  });
});
