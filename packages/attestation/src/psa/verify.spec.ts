import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, type webcrypto } from 'node:crypto';
import { encode } from 'cbor2';
import { VeracruzError } from '@veracruz-ts/core';
import { verifyPsa } from './verify.ts';
import { psaInstanceIdOfKey, readPsaEndorsement } from './endorsement.ts';
import { signCoseSign1 } from '../cose.ts';
import { bindReportData } from '../binding.ts';
import { toHex } from '../platform.ts';
import { generateEcKeys } from '../roots/test-pki.ts';
import { vectorsOf, vectorBytes, vectorText, type VectorEntry } from '../roots/test-vectors.ts';

function refusal(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === 'attestation_failed' && pattern.test(error.rawMessage);
}

const iak = vectorBytes('psa/tfm-iak-public.pem');
// PSA tokens carry no time; any time will do, but one must be given.
const at = new Date('2025-01-01T00:00:00Z');
const positives = vectorsOf('psa', 'positive');
/** The endorsement a manifest entry needs (the TF-M key, or Veraison's CoMID). */
const endorsementOf = (entry: VectorEntry): Uint8Array => vectorBytes(entry.needs![0]!.file);

test('the manifest has the three PSA tokens', () => assert.equal(positives.length, 3));

for (const entry of positives) {
  const facts = entry.facts as Record<string, any>;
  test(`${entry.id}: accepted with ${entry.needs![0]!.file}, reproducing the manifest facts`, async () => {
    const claims = await verifyPsa(vectorBytes(entry.file), { at, endorsements: [endorsementOf(entry)] });
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
    assert.equal(details.certificationReference, facts.certification_reference ?? facts.hardware_version ?? undefined);
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
    // The ARoT component when there is one (Veraison's sample), else the first (TF-M's SPE).
    const measured = facts.sw_components.find((c: Record<string, string>) => c.measurement_type === 'ARoT') ?? facts.sw_components[0];
    assert.equal(toHex(claims.measurement), measured.measurement_value);
    assert.equal(details.measurementType, measured.measurement_type);
  });
}

for (const entry of vectorsOf('psa', 'negative-tampered')) {
  test(`${entry.id}: tampered copy refused (${entry.tamper!.what})`, async () => {
    const bytes = vectorBytes(entry.file);
    const original = vectorBytes(entry.derived_from!);
    assert.deepEqual([...bytes.keys()].filter((index) => bytes[index] !== original[index]), [entry.tamper!.offset_in_file]);
    await assert.rejects(verifyPsa(bytes, { at, endorsements: [endorsementOf(entry)] }), refusal(/^psa: COSE_Sign1: ES256 signature does not verify with the attestation key$/));
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

// Veraison binds an instance id to its IAK through a CoMID rather than deriving one from the other.
const veraisonComid = vectorBytes('psa/veraison-services-comid-psa-ta.json');
const veraisonToken = vectorBytes('psa/tam-over-http-psa-evidence.cbor');
const veraisonComidJson = (): Record<string, any> => JSON.parse(vectorText('psa/veraison-services-comid-psa-ta.json'));
const encodeJson = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value, null, 2));
const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** A CoMID in Veraison's JSON shape binding `instanceId` (and, if given, `implementationId`) to the keys. */
function comidFor(keysPem: string[], instanceId: Uint8Array, implementationId?: Uint8Array): Record<string, any> {
  return {
    'tag-identity': { id: '366D0A0A-5988-45ED-8488-2F2A544F6242', version: 0 },
    triples: {
      'attester-verification-keys': [
        {
          environment: {
            ...(implementationId === undefined ? {} : { class: { id: { type: 'psa.impl-id', value: base64(implementationId) }, vendor: 'ACME' } }),
            instance: { type: 'ueid', value: base64(instanceId) },
          },
          'verification-keys': keysPem.map((value) => ({ type: 'pkix-base64-key', value })),
        },
      ],
    },
  };
}

async function pemOf(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('spki', key)).toString('base64');
  return `-----BEGIN PUBLIC KEY-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

test("Veraison's sample: accepted with its CoMID, whose instance id is not derived from the key", async () => {
  const claims = await verifyPsa(veraisonToken, { at, endorsements: [veraisonComid] });
  const details = claims.details as Record<string, any>;
  assert.equal(details.instanceId, '01ceebae7b8927a3227e5303cf5e0f1f7b34bb542ad7250ac03fbcde36ec2f1508');
  assert.equal(details.endorsedBy, 'endorsements[0] CoMID attester-verification-keys[0].verification-keys[0]');
  assert.equal(toHex(claims.measurement), 'a3a5e715f0cc574a73c3f9bebb6bc24f32ffd5b67b387244c2c909da779a1478');
  const [endorsed] = readPsaEndorsement(veraisonComid, 0);
  assert.notEqual(toHex(psaInstanceIdOfKey(endorsed!.key)), details.instanceId);
  // The same key given bare is endorsed for the TF-M-style derived id only, so the token is refused.
  const bareKey = new TextEncoder().encode(veraisonComidJson().triples['attester-verification-keys'][0]['verification-keys'][0].value);
  await assert.rejects(verifyPsa(veraisonToken, { at, endorsements: [bareKey] }), refusal(/^psa: instance id 01ceebae.* matches none of the 1 endorsed attestation keys$/));
  // Any time: neither a CoMID nor a bare key has a validity window.
  await verifyPsa(veraisonToken, { at: new Date('2000-01-01T00:00:00Z'), endorsements: [veraisonComid] });
});

test('a bare key and a CoMID can be given together; each token finds its own key', async () => {
  const endorsements = [iak, veraisonComid];
  assert.equal((await verifyPsa(veraisonToken, { at, endorsements })).details['endorsedBy'], 'endorsements[1] CoMID attester-verification-keys[0].verification-keys[0]');
  assert.equal((await verifyPsa(vectorBytes(positives[0]!.file), { at, endorsements })).details['endorsedBy'], 'endorsements[0]');
});

for (const entry of vectorsOf('psa', 'negative-unendorsed-instance')) {
  test(`${entry.id}: signed by the CoMID's key, but for another instance: refused before the signature is tried`, async () => {
    await assert.rejects(
      verifyPsa(vectorBytes(entry.file), { at, endorsements: [endorsementOf(entry)] }),
      refusal(new RegExp(`^psa: instance id ${(entry.facts as Record<string, string>).instance_id} matches none of the 1 endorsed attestation keys$`)),
    );
  });
}

