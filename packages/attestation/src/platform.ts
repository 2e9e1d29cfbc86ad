import { Code, sameBytes, toHex, VeracruzError } from '@veracruz-ts/core';
import { isoTime, isValidDate } from './chain.ts';

/** The isolate kinds whose evidence the project understands. */
export type Platform = 'linux' | 'nitro' | 'psa' | 'sev-snp' | 'tdx' | 'sgx';

/** What every verifier needs besides the evidence bytes. */
export interface VerifyOptions {
  /** The time to verify at: every validity window (certificates, CRLs, collateral) is checked against it. */
  at: Date;
  /** Trust anchors as PEM text; default: the vendor's pinned public roots for the platform. */
  trustAnchors?: string[];
  /**
   * Platform-specific endorsements and collateral: PSA attestation public keys (PEM or DER) or CoMIDs (JSON),
   * the SEV-SNP VCEK/VLEK (DER or PEM) plus optional ASK/ARK, the DCAP TCB info / QE identity JSON,
   * CRLs and signing chains. Each verifier documents what it reads.
   */
  endorsements?: Uint8Array[];
  /** When given, the evidence must carry exactly this nonce (the PAS session nonce). */
  expectedNonce?: Uint8Array;
  /** When given, the evidence must bind exactly this SHA-256 of the isolate's CSR. */
  expectedCsrHash?: Uint8Array;
  /** Accept debug evidence (an isolate whose memory the host can read). @default false */
  allowDebug?: boolean;
}

/** What a verifier vouches for once the evidence checked out. */
export interface EvidenceClaims {
  /** The platform that produced the evidence. */
  platform: Platform;
  /** The launch measurement a policy compares with its runtime hash (PCR0, MEASUREMENT, MRTD, MRENCLAVE, ...). */
  measurement: Uint8Array;
  /** The raw report data / user data the isolate bound into the evidence, when the format has one. */
  reportData?: Uint8Array;
  /** The nonce carried by the evidence, when the format has one. */
  nonce?: Uint8Array;
  /** The CSR hash the evidence binds, when it can be read from the evidence. */
  csrHash?: Uint8Array;
  /** Whether the evidence comes from a debug isolate (refused unless `allowDebug`). */
  debug: boolean;
  /** Whether the platform gives no hardware protection at all (the `linux` development platform). */
  insecure: boolean;
  /** Platform-specific facts (PCRs, TCB versions, chip id, TCB status, ...), named in camelCase. */
  details: Record<string, unknown>;
}

/** Builds the refusal every verifier throws: `AttestationFailed` with a `platform: reason` message. */
export function attestationFailure(platform: string, reason: string, cause?: unknown): VeracruzError {
  return new VeracruzError(Code.AttestationFailed, `${platform}: ${reason}`, cause === undefined ? undefined : { cause });
}

/** Lowercase hex (the policy package's, re-exported for this package's modules). */
export { toHex };

/** Whether two byte strings are equal (public values only: not constant-time). */
export const bytesEqual: (a: Uint8Array, b: Uint8Array) => boolean = sameBytes;

/** Times as certificates print them, and Date checks (kept with the chain verifier, which the isolate carries). */
export { isoTime, isValidDate };

/** Refuses `options.at` unless it is a valid Date: verifiers never fall back to the clock. */
export function requireTime(platform: string, options: VerifyOptions): Date {
  const at = options?.at;
  if (!isValidDate(at)) {
    throw attestationFailure(platform, 'options.at (the time to verify at) must be a valid Date');
  }
  return at;
}

/**
 * Checks one expected value against what the evidence carries. `what` names the field in the
 * message; the values are public (nonces and hashes), so both are shown in hex.
 */
export function expectEqual(platform: string, what: string, actual: Uint8Array | undefined, expected: Uint8Array | undefined): void {
  if (expected === undefined) return;
  if (actual === undefined) throw attestationFailure(platform, `${what} is absent but ${toHex(expected)} was expected`);
  if (!bytesEqual(actual, expected)) {
    throw attestationFailure(platform, `${what} is ${toHex(actual)} but ${toHex(expected)} was expected`);
  }
}

/** Refuses debug evidence unless the caller allows it. */
export function refuseDebug(platform: string, debug: boolean, why: string, options: VerifyOptions): void {
  if (debug && options.allowDebug !== true) {
    throw attestationFailure(platform, `debug evidence refused (${why}); pass allowDebug to accept it`);
  }
}

/**
 * Runs a verifier's body so that whatever it throws is a refusal: a VeracruzError passes through,
 * anything else (a library choking on malformed input) becomes `AttestationFailed`.
 */
export async function refuseUnexpected<T>(platform: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof VeracruzError) throw error;
    throw attestationFailure(platform, `malformed evidence (${error instanceof Error ? error.message : String(error)})`, error);
  }
}
