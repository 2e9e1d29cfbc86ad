import { verifyCertificateChain } from '@veracruz-ts/attestation/chain';
import { readPolicyBinding, readRuntimeHash, runtimeHashMatches } from '@veracruz-ts/attestation/certificates';
import { Code, toHex, VeracruzError } from '@veracruz-ts/core';
import type { PolicyPeer } from '@veracruz-ts/policy';

/**
 * Checks a peer isolate's certificate (DER, its TLS leaf) against what the policy says it must prove:
 * it chains to the peer's PAS CA and is valid at `at`, carries a runtime hash the peer entry lists,
 * and binds the policy named: a receiver names a sender by its identity hash (`bound: 'identityHash'`),
 * a sender names a receiver by its policy hash. Throws AttestationFailed saying what differs.
 */
export async function checkPeerCertificate(der: Uint8Array, peer: PolicyPeer, bound: 'policyHash' | 'identityHash', at: Date): Promise<void> {
  const fail = (reason: string): never => {
    throw new VeracruzError(Code.AttestationFailed, `peer isolate: ${reason}`);
  };
  try {
    await verifyCertificateChain([der], [peer.proxy_service_cert], at, { context: 'peer isolate certificate' });
  } catch (error) {
    fail(`does not chain to the PAS CA the policy names: ${VeracruzError.from(error).rawMessage}`);
  }
  const runtimeHash = readRuntimeHash(der);
  if (runtimeHash === undefined || !peer.runtimeHashes.some(({ hash }) => runtimeHashMatches(hash, runtimeHash))) {
    fail(`runtime hash ${runtimeHash === undefined ? '(none)' : toHex(runtimeHash)} is not one the policy lists for it`);
  }
  const binding = readPolicyBinding(der);
  if (binding?.[bound] !== peer.policy_hash) {
    fail(`it enforces ${bound === 'policyHash' ? 'policy' : 'the policy with identity hash'} ${binding?.[bound] ?? '(none bound)'}, not ${peer.policy_hash}`);
  }
}