test('a CoMID naming another instance, or another implementation, is refused precisely', async () => {
  const otherInstance = veraisonComidJson();
  otherInstance.triples['attester-verification-keys'][0].environment.instance.value = base64(new Uint8Array([1, ...new Uint8Array(32).fill(7)]));
  await assert.rejects(verifyPsa(veraisonToken, { at, endorsements: [encodeJson(otherInstance)] }), refusal(/^psa: instance id 01ceebae\w+ matches none of the 1 endorsed attestation keys$/));

  const otherImplementation = veraisonComidJson();
  otherImplementation.triples['attester-verification-keys'][0].environment.class.id.value = base64(new Uint8Array(32).fill(9));
  await assert.rejects(
    verifyPsa(veraisonToken, { at, endorsements: [encodeJson(otherImplementation)] }),
    refusal(new RegExp(
      '^psa: instance id 01ceebae\\w+ is endorsed \\(endorsements\\[0\\] CoMID attester-verification-keys\\[0\\]\\.verification-keys\\[0\\]\\) ' +
        `for implementation id ${'09'.repeat(32)}, but the token's implementation id is 61636d652d696d706c656d656e746174696f6e2d69642d303030303030303031$`,
    )),
  );
  // Without a class, the instance binding alone decides.
  const noClass = veraisonComidJson();
  delete noClass.triples['attester-verification-keys'][0].environment.class;
  await verifyPsa(veraisonToken, { at, endorsements: [encodeJson(noClass)] });
});

