import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCertificateAuthority, createIsolateIdentity, issueIsolateCertificate } from '@veracruz-ts/attestation/certificates';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { Policy } from '@veracruz-ts/policy';
import { checkRuntimeHash } from './checks.ts';

function policyWith(hashes: Partial<Pick<Policy, 'runtime_manager_hash_linux' | 'runtime_manager_hash_sevsnp'>>): Policy {
  return { runtime_manager_hash_linux: null, runtime_manager_hash_nitro: null, runtime_manager_hash_sevsnp: null, runtime_manager_hash_tdx: null, ...hashes } as Policy;
}

describe('checkRuntimeHash', () => {
  it("matches a SEV-SNP certificate's 48-byte measurement with the policy's 96 hex digits (or, from older policies, its first 64)", async () => {
    const ca = await createCertificateAuthority();
    const identity = await createIsolateIdentity();
    const launch = new Uint8Array(48).map((_, index) => index);
    const der = await issueIsolateCertificate({ csrDer: identity.csrDer, measurement: launch, platform: 'sev-snp', ca, notBefore: new Date() });
    const full = Buffer.from(launch).toString('hex');
    assert.deepEqual(checkRuntimeHash(der, policyWith({ runtime_manager_hash_sevsnp: full })), { platform: 'sev-snp', hash: full });
    assert.deepEqual(checkRuntimeHash(der, policyWith({ runtime_manager_hash_sevsnp: full.slice(0, 64) })), { platform: 'sev-snp', hash: full });
    assert.throws(
      () => checkRuntimeHash(der, policyWith({ runtime_manager_hash_sevsnp: `${full.slice(0, 94)}ff`, runtime_manager_hash_linux: full.slice(0, 64).replace(/^00/, 'ff') })),
      (error: unknown) => error instanceof VeracruzError && error.code === Code.AttestationFailed && /^runtime hash 0001\w{92} is not one the policy trusts \(linux: /.test(error.rawMessage),
    );
  });
});
