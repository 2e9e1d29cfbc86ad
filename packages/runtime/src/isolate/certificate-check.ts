import { createPrivateKey, X509Certificate } from 'node:crypto';
import { Code, sameBytes, toHex, VeracruzError } from '@veracruz-ts/core';
import { checkAttestedCertificate } from '../network/peer-certificate.ts';
import { POLICY_RUNTIME_HASH_FIELD } from './platform.ts';
import type { IsolatePlatform } from './platform.ts';

/** The policy fields the isolate checks its certificate against (a subset of the parsed Policy). */
export interface PolicyTrust {
  proxy_service_cert: string;
  /** The policy hash and identity hash, which the certificate must bind. */
  hash: string;
  identityHash: string;
  runtime_manager_hash_linux?: string | null | undefined;
  runtime_manager_hash_sevsnp?: string | null | undefined;
  runtime_manager_hash_tdx?: string | null | undefined;
}

/** Inputs of {@link checkIsolateCertificate}. */
export interface CertificateCheck {
  /** The chain the host relayed from the PAS, leaf first, DER. */
  chain: readonly Uint8Array[];
  /** The isolate's own private key (PKCS#8 PEM, from its boot-time key pair): the leaf must certify its public key. */
  privateKeyPem: string;
  /** The policy the isolate is asked to enforce. */
  policy: PolicyTrust;
  /** The platform this isolate runs as. */
  platform: IsolatePlatform;
  /** The isolate's own measurement when it can compute it (linux: SHA-256 of its bundle). */
  ownMeasurement?: Uint8Array | undefined;
  /** When to check validity at. */
  at: Date;
}

/**
 * Accepts the certificate the PAS issued only if it is really this isolate's and fits the policy:
 * the leaf certifies this isolate's public key, chains to the policy's PAS CA, carries a runtime
 * hash that the policy lists for this platform, binds this policy, and (when known) that runtime hash is the isolate's own.
 * Otherwise clients would see a certificate the policy rejects, or worse, a host could hand the
 * isolate someone else's certificate. Throws VeracruzError(AttestationFailed) with the reason.
 */
export async function checkIsolateCertificate(check: CertificateCheck): Promise<void> {
  const [leaf] = check.chain;
  if (leaf === undefined) throw new VeracruzError(Code.AttestationFailed, 'isolate certificate: the chain is empty');
  let ours: boolean;
  try {
    ours = new X509Certificate(leaf).checkPrivateKey(createPrivateKey(check.privateKeyPem));
  } catch (error) {
    throw new VeracruzError(Code.AttestationFailed, 'isolate certificate: the leaf is not a DER X.509 certificate', { cause: error });
  }
  if (!ours) throw new VeracruzError(Code.AttestationFailed, "isolate certificate: the leaf's public key is not this isolate's key");
  const field = POLICY_RUNTIME_HASH_FIELD[check.platform];
  const listed = check.policy[field];
  const runtimeHash = await checkAttestedCertificate(check.chain, {
    what: 'isolate certificate', pasCa: check.policy.proxy_service_cert, pasCaName: "the policy's proxy_service_cert",
    runtimeHashes: typeof listed === 'string' ? [listed] : [], runtimeHashesName: `the policy's ${field} (${typeof listed === 'string' ? listed : 'absent'})`,
    binding: { policyHash: check.policy.hash, identityHash: check.policy.identityHash },
  }, check.at);
  if (check.ownMeasurement !== undefined && !sameBytes(check.ownMeasurement, runtimeHash)) {
    throw new VeracruzError(Code.AttestationFailed,
      `isolate certificate: runtime hash ${toHex(runtimeHash)} is not this isolate's measurement ${toHex(check.ownMeasurement)}`);
  }
}

