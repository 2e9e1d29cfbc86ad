/**
 * Core's X.509 and CRL loaders against every certificate and CRL in the real evidence samples
 * (test-vectors/: PEM files, DER files, the Nitro documents' chains, the DCAP quotes' PCK chains
 * and collateral) and the pinned roots. Two references: node:crypto (OpenSSL) for what it
 * exposes, and x509-vectors.expected.json, which @peculiar/x509 wrote while the project still
 * used it, for the name text and the decoded extensions the project's messages are built from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, verify, X509Certificate as NodeCertificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseX509Certificate, parseX509Crl } from '@veracruz-ts/core';
import { decodeCoseSign1 } from '../cose.ts';
import { decodeNitroDocument } from '../nitro/document.ts';
import { AMD_ROOTS } from '../roots/amd.ts';
import { AWS_NITRO_ROOT_G1_PEM } from '../roots/aws-nitro.ts';
import { INTEL_SGX_ROOT_CA_PEM } from '../roots/intel.ts';

interface Found {
  source: string;
  kind: 'certificate' | 'crl';
  der: Uint8Array;
}

interface ExpectedCertificate {
  source: string;
  subject: string;
  issuer: string;
  commonName: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  subjectPublicKeyInfoSha256: string;
  signatureAlgorithm: string;
  extensions: string[];
  basicConstraints: { ca: boolean; pathLength: number | null } | null;
  keyUsage: number | null;
}

interface ExpectedCrl {
  source: string;
  issuer: string;
  thisUpdate: string;
  nextUpdate: string | null;
  revokedSerialNumbers: string[];
  extensions: string[];
}

const vectors = fileURLToPath(new URL('../../test-vectors/', import.meta.url));
const expected = JSON.parse(readFileSync(new URL('./x509-vectors.expected.json', import.meta.url), 'utf8')) as {
  certificates: Record<string, ExpectedCertificate>;
  crls: Record<string, ExpectedCrl>;
};

const PEM = /-----BEGIN (CERTIFICATE|X509 CRL)-----([A-Za-z0-9+/=\s]*?)-----END \1-----/g;

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

function fromPem(text: string, source: string, out: Found[]): void {
  for (const match of text.matchAll(PEM)) {
    out.push({ source, kind: match[1] === 'CERTIFICATE' ? 'certificate' : 'crl', der: new Uint8Array(Buffer.from((match[2] ?? '').replace(/\s+/g, ''), 'base64')) });
  }
}

/** Every certificate and CRL the samples carry, wherever they carry them. */
function gather(): Found[] {
  const out: Found[] = [];
  for (const file of walk(vectors)) {
    const source = file.slice(vectors.length);
    const bytes = readFileSync(file);
    if (file.endsWith('.der')) {
      out.push({ source, kind: 'certificate', der: new Uint8Array(bytes) });
    } else if (file.endsWith('.json')) {
      const json = JSON.parse(bytes.toString('utf8')) as unknown;
      if (json === null || typeof json !== 'object' || Array.isArray(json)) continue;
      for (const [key, value] of Object.entries(json)) {
        if (typeof value !== 'string') continue;
        if (value.includes('-----BEGIN')) fromPem(value, `${source}#${key}`, out);
        else if (key.endsWith('crl') && /^([0-9a-f]{2})+$/i.test(value)) out.push({ source: `${source}#${key}`, kind: 'crl', der: new Uint8Array(Buffer.from(value, 'hex')) });
      }
    } else {
      // PEM files, and the PEM chains inside DCAP quotes.
      fromPem(bytes.toString('latin1'), source, out);
      if (source.startsWith('nitro/') && !source.includes('tampered') && !file.endsWith('.pem')) {
        const evidence = file.endsWith('.b64') ? new Uint8Array(Buffer.from(bytes.toString('utf8').trim(), 'base64')) : new Uint8Array(bytes);
        const document = decodeNitroDocument(decodeCoseSign1(evidence).payload);
        out.push({ source: `${source}#certificate`, kind: 'certificate', der: document.certificate });
        for (const [index, der] of document.cabundle.entries()) out.push({ source: `${source}#cabundle[${index}]`, kind: 'certificate', der });
      }
    }
  }
  for (const [family, roots] of Object.entries(AMD_ROOTS)) for (const [name, pem] of Object.entries(roots)) fromPem(pem, `roots/amd.ts#${family}.${name}`, out);
  fromPem(AWS_NITRO_ROOT_G1_PEM, 'roots/aws-nitro.ts', out);
  fromPem(INTEL_SGX_ROOT_CA_PEM, 'roots/intel.ts', out);
  return out;
}

