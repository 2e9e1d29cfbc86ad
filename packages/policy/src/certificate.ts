/**
 * Reading the PEM certificates a policy carries (identity certificates, the PAS CA) into the
 * facts the rest of the system needs: DER bytes, subject, validity. @peculiar/x509 only.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

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

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END ([A-Z0-9 ]+)-----/g;

/**
 * Parses one PEM certificate. Returns the reason as a string when it is not one, so the caller
 * can prefix the JSON path: `not a PEM certificate`, `expected one certificate, found 2`,
 * `not an X.509 certificate (...)`. Whitespace inside the base64 body is ignored, because
 * Veracruz's vc-pgen writes the body on one line.
 */
export function readCertificatePem(pem: string): CertificateInfo | string {
  const text = pem.trim();
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0 || !text.startsWith('-----BEGIN ') || !text.endsWith('-----')) return 'not a PEM certificate';
  const certificates = blocks.filter((block) => block[1] === 'CERTIFICATE');
  if (certificates.length !== blocks.length || blocks.some((block) => block[1] !== block[3])) {
    return `not a PEM certificate (found ${blocks.map((block) => `BEGIN ${block[1]}`).join(', ')})`;
  }
  if (certificates.length > 1) return `expected one certificate, found ${certificates.length}`;
  const outside = text.replace(PEM_BLOCK, '').trim();
  if (outside !== '') return 'not a PEM certificate (text outside the BEGIN/END lines)';
  const body = blocks[0]![2]!.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0 || body === '') {
    return 'not a PEM certificate (the body is not base64)';
  }
  const binary = atob(body);
  const der = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) der[index] = binary.charCodeAt(index);
  try {
    const certificate = new x509.X509Certificate(der);
    return {
      der,
      subject: certificate.subject,
      commonName: certificate.subjectName.getField('CN')[0] ?? '',
      issuer: certificate.issuer,
      notBefore: certificate.notBefore,
      notAfter: certificate.notAfter,
    };
  } catch (error) {
    return `not an X.509 certificate (${error instanceof Error ? error.message : String(error)})`;
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
