import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { initPasDirectory, openPasDirectory } from './directory.ts';
import { linuxIsolate, temporaryDirectory } from './testing.ts';
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

  it("dispatches PSA tokens to the PSA verifier, with a CoMID as endorsement (Veraison's sample)", async () => {
    const evidence = new Uint8Array(await readFile(`${VECTORS}psa/tam-over-http-psa-evidence.cbor`));
    const comid = new Uint8Array(await readFile(`${VECTORS}psa/veraison-services-comid-psa-ta.json`));
    const at = new Date('2025-06-01T00:00:00Z');
    const claims = await verifyEvidence('psa', evidence, { at, endorsements: [comid] });
    assert.equal(Buffer.from(claims.measurement).toString('hex'), 'a3a5e715f0cc574a73c3f9bebb6bc24f32ffd5b67b387244c2c909da779a1478');
    // The nonce claim is Veraison's fixed sample nonce: the session binding is still enforced.
    const nonce = Buffer.from('414a7c174141b3d0e9a1d28af31520f0d42299feac4007ded89d68ae6cd92f19', 'hex');
    await verifyEvidence('psa', evidence, { at, endorsements: [comid], expectedNonce: nonce });
    await assert.rejects(verifyEvidence('psa', evidence, { at, endorsements: [comid], expectedNonce: new Uint8Array(32) }), refusal(/^psa: nonce claim binds nonce 414a7c17/));
    const tampered = new Uint8Array(await readFile(`${VECTORS}psa/tam-over-http-psa-evidence.tampered.cbor`));
    await assert.rejects(verifyEvidence('psa', tampered, { at, endorsements: [comid] }), refusal(/^psa: COSE_Sign1: ES256 signature does not verify with the attestation key$/));
  });
});

describe('PSA endorsements in the PAS configuration', () => {
  it('loads a CoMID or a bare key, and refuses at start one it cannot read, naming the file', async () => {
    const workspace = await temporaryDirectory();
    try {
      const dir = join(workspace.dir, 'pas');
      await initPasDirectory(dir);
      await copyFile(`${VECTORS}psa/veraison-services-comid-psa-ta.json`, join(dir, 'veraison-comid.json'));
      const configPath = join(dir, 'pas.json');
      const config = JSON.parse(await readFile(configPath, 'utf8')) as { platforms: Record<string, { endorsements: string[] }> };
      config.platforms['psa']!.endorsements = ['veraison-comid.json', `${VECTORS}psa/tfm-iak-public.pem`];
      await writeFile(configPath, JSON.stringify(config));
      const opened = await openPasDirectory(dir);
      try {
        assert.equal(opened.trust.psa.endorsements.length, 2);
        const at = new Date('2025-06-01T00:00:00Z');
        const endorsements = opened.trust.psa.endorsements;
        await verifyEvidence('psa', new Uint8Array(await readFile(`${VECTORS}psa/tam-over-http-psa-evidence.cbor`)), { at, endorsements });
        await verifyEvidence('psa', new Uint8Array(await readFile(`${VECTORS}psa/psatoken-tfm-psa-2_0_0.sign1.cbor`)), { at, endorsements });
      } finally {
        opened.store.close();
      }

      const broken = JSON.parse(await readFile(join(dir, 'veraison-comid.json'), 'utf8')) as { triples: Record<string, { environment: Record<string, unknown> }[]> };
      delete broken.triples['attester-verification-keys']![0]!.environment['instance'];
      await writeFile(join(dir, 'veraison-comid.json'), JSON.stringify(broken));
      await assert.rejects(openPasDirectory(dir), (error: unknown) =>
        error instanceof VeracruzError && error.code === Code.InvalidRequest &&
        error.rawMessage === `PAS configuration: platforms.psa.endorsements[0] (${join(dir, 'veraison-comid.json')}) CoMID attester-verification-keys[0] has no environment.instance: a key must be bound to one instance`);
    } finally {
      await workspace.remove();
    }
  });
});
