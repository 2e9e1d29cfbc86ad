import { Code, VeracruzError } from '@veracruz-ts/core';

/** Length of the report data that SEV-SNP and TDX sign, and of its two halves. */
export const REPORT_DATA_LENGTH = 64;
const HALF = 32;

/**
 * The report data an isolate asks its TEE to sign: `csrHash (32) || nonce (32)`, so that the
 * evidence binds both the isolate's key (through its CSR) and the PAS session's freshness nonce.
 */
export function bindReportData(csrHash: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (csrHash.byteLength !== HALF) throw new VeracruzError(Code.InvalidRequest, `CSR hash must be ${HALF} bytes, got ${csrHash.byteLength}`);
  if (nonce.byteLength !== HALF) throw new VeracruzError(Code.InvalidRequest, `nonce must be ${HALF} bytes, got ${nonce.byteLength}`);
  const out = new Uint8Array(REPORT_DATA_LENGTH);
  out.set(csrHash, 0);
  out.set(nonce, HALF);
  return out;
}

/** Splits 64 bytes of report data into the CSR hash and nonce that {@link bindReportData} joined. */
export function splitReportData(reportData: Uint8Array): { csrHash: Uint8Array; nonce: Uint8Array } {
  if (reportData.byteLength !== REPORT_DATA_LENGTH) {
    throw new VeracruzError(Code.AttestationFailed, `report data must be ${REPORT_DATA_LENGTH} bytes, got ${reportData.byteLength}`);
  }
  return { csrHash: reportData.slice(0, HALF), nonce: reportData.slice(HALF) };
}

/**
 * Checks report data that binds `csrHash || nonce` against the values a caller expects: the CSR
 * hash against the first half, the nonce against the second half (or against the whole report
 * data when the expected nonce is not 32 bytes long). Absent expectations are not checked.
 */
export function checkBoundReportData(
  platform: string,
  field: string,
  reportData: Uint8Array,
  expected: { expectedNonce?: Uint8Array; expectedCsrHash?: Uint8Array },
): void {
  const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
  const refuse = (reason: string): never => {
    throw new VeracruzError(Code.AttestationFailed, `${platform}: ${reason}`);
  };
  if (expected.expectedCsrHash !== undefined) {
    if (reportData.byteLength !== REPORT_DATA_LENGTH) refuse(`${field} is ${reportData.byteLength} bytes, so it cannot bind a CSR hash and a nonce`);
    const csrHash = reportData.subarray(0, HALF);
    if (Buffer.compare(csrHash, expected.expectedCsrHash) !== 0) {
      refuse(`${field} binds CSR hash ${hex(csrHash)} but ${hex(expected.expectedCsrHash)} was expected`);
    }
  }
  if (expected.expectedNonce !== undefined) {
    const split = reportData.byteLength === REPORT_DATA_LENGTH && expected.expectedNonce.byteLength === HALF;
    const nonce = split ? reportData.subarray(HALF) : reportData;
    if (Buffer.compare(nonce, expected.expectedNonce) !== 0) {
      refuse(`${field} binds nonce ${hex(nonce)} but ${hex(expected.expectedNonce)} was expected`);
    }
  }
}
