import {
  authorityKeyIdentifierExtension,
  basicConstraintsExtension,
  Code,
  createCertificate,
  ExtendedKeyUsage,
  extendedKeyUsageExtension,
  KeyUsage,
  keyUsageExtension,
  parseX509Certificate,
  randomSerialNumber as randomPositiveSerial,
  sameBytes,
  subjectKeyIdentifierExtension,
  VeracruzError,
  type X509Extension,
} from '@veracruz-ts/core';
import { type CertificateAuthority, type CertificateAuthorityPem, loadCertificateAuthority } from './authority.ts';
import { type VerifiedCsr, verifyCsr } from './csr.ts';
import { POLICY_BINDING_EXTENSION_OID } from './policy-binding.ts';
import { RUNTIME_HASH_EXTENSION_OID, RUNTIME_HASH_LENGTH, SEV_SNP_RUNTIME_HASH_LENGTH } from './runtime-hash.ts';
import type { Platform } from '../platform.ts';

/** Default lifetime of an isolate certificate: 24 hours, as Veracruz's PAS. */
export const DEFAULT_ISOLATE_CERTIFICATE_VALIDITY_MS = 24 * 60 * 60 * 1000;

/** Options for {@link issueIsolateCertificate}. */
export interface IssueIsolateCertificateOptions {
  /** The isolate's CSR (DER). Its self-signature is verified before anything is signed. */
  csrDer: Uint8Array;
  /** The runtime measurement as the certificate carries it: 32 bytes, or 48 for SEV-SNP (see `measurementForCertificate`). */
  measurement: Uint8Array;
  /** The platform whose evidence was verified; a 48-byte measurement is carried only for `sev-snp`. */
  platform?: Platform;
  /** The issuing CA, loaded or as PEM. */
  ca: CertificateAuthority | CertificateAuthorityPem;
  /** Start of validity (the PAS passes its clock, slightly backdated for clock skew). */
  notBefore: Date;
  /** Lifetime in milliseconds. @default 24 hours */
  validityMs?: number;
  /** A hard upper bound on notAfter, e.g. the policy's `enclave_cert_expiry`. */
  notAfterCap?: Date;
  /** Serial number as hex; a random positive 128-bit one when absent. */
  serialNumber?: string;
  /** The result of `verifyCsr(csrDer)` when the caller already has it (saves verifying twice). */
  verifiedCsr?: VerifiedCsr;
}

