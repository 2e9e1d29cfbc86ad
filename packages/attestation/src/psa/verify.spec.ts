import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { encode } from 'cbor2';
import { VeracruzError } from '@veracruz-ts/policy';
import { verifyPsa } from './verify.ts';
import { signCoseSign1 } from '../cose.ts';
import { bindReportData } from '../binding.ts';
import { toHex } from '../platform.ts';
import { generateEcKeys } from '../roots/test-pki.ts';
import { vectorsOf, vectorBytes } from '../roots/test-vectors.ts';

function refusal(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === 'attestation_failed' && pattern.test(error.rawMessage);
}

const iak = vectorBytes('psa/tfm-iak-public.pem');
// PSA tokens carry no time; any time will do, but one must be given.
const at = new Date('2025-01-01T00:00:00Z');
const positives = vectorsOf('psa', 'positive');

test('the manifest has both PSA tokens', () => assert.equal(positives.length, 2));

for (const entry of positives) {
  const facts = entry.facts as Record<string, any>;
  test(`${entry.id}: accepted with the TF-M IAK, reproducing the manifest facts`, async () => {
    const claims = await verifyPsa(vectorBytes(entry.file), { at, endorsements: [iak] });
    const details = claims.details as Record<string, any>;
    assert.equal(claims.platform, 'psa');
    assert.equal(claims.debug, false);
    assert.equal(details.profile, facts.profile);
    assert.equal(toHex(claims.nonce!), facts.nonce);
    assert.equal(claims.nonce!.length, facts.nonce_length);
    assert.equal(details.implementationId, facts.implementation_id);
    assert.equal(details.instanceId, facts.instance_id);
    assert.equal(details.clientId, facts.client_id);
    assert.equal(details.lifecycle, facts.security_lifecycle);
    assert.equal(details.lifecycleState, 'secured');
    assert.equal(details.bootSeed, facts.boot_seed);
    assert.equal(details.certificationReference, facts.certification_reference ?? facts.hardware_version);
    assert.equal(details.verificationServiceIndicator, facts.verification_service_indicator);
    assert.deepEqual(
      details.softwareComponents,
      facts.sw_components.map((c: Record<string, string>) => ({
        measurementType: c.measurement_type,
        version: c.version,
        signerId: c.signer_id,
        measurementDescription: c.measurement_desc,
        measurementValue: c.measurement_value,
      })),
    );
    // No "ARoT" component in TF-M's tokens: the first component (SPE) is the measurement.
    assert.equal(toHex(claims.measurement), facts.sw_components[0].measurement_value);
    assert.equal(details.measurementType, 'SPE');
  });
}

for (const entry of vectorsOf('psa', 'negative-tampered')) {
  test(`${entry.id}: tampered copy refused (${entry.tamper!.what})`, async () => {
    const bytes = vectorBytes(entry.file);
    const original = vectorBytes(entry.derived_from!);
    assert.deepEqual([...bytes.keys()].filter((index) => bytes[index] !== original[index]), [entry.tamper!.offset_in_file]);
    await assert.rejects(verifyPsa(bytes, { at, endorsements: [iak] }), refusal(/^psa: COSE_Sign1: ES256 signature does not verify with the attestation key$/));
  });
}

test('the attestation key must be given and must match the instance id', async () => {
  const token = vectorBytes(positives[0]!.file);
  await assert.rejects(verifyPsa(token, { at }), refusal(/^psa: no attestation public key given/));
  const other = await generateEcKeys('P-256');
  const otherPem = Buffer.from(await crypto.subtle.exportKey('spki', other.publicKey));
  await assert.rejects(verifyPsa(token, { at, endorsements: [otherPem] }), refusal(/^psa: instance id 01fa5875.* matches none of the 1 endorsed attestation keys$/));
  // With several keys, the right one is picked by instance id.
  await verifyPsa(token, { at, endorsements: [otherPem, iak] });
  await assert.rejects(verifyPsa(token, { at, endorsements: [new TextEncoder().encode('-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----')] }), refusal(/^psa: endorsements\[0\] is not a public key/));
  const p384 = await generateEcKeys('P-384');
  await assert.rejects(verifyPsa(token, { at, endorsements: [Buffer.from(await crypto.subtle.exportKey('spki', p384.publicKey))] }), refusal(/^psa: endorsements\[0\] is not an ECDSA P-256 public key$/));
  await assert.rejects(verifyPsa(token, { at: new Date('x'), endorsements: [iak] }), refusal(/options\.at/));
});

test('the real tokens are checked against expected nonces', async () => {
  const token = vectorBytes(positives[0]!.file);
  const zero = new Uint8Array(32);
  // The 64-byte nonce claim reads as csrHash || nonce: both halves are zero.
  await verifyPsa(token, { at, endorsements: [iak], expectedNonce: zero, expectedCsrHash: zero });
  await verifyPsa(token, { at, endorsements: [iak], expectedNonce: new Uint8Array(64) });
  await assert.rejects(verifyPsa(token, { at, endorsements: [iak], expectedNonce: new Uint8Array(32).fill(1) }), refusal(/^psa: nonce claim binds nonce 0{64} but (01){32} was expected$/));
  await assert.rejects(verifyPsa(token, { at, endorsements: [iak], expectedCsrHash: new Uint8Array(32).fill(2) }), refusal(/^psa: nonce claim binds CSR hash 0{64} but (02){32} was expected$/));
});

