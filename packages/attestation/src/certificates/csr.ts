import { Code, VeracruzError } from '@veracruz-ts/core';
import { x509 } from './x509.ts';

/** A CSR whose self-signature has been checked. */
export interface VerifiedCsr {
  /** The parsed request. */
  request: x509.Pkcs10CertificateRequest;
  /** Its subject, as RFC 4514-ish text (for the audit trail). */
  subject: string;
  /** SHA-256 of the CSR's DER bytes. */
  hash: Uint8Array;
}

/** The curves an isolate key may use; the isolate makes P-256, P-384 is accepted for future platforms. */
const ACCEPTED_CURVES: ReadonlySet<string> = new Set(['P-256', 'P-384']);

/**
 * Parses a PKCS#10 CSR (DER), checks that its key is an ECDSA P-256/P-384 key and that its
 * self-signature verifies, i.e. that whoever made it holds the private key.
 * Throws `InvalidRequest` for bytes that are not a CSR and `AttestationFailed` for a CSR that
 * does not prove possession.
 */
export async function verifyCsr(csrDer: Uint8Array): Promise<VerifiedCsr> {
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(csrDer);
  } catch {
    throw new VeracruzError(Code.InvalidRequest, 'csr: not a DER PKCS#10 certificate request');
  }
  const algorithm = request.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || !ACCEPTED_CURVES.has(algorithm.namedCurve ?? '')) {
    throw new VeracruzError(
      Code.AttestationFailed,
      `csr: key must be ECDSA P-256 or P-384, got ${algorithm.name ?? 'unknown'} ${algorithm.namedCurve ?? ''}`.trimEnd(),
    );
  }
  let valid: boolean;
  try {
    valid = await request.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw new VeracruzError(Code.AttestationFailed, 'csr: signature does not verify with its own public key');
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', csrDer));
  return { request, subject: request.subject, hash };
}
