import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { POLICY_BINDING_EXTENSION_OID, readPolicyBinding, readRuntimeHash, RUNTIME_HASH_EXTENSION_OID, runtimeHashMatches } from '@veracruz-ts/attestation/certificates';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { type Policy, type PolicyPlatform, RUNTIME_HASH_FIELDS, runtimeHash } from '@veracruz-ts/policy';

/** The runtime hashes a policy trusts, by platform (`linux`, `nitro`, `sev-snp`, `tdx`), lowercase hex. */
export function trustedRuntimeHashes(policy: Policy): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const platform of Object.keys(RUNTIME_HASH_FIELDS) as PolicyPlatform[]) {
    const hash = runtimeHash(policy, platform);
    if (hash !== undefined && hash !== '') hashes.set(platform, hash.toLowerCase());
  }
  return hashes;
}

/**
 * Checks that the isolate's certificate carries, in extension 2.5.30.1, a runtime hash the policy
 * lists for some platform. Returns the platform and hash. Throws AttestationFailed saying which
 * hash was found and which ones the policy trusts.
 */
export function checkRuntimeHash(isolateCertificateDer: Uint8Array, policy: Policy): { platform: string; hash: string } {
  const found = readRuntimeHash(isolateCertificateDer);
  if (found === undefined) {
    throw new VeracruzError(Code.AttestationFailed,
      `the isolate certificate has no runtime-hash extension (${RUNTIME_HASH_EXTENSION_OID})`);
  }
  const hash = Buffer.from(found).toString('hex');
  const trusted = trustedRuntimeHashes(policy);
  for (const [platform, candidate] of trusted) if (runtimeHashMatches(candidate, found)) return { platform, hash };
  const listed = [...trusted].map(([platform, candidate]) => `${platform}: ${candidate}`).join(', ');
  throw new VeracruzError(Code.AttestationFailed,
    `runtime hash ${hash} is not one the policy trusts (${listed === '' ? 'the policy lists none' : listed})`);
}

/**
 * Checks, from the certificate alone and so before anything is sent, that the isolate enforces this
 * very policy: the PAS certified the policy hash the isolate put in its CSR (extension
 * {@link POLICY_BINDING_EXTENSION_OID}). Throws AttestationFailed naming the policy it binds.
 */
export function checkPolicyBinding(isolateCertificateDer: Uint8Array, policy: Policy): void {
  const bound = readPolicyBinding(isolateCertificateDer)?.policyHash;
  if (bound !== policy.hash) {
    throw new VeracruzError(Code.AttestationFailed, bound === undefined
      ? `the isolate certificate binds no policy (no extension ${POLICY_BINDING_EXTENSION_OID})`
      : `the isolate certificate binds policy ${bound}, not this policy file (${policy.hash})`);
  }
}

/** Checks the policy hash the isolate reports against the client's own. Throws AttestationFailed. */
export function checkPolicyHash(reported: string, policy: Policy): void {
  if (reported.toLowerCase() !== policy.hash) {
    throw new VeracruzError(Code.AttestationFailed,
      `the isolate enforces policy ${reported}, not this policy file (${policy.hash})`);
  }
}

/**
 * Checks, before connecting, that the identity file holds exactly one certificate and that its
 * public key is the private key's. Throws InvalidRequest naming the mismatch (never key bytes).
 */
export function checkIdentityKeyPair(certificatePem: string, privateKeyPem: string): void {
  const blocks = certificatePem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (blocks !== 1) {
    throw new VeracruzError(Code.InvalidRequest, `the identity file must hold exactly one certificate; it holds ${blocks}`);
  }
  let certificateKey: Buffer;
  let privateKeyPublic: Buffer;
  try {
    certificateKey = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' });
  } catch (reason) {
    throw new VeracruzError(Code.InvalidRequest, 'the identity certificate is not a valid PEM certificate', { cause: reason });
  }
  try {
    privateKeyPublic = createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' });
  } catch {
    // Not chained as a cause: the parser's message could quote the key material.
    throw new VeracruzError(Code.InvalidRequest, 'the private key is not a valid PEM private key');
  }
  if (!certificateKey.equals(privateKeyPublic)) {
    throw new VeracruzError(Code.InvalidRequest, 'the identity certificate does not match the private key');
  }
}
