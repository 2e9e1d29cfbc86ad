import { verifyCertificateChain } from '@veracruz-ts/attestation/chain';
import { readPolicyBinding, readRuntimeHash, runtimeHashMatches } from '@veracruz-ts/attestation/certificates';
import { Code, toHex, VeracruzError } from '@veracruz-ts/core';
import type { PolicyPeer } from '@veracruz-ts/policy';

/** What an attested isolate's certificate must show, and how a refusal names each part. */
export interface AttestedTrust {
  /** Leads every refusal ("isolate certificate", "peer isolate"). */
  what: string;
  /** The PAS CA (PEM) the chain must reach, and how a refusal names it. */
  pasCa: string;
  pasCaName: string;
  /** The runtime hashes the leaf may carry (any one), and how a refusal names them. */
  runtimeHashes: readonly string[];
  runtimeHashesName: string;
  /** What the leaf's policy binding must hold (each field given). */
  binding: { policyHash?: string; identityHash?: string };
}

/**
 * Checks an attested isolate's certificate chain (DER, leaf first): it chains to the PAS CA and is
 * valid at `at`, its leaf carries one of the runtime hashes and binds the policy named. The isolate
 * checks its own certificate so, and a peer isolate's. Returns the leaf's runtime hash; throws
 * AttestationFailed saying what differs.
 */
export async function checkAttestedCertificate(chain: readonly Uint8Array[], trust: AttestedTrust, at: Date): Promise<Uint8Array> {
  const fail = (reason: string): never => {
    throw new VeracruzError(Code.AttestationFailed, `${trust.what}: ${reason}`);
  };
  try {
    await verifyCertificateChain([...chain], [trust.pasCa], at);
  } catch (error) {
    fail(`does not chain to ${trust.pasCaName}: ${VeracruzError.from(error).rawMessage}`);
  }
  const leaf = chain[0] as Uint8Array;
  const runtimeHash = readRuntimeHash(leaf);
  if (runtimeHash === undefined || !trust.runtimeHashes.some((hash) => runtimeHashMatches(hash, runtimeHash))) {
    fail(`runtime hash ${runtimeHash === undefined ? '(none)' : toHex(runtimeHash)} is not ${trust.runtimeHashesName}`);
  }
  const binding = readPolicyBinding(leaf);
  for (const [field, expected] of Object.entries(trust.binding) as ['policyHash' | 'identityHash', string][]) {
    if (binding?.[field] !== expected) {
      fail(`it enforces ${field === 'policyHash' ? 'policy' : 'the policy with identity hash'} ${binding?.[field] ?? '(none bound)'}, not ${expected}`);
    }
  }
  return runtimeHash as Uint8Array;
}

/**
 * Checks a peer isolate's certificate (DER, its TLS leaf) against its policy entry: a receiver names
 * a sender by its identity hash (`bound: 'identityHash'`), a sender names a receiver by its policy hash.
 */
export async function checkPeerCertificate(der: Uint8Array, peer: PolicyPeer, bound: 'policyHash' | 'identityHash', at: Date): Promise<void> {
  await checkAttestedCertificate([der], {
    what: 'peer isolate', pasCa: peer.proxy_service_cert, pasCaName: 'the PAS CA the policy names',
    runtimeHashes: peer.runtimeHashes.map(({ hash }) => hash), runtimeHashesName: 'one the policy lists for it', binding: { [bound]: peer.policy_hash },
  }, at);
}
