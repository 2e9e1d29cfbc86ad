import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Code, VeracruzError } from '@veracruz-ts/policy';
import { linuxIsolate } from './testing.ts';
import { verifyEvidence } from './verify.ts';

const VECTORS = fileURLToPath(new URL('../../attestation/test-vectors/', import.meta.url));

function refusal(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === Code.AttestationFailed && pattern.test(error.rawMessage);
}

describe('verifyEvidence', () => {
  it('dispatches linux evidence to the enrolled-key verifier', async () => {
    const isolate = await linuxIsolate();
    const nonce = new Uint8Array(32).fill(1);
    const evidence = await isolate.evidence(nonce);
    const options = { at: new Date(), expectedNonce: nonce, expectedCsrHash: isolate.identity.csrHash };
    const claims = await verifyEvidence('linux', evidence, { ...options, enrolledKeys: [isolate.devKey.publicKeyPem] });
    assert.equal(claims.insecure, true);
    await assert.rejects(verifyEvidence('linux', evidence, options), refusal(/not enrolled/));
  });

  it('dispatches Nitro documents to the Nitro verifier (real sample)', async () => {
    const evidence = new Uint8Array(await readFile(`${VECTORS}nitro/yawn-nitro-attest.attestation.cose`));
    const at = new Date('2025-01-06T16:07:05.472Z');
    const claims = await verifyEvidence('nitro', evidence, { at });
    assert.equal(claims.platform, 'nitro');
    assert.equal(claims.measurement.length, 48);
    await assert.rejects(verifyEvidence('nitro', evidence, { at, expectedCsrHash: new Uint8Array(32) }), refusal(/CSR hash|user_data/));
  });

  it('refuses evidence of one platform presented as another', async () => {
    const evidence = new Uint8Array(await readFile(`${VECTORS}nitro/yawn-nitro-attest.attestation.cose`));
    await assert.rejects(verifyEvidence('linux', evidence, { at: new Date(), enrolledKeys: [] }), refusal(/linux: /));
  });
});
