import type { webcrypto } from 'node:crypto';
import {
  basicConstraintsExtension,
  Code,
  createCertificate,
  KeyUsage,
  keyUsageExtension,
  parseX509Certificate,
  randomSerialNumber,
  subjectKeyIdentifierExtension,
  VeracruzError,
  type X509Certificate,
} from '@veracruz-ts/core';
import { ECDSA_P256_SHA256 } from './ecdsa.ts';
import { derToPem, pemToDer } from './pem.ts';

/** A CA as files hold it: certificate and PKCS#8 private key, both PEM. */
export interface CertificateAuthorityPem {
  /** The CA certificate (PEM). This is what policies list as `proxy_service_cert`. */
  certificatePem: string;
  /** The CA private key (PKCS#8 PEM). Keep it in a 0600 file; never log it. */
  privateKeyPem: string;
}

/** A CA loaded for signing: its decoded certificate and a non-extractable signing key. */
export interface CertificateAuthority {
  /** The decoded CA certificate (subject, validity, key, extensions). */
  certificate: X509Certificate;
  /** The CA certificate's DER bytes (the second half of every PAS reply). */
  certificateDer: Uint8Array;
  /** The CA's ECDSA P-256 signing key. */
  privateKey: webcrypto.CryptoKey;
}

/** Options for {@link createCertificateAuthority}. */
export interface CertificateAuthorityOptions {
  /** Subject of the CA. @default 'C=US, O=Veracruz, CN=Veracruz Proxy Attestation Service CA' */
  subject?: string;
  /** Start of validity. @default one hour ago, so isolate certificates backdated for clock skew fit inside it */
  notBefore?: Date;
  /** Validity length in milliseconds. @default ten years */
  validityMs?: number;
}

const TEN_YEARS_MS = 10 * 365 * 24 * 60 * 60 * 1000;

/**
 * Creates a PAS certificate authority: a fresh ECDSA P-256 key and a self-signed certificate
 * with basicConstraints CA=true (path length 0: it signs isolate certificates only),
 * keyUsage keyCertSign|cRLSign (both critical) and a subjectKeyIdentifier.
 */
export async function createCertificateAuthority(options: CertificateAuthorityOptions = {}): Promise<CertificateAuthorityPem> {
  const keys = (await crypto.subtle.generateKey(ECDSA_P256_SHA256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = options.notBefore ?? new Date(Date.now() - 60 * 60 * 1000);
  const notAfter = new Date(notBefore.getTime() + (options.validityMs ?? TEN_YEARS_MS));
  const subject = options.subject ?? 'C=US, O=Veracruz, CN=Veracruz Proxy Attestation Service CA';
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  const certificate = await createCertificate(
    {
      serialNumber: randomSerialNumber(),
      issuer: subject,
      subject,
      notBefore,
      notAfter,
      publicKey: spki,
      extensions: [
        basicConstraintsExtension(true, 0),
        keyUsageExtension(KeyUsage.keyCertSign | KeyUsage.cRLSign),
        await subjectKeyIdentifierExtension(spki),
      ],
    },
    keys.privateKey,
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKeyPem = derToPem(pkcs8, 'PRIVATE KEY');
  pkcs8.fill(0);
  return { certificatePem: derToPem(certificate, 'CERTIFICATE'), privateKeyPem };
}

/**
 * Loads a CA for signing. Checks that the certificate is a CA certificate (basicConstraints
 * CA=true), that its key is ECDSA P-256, and that the private key belongs to it.
 * Throws `InvalidRequest` with the reason otherwise; the message never contains key material.
 */
export async function loadCertificateAuthority(pem: CertificateAuthorityPem): Promise<CertificateAuthority> {
  const certificateDer = pemToDer(pem.certificatePem, 'CERTIFICATE', 'CA certificate');
  let certificate: X509Certificate;
  try {
    certificate = parseX509Certificate(certificateDer);
  } catch (error) {
    const reason = error instanceof VeracruzError ? ` (${error.rawMessage})` : '';
    throw new VeracruzError(Code.InvalidRequest, `CA certificate: not a DER X.509 certificate${reason}`, { cause: error });
  }
  if (certificate.basicConstraints?.ca !== true) {
    throw new VeracruzError(Code.InvalidRequest, 'CA certificate: basicConstraints CA=true is missing');
  }
  const pkcs8 = pemToDer(pem.privateKeyPem, 'PRIVATE KEY', 'CA private key');
  let privateJwk: webcrypto.JsonWebKey;
  try {
    const extractable = await crypto.subtle.importKey('pkcs8', pkcs8, ECDSA_P256_SHA256, true, ['sign']);
    privateJwk = await crypto.subtle.exportKey('jwk', extractable);
  } catch {
    throw new VeracruzError(Code.InvalidRequest, 'CA private key: not a PKCS#8 ECDSA P-256 key');
  } finally {
    pkcs8.fill(0);
  }
  const publicKey = await crypto.subtle.importKey('spki', certificate.subjectPublicKeyInfo.slice(), ECDSA_P256_SHA256, true, ['verify']).catch(() => {
    throw new VeracruzError(Code.InvalidRequest, 'CA certificate: key is not ECDSA P-256');
  });
  const publicJwk = await crypto.subtle.exportKey('jwk', publicKey);
  if (publicJwk.x !== privateJwk.x || publicJwk.y !== privateJwk.y) {
    throw new VeracruzError(Code.InvalidRequest, 'CA private key does not match the CA certificate');
  }
  const privateKey = await crypto.subtle.importKey('jwk', privateJwk, ECDSA_P256_SHA256, false, ['sign']);
  privateJwk.d = '';
  return { certificate, certificateDer, privateKey };
}