/** An issued isolate certificate with the facts the PAS records about it. */
export interface IssuedCertificate {
  /** The certificate (DER). */
  der: Uint8Array;
  /** Its serial number (lowercase hex, no sign byte). */
  serialNumber: string;
  /** Its subject (copied from the CSR). */
  subject: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity (never past the cap nor the CA's own notAfter). */
  notAfter: Date;
}

/** The authorityKeyIdentifier extension of each loaded CA, computed once. */
const authorityKeyIdentifiers = new WeakMap<CertificateAuthority, X509Extension>();

async function authorityKeyIdentifier(ca: CertificateAuthority): Promise<X509Extension> {
  let extension = authorityKeyIdentifiers.get(ca);
  if (extension === undefined) {
    extension = await authorityKeyIdentifierExtension(ca.certificate.subjectPublicKeyInfo);
    authorityKeyIdentifiers.set(ca, extension);
  }
  return extension;
}

/** A random positive 128-bit serial number as hex (RFC 5280 allows up to 20 octets), never needing a leading zero octet. */
export const randomSerialNumber: () => string = randomPositiveSerial;

/**
 * The policy-binding extension a CSR asks for, as the certificate carries it (non-critical), or
 * none. It is the only requested extension the PAS copies; it must hold 64 bytes.
 */
function policyBindingExtension(csr: VerifiedCsr): X509Extension[] {
  const requested = csr.requestedExtensions.find((extension) => extension.oid === POLICY_BINDING_EXTENSION_OID);
  if (requested === undefined) return [];
  if (requested.value.length !== 64) {
    throw new VeracruzError(Code.InvalidRequest, `csr: policy-binding extension ${POLICY_BINDING_EXTENSION_OID} holds ${requested.value.length} bytes; expected 64`);
  }
  return [{ oid: POLICY_BINDING_EXTENSION_OID, critical: false, value: requested.value }];
}

/**
 * Issues the isolate's certificate, as the PAS does once the evidence is verified: subject and
 * key from the CSR, the runtime measurement in extension 2.5.30.1 (32 raw bytes, 48 for SEV-SNP;
 * non-critical), the CSR's policy-binding extension when it asks for one (non-critical; no other
 * requested extension is copied), keyUsage digitalSignature, basicConstraints CA=false, extKeyUsage
 * serverAuth, a random serial, signed by the CA with ECDSA P-256/SHA-256 (core's certificate
 * builder). Returns the DER.
 */
export async function issueIsolateCertificate(options: IssueIsolateCertificateOptions): Promise<Uint8Array> {
  return (await issueIsolateCertificateDetailed(options)).der;
}

/** {@link issueIsolateCertificate}, also returning the serial, subject and validity it chose. */
export async function issueIsolateCertificateDetailed(options: IssueIsolateCertificateOptions): Promise<IssuedCertificate> {
  const carried = options.platform === 'sev-snp' ? [RUNTIME_HASH_LENGTH, SEV_SNP_RUNTIME_HASH_LENGTH] : [RUNTIME_HASH_LENGTH];
  if (!carried.includes(options.measurement.length)) {
    throw new VeracruzError(
      Code.InvalidRequest,
      `measurement is ${options.measurement.length} bytes; the certificate carries ${RUNTIME_HASH_LENGTH} (${SEV_SNP_RUNTIME_HASH_LENGTH} for sev-snp only; see measurementForCertificate)`,
    );
  }
  const validityMs = options.validityMs ?? DEFAULT_ISOLATE_CERTIFICATE_VALIDITY_MS;
  if (!Number.isFinite(validityMs) || validityMs <= 0) {
    throw new VeracruzError(Code.InvalidRequest, `certificate validity must be positive, got ${validityMs} ms`);
  }
  const ca = 'privateKey' in options.ca ? options.ca : await loadCertificateAuthority(options.ca);
  const notBefore = options.notBefore;
  if (notBefore < ca.certificate.notBefore || notBefore >= ca.certificate.notAfter) {
    throw new VeracruzError(
      Code.Unavailable,
      `the PAS CA certificate is not valid at ${notBefore.toISOString()} (valid ${ca.certificate.notBefore.toISOString()} to ${ca.certificate.notAfter.toISOString()})`,
    );
  }
  let notAfterMs = Math.min(notBefore.getTime() + validityMs, ca.certificate.notAfter.getTime());
  if (options.notAfterCap !== undefined) {
    if (options.notAfterCap.getTime() <= notBefore.getTime()) {
      throw new VeracruzError(
        Code.InvalidRequest,
        `certificate expiry cap ${options.notAfterCap.toISOString()} is not after ${notBefore.toISOString()}`,
      );
    }
    notAfterMs = Math.min(notAfterMs, options.notAfterCap.getTime());
  }
  const notAfter = new Date(notAfterMs);
  const csr = options.verifiedCsr !== undefined && sameBytes(options.verifiedCsr.der, options.csrDer)
    ? options.verifiedCsr
    : await verifyCsr(options.csrDer);
  const policyBinding = policyBindingExtension(csr);
  const serialNumber = options.serialNumber ?? randomSerialNumber();
  const der = await createCertificate(
    {
      serialNumber,
      subject: csr.subjectDer,
      issuer: ca.certificate.subjectDer,
      notBefore,
      notAfter,
      publicKey: csr.subjectPublicKeyInfo,
      extensions: [
        basicConstraintsExtension(false),
        keyUsageExtension(KeyUsage.digitalSignature),
        extendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]),
        await subjectKeyIdentifierExtension(csr.subjectPublicKeyInfo),
        await authorityKeyIdentifier(ca),
        { oid: RUNTIME_HASH_EXTENSION_OID, critical: false, value: options.measurement },
        ...policyBinding,
      ],
    },
    ca.privateKey,
    'SHA-256',
  );
  // Report what the certificate says (X.509 times have whole seconds).
  const certificate = parseX509Certificate(der);
  return {
    der,
    serialNumber: certificate.serialNumber.replace(/^00(?=[89a-f])/, ''),
    subject: certificate.subject,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
  };
}
