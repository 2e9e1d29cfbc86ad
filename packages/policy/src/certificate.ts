/**
 * Reading the PEM certificates a policy carries (identity certificates, the PAS CA) into the
 * facts the rest of the system needs: DER bytes, subject, validity. Core's PEM decoder and
 * X.509 loader only, so it also runs in a browser.
 */
import { parseX509Certificate, readPemBlocks, VeracruzError, type PemBlock } from '@veracruz-ts/core';

/** What a policy needs to know about one certificate. */
export interface CertificateInfo {
  /** The certificate's DER bytes (what a TLS peer presents). */
  der: Uint8Array;
  /** Subject distinguished name, RFC 4514 form. */
  subject: string;
  /** Subject common name, or '' when there is none. */
  commonName: string;
  /** Issuer distinguished name. */
  issuer: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
}

/** Why core's PEM decoder refused a text, in the words of this module's messages. */
function pemProblem(error: unknown): string {
  const reason = error instanceof VeracruzError ? error.rawMessage.replace(/^PEM: /, '') : String(error);
  return /is not base64$/.test(reason) ? 'the body is not base64' : reason;
}

/**
 * Parses one PEM certificate. Returns the reason as a string when it is not one, so the caller
 * can prefix the JSON path: `not a PEM certificate`, `expected one certificate, found 2`,
 * `not an X.509 certificate (...)`. Whitespace inside the base64 body is ignored, because
 * Veracruz's vc-pgen writes the body on one line.
 */
export function readCertificatePem(pem: string): CertificateInfo | string {
  const text = pem.trim();
  if (!text.startsWith('-----BEGIN ') || !text.endsWith('-----')) return 'not a PEM certificate';
  let blocks: PemBlock[];
  try {
    blocks = readPemBlocks(text);
  } catch (error) {
    return `not a PEM certificate (${pemProblem(error)})`;
  }
  if (blocks.length === 0) return 'not a PEM certificate';
  if (blocks.some((block) => block.label !== 'CERTIFICATE')) {
    return `not a PEM certificate (found ${blocks.map((block) => `BEGIN ${block.label}`).join(', ')})`;
  }
  if (blocks.length > 1) return `expected one certificate, found ${blocks.length}`;
  try {
    // Only text between or around the blocks can fail the strict reading now.
    readPemBlocks(text, { strict: true });
  } catch {
    return 'not a PEM certificate (text outside the BEGIN/END lines)';
  }
  const der = (blocks[0] as PemBlock).der;
  try {
    const certificate = parseX509Certificate(der);
    return {
      der,
      subject: certificate.subject,
      commonName: certificate.commonName,
      issuer: certificate.issuer,
      notBefore: certificate.notBefore,
      notAfter: certificate.notAfter,
    };
  } catch (error) {
    return `not an X.509 certificate (${error instanceof VeracruzError ? error.rawMessage : String(error)})`;
  }
}

/**
 * Why a certificate is not valid at `at`, e.g. `expired on 2023-04-11T16:46:00.000Z (valid from
 * ... to ...; checked at ...)`, or undefined when it is valid.
 */
export function validityProblem(info: Pick<CertificateInfo, 'notBefore' | 'notAfter'>, at: Date): string | undefined {
  const range = `valid from ${info.notBefore.toISOString()} to ${info.notAfter.toISOString()}; checked at ${at.toISOString()}`;
  if (at.getTime() > info.notAfter.getTime()) return `expired on ${info.notAfter.toISOString()} (${range})`;
  if (at.getTime() < info.notBefore.getTime()) return `not valid until ${info.notBefore.toISOString()} (${range})`;
  return undefined;
}
