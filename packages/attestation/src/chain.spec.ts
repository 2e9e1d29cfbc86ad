import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { KeyUsage, VeracruzError } from '@veracruz-ts/core';
import { verifyCertificateChain, pemCertificates, certificateToPem, parseCertificate } from './chain.ts';
import { createTestCertificate } from './roots/test-pki.ts';

const at = new Date('2030-06-01T00:00:00Z');

function refusal(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === 'attestation_failed' && pattern.test(error.message);
}

async function pki() {
  const root = await createTestCertificate({ subject: 'CN=Test Root', curve: 'P-384' });
  const intermediate = await createTestCertificate({ subject: 'CN=Test Intermediate', issuer: root, ca: true, curve: 'P-384' });
  const leaf = await createTestCertificate({ subject: 'CN=Test Leaf', issuer: intermediate });
  return { root, intermediate, leaf };
}

test('accepts a chain to an anchor, with or without the root, DER or PEM', async () => {
  const { root, intermediate, leaf } = await pki();
  const result = await verifyCertificateChain([leaf.der, intermediate.pem], [root.pem], at);
  assert.equal(result.certificates.length, 2);
  assert.equal(result.anchor.subject, 'CN=Test Root');
  const withRoot = await verifyCertificateChain([leaf.pem, intermediate.der, root.der], [root.der], at);
  assert.equal(withRoot.certificates.length, 2);
  // An anchor bundle in one PEM text.
  await verifyCertificateChain([leaf.der, intermediate.der], [`${intermediate.pem}${root.pem}`], at);
});

test('refuses certificates outside their validity window, naming the certificate and times', async () => {
  const root = await createTestCertificate({ subject: 'CN=Test Root' });
  const intermediate = await createTestCertificate({ subject: 'CN=Test Intermediate', issuer: root, ca: true, notAfter: new Date('2025-01-11T19:20:16Z') });
  const leaf = await createTestCertificate({ subject: 'CN=Test Leaf', issuer: intermediate, notBefore: new Date('2024-01-01T00:00:00Z') });
  await verifyCertificateChain([leaf.der, intermediate.der], [root.pem], new Date('2024-06-01T00:00:00Z'));
  await assert.rejects(
    verifyCertificateChain([leaf.der, intermediate.der], [root.pem], at, { context: 'nitro: certificate chain', names: ['certificate', 'cabundle[1]'] }),
    refusal(/^\[attestation_failed\] nitro: certificate chain: cabundle\[1\] expired at 2025-01-11T19:20:16Z \(verifying at 2030-06-01T00:00:00Z\)$/),
  );
  await assert.rejects(
    verifyCertificateChain([leaf.der, intermediate.der], [root.pem], new Date('2023-12-31T23:59:59.500Z')),
    refusal(/chain\[0\] is not valid before 2024-01-01T00:00:00Z \(verifying at 2023-12-31T23:59:59.500Z\)/),
  );
  const expiredRoot = await createTestCertificate({ subject: 'CN=Old Root', notAfter: new Date('2029-01-01T00:00:00Z') });
  const child = await createTestCertificate({ subject: 'CN=Child', issuer: expiredRoot });
  await assert.rejects(verifyCertificateChain([child.der], [expiredRoot.pem], at), refusal(/trust anchor "CN=Old Root" expired at 2029-01-01T00:00:00Z/));
});

test('refuses a chain to a self-made root with the same name', async () => {
  const { root, intermediate, leaf } = await pki();
  const impostor = await createTestCertificate({ subject: 'CN=Test Root', curve: 'P-384' });
  await assert.rejects(verifyCertificateChain([leaf.der, intermediate.der], [impostor.pem], at), refusal(/chain\[1\] signature does not verify with the trust anchor "CN=Test Root"/));
  // The impostor root carried in the chain is not the pinned root: it is treated as an intermediate.
  await assert.rejects(verifyCertificateChain([leaf.der, intermediate.der, impostor.der], [root.pem], at), refusal(/chain\[2\] signature does not verify with the trust anchor "CN=Test Root"/));
});

