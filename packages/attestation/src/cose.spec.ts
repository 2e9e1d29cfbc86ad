import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode, Tag } from 'cbor2';
import { VeracruzError } from '@veracruz-ts/core';
import { decodeCoseSign1, signCoseSign1, verifyCoseSign1, coseAlgorithmForKey } from './cose.ts';
import { generateEcKeys } from './roots/test-pki.ts';

const payload = new TextEncoder().encode('attested payload');

function refusal(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === 'attestation_failed' && pattern.test(error.message);
}

test('signs and verifies ES256 and ES384, tagged and untagged', async () => {
  for (const [curve, alg] of [['P-256', 'ES256'], ['P-384', 'ES384']] as const) {
    const keys = await generateEcKeys(curve);
    for (const tagged of [true, false]) {
      const bytes = await signCoseSign1(payload, keys.privateKey, alg, new Map([[4, new Uint8Array([1, 2])]]), { tagged });
      assert.equal(bytes[0] === 0xd2, tagged, 'tag 18 prefix');
      const decoded = await verifyCoseSign1(bytes, keys.publicKey);
      assert.equal(decoded.alg, alg);
      assert.equal(decoded.tagged, tagged);
      assert.deepEqual(new Uint8Array(decoded.payload), payload);
      assert.deepEqual(decoded.unprotected.get(4), new Uint8Array([1, 2]));
      assert.equal(decoded.signature.byteLength, alg === 'ES256' ? 64 : 96);
    }
    assert.equal(coseAlgorithmForKey(keys.publicKey), alg);
  }
});

test('refuses a signature by another key', async () => {
  const keys = await generateEcKeys('P-256');
  const other = await generateEcKeys('P-256');
  const bytes = await signCoseSign1(payload, keys.privateKey, 'ES256');
  await assert.rejects(verifyCoseSign1(bytes, other.publicKey), refusal(/COSE_Sign1: ES256 signature does not verify/));
});

test('refuses every single-bit change of the signed bytes', async () => {
  const keys = await generateEcKeys('P-256');
  const bytes = await signCoseSign1(payload, keys.privateKey, 'ES256');
  // Flip a bit in the payload and in the signature.
  for (const offset of [bytes.length - 70, bytes.length - 1]) {
    const changed = new Uint8Array(bytes);
    changed[offset]! ^= 0x01;
    await assert.rejects(verifyCoseSign1(changed, keys.publicKey), refusal(/signature does not verify/));
  }
});

test('binds external AAD', async () => {
  const keys = await generateEcKeys('P-256');
  const aad = new Uint8Array([9, 9]);
  const bytes = await signCoseSign1(payload, keys.privateKey, 'ES256', new Map(), { externalAad: aad });
  await verifyCoseSign1(bytes, keys.publicKey, { externalAad: aad });
  await assert.rejects(verifyCoseSign1(bytes, keys.publicKey), refusal(/does not verify/));
});

test('refuses a key on the wrong curve and an algorithm that is not required', async () => {
  const keys = await generateEcKeys('P-256');
  const p384 = await generateEcKeys('P-384');
  const bytes = await signCoseSign1(payload, keys.privateKey, 'ES256');
  await assert.rejects(verifyCoseSign1(bytes, p384.publicKey), refusal(/ES256 needs a P-256 key, got P-384/));
  await assert.rejects(verifyCoseSign1(bytes, keys.publicKey, { alg: 'ES384' }), refusal(/algorithm ES256 where ES384 is required/));
  await assert.rejects(signCoseSign1(payload, keys.privateKey, 'ES384'), refusal(/ES384 needs a P-384 key/));
});

test('decode refuses malformed structures precisely', () => {
  const sig = new Uint8Array(64);
  const prot = encode(new Map([[1, -7]]));
  const cases: [unknown, RegExp][] = [
    [new Tag(17, [prot, new Map(), payload, sig]), /CBOR tag 17/],
    [[prot, new Map(), payload], /4-element array/],
    [[new Map(), new Map(), payload, sig], /protected header is not a byte string/],
    [[prot, [], payload, sig], /unprotected header is not a map/],
    [[prot, new Map(), null, sig], /detached payloads/],
    [[prot, new Map(), 'text', sig], /payload is not a byte string/],
    [[prot, new Map(), payload, 'sig'], /signature is not a byte string/],
    [[encode(new Map([[1, -8]])), new Map(), payload, sig], /unsupported algorithm -8/],
    [[new Uint8Array(), new Map([[1, -7]]), payload, sig], /must be in the protected header/],
    [[encode([1]), new Map(), payload, sig], /protected header does not encode a map/],
    [[prot, new Map(), payload, new Uint8Array(63)], /ES256 signature is 63 bytes, expected 64/],
  ];
  for (const [value, pattern] of cases) assert.throws(() => decodeCoseSign1(encode(value)), refusal(pattern), String(pattern));
  assert.throws(() => decodeCoseSign1(new Uint8Array([0x84, 0x43])), refusal(/not well-formed CBOR/));
  const good = encode([prot, new Map(), payload, sig]);
  assert.throws(() => decodeCoseSign1(new Uint8Array([...good, 0])), refusal(/not well-formed CBOR \(Extra data/));
  for (let length = 0; length < good.length; length += 7) {
    assert.throws(() => decodeCoseSign1(good.subarray(0, length)), refusal(/COSE_Sign1: /), `truncated to ${length}`);
  }
});