test('a CoMID may endorse several keys for an instance; the token must verify with one of them', async () => {
  const { token, pem } = await makeToken();
  const claims = await verifyPsa(token, { at, endorsements: [pem] });
  const instanceId = Buffer.from(claims.details['instanceId'] as string, 'hex');
  const signerPem = createPublicKey({ key: Buffer.from(pem), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString();
  const strangerPem = await pemOf((await generateEcKeys('P-256')).publicKey);
  const rotated = await verifyPsa(token, { at, endorsements: [encodeJson(comidFor([strangerPem, signerPem], instanceId))] });
  assert.equal(rotated.details['endorsedBy'], 'endorsements[0] CoMID attester-verification-keys[0].verification-keys[1]');
  await assert.rejects(
    verifyPsa(token, { at, endorsements: [encodeJson(comidFor([strangerPem, await pemOf((await generateEcKeys('P-256')).publicKey)], instanceId))] }),
    refusal(/^psa: COSE_Sign1: ES256 signature does not verify with any of the 2 attestation keys endorsed for this instance$/),
  );
  // A CoMID can bind any instance id the manufacturer chose to a key: the token below claims one that is not derived from its key.
  const chosenId = new Uint8Array([1, ...new Uint8Array(32).fill(0x5a)]);
  const chosen = await makeToken(new Map([[256, chosenId]]));
  const chosenPem = createPublicKey({ key: Buffer.from(chosen.pem), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString();
  await assert.rejects(verifyPsa(chosen.token, { at, endorsements: [chosen.pem] }), refusal(/matches none of the 1 endorsed attestation keys/));
  await verifyPsa(chosen.token, { at, endorsements: [encodeJson(comidFor([chosenPem], chosenId, new Uint8Array(32).fill(0xaa)))] });
});

test('malformed CoMIDs are refused with what is wrong and where', async () => {
  const triple = (mutate: (record: Record<string, any>) => void): Uint8Array => {
    const comid = veraisonComidJson();
    mutate(comid.triples['attester-verification-keys'][0]);
    return encodeJson(comid);
  };
  const p384Pem = await pemOf((await generateEcKeys('P-384')).publicKey);
  const text = (value: string): Uint8Array => new TextEncoder().encode(value);
  const cases: [Uint8Array, RegExp][] = [
    [text('{"triples": '), /^psa: endorsements\[0\] looks like a CoMID but is not JSON/],
    [text('{"triples": {}, "triples": {}}'), /^psa: endorsements\[0\] is a CoMID with a repeated key at triples$/],
    [encodeJson({ 'corim-id': '5c57e8f4-46cd-421b-91c9-08cf93e13cfc', profiles: ['http://arm.com/psa/iot/1'] }), /^psa: endorsements\[0\] is a CoRIM template, which holds no triples/],
    [encodeJson({ triples: { 'reference-values': [] } }), /^psa: endorsements\[0\] is a CoMID without triples\["attester-verification-keys"\]/],
    [triple((r) => delete r.environment.instance), /^psa: endorsements\[0\] CoMID attester-verification-keys\[0\] has no environment\.instance: a key must be bound to one instance$/],
    [triple((r) => (r.environment.instance = { type: 'uuid', value: '69E027B2-7157-4758-BCB4-D9F167FE49EA' })), /names an instance of type "uuid", which cannot be a PSA instance \(ueid required\)$/],
    [triple((r) => (r.environment.instance.value = 'Ac7rrnuJJ6MiflMDz14PH3s0u1Qq1yUKwD-83jbsLxUI')), /attester-verification-keys\[0\]\.environment\.instance\.value is not standard base64 text/],
    [triple((r) => (r.environment.instance.value = 'Ad6tvu/erb7v3q2+796tvu8=')), /names ueid 01deadbeefdeadbeefdeadbeefdeadbeef, which is not a PSA instance id \(0x01 followed by 32 bytes\)$/],
    [triple((r) => (r.environment.class.id = { type: 'oid', value: '2.5.2.8192' })), /has a class id of type "oid", not psa\.impl-id$/],
    [triple((r) => (r['verification-keys'] = [])), /attester-verification-keys\[0\] has no verification-keys$/],
    [triple((r) => (r['verification-keys'][0].type = 'cose-key')), /verification-keys\[0\] has type "cose-key", which is not supported \(a PSA IAK is endorsed as pkix-base64-key\)$/],
    [triple((r) => (r['verification-keys'][0].value = vectorText('sev-snp/ms-milan_vcek.pem'))), /verification-keys\[0\] is not one PEM "PUBLIC KEY" block$/],
    [triple((r) => (r['verification-keys'][0].value = p384Pem)), /verification-keys\[0\] is not an ECDSA P-256 public key$/],
  ];
  for (const [endorsement, pattern] of cases) {
    await assert.rejects(verifyPsa(veraisonToken, { at, endorsements: [endorsement] }), refusal(pattern), pattern.source);
  }
});