test('refuses a chain whose top is issued by no anchor', async () => {
  const { intermediate, leaf } = await pki();
  const other = await createTestCertificate({ subject: 'CN=Other Root' });
  await assert.rejects(verifyCertificateChain([leaf.der, intermediate.der], [other.pem], at), refusal(/chain\[1\] \("CN=Test Intermediate"\) is issued by "CN=Test Root", which is not a trust anchor/));
});

test('refuses a link whose names do not chain', async () => {
  const { root, intermediate } = await pki();
  const stranger = await createTestCertificate({ subject: 'CN=Stranger', issuer: root, ca: true });
  const leaf = await createTestCertificate({ subject: 'CN=Leaf', issuer: stranger });
  await assert.rejects(verifyCertificateChain([leaf.der, intermediate.der], [root.pem], at), refusal(/chain\[0\] \(issuer "CN=Stranger"\) is not issued by chain\[1\] \("CN=Test Intermediate"\)/));
});

test('refuses issuers that are not CAs, exceed the path length or may not sign certificates', async () => {
  const root = await createTestCertificate({ subject: 'CN=Root', pathLength: 0 });
  const notCa = await createTestCertificate({ subject: 'CN=Not CA', issuer: root, ca: false });
  const leaf1 = await createTestCertificate({ subject: 'CN=Leaf', issuer: notCa });
  await assert.rejects(verifyCertificateChain([leaf1.der, notCa.der], [root.pem], at), refusal(/chain\[1\] is not a CA certificate/));

  const ca = await createTestCertificate({ subject: 'CN=CA', issuer: root, ca: true });
  const leaf2 = await createTestCertificate({ subject: 'CN=Leaf', issuer: ca });
  await assert.rejects(verifyCertificateChain([leaf2.der, ca.der], [root.pem], at), refusal(/trust anchor "CN=Root" allows a path length of 0 but 1 CA certificates follow it/));

  const root2 = await createTestCertificate({ subject: 'CN=Root2' });
  const noSign = await createTestCertificate({ subject: 'CN=No Sign', issuer: root2, ca: true, keyUsage: KeyUsage.digitalSignature });
  const leaf3 = await createTestCertificate({ subject: 'CN=Leaf', issuer: noSign });
  await assert.rejects(verifyCertificateChain([leaf3.der, noSign.der], [root2.pem], at), refusal(/chain\[1\] key usage does not include keyCertSign/));
});

test('accepts serial number 0 only on the leaf and only when allowed (the AMD VCEK case)', async () => {
  const vcek = readFileSync(new URL('../test-vectors/sev-snp/ms-milan_vcek.pem', import.meta.url), 'utf8');
  const ask = readFileSync(new URL('../test-vectors/sev-snp/roots/milan_ask.pem', import.meta.url), 'utf8');
  const ark = readFileSync(new URL('../test-vectors/sev-snp/roots/milan_ark.pem', import.meta.url), 'utf8');
  const vcekAt = new Date('2026-03-01T00:00:00Z');
  await assert.rejects(verifyCertificateChain([vcek, ask], [ark], vcekAt), refusal(/chain\[0\] has serial number 0/));
  const verified = await verifyCertificateChain([vcek, ask], [ark], vcekAt, { allowZeroSerialLeaf: true });
  assert.equal(verified.anchor.subject.includes('CN=ARK-Milan'), true);
  // The RSASSA-PSS links are really checked: the Milan VCEK does not chain to Genoa's ARK.
  const genoaAsk = readFileSync(new URL('../test-vectors/sev-snp/roots/genoa_ask.pem', import.meta.url), 'utf8');
  await assert.rejects(verifyCertificateChain([vcek, genoaAsk], [ark], vcekAt, { allowZeroSerialLeaf: true }), refusal(/chain\[1\] \(".*CN=SEV-Genoa"\) is issued by ".*CN=ARK-Genoa", which is not a trust anchor/));
  await assert.rejects(verifyCertificateChain([vcek, genoaAsk], [ark, readFileSync(new URL('../test-vectors/sev-snp/roots/genoa_ark.pem', import.meta.url), 'utf8')], vcekAt, { allowZeroSerialLeaf: true }), refusal(/chain\[0\] \(issuer ".*CN=SEV-Milan"\) is not issued by chain\[1\]/));
});

