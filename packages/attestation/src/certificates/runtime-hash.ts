import { Code, findExtension, parseX509Certificate, toHex, VeracruzError, type X509Certificate } from '@veracruz-ts/core';
import type { Platform } from '../platform.ts';
import { certificateDer } from './pem.ts';

/**
 * The X.509 extension that carries the isolate's runtime measurement (Veracruz's
 * `VERACRUZ_RUNTIME_HASH_EXTENSION_ID`, DER `55 1E 01`). Its extnValue OCTET STRING holds the raw
 * measurement bytes (32, or 48 for SEV-SNP), with no further ASN.1 inside.
 */
export const RUNTIME_HASH_EXTENSION_OID = '2.5.30.1';

/** How many bytes of a measurement the runtime-hash extension carries, on every platform but SEV-SNP. */
export const RUNTIME_HASH_LENGTH = 32;

/**
 * What the runtime-hash extension carries for SEV-SNP: the whole SHA-384 launch measurement
 * (MEASUREMENT), which is what Veracruz's build writes in `runtime_manager_hash_sevsnp`.
 */
export const SEV_SNP_RUNTIME_HASH_LENGTH = 48;

/**
 * The bytes of a platform measurement that go into the runtime-hash extension, and that a
 * policy's `runtime_manager_hash_*` must therefore list.
 *
 * - 32-byte measurements (the `linux` bundle's SHA-256, SGX MRENCLAVE, PSA) are carried whole.
 * - SEV-SNP's 48-byte launch measurement is carried whole: the policy lists its 96 hex digits.
 * - Other 48-byte measurements (Nitro PCR0, TDX MRTD) are truncated to their first 32 bytes,
 *   exactly as Veracruz truncates PCR0; the policy hash for those platforms is the first 64 hex
 *   digits of the vendor's measurement.
 *
 * `platform` is the evidence's platform; without it a 48-byte measurement is truncated.
 * Throws `InvalidRequest` for any other length.
 */
export function measurementForCertificate(measurement: Uint8Array, platform?: Platform): Uint8Array {
  if (measurement.length === RUNTIME_HASH_LENGTH) return measurement;
  if (measurement.length === SEV_SNP_RUNTIME_HASH_LENGTH) return platform === 'sev-snp' ? measurement : measurement.slice(0, RUNTIME_HASH_LENGTH);
  throw new VeracruzError(
    Code.InvalidRequest,
    `measurement is ${measurement.length} bytes; expected 32 or 48`,
  );
}

/**
 * Whether a runtime hash a policy lists (hex, either case) names the runtime hash a certificate
 * carries: the same bytes, or, for a 48-byte (SEV-SNP) one, its first 32 bytes as 64 hex digits,
 * which is how policies gave SEV-SNP measurements before the whole measurement was carried.
 */
export function runtimeHashMatches(listed: string, carried: Uint8Array): boolean {
  const hex = toHex(carried);
  const expected = listed.toLowerCase();
  return expected === hex || (carried.length === SEV_SNP_RUNTIME_HASH_LENGTH && expected.length === 2 * RUNTIME_HASH_LENGTH && hex.startsWith(expected));
}

/**
 * Reads the runtime measurement from an isolate certificate (DER bytes or PEM text).
 * Returns `undefined` when the certificate has no runtime-hash extension; throws
 * `AttestationFailed` when the extension is there but holds neither 32 nor 48 (SEV-SNP) bytes.
 */
export function readRuntimeHash(certificate: Uint8Array | string): Uint8Array | undefined {
  const der = certificateDer(certificate);
  let parsed: X509Certificate;
  try {
    parsed = parseX509Certificate(der);
  } catch (error) {
    const reason = error instanceof VeracruzError ? error.rawMessage : String(error);
    throw new VeracruzError(Code.InvalidRequest, `certificate: not a DER X.509 certificate (${reason})`, { cause: error });
  }
  const extension = findExtension(parsed, RUNTIME_HASH_EXTENSION_OID);
  if (extension === undefined) return undefined;
  const value = extension.value.slice();
  if (value.length !== RUNTIME_HASH_LENGTH && value.length !== SEV_SNP_RUNTIME_HASH_LENGTH) {
    throw new VeracruzError(
      Code.AttestationFailed,
      `runtime-hash extension ${RUNTIME_HASH_EXTENSION_OID} holds ${value.length} bytes; expected ${RUNTIME_HASH_LENGTH} (or ${SEV_SNP_RUNTIME_HASH_LENGTH} for SEV-SNP)`,
    );
  }
  return value;
}
