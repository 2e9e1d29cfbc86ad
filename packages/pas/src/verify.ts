import {
  type EvidenceClaims,
  type Platform,
  type VerifyOptions,
  verifyNitro,
  verifyPsa,
  verifySevSnp,
  verifySgx,
  verifyTdx,
} from '@veracruz-ts/attestation';
import { type EnrolledDevKey, verifyLinuxEvidence } from '@veracruz-ts/attestation/evidence';
import { Code, sameBytes, VeracruzError } from '@veracruz-ts/core';
import type { webcrypto } from 'node:crypto';
import { toHex } from './measurement-policy.ts';

/** What {@link verifyEvidence} needs: the verifier options plus, for `linux`, the enrolled development keys. */
export type EvidenceVerificationOptions = VerifyOptions & {
  /** Enrolled `linux` development public keys; `linux` evidence by any other key is refused. */
  enrolledKeys?: readonly (webcrypto.CryptoKey | string | EnrolledDevKey)[];
};

type Verifier = (evidence: Uint8Array, options: VerifyOptions) => Promise<EvidenceClaims>;

/** The verifier of each hardware platform. */
const VERIFIERS: Readonly<Record<Exclude<Platform, 'linux'>, Verifier>> = {
  nitro: verifyNitro,
  psa: verifyPsa,
  'sev-snp': verifySevSnp,
  tdx: verifyTdx,
  sgx: verifySgx,
};

function refused(platform: Platform, reason: string): VeracruzError {
  return new VeracruzError(Code.AttestationFailed, `${platform}: ${reason}`);
}

/**
 * Verifies evidence of any platform and returns its claims; the one dispatch the PAS service and
 * `vc-pas verify` share. `linux` goes to the development-key verifier, the others to the hardware
 * verifiers. On top of each verifier's own checks it insists, whenever a nonce or CSR hash is
 * expected, that the claims actually carry the binding (directly or as the 64-byte report data
 * `csrHash || nonce`), and refuses debug claims unless `allowDebug`: a verifier that forgot a
 * check cannot make the PAS issue a certificate. Refusals are `AttestationFailed` with the reason.
 */
export async function verifyEvidence(platform: Platform, evidence: Uint8Array, options: EvidenceVerificationOptions): Promise<EvidenceClaims> {
  const { enrolledKeys, ...verifyOptions } = options;
  let claims: EvidenceClaims;
  if (platform === 'linux') {
    claims = await verifyLinuxEvidence(evidence, { ...verifyOptions, enrolledKeys: enrolledKeys ?? [] });
  } else {
    claims = await VERIFIERS[platform](evidence, verifyOptions);
  }
  if (claims.platform !== platform) throw refused(platform, `the verifier reported platform ${claims.platform}`);
  const reportData = claims.reportData?.length === 64 ? claims.reportData : undefined;
  if (options.expectedCsrHash !== undefined) {
    const bound = claims.csrHash ?? reportData?.slice(0, 32);
    if (bound === undefined) throw refused(platform, 'the evidence does not bind a CSR hash');
    if (!sameBytes(bound, options.expectedCsrHash)) {
      throw refused(platform, `the evidence binds CSR hash ${toHex(bound)} but ${toHex(options.expectedCsrHash)} was expected`);
    }
  }
  if (options.expectedNonce !== undefined) {
    // The nonce is carried alone, or as the second half of `csrHash || nonce` (report data, or a 64-byte PSA nonce claim).
    const candidates = [claims.nonce, reportData?.slice(32), claims.nonce?.length === 64 ? claims.nonce.slice(32) : undefined]
      .filter((candidate): candidate is Uint8Array => candidate !== undefined);
    if (candidates.length === 0) throw refused(platform, 'the evidence does not bind a nonce');
    if (!candidates.some((candidate) => sameBytes(candidate, options.expectedNonce as Uint8Array))) {
      throw refused(platform, `the evidence binds nonce ${toHex(candidates[0] as Uint8Array)} but ${toHex(options.expectedNonce)} was expected`);
    }
  }
  if (claims.debug && options.allowDebug !== true) throw refused(platform, 'debug evidence refused; allow debug to accept it');
  return claims;
}
