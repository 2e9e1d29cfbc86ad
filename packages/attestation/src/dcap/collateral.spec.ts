import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VeracruzError } from '@veracruz-ts/core';
import { parseCertificate } from '../chain.ts';
import { createTestCertificate, createTestCrl } from '../roots/test-pki.ts';
import { checkCrls, readCollateral } from './collateral.ts';

function refusal(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === 'attestation_failed' && pattern.test(error.rawMessage);
}

const at = new Date('2030-06-01T00:00:00Z');

async function pki() {
  const root = await createTestCertificate({ subject: 'CN=Test SGX Root CA' });
  const ca = await createTestCertificate({ subject: 'CN=Test PCK Platform CA', issuer: root, ca: true, serialNumber: '0a0b' });
  const leaf = await createTestCertificate({ subject: 'CN=Test PCK Certificate', issuer: ca, serialNumber: '00c0ffee' });
  const parsed = { root: parseCertificate(root.der, 'root'), ca: parseCertificate(ca.der, 'ca'), leaf: parseCertificate(leaf.der, 'leaf') };
  return { root, ca, leaf, parsed };
}

test('CRLs from the endorsements are read (DER or PEM), checked against their issuer and the time, and revoke', async () => {
  const { root, ca, parsed } = await pki();
  const rootCrl = await createTestCrl({ issuer: root, revoked: ['77'] });
  const pckCrl = await createTestCrl({ issuer: ca, revoked: ['01', '02'] });
  const pem = `-----BEGIN X509 CRL-----\n${Buffer.from(pckCrl).toString('base64')}\n-----END X509 CRL-----\n`;
  const collateral = readCollateral('tdx', [rootCrl, new TextEncoder().encode(pem)]);
  assert.equal(collateral.crls.length, 2);
  assert.deepEqual(await checkCrls('tdx', collateral.crls, [parsed.leaf, parsed.ca], parsed.root, at), ['root CA CRL', 'PCK CRL']);

  // Revocation: the leaf's serial (with its sign octet) and the CA's.
  const revokesLeaf = readCollateral('tdx', [await createTestCrl({ issuer: ca, revoked: ['c0ffee'] })]).crls;
  await assert.rejects(checkCrls('tdx', revokesLeaf, [parsed.leaf, parsed.ca], parsed.root, at), refusal(/^tdx: PCK CRL revokes the PCK certificate \(serial 00c0ffee\)$/));
  const revokesCa = readCollateral('tdx', [await createTestCrl({ issuer: root, revoked: ['0a0b'] })]).crls;
  await assert.rejects(checkCrls('tdx', revokesCa, [parsed.leaf, parsed.ca], parsed.root, at), refusal(/^tdx: root CA CRL revokes the PCK CA certificate/));

  // Time window, a missing nextUpdate, another issuer's key, and a tampered signature.
  const stale = readCollateral('tdx', [await createTestCrl({ issuer: ca, nextUpdate: new Date('2030-01-01T00:00:00Z') })]).crls;
  await assert.rejects(checkCrls('tdx', stale, [parsed.leaf, parsed.ca], parsed.root, at), refusal(/^tdx: PCK CRL expired: nextUpdate 2030-01-01T00:00:00Z \(verifying at 2030-06-01T00:00:00Z\)$/));
  const early = readCollateral('tdx', [await createTestCrl({ issuer: ca, thisUpdate: new Date('2031-01-01T00:00:00Z') })]).crls;
  await assert.rejects(checkCrls('tdx', early, [parsed.leaf, parsed.ca], parsed.root, at), refusal(/^tdx: PCK CRL is not valid before its thisUpdate 2031-01-01T00:00:00Z/));
  const open = readCollateral('tdx', [await createTestCrl({ issuer: ca, nextUpdate: null })]).crls;
  await assert.rejects(checkCrls('tdx', open, [parsed.leaf, parsed.ca], parsed.root, at), refusal(/^tdx: PCK CRL expired: nextUpdate absent/));
  const impostor = await createTestCertificate({ subject: 'CN=Test PCK Platform CA' });
  const forged = readCollateral('tdx', [await createTestCrl({ issuer: impostor })]).crls;
  await assert.rejects(checkCrls('tdx', forged, [parsed.leaf, parsed.ca], parsed.root, at), refusal(/^tdx: PCK CRL signature does not verify with its issuer's key$/));
  const tampered = await createTestCrl({ issuer: ca });
  tampered[tampered.length - 5] = (tampered[tampered.length - 5] as number) ^ 1;
  await assert.rejects(checkCrls('tdx', readCollateral('tdx', [tampered]).crls, [parsed.leaf, parsed.ca], parsed.root, at), refusal(/^tdx: PCK CRL signature does not verify/));
});

test('a DER endorsement that is neither a CRL nor a certificate is refused', async () => {
  assert.throws(() => readCollateral('tdx', [Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01)]), refusal(/^tdx: endorsements: endorsements\[0\] is not a well-formed X\.509 certificate/));
  assert.throws(() => readCollateral('tdx', [new TextEncoder().encode('-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n')]), refusal(/^tdx: collateral: endorsements\[0\] is not a CRL$/));
});
