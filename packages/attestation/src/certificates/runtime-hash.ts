import { Code, VeracruzError } from '@veracruz-ts/policy';
import { certificateDer } from './pem.ts';
import { x509 } from './x509.ts';

/**
 * The X.509 extension that carries the isolate's runtime measurement (Veracruz's
 * `VERACRUZ_RUNTIME_HASH_EXTENSION_ID`, DER `55 1E 01`). Its extnValue OCTET STRING holds the
 * 32 raw measurement bytes, with no further ASN.1 inside.
 */
export const RUNTIME_HASH_EXTENSION_OID = '2.5.30.1';

/** How many bytes of a measurement the runtime-hash extension carries. */
export const RUNTIME_HASH_LENGTH = 32;

/**
 * The bytes of a platform measurement that go into the runtime-hash extension, and that a
 * policy's `runtime_manager_hash_*` must therefore list.
 *
 * - 32-byte measurements (the `linux` bundle's SHA-256, SGX MRENCLAVE) are carried whole.
 * - 48-byte measurements (Nitro PCR0, SEV-SNP launch measurement, TDX MRTD, all SHA-384 sized)
 *   are truncated to their first 32 bytes, exactly as Veracruz truncates PCR0. The policy hash
 *   for those platforms is therefore the first 64 hex digits of the vendor's measurement.
 *
 * Throws `InvalidRequest` for any other length.
 */
export function measurementForCertificate(measurement: Uint8Array): Uint8Array {
  if (measurement.length === RUNTIME_HASH_LENGTH) return measurement;
  if (measurement.length === 48) return measurement.slice(0, RUNTIME_HASH_LENGTH);
  throw new VeracruzError(
    Code.InvalidRequest,
    `measurement is ${measurement.length} bytes; expected 32 or 48`,
  );
}

/**
 * Reads the runtime measurement from an isolate certificate (DER bytes or PEM text).
 * Returns `undefined` when the certificate has no runtime-hash extension; throws
 * `AttestationFailed` when the extension is there but does not hold exactly 32 bytes.
 */
export function readRuntimeHash(certificate: Uint8Array | string): Uint8Array | undefined {
  let parsed: x509.X509Certificate;
  try {
    parsed = new x509.X509Certificate(certificateDer(certificate));
  } catch (error) {
    if (error instanceof VeracruzError) throw error;
    throw new VeracruzError(Code.InvalidRequest, 'certificate: not a DER X.509 certificate');
  }
  const extension = parsed.getExtension(RUNTIME_HASH_EXTENSION_OID);
  if (extension === null) return undefined;
  const value = new Uint8Array(extension.value);
  if (value.length !== RUNTIME_HASH_LENGTH) {
    throw new VeracruzError(
      Code.AttestationFailed,
      `runtime-hash extension ${RUNTIME_HASH_EXTENSION_OID} holds ${value.length} bytes; expected ${RUNTIME_HASH_LENGTH}`,
    );
  }
  return value;
}