/** A PSA 2.0.0 token made with a fresh key, as TF-M would make it. */
async function makeToken(overrides: Map<number, unknown> = new Map(), alg: 'ES256' | 'ES384' = 'ES256') {
  const keys = await generateEcKeys(alg === 'ES256' ? 'P-256' : 'P-384');
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey));
  const instanceId = new Uint8Array([1, ...createHash('sha256').update(raw).digest()]);
  const claims = new Map<number, unknown>([
    [265, 'http://arm.com/psa/2.0.0'],
    [10, new Uint8Array(32)],
    [256, instanceId],
    [2396, new Uint8Array(32).fill(0xaa)],
    [2394, -1],
    [2395, 0x3000],
    [2397, new Uint8Array(32).fill(0xbb)],
    [2399, [new Map<number, unknown>([[1, 'BL'], [2, new Uint8Array(32).fill(1)], [5, new Uint8Array(32).fill(2)]]), new Map<number, unknown>([[1, 'ARoT'], [2, new Uint8Array(32).fill(3)], [5, new Uint8Array(32).fill(4)]])]],
  ]);
  for (const [key, value] of overrides) claims.set(key, value);
  const token = await signCoseSign1(encode(claims), keys.privateKey, alg);
  const pem = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  return { token, pem };
}

test('a token of a fresh key: ARoT is the measurement; binding checked', async () => {
  const csrHash = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  const { token, pem } = await makeToken(new Map([[10, bindReportData(csrHash, nonce)]]));
  const claims = await verifyPsa(token, { at, endorsements: [pem], expectedCsrHash: csrHash, expectedNonce: nonce });
  assert.equal(toHex(claims.measurement), '03'.repeat(32));
  assert.deepEqual(claims.csrHash, csrHash);
  await assert.rejects(verifyPsa(token, { at, endorsements: [pem], expectedNonce: csrHash }), refusal(/^psa: nonce claim binds nonce/));
  await assert.rejects(verifyPsa(token, { at, endorsements: [pem], expectedCsrHash: nonce }), refusal(/^psa: nonce claim binds CSR hash/));
});

test('debug lifecycle states are refused unless allowDebug; undeployed states always', async () => {
  for (const lifecycle of [0x4000, 0x5001]) {
    const { token, pem } = await makeToken(new Map([[2395, lifecycle]]));
    await assert.rejects(verifyPsa(token, { at, endorsements: [pem] }), refusal(/^psa: debug evidence refused \(security lifecycle 0x[45]00[01] is (non-psa-rot-debug|recoverable-psa-rot-debug)\)/));
    assert.equal((await verifyPsa(token, { at, endorsements: [pem], allowDebug: true })).debug, true);
  }
  for (const [lifecycle, name] of [[0x1000, 'assembly-and-test'], [0x2000, 'psa-rot-provisioning'], [0x6000, 'decommissioned'], [0x00ff, 'unknown']] as const) {
    const { token, pem } = await makeToken(new Map([[2395, lifecycle]]));
    await assert.rejects(verifyPsa(token, { at, endorsements: [pem], allowDebug: true }), refusal(new RegExp(`^psa: security lifecycle 0x${lifecycle.toString(16)} \\(${name}\\) is not a deployed state$`)));
  }
  const { token, pem } = await makeToken(new Map([[2395, 0x7000]]));
  await assert.rejects(verifyPsa(token, { at, endorsements: [pem] }), refusal(/^psa: token claims: security lifecycle 0x7000 is not a PSA lifecycle state$/));
});

test('malformed claims are refused precisely', async () => {
  const cases: [Map<number, unknown>, RegExp][] = [
    [new Map([[265, 'http://example.com/other']]), /profile is "http:\/\/example.com\/other"/],
    [new Map([[10, new Uint8Array(31)]]), /nonce \(10\) is 31 bytes, expected 32 or 48 or 64/],
    [new Map([[2396, 'text']]), /implementation id \(2396\) is missing or not a byte string/],
    [new Map([[2399, []]]), /software components \(2399\) is not a non-empty array/],
    [new Map([[2399, [new Map([[1, 'X']])]]]), /software component 0 measurement value is missing/],
    [new Map([[2394, 'one']]), /client id \(2394\) is missing or not an integer/],
  ];
  for (const [override, pattern] of cases) {
    const { token, pem } = await makeToken(override);
    await assert.rejects(verifyPsa(token, { at, endorsements: [pem] }), refusal(new RegExp(`^psa: token claims: ${pattern.source}`)), pattern.source);
  }
  const { token, pem } = await makeToken(new Map(), 'ES384');
  await assert.rejects(verifyPsa(token, { at, endorsements: [pem] }), refusal(/^psa: COSE_Sign1: algorithm ES384 where ES256 is required$/));
});

test('truncated tokens are refused at every length tried', async () => {
  const token = vectorBytes(positives[1]!.file);
  for (const length of [0, 1, 3, 10, 100, 300, token.length - 64, token.length - 1]) {
    await assert.rejects(verifyPsa(token.subarray(0, length), { at, endorsements: [iak] }), refusal(/^psa: COSE_Sign1: /), `length ${length}`);
  }
});
