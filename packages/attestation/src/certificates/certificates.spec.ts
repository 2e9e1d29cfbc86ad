import type { webcrypto } from 'node:crypto';
import assert from 'node:assert/strict';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  Code,
  createCertificate,
  createCertificationRequest,
  encodeName,
  ExtendedKeyUsage,
  findExtension,
  KeyUsage,
  parseX509Certificate,
  randomSerialNumber,
  readExtendedKeyUsage,
  toPem,
  VeracruzError,
} from '@veracruz-ts/core';
import {
  createCertificateAuthority,
  createIsolateIdentity,
  issueIsolateCertificate,
  issueIsolateCertificateDetailed,
  joinDerChain,
  loadCertificateAuthority,
  measurementForCertificate,
  parseCertificationRequest,
  readRuntimeHash,
  runtimeHashMatches,
  splitDerChain,
  verifyCsr,
} from './index.ts';
import { openssl } from '@veracruz-ts/core/testing';

const HOUR = 60 * 60 * 1000;
const measurement = new Uint8Array(32).map((_, index) => index + 1);
// The isolate's CSR subject (ISOLATE_CSR_SUBJECT) as Veracruz's runtime manager writes it.
const ISOLATE_SUBJECT = 'C=US, ST=Texas, L=Austin, O=Veracruz, OU=Compute Enclave, CN=VeracruzCompute';

function rejectsWith(code: string, pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === code && pattern.test(error.rawMessage);
}

