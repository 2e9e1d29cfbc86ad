import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from 'cbor2';
import { VeracruzError } from '@veracruz-ts/core';
import { verifyNitro } from './verify.ts';
import { signCoseSign1 } from '../cose.ts';
import { toHex } from '../platform.ts';
import { createTestCertificate } from '../roots/test-pki.ts';
import { vectorsOf, vectorBytes, vectorText, fromHex, type VectorEntry } from '../roots/test-vectors.ts';

function refusal(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === 'attestation_failed' && pattern.test(error.rawMessage);
}

function evidenceOf(entry: VectorEntry): Uint8Array {
  return entry.file.endsWith('.b64') ? fromHex(Buffer.from(vectorText(entry.file).trim(), 'base64').toString('hex')) : vectorBytes(entry.file);
}

const positives = vectorsOf('nitro', 'positive');
const sample = (id: string) => positives.find((entry) => entry.id === id)!;

test('the manifest has the four Nitro documents', () => assert.equal(positives.length, 4));

for (const entry of positives) {
  const facts = entry.facts as Record<string, any>;
  const at = new Date(entry.verification_time!);

  test(`${entry.id}: accepted at its verification time, reproducing the manifest facts`, async () => {
    const claims = await verifyNitro(evidenceOf(entry), { at, allowDebug: true });
    assert.equal(claims.platform, 'nitro');
    assert.equal(claims.debug, entry.expected!.debug);
    assert.equal(claims.debug, facts.debug_mode_pcr0_1_2_all_zero);
    assert.equal(claims.insecure, false);
    assert.equal(toHex(claims.measurement), facts.pcr0);
    const details = claims.details as Record<string, any>;
    assert.equal(details.moduleId, facts.module_id);
    assert.equal(details.timestamp, facts.timestamp_iso);
    assert.equal(details.digest, facts.digest);
    assert.equal(Object.keys(details.pcrs).length, facts.pcr_count);
    assert.equal(details.pcrs['1'], facts.pcr1);
    assert.equal(details.pcrs['2'], facts.pcr2);
    for (const [index, value] of Object.entries(facts.pcrs_nonzero as Record<string, string>)) assert.equal(details.pcrs[index], value, `PCR${index}`);
    for (const [index, value] of Object.entries(details.pcrs as Record<string, string>)) {
      if (!(index in facts.pcrs_nonzero)) assert.match(value, /^0+$/, `PCR${index} is zero`);
    }
    assert.equal(claims.nonce === undefined ? null : toHex(claims.nonce), facts.nonce.hex);
    assert.equal(claims.reportData === undefined ? null : toHex(claims.reportData), facts.user_data.hex);
    assert.equal(details.publicKey ?? null, facts.public_key.hex);
    const leafCn = /CN=([^,]+)/.exec(facts.leaf_cert.subject)![1];
    assert.match(details.certificateSubject, new RegExp(`CN=${leafCn!.replace(/\./g, '\\.')}`));
  });

  if (entry.expected!.debug === true) {
    test(`${entry.id}: debug document refused without allowDebug`, async () => {
      await assert.rejects(verifyNitro(evidenceOf(entry), { at }), refusal(/^nitro: debug evidence refused \(PCR0, PCR1 and PCR2 are all zero\)/));
    });
  } else {
    test(`${entry.id}: production document accepted without allowDebug`, async () => {
      assert.equal((await verifyNitro(evidenceOf(entry), { at })).debug, false);
    });
  }

  for (const failure of entry.expected!.fails_at ?? []) {
    test(`${entry.id}: refused at ${failure.time} (${failure.reason})`, async () => {
      const expired = /expired/.test(failure.reason);
      await assert.rejects(
        verifyNitro(evidenceOf(entry), { at: new Date(failure.time), allowDebug: true }),
        refusal(expired ? /^nitro: certificate chain: certificate expired at .* \(verifying at / : /^nitro: certificate chain: certificate is not valid before /),
      );
    });
  }
}

for (const entry of vectorsOf('nitro', 'negative-tampered')) {
  test(`${entry.id}: tampered copy refused (${entry.tamper!.what})`, async () => {
    const bytes = vectorBytes(entry.file);
    const original = vectorBytes(entry.derived_from!);
    assert.equal(bytes.length, original.length);
    assert.deepEqual([...bytes.keys()].filter((index) => bytes[index] !== original[index]), [entry.tamper!.offset_in_file]);
    assert.equal(bytes[entry.tamper!.offset_in_file], Number(entry.tamper!.new_byte));
    assert.equal(original[entry.tamper!.offset_in_file], Number(entry.tamper!.old_byte));
    await assert.rejects(
      verifyNitro(bytes, { at: new Date(entry.verification_time!), allowDebug: true }),
      refusal(/^nitro: COSE_Sign1: ES384 signature does not verify with the leaf certificate key$/),
    );
  });
}

test('nonce and CSR hash are checked when expected values are given', async () => {
  const entry = sample('nitro/evervault-valid-attestation-doc');
  const facts = entry.facts as Record<string, any>;
  const at = new Date(entry.verification_time!);
  const evidence = evidenceOf(entry);
  const nonce = fromHex(facts.nonce.hex);
  const userData = fromHex(facts.user_data.hex);
  await verifyNitro(evidence, { at, allowDebug: true, expectedNonce: nonce, expectedCsrHash: userData });
  const wrongNonce = new Uint8Array(nonce);
  wrongNonce[0]! ^= 1;
  await assert.rejects(verifyNitro(evidence, { at, allowDebug: true, expectedNonce: wrongNonce }), refusal(/^nitro: nonce is bba6.* but baa6.* was expected$/));
  await assert.rejects(verifyNitro(evidence, { at, allowDebug: true, expectedCsrHash: new Uint8Array(32) }), refusal(/^nitro: user_data \(CSR hash\) is 3059.* but 0{64} was expected$/));
  const yawn = sample('nitro/yawn-nitro-attest.attestation');
  await assert.rejects(verifyNitro(evidenceOf(yawn), { at: new Date(yawn.verification_time!), expectedNonce: nonce }), refusal(/^nitro: nonce is absent but bba6.* was expected$/));
});

test('explicit trust anchors that do not include cabundle[0] are refused', async () => {
  const entry = sample('nitro/yawn-nitro-attest.attestation');
  const selfMade = await createTestCertificate({ subject: 'CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US', curve: 'P-384' });
  await assert.rejects(
    verifyNitro(evidenceOf(entry), { at: new Date(entry.verification_time!), trustAnchors: [selfMade.pem] }),
    refusal(/^nitro: certificate chain: cabundle\[0\] is not the pinned AWS Nitro root$/),
  );
});

/** A document as an NSM would make it, under a self-made PKI. */
async function forgedDocument(fields: { nonce?: Uint8Array; userData?: Uint8Array; pcr0?: Uint8Array; alg?: 'ES256'; tagged?: boolean; overrides?: Map<string, unknown> }) {
  const root = await createTestCertificate({ subject: 'CN=Self-made Nitro Root', curve: 'P-384' });
  const intermediate = await createTestCertificate({ subject: 'CN=Self-made Intermediate', issuer: root, ca: true, curve: 'P-384' });
  const leaf = await createTestCertificate({ subject: 'CN=i-0000.enclave', issuer: intermediate, curve: fields.alg === 'ES256' ? 'P-256' : 'P-384' });
  const pcrs = new Map<number, Uint8Array>();
  for (let index = 0; index < 16; index++) pcrs.set(index, index === 0 && fields.pcr0 ? fields.pcr0 : new Uint8Array(48).fill(index + 1));
  const payload = encode(
    new Map<string, unknown>([
      ['module_id', 'i-0000-enc0000'],
      ['digest', 'SHA384'],
      ['timestamp', Date.parse('2030-01-01T00:00:00Z')],
      ['pcrs', pcrs],
      ['certificate', leaf.der],
      ['cabundle', [root.der, intermediate.der]],
      ['public_key', null],
      ['user_data', fields.userData ?? null],
      ['nonce', fields.nonce ?? null],
      ...(fields.overrides ?? new Map<string, unknown>()),
    ]),
  );
  const evidence = await signCoseSign1(payload, leaf.keys.privateKey, fields.alg ?? 'ES384', new Map(), { tagged: fields.tagged ?? false });
  return { evidence, root };
}

test('a self-made document is refused against the pinned root, and verified end to end against its own root', async () => {
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  const csrHash = crypto.getRandomValues(new Uint8Array(32));
  const { evidence, root } = await forgedDocument({ nonce, userData: csrHash });
  const at = new Date('2030-01-01T00:00:00Z');
  await assert.rejects(verifyNitro(evidence, { at }), refusal(/^nitro: certificate chain: cabundle\[0\] is not the pinned AWS Nitro root$/));
  const claims = await verifyNitro(evidence, { at, trustAnchors: [root.pem], expectedNonce: nonce, expectedCsrHash: csrHash });
  assert.deepEqual(claims.nonce, nonce);
  assert.deepEqual(claims.csrHash, csrHash);
  assert.equal(toHex(claims.measurement), '01'.repeat(48));
  const other = new Uint8Array(32).fill(7);
  await assert.rejects(verifyNitro(evidence, { at, trustAnchors: [root.pem], expectedNonce: other }), refusal(/^nitro: nonce is [0-9a-f]{64} but 0707.* was expected$/));
  await assert.rejects(verifyNitro(evidence, { at, trustAnchors: [root.pem], expectedCsrHash: other }), refusal(/^nitro: user_data \(CSR hash\) is [0-9a-f]{64} but 0707.* was expected$/));
  await assert.rejects(verifyNitro(evidence, { at: new Date('2041-01-01T00:00:00Z'), trustAnchors: [root.pem] }), refusal(/^nitro: certificate chain: certificate expired at 2040-01-01T00:00:00Z/));
});

test('an ES256 document is refused', async () => {
  const { evidence, root } = await forgedDocument({ alg: 'ES256' });
  await assert.rejects(verifyNitro(evidence, { at: new Date('2030-01-01T00:00:00Z'), trustAnchors: [root.pem] }), refusal(/^nitro: COSE_Sign1: algorithm ES256 where ES384 is required$/));
});

test('truncated documents are refused at every length tried', async () => {
  const entry = sample('nitro/yawn-nitro-attest.attestation');
  const bytes = evidenceOf(entry);
  for (const length of [0, 1, 5, 100, 1000, bytes.length / 2, bytes.length - 97, bytes.length - 1]) {
    await assert.rejects(verifyNitro(bytes.subarray(0, Math.floor(length)), { at: new Date(entry.verification_time!) }), refusal(/^nitro: COSE_Sign1: /), `length ${length}`);
  }
});

test('the time to verify at is required', async () => {
  const entry = sample('nitro/yawn-nitro-attest.attestation');
  await assert.rejects(verifyNitro(evidenceOf(entry), { at: undefined as unknown as Date }), refusal(/^nitro: options\.at \(the time to verify at\) must be a valid Date$/));
});

test('a document wrapped in COSE tag 18 is accepted too', async () => {
  const { evidence, root } = await forgedDocument({ tagged: true });
  assert.equal(evidence[0], 0xd2);
  const claims = await verifyNitro(evidence, { at: new Date('2030-01-01T00:00:00Z'), trustAnchors: [root.pem] });
  assert.equal(claims.nonce, undefined);
  assert.equal(claims.reportData, undefined);
});

test('malformed attestation documents are refused precisely', async () => {
  const cases: [string, unknown, RegExp][] = [
    ['digest', 'SHA256', /digest is "SHA256", not SHA384/],
    ['pcrs', new Map([[0, new Uint8Array(32)]]), /pcrs\[0\] is not a 48-byte SHA384 value/],
    ['pcrs', new Map(), /pcrs is not a map of 1 to 32 entries/],
    ['module_id', '', /module_id is not a non-empty text string/],
    ['timestamp', -1, /timestamp is not a positive integer/],
    ['cabundle', [], /cabundle is not a non-empty array/],
    ['user_data', new Uint8Array(513), /user_data is 513 bytes, more than the 512 allowed/],
    ['nonce', 'text', /nonce is not a byte string or null/],
  ];
  for (const [key, value, pattern] of cases) {
    const { evidence, root } = await forgedDocument({ overrides: new Map([[key, value]]) });
    await assert.rejects(verifyNitro(evidence, { at: new Date('2030-01-01T00:00:00Z'), trustAnchors: [root.pem] }), refusal(new RegExp(`^nitro: attestation document: ${pattern.source}$`)), pattern.source);
  }
});
