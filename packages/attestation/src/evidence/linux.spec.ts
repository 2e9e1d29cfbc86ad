import type { webcrypto } from 'node:crypto';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, encode, Tag } from 'cbor2';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { decodeCoseSign1, signCoseSign1 } from '../cose.ts';
import {
  createLinuxEvidence,
  devKeyId,
  generateDevKey,
  importDevPrivateKey,
  importDevPublicKey,
  prepareEnrolledKeys,
  verifyLinuxEvidence,
} from './index.ts';

const at = new Date('2026-06-01T00:00:00Z');
const nonce = new Uint8Array(32).fill(7);
const measurement = new Uint8Array(32).fill(1);
const csrHash = new Uint8Array(32).fill(2);

function refusal(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === Code.AttestationFailed && pattern.test(error.rawMessage);
}

describe('linux evidence', async () => {
  const dev = await generateDevKey();
  const other = await generateDevKey();
  const devKey = await importDevPrivateKey(dev.privateKeyPem);
  const evidence = await createLinuxEvidence({ devKey, nonce, measurement, csrHash });
  const expectations = { at, expectedNonce: nonce, expectedCsrHash: csrHash };

  it('verifies with the enrolled key and reports the bound values, always insecure', async () => {
    const claims = await verifyLinuxEvidence(evidence, { ...expectations, enrolledKeys: [other.publicKeyPem, dev.publicKeyPem] });
    assert.equal(claims.platform, 'linux');
    assert.deepEqual(claims.measurement, measurement);
    assert.deepEqual(claims.nonce, nonce);
    assert.deepEqual(claims.csrHash, csrHash);
    assert.equal(claims.debug, false);
    assert.equal(claims.insecure, true);
    assert.equal(claims.details['keyId'], Buffer.from(await devKeyId(dev.publicKeyPem)).toString('hex'));
  });

  it('is a tagged ES256 COSE_Sign1 whose payload is the documented CBOR map', () => {
    const sign1 = decodeCoseSign1(evidence);
    assert.equal(sign1.alg, 'ES256');
    assert.equal(sign1.tagged, true);
    const payload = decode(sign1.payload, { preferMap: true }) as Map<string, unknown>;
    assert.deepEqual([...payload.keys()], ['version', 'platform', 'nonce', 'measurement', 'csr_hash', 'debug']);
    assert.equal(payload.get('version'), 1);
    assert.equal(payload.get('platform'), 'linux');
  });

  it('accepts PEM private keys, extractable CryptoKeys and prepared enrolled keys', async () => {
    const fromPem = await createLinuxEvidence({ devKey: dev.privateKeyPem, nonce, measurement, csrHash });
    const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const fromCryptoKey = await createLinuxEvidence({ devKey: keys.privateKey, nonce, measurement, csrHash });
    const enrolledKeys = await prepareEnrolledKeys([dev.publicKeyPem, keys.publicKey]);
    await verifyLinuxEvidence(fromPem, { ...expectations, enrolledKeys });
    await verifyLinuxEvidence(fromCryptoKey, { ...expectations, enrolledKeys });
  });

  it('refuses evidence signed by a key that is not enrolled', async () => {
    await assert.rejects(verifyLinuxEvidence(evidence, { ...expectations, enrolledKeys: [other.publicKeyPem] }), refusal(/not enrolled/));
    await assert.rejects(verifyLinuxEvidence(evidence, { ...expectations, enrolledKeys: [] }), refusal(/not enrolled/));
  });

  it('refuses a signature by another key under the enrolled key id', async () => {
    const otherKey = await importDevPrivateKey(other.privateKeyPem);
    const forged = await signCoseSign1(decodeCoseSign1(evidence).payload, otherKey, 'ES256', new Map([[4, await devKeyId(dev.publicKeyPem)]]));
    await assert.rejects(verifyLinuxEvidence(forged, { ...expectations, enrolledKeys: [dev.publicKeyPem] }), refusal(/signature does not verify/));
  });

  it('refuses a tampered payload', async () => {
    const sign1 = decodeCoseSign1(evidence);
    const payload = sign1.payload.slice();
    payload[payload.length - 2] = (payload[payload.length - 2] as number) ^ 0x01;
    const tampered = encode(new Tag(18, [sign1.protectedBytes, sign1.unprotected, payload, sign1.signature]));
    await assert.rejects(verifyLinuxEvidence(tampered, { ...expectations, enrolledKeys: [dev.publicKeyPem] }), refusal(/signature does not verify/));
  });

  it('refuses the wrong nonce and the wrong CSR hash, naming both values', async () => {
    const enrolledKeys = [dev.publicKeyPem];
    await assert.rejects(
      verifyLinuxEvidence(evidence, { ...expectations, enrolledKeys, expectedNonce: new Uint8Array(32) }),
      refusal(/nonce is 0707.* but 0000.* was expected/),
    );
    await assert.rejects(
      verifyLinuxEvidence(evidence, { ...expectations, enrolledKeys, expectedCsrHash: new Uint8Array(32).fill(3) }),
      refusal(/CSR hash is 0202.* but 0303.* was expected/),
    );
  });

  it('refuses debug evidence unless allowed', async () => {
    const debugEvidence = await createLinuxEvidence({ devKey, nonce, measurement, csrHash, debug: true });
    await assert.rejects(verifyLinuxEvidence(debugEvidence, { ...expectations, enrolledKeys: [dev.publicKeyPem] }), refusal(/debug evidence refused/));
    const claims = await verifyLinuxEvidence(debugEvidence, { ...expectations, enrolledKeys: [dev.publicKeyPem], allowDebug: true });
    assert.equal(claims.debug, true);
  });

  it('refuses malformed evidence and malformed payloads precisely', async () => {
    const enrolledKeys = [dev.publicKeyPem];
    await assert.rejects(verifyLinuxEvidence(new Uint8Array([1, 2, 3]), { ...expectations, enrolledKeys }), refusal(/malformed/));
    await assert.rejects(verifyLinuxEvidence(encode('text'), { ...expectations, enrolledKeys }), refusal(/malformed/));
    const kid = new Map([[4, await devKeyId(dev.publicKeyPem)]]);
    const signed = (payload: unknown) => signCoseSign1(encode(payload), devKey, 'ES256', kid);
    const base = (): Map<string, unknown> =>
      new Map<string, unknown>([['version', 1], ['platform', 'linux'], ['nonce', nonce], ['measurement', measurement], ['csr_hash', csrHash], ['debug', false]]);
    const cases: [Map<string, unknown> | unknown, RegExp][] = [
      [[1, 2], /not a CBOR map/],
      [new Map([...base(), ['extra', 1]]), /unknown field "extra"/],
      [new Map([...base(), ['version', 2]]), /version 2 is not supported/],
      [new Map([...base(), ['platform', 'nitro']]), /platform is not "linux"/],
      [new Map([...base(), ['measurement', new Uint8Array(31)]]), /measurement is 31 bytes/],
      [new Map([...base(), ['csr_hash', 'x']]), /csr_hash is missing or not a byte string/],
      [new Map([...base(), ['debug', 0]]), /debug is missing or not a boolean/],
    ];
    for (const [payload, pattern] of cases) {
      await assert.rejects(verifyLinuxEvidence(await signed(payload), { ...expectations, enrolledKeys }), refusal(pattern));
    }
    const noKid = await signCoseSign1(encode(base()), devKey, 'ES256');
    await assert.rejects(verifyLinuxEvidence(noKid, { ...expectations, enrolledKeys }), refusal(/does not name its signing key/));
  });

  it('needs an explicit verification time', async () => {
    await assert.rejects(
      verifyLinuxEvidence(evidence, { at: new Date(Number.NaN), enrolledKeys: [dev.publicKeyPem] }),
      refusal(/options.at/),
    );
  });

  it('refuses to create evidence with wrong-sized inputs and imports only P-256 keys', async () => {
    await assert.rejects(createLinuxEvidence({ devKey, nonce: new Uint8Array(4), measurement, csrHash }), /nonce is 4 bytes/);
    await assert.rejects(createLinuxEvidence({ devKey, nonce, measurement: new Uint8Array(48), csrHash }), /measurement is 48 bytes/);
    await assert.rejects(importDevPublicKey(dev.privateKeyPem), /no PEM "PUBLIC KEY" block/);
    await assert.rejects(importDevPrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), /not a PKCS#8 ECDSA P-256 key/);
  });

  it('generates a different development key each time, never a fixed one', async () => {
    const again = await generateDevKey();
    assert.notEqual(again.publicKeyPem, dev.publicKeyPem);
  });
});
