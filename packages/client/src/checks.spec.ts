import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCertificateAuthority, createIsolateIdentity, encodePolicyBinding, issueIsolateCertificate } from '@veracruz-ts/attestation/certificates';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { Policy } from '@veracruz-ts/policy';
import { checkPolicyBinding, checkRuntimeHash } from './checks.ts';

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

describe('checkPolicyBinding', () => {
  it('accepts a certificate binding this policy, and refuses one binding another policy or none, before anything is sent', async () => {
    const ca = await createCertificateAuthority();
    const policy = { hash: 'a1'.repeat(32) } as Policy;
    const issue = async (policyBinding?: Uint8Array) => issueIsolateCertificate({
      csrDer: (await createIsolateIdentity(policyBinding === undefined ? {} : { policyBinding })).csrDer, measurement: new Uint8Array(32), ca, notBefore: new Date(),
    });
    const refused = (pattern: RegExp) => (error: unknown) => error instanceof VeracruzError && error.code === Code.AttestationFailed && pattern.test(error.rawMessage);
    checkPolicyBinding(await issue(encodePolicyBinding(Buffer.from(policy.hash, 'hex'), new Uint8Array(32))), policy);
    const other = await issue(encodePolicyBinding(new Uint8Array(32).fill(0xb2), new Uint8Array(32)));
    assert.throws(() => checkPolicyBinding(other, policy), refused(/^the isolate certificate binds policy (b2){32}, not this policy file \((a1){32}\)$/));
    const unbound = await issue();
    assert.throws(() => checkPolicyBinding(unbound, policy), refused(/binds no policy \(no extension 2\.25\.\d+\)/));
  });
});