test('refuses unknown critical extensions', async () => {
  const root = await createTestCertificate({ subject: 'CN=Root' });
  const odd = await createTestCertificate({ subject: 'CN=Odd', issuer: root, extensions: [{ oid: '1.2.3.4.5', critical: true, value: new Uint8Array([5, 0]) }] });
  await assert.rejects(verifyCertificateChain([odd.der], [root.pem], at), refusal(/chain\[0\] has an unsupported critical extension 1\.2\.3\.4\.5/));
});

test('refuses garbage, empty chains and missing anchors; never reads the clock', async () => {
  const { root, leaf } = await pki();
  await assert.rejects(verifyCertificateChain([new Uint8Array([0x30, 0x03, 1, 2, 3])], [root.pem], at), refusal(/chain\[0\] is not a well-formed X.509 certificate/));
  await assert.rejects(verifyCertificateChain(['not pem'], [root.pem], at), refusal(/chain\[0\] is not exactly one PEM certificate/));
  await assert.rejects(verifyCertificateChain([], [root.pem], at), refusal(/the chain is empty/));
  await assert.rejects(verifyCertificateChain([leaf.der], [], at), refusal(/no trust anchors given/));
  await assert.rejects(verifyCertificateChain([leaf.der], [root.pem], new Date(Number.NaN)), refusal(/not a valid Date/));
  const truncated = leaf.der.subarray(0, leaf.der.length - 10);
  await assert.rejects(verifyCertificateChain([truncated], [root.pem], at), refusal(/chain\[0\] is not a well-formed X.509 certificate \(its encoding says \d+ bytes but \d+ were given\)/));
  await assert.rejects(verifyCertificateChain([new Uint8Array([...leaf.der, 0])], [root.pem], at), refusal(/chain\[0\] is not a well-formed X.509 certificate \(its encoding says/));
});

test('PEM helpers round-trip', async () => {
  const { root, leaf } = await pki();
  const text = certificateToPem(leaf.der) + certificateToPem(root.der);
  assert.deepEqual(pemCertificates(text), [leaf.der, root.der]);
  assert.deepEqual(parseCertificate(new TextEncoder().encode(certificateToPem(leaf.der)), 'x').der, leaf.der);
});

test('a link verified once does not vouch for another issuer of the same name', async () => {
  const { root, intermediate, leaf } = await pki();
  await verifyCertificateChain([leaf.der, intermediate.der], [root.pem], at);
  const impostor = await createTestCertificate({ subject: 'CN=Test Intermediate', issuer: root, ca: true, curve: 'P-384' });
  await assert.rejects(verifyCertificateChain([leaf.der, impostor.der], [root.pem], at), refusal(/chain\[0\] (signature does not verify with the key of chain\[1\]|authority key identifier does not match)/));
  // And the cached link still has its validity checked at every call.
  await assert.rejects(verifyCertificateChain([leaf.der, intermediate.der], [root.pem], new Date('2041-01-01T00:00:00Z')), refusal(/chain\[0\] expired at 2040-01-01T00:00:00Z/));
});

test('PEM blocks that are not base64 are refused, never skipped; strict mode refuses other text', async () => {
  const { root, leaf } = await pki();
  const text = certificateToPem(leaf.der) + certificateToPem(root.der);
  const broken = text.replace(/(-----BEGIN CERTIFICATE-----\n.{10})./, '$1*');
  assert.throws(() => pemCertificates(broken), refusal(/^\[attestation_failed\] PEM: certificate 0 of the PEM text is not base64$/));
  assert.equal(pemCertificates(`comment\n${text}`).length, 2);
  assert.throws(() => pemCertificates(`comment\n${text}`, { strict: true, context: 'tdx: quote' }), refusal(/^\[attestation_failed\] tdx: quote: the PEM text holds something besides certificates$/));
  assert.equal(pemCertificates(`\n${text}\n`, { strict: true }).length, 2);
});
