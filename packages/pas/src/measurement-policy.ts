import { Code, toHex, VeracruzError } from '@veracruz-ts/core';
import { measurementForCertificate } from '@veracruz-ts/attestation/certificates';
import type { Platform } from '@veracruz-ts/attestation';
import type { ReferenceValueRecord } from './store.ts';

/** Lowercase hex (the policy package's, re-exported for this package's modules). */
export { toHex };

/**
 * Normalises a measurement an operator typed: lowercase hex of 32 or 48 bytes, optional `0x`.
 * Throws `InvalidRequest` otherwise.
 */
export function parseMeasurementHex(text: string): string {
  const hex = text.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]*$/.test(hex) || (hex.length !== 64 && hex.length !== 96)) {
    throw new VeracruzError(Code.InvalidRequest, `measurement must be 64 or 96 hex digits (32 or 48 bytes), got ${JSON.stringify(text.slice(0, 100))}`);
  }
  return hex;
}

/**
 * Applies the operator's reference values to a verified measurement: a measurement on the
 * platform's deny-list is refused; when the platform has any accepted (reference) values, a
 * measurement not among them is refused. An entry matches the full measurement or, for 48-byte
 * measurements, its first 32 bytes (what the certificate carries). Throws `AttestationFailed`.
 */
export function checkMeasurement(platform: Platform, measurement: Uint8Array, values: readonly ReferenceValueRecord[]): void {
  const forms = new Set([toHex(measurement)]);
  if (measurement.length === 48) forms.add(toHex(measurementForCertificate(measurement)));
  const relevant = values.filter((value) => value.platform === platform);
  const fullHex = toHex(measurement);
  if (relevant.some((value) => value.kind === 'deny' && forms.has(value.measurement))) {
    throw new VeracruzError(Code.AttestationFailed, `${platform}: measurement ${fullHex} is on the deny-list`);
  }
  const accepted = relevant.filter((value) => value.kind === 'accept');
  if (accepted.length > 0 && !accepted.some((value) => forms.has(value.measurement))) {
    throw new VeracruzError(
      Code.AttestationFailed,
      `${platform}: measurement ${fullHex} is not among the ${accepted.length} reference value(s) accepted for this platform`,
    );
  }
}