describe('isolate identity', () => {
  it('makes a P-256 key pair and a verifying SHA-256 CSR with the Veracruz subject', async () => {
    const identity = await createIsolateIdentity();
    const csr = parseCertificationRequest(identity.csrDer);
    assert.equal(csr.subject, ISOLATE_SUBJECT);
    assert.deepEqual(csr.subjectDer, encodeName(ISOLATE_SUBJECT), 'ISOLATE_CSR_SUBJECT: the subject as Veracruz writes it, built from its RDNs');
    assert.equal((await verifyCsr(identity.csrDer)).subject, ISOLATE_SUBJECT, 'the self-signature verifies');
    assert.equal(csr.signatureAlgorithm.oid, '1.2.840.10045.4.3.2', 'ecdsa-with-SHA256');
    assert.equal(csr.signatureAlgorithm.parameters, undefined);
    assert.deepEqual(csr.subjectPublicKeyInfo, new Uint8Array(await crypto.subtle.exportKey('spki', identity.keyPair.publicKey)));
    const expectedHash = new Uint8Array(await crypto.subtle.digest('SHA-256', identity.csrDer));
    assert.deepEqual(identity.csrHash, expectedHash);
    assert.match(identity.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal((identity.keyPair.privateKey.algorithm as webcrypto.EcKeyAlgorithm).namedCurve, 'P-256');
  });

  it('makes a CSR that OpenSSL reads and verifies, with the Veracruz subject as PrintableStrings', async (t) => {
    const identity = await createIsolateIdentity();
    const text = openssl(['req', '-noout', '-text', '-verify'], toPem(identity.csrDer, 'CERTIFICATE REQUEST'));
    if (text === undefined) return t.skip('openssl is not installed');
    assert.match(text, /self-signature verify OK/);
    assert.doesNotMatch(text, /verify failure/);
    assert.match(text, /Subject: C ?= ?US, ST ?= ?Texas, L ?= ?Austin, O ?= ?Veracruz, OU ?= ?Compute Enclave, CN ?= ?VeracruzCompute/);
    assert.match(text, /Public-Key: \(256 bit\)[\s\S]*NIST CURVE: P-256/);
    assert.match(text, /Attributes:\s+\(none\)/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    const structure = openssl(['asn1parse'], toPem(identity.csrDer, 'CERTIFICATE REQUEST')) ?? '';
    assert.equal(structure.match(/PRINTABLESTRING/g)?.length, 6);
    assert.match(structure, /INTEGER +:00\n/, 'version 0');
    assert.match(structure, /cont \[ 0 \] *\n/, 'an empty attributes set');
  });

  it('makes a different key at every boot', async () => {
    const [a, b] = await Promise.all([createIsolateIdentity(), createIsolateIdentity()]);
    assert.notDeepEqual(a.csrHash, b.csrHash);
  });
});

describe('verifyCsr', () => {
  it('refuses bytes that are not a CSR', async () => {
    await assert.rejects(verifyCsr(new Uint8Array([1, 2, 3])), rejectsWith(Code.InvalidRequest, /not a DER PKCS#10/));
  });

  it('refuses a CSR whose signature does not verify', async () => {
    const { csrDer } = await createIsolateIdentity();
    const tampered = csrDer.slice();
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] as number) ^ 0x01;
    await assert.rejects(verifyCsr(tampered), rejectsWith(Code.AttestationFailed, /signature does not verify/));
  });

  it('refuses a CSR for a key that is not ECDSA P-256/P-384', async () => {
    const rsa = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    const keys = (await crypto.subtle.generateKey(rsa, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const csr = await createCertificationRequest({ subject: 'CN=rsa', keys });
    await assert.rejects(verifyCsr(csr), rejectsWith(Code.AttestationFailed, /must be ECDSA/));
  });
});

describe('certificate authority', () => {
  it('creates a CA certificate with CA=true and keyCertSign, and loads it back', async () => {
    const caPem = await createCertificateAuthority();
    const ca = await loadCertificateAuthority(caPem);
    const node = new NodeX509(caPem.certificatePem);
    assert.equal(node.ca, true);
    assert.equal(node.verify(node.publicKey), true);
    const usage = ca.certificate.keyUsage;
    assert.ok(usage !== undefined && (usage & KeyUsage.keyCertSign) !== 0);
    assert.equal(ca.privateKey.extractable, false);
  });

  it('refuses a private key that belongs to another CA', async () => {
    const [a, b] = await Promise.all([createCertificateAuthority(), createCertificateAuthority()]);
    await assert.rejects(
      loadCertificateAuthority({ certificatePem: a.certificatePem, privateKeyPem: b.privateKeyPem }),
      rejectsWith(Code.InvalidRequest, /does not match/),
    );
  });

  it('refuses a certificate that is not a CA', async () => {
    const caPem = await createCertificateAuthority();
    const identity = await createIsolateIdentity();
    const leaf = await issueIsolateCertificate({ csrDer: identity.csrDer, measurement, ca: caPem, notBefore: new Date() });
    const leafPem = toPem(leaf, 'CERTIFICATE');
    await assert.rejects(
      loadCertificateAuthority({ certificatePem: leafPem, privateKeyPem: identity.privateKeyPem }),
      rejectsWith(Code.InvalidRequest, /CA=true is missing/),
    );
  });
});

describe('issueIsolateCertificate', async () => {
  const caPem = await createCertificateAuthority({ notBefore: new Date('2026-01-01T00:00:00Z') });
  const ca = await loadCertificateAuthority(caPem);
  const identity = await createIsolateIdentity();
  const notBefore = new Date('2026-06-01T12:00:00Z');

  it('issues a certificate the CA signed, for the CSR key and subject, carrying the measurement', async () => {
    const issued = await issueIsolateCertificateDetailed({ csrDer: identity.csrDer, measurement, ca, notBefore });
    const node = new NodeX509(issued.der);
    assert.equal(node.verify(new NodeX509(caPem.certificatePem).publicKey), true);
    assert.equal(node.checkIssued(new NodeX509(caPem.certificatePem)), true);
    assert.equal(node.ca, false);
    const cert = parseX509Certificate(issued.der);
    assert.equal(cert.subject, ISOLATE_SUBJECT);
    assert.equal(issued.subject, ISOLATE_SUBJECT);
    assert.equal(cert.serialNumber.toLowerCase(), issued.serialNumber);
    assert.ok(/^[4-7]/.test(issued.serialNumber), 'serial is positive with no leading zero octet');
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', identity.keyPair.publicKey));
    assert.deepEqual(cert.subjectPublicKeyInfo, spki);
    assert.deepEqual(readRuntimeHash(issued.der), measurement);
    assert.deepEqual(readRuntimeHash(toPem(issued.der, 'CERTIFICATE')), measurement);
    const extension = findExtension(cert, '2.5.30.1');
    assert.ok(extension !== undefined && extension.critical === false);
    const usage = cert.keyUsage;
    assert.equal(usage, KeyUsage.digitalSignature);
    const extendedUsage = findExtension(cert, '2.5.29.37');
    assert.deepEqual(extendedUsage === undefined ? [] : readExtendedKeyUsage(extendedUsage.value), [ExtendedKeyUsage.serverAuth]);
    assert.equal(cert.basicConstraints?.ca, false);
    assert.equal(cert.notBefore.getTime(), notBefore.getTime());
    assert.equal(cert.notAfter.getTime(), notBefore.getTime() + 24 * HOUR);
  });

  it('issues a certificate OpenSSL reads with the same extensions as before, in the same order', async (t) => {
    const der = await issueIsolateCertificate({ csrDer: identity.csrDer, measurement, ca, notBefore });
    const text = openssl(['x509', '-noout', '-text'], toPem(der, 'CERTIFICATE'));
    if (text === undefined) return t.skip('openssl is not installed');
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Issuer: C ?= ?US, O ?= ?Veracruz, CN ?= ?Veracruz Proxy Attestation Service CA/);
    assert.match(text, /Subject: C ?= ?US, ST ?= ?Texas, L ?= ?Austin, O ?= ?Veracruz, OU ?= ?Compute Enclave, CN ?= ?VeracruzCompute/);
    const order = [...text.matchAll(/^ {12}(X509v3 [A-Za-z ]+|2\.5\.30\.1): ?( critical)?$/gm)].map((match) => `${match[1]}${match[2] ?? ''}`);
    assert.deepEqual(order, [
      'X509v3 Basic Constraints critical',
      'X509v3 Key Usage critical',
      'X509v3 Extended Key Usage',
      'X509v3 Subject Key Identifier',
      'X509v3 Authority Key Identifier',
      '2.5.30.1',
    ]);
    const caText = openssl(['x509', '-noout', '-text'], caPem.certificatePem) ?? '';
    assert.match(caText, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(caText, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    assert.match(caText, /X509v3 Subject Key Identifier/);
  });

  it('places the raw 32 bytes directly in the extnValue OCTET STRING (Veracruz format)', async () => {
    const der = await issueIsolateCertificate({ csrDer: identity.csrDer, measurement, ca, notBefore });
    // OID 2.5.30.1 (06 03 55 1E 01), then OCTET STRING of length 32 (04 20) holding the bytes.
    const needle = Buffer.concat([Buffer.from('0603551e010420', 'hex'), Buffer.from(measurement)]);
    assert.ok(Buffer.from(der).includes(needle));
  });

  it('gives every certificate a fresh serial', async () => {
    const a = await issueIsolateCertificateDetailed({ csrDer: identity.csrDer, measurement, ca, notBefore });
    const b = await issueIsolateCertificateDetailed({ csrDer: identity.csrDer, measurement, ca, notBefore });
    assert.notEqual(a.serialNumber, b.serialNumber);
  });

  it('honours a shorter validity and never goes past the cap', async () => {
    const short = await issueIsolateCertificateDetailed({ csrDer: identity.csrDer, measurement, ca, notBefore, validityMs: HOUR });
    assert.equal(short.notAfter.getTime(), notBefore.getTime() + HOUR);
    const cap = new Date(notBefore.getTime() + 5 * 60 * 1000);
    const capped = await issueIsolateCertificateDetailed({ csrDer: identity.csrDer, measurement, ca, notBefore, notAfterCap: cap });
    assert.equal(parseX509Certificate(capped.der).notAfter.getTime(), cap.getTime());
  });

  it('refuses a cap that is already past, a bad validity and a measurement that is not 32 bytes', async () => {
    await assert.rejects(
      issueIsolateCertificate({ csrDer: identity.csrDer, measurement, ca, notBefore, notAfterCap: new Date(notBefore.getTime() - 1) }),
      rejectsWith(Code.InvalidRequest, /expiry cap .* is not after/),
    );
    await assert.rejects(
      issueIsolateCertificate({ csrDer: identity.csrDer, measurement, ca, notBefore, validityMs: 0 }),
      rejectsWith(Code.InvalidRequest, /validity must be positive/),
    );
    await assert.rejects(
      issueIsolateCertificate({ csrDer: identity.csrDer, measurement: new Uint8Array(48), ca, notBefore }),
      rejectsWith(Code.InvalidRequest, /48 bytes/),
    );
  });

  it('never outlives the CA and refuses to sign outside the CA validity', async () => {
    const shortCaPem = await createCertificateAuthority({ notBefore, validityMs: 2 * HOUR });
    const issued = await issueIsolateCertificateDetailed({ csrDer: identity.csrDer, measurement, ca: shortCaPem, notBefore });
    assert.equal(issued.notAfter.getTime(), notBefore.getTime() + 2 * HOUR);
    await assert.rejects(
      issueIsolateCertificate({ csrDer: identity.csrDer, measurement, ca: shortCaPem, notBefore: new Date(notBefore.getTime() + 3 * HOUR) }),
      rejectsWith(Code.Unavailable, /CA certificate is not valid/),
    );
  });

  it('refuses a CSR whose signature does not verify', async () => {
    const tampered = identity.csrDer.slice();
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] as number) ^ 0x01;
    await assert.rejects(
      issueIsolateCertificate({ csrDer: tampered, measurement, ca, notBefore }),
      rejectsWith(Code.AttestationFailed, /csr: signature/),
    );
  });
});

describe('measurementForCertificate', () => {
  it('keeps 32 bytes and truncates 48 to the first 32, refusing other lengths', () => {
    assert.deepEqual(measurementForCertificate(measurement), measurement);
    const pcr0 = new Uint8Array(48).map((_, index) => index);
    assert.deepEqual(measurementForCertificate(pcr0), pcr0.slice(0, 32));
    assert.throws(() => measurementForCertificate(new Uint8Array(20)), rejectsWith(Code.InvalidRequest, /20 bytes/));
  });
});

describe('SEV-SNP runtime hashes', () => {
  const launchMeasurement = new Uint8Array(48).map((_, index) => 0xa0 ^ index);

  it('carries the whole 48-byte launch measurement for sev-snp, and still 32 bytes for every other platform', () => {
    assert.deepEqual(measurementForCertificate(launchMeasurement, 'sev-snp'), launchMeasurement);
    for (const platform of ['nitro', 'tdx', 'linux', 'psa', 'sgx'] as const) {
      assert.deepEqual(measurementForCertificate(launchMeasurement, platform), launchMeasurement.slice(0, 32), platform);
    }
    assert.deepEqual(measurementForCertificate(measurement, 'sev-snp'), measurement);
  });

  it('issues and reads back a certificate carrying the 48 bytes, as 04 30 in the extension', async () => {
    const caPem = await createCertificateAuthority({ notBefore: new Date('2026-01-01T00:00:00Z') });
    const identity = await createIsolateIdentity();
    const notBefore = new Date('2026-06-01T00:00:00Z');
    const der = await issueIsolateCertificate({ csrDer: identity.csrDer, measurement: launchMeasurement, platform: 'sev-snp', ca: caPem, notBefore });
    assert.deepEqual(readRuntimeHash(der), launchMeasurement);
    assert.ok(Buffer.from(der).includes(Buffer.concat([Buffer.from('0603551e010430', 'hex'), Buffer.from(launchMeasurement)])));
    // 48 bytes only when the caller says the evidence was SEV-SNP's: a Nitro PCR0 or TDX MRTD is truncated first.
    await assert.rejects(
      issueIsolateCertificate({ csrDer: identity.csrDer, measurement: launchMeasurement, platform: 'tdx', ca: caPem, notBefore }),
      rejectsWith(Code.InvalidRequest, /^measurement is 48 bytes; the certificate carries 32 \(48 for sev-snp only/),
    );
    await assert.rejects(
      issueIsolateCertificate({ csrDer: identity.csrDer, measurement: new Uint8Array(64), platform: 'sev-snp', ca: caPem, notBefore }),
      rejectsWith(Code.InvalidRequest, /measurement is 64 bytes/),
    );
  });

  it('matches a policy hash of either case against the carried bytes; a 64-digit one names the first half of a 48-byte one', () => {
    const full = Buffer.from(launchMeasurement).toString('hex');
    assert.equal(runtimeHashMatches(full, launchMeasurement), true);
    assert.equal(runtimeHashMatches(full.toUpperCase(), launchMeasurement), true);
    assert.equal(runtimeHashMatches(full.slice(0, 64), launchMeasurement), true, 'older policies list the first 32 bytes');
    assert.equal(runtimeHashMatches(full.slice(0, 64).replace(/^./, 'f'), launchMeasurement), false);
    assert.equal(runtimeHashMatches(`${full.slice(0, 94)}00`, launchMeasurement), false, 'all 48 bytes count');
    const hash32 = Buffer.from(measurement).toString('hex');
    assert.equal(runtimeHashMatches(hash32.toUpperCase(), measurement), true);
    assert.equal(runtimeHashMatches(`${hash32}${'00'.repeat(16)}`, measurement), false, 'a 96-digit hash never matches 32 bytes');
    assert.equal(runtimeHashMatches(hash32.slice(0, 62), measurement), false);
  });
});

describe('readRuntimeHash', () => {
  it('returns undefined for a certificate without the extension', async () => {
    const caPem = await createCertificateAuthority();
    assert.equal(readRuntimeHash(caPem.certificatePem), undefined);
  });

  it('refuses an extension that does not hold 32 bytes', async () => {
    const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const cert = await createCertificate(
      {
        serialNumber: randomSerialNumber(),
        issuer: 'CN=odd',
        subject: 'CN=odd',
        notBefore: new Date('2026-01-01T00:00:00Z'),
        notAfter: new Date('2027-01-01T00:00:00Z'),
        publicKey: keys.publicKey,
        extensions: [{ oid: '2.5.30.1', critical: false, value: new Uint8Array(31) }],
      },
      keys.privateKey,
    );
    assert.throws(() => readRuntimeHash(cert), rejectsWith(Code.AttestationFailed, /31 bytes/));
  });

  it('refuses bytes that are not a certificate', () => {
    assert.throws(() => readRuntimeHash(new Uint8Array([0x30, 0x00])), rejectsWith(Code.InvalidRequest, /not a DER X.509/));
  });
});

describe('splitDerChain', async () => {
  const caPem = await createCertificateAuthority();
  const identity = await createIsolateIdentity();
  const leaf = await issueIsolateCertificate({ csrDer: identity.csrDer, measurement, ca: caPem, notBefore: new Date() });
  const ca = await loadCertificateAuthority(caPem);

  it('splits DER(leaf) || DER(CA) back into the two certificates', () => {
    const parts = splitDerChain(joinDerChain([leaf, ca.certificateDer]));
    assert.equal(parts.length, 2);
    assert.deepEqual(parts[0], leaf);
    assert.deepEqual(parts[1], ca.certificateDer);
  });

  it('refuses empty input, truncation, trailing garbage and non-sequences', () => {
    const chain = joinDerChain([leaf, ca.certificateDer]);
    assert.throws(() => splitDerChain(new Uint8Array()), rejectsWith(Code.InvalidRequest, /empty/));
    assert.throws(() => splitDerChain(chain.slice(0, chain.length - 1)), rejectsWith(Code.InvalidRequest, /truncated certificate/));
    assert.throws(() => splitDerChain(joinDerChain([chain, new Uint8Array([0x30])])), rejectsWith(Code.InvalidRequest, /truncated length/));
    assert.throws(() => splitDerChain(new Uint8Array([0x04, 0x01, 0x00])), rejectsWith(Code.InvalidRequest, /expected a DER SEQUENCE at byte 0/));
    assert.throws(() => splitDerChain(new Uint8Array([0x30, 0x80, 0x00, 0x00])), rejectsWith(Code.InvalidRequest, /unsupported length/));
  });
});