function unique(kind: Found['kind']): Map<string, Found> {
  const out = new Map<string, Found>();
  for (const found of gather()) if (found.kind === kind && !out.has(sha256(found.der))) out.set(sha256(found.der), found);
  return out;
}

const certificates = unique('certificate');
const crls = unique('crl');

function withoutSignByte(hex: string): string {
  return hex.replace(/^00(?=[89a-f])/, '');
}

test('the samples hold the certificates and CRLs the reference lists, and no others', () => {
  assert.ok(certificates.size >= 38, `${certificates.size} certificates`);
  assert.ok(crls.size >= 3, `${crls.size} CRLs`);
  assert.deepEqual([...certificates.keys()].sort(), Object.keys(expected.certificates).sort());
  assert.deepEqual([...crls.keys()].sort(), Object.keys(expected.crls).sort());
});

for (const [hash, found] of certificates) {
  test(`certificate ${found.source}: as OpenSSL and the reference read it`, () => {
    const certificate = parseX509Certificate(found.der);
    const reference = expected.certificates[hash] as ExpectedCertificate;
    assert.equal(certificate.subject, reference.subject);
    assert.equal(certificate.issuer, reference.issuer);
    assert.equal(certificate.commonName, reference.commonName);
    assert.equal(withoutSignByte(certificate.serialNumber), reference.serialNumber);
    assert.equal(certificate.notBefore.toISOString(), reference.notBefore);
    assert.equal(certificate.notAfter.toISOString(), reference.notAfter);
    assert.equal(sha256(certificate.subjectPublicKeyInfo), reference.subjectPublicKeyInfoSha256);
    assert.equal(certificate.signatureAlgorithm.oid, reference.signatureAlgorithm);
    assert.deepEqual(certificate.extensions.map((extension) => `${extension.oid}${extension.critical ? ' critical' : ''} ${sha256(extension.value)}`), reference.extensions);
    assert.deepEqual(certificate.basicConstraints === undefined ? null : { ca: certificate.basicConstraints.ca, pathLength: certificate.basicConstraints.pathLength ?? null }, reference.basicConstraints);
    assert.equal(certificate.keyUsage ?? null, reference.keyUsage);

    const node = new NodeCertificate(found.der);
    assert.equal(certificate.serialNumber.toUpperCase().replace(/^0+(?=.)/, ''), node.serialNumber.replace(/^0+(?=.)/, ''));
    assert.equal(certificate.notBefore.getTime(), new Date(node.validFrom).getTime());
    assert.equal(certificate.notAfter.getTime(), new Date(node.validTo).getTime());
    assert.deepEqual(certificate.subjectPublicKeyInfo, new Uint8Array(node.publicKey.export({ type: 'spki', format: 'der' })));
    assert.equal(certificate.basicConstraints?.ca ?? false, node.ca);
    // OpenSSL prints one attribute a line, in the order encoded, with its own escaping.
    const attributes = (text: string) => text.split('\n').map((line) => line.replace(/=.*$/, ''));
    assert.deepEqual(certificate.subject.split(', ').map((attribute) => attribute.replace(/=.*$/, '')), attributes(node.subject));
    assert.equal(certificate.der.length, node.raw.length);
  });
}

for (const [hash, found] of crls) {
  test(`CRL ${found.source}: as the reference reads it, signed over tbsCertList`, () => {
    const crl = parseX509Crl(found.der);
    const reference = expected.crls[hash] as ExpectedCrl;
    assert.equal(crl.issuer, reference.issuer);
    assert.equal(crl.thisUpdate.toISOString(), reference.thisUpdate);
    assert.equal(crl.nextUpdate?.toISOString() ?? null, reference.nextUpdate);
    assert.deepEqual(crl.revoked.map((entry) => withoutSignByte(entry.serialNumber)), reference.revokedSerialNumbers);
    assert.deepEqual(crl.extensions.map((extension) => `${extension.oid}${extension.critical ? ' critical' : ''} ${sha256(extension.value)}`), reference.extensions);
    // The issuer among the samples' certificates verifies the signature over exactly tbsDer.
    const issuers = [...certificates.values()].map((candidate) => parseX509Certificate(candidate.der)).filter((candidate) => candidate.subject === crl.issuer);
    assert.ok(issuers.length > 0, `an issuer named "${crl.issuer}"`);
    // Intel signs its CRLs with ECDSA P-256/SHA-256.
    assert.equal(crl.signatureAlgorithm.oid, '1.2.840.10045.4.3.2');
    assert.ok(issuers.some((issuer) => verify('sha256', crl.tbsDer, new NodeCertificate(issuer.der).publicKey, crl.signature)), 'the CRL signature verifies with its issuer');
  });
}
