/**
 * A small self-made PKI for tests: roots, intermediates and leaves with chosen validity, names,
 * constraints and keys. Nothing here is trusted by default; it exists to show that verifiers refuse
 * chains that do not end at a vendor's pinned root.
 */
import type { webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

/** A test certificate with its key pair. */
export interface TestCertificate {
  /** DER bytes. */
  der: Uint8Array;
  /** PEM text. */
  pem: string;
  /** The certificate's key pair. */
  keys: webcrypto.CryptoKeyPair;
  /** Its subject name, e.g. "CN=Test Root". */
  subject: string;
}

/** How to build one test certificate. */
export interface TestCertificateOptions {
  /** Subject name. */
  subject: string;
  /** The issuer; absent for a self-signed root. */
  issuer?: TestCertificate;
  /** The new key: an ECDSA curve, or RSA-PSS (2048 bits, SHA-384, as AMD's keys sign). @default 'P-256' */
  curve?: 'P-256' | 'P-384' | 'RSA-PSS';
  /** Reuse these keys instead of generating new ones. */
  keys?: webcrypto.CryptoKeyPair;
  /** @default 2020-01-01 */
  notBefore?: Date;
  /** @default 2040-01-01 */
  notAfter?: Date;
  /** Set basicConstraints cA. @default true for roots, false otherwise */
  ca?: boolean;
  /** basicConstraints pathLenConstraint. */
  pathLength?: number;
  /** keyUsage flags; default keyCertSign|cRLSign for CAs, digitalSignature otherwise. */
  keyUsage?: number;
  /** Hex serial number. @default random */
  serialNumber?: string;
  /** Extra extensions (e.g. an unknown critical one). */
  extensions?: x509.Extension[];
  /** Leave out basicConstraints and keyUsage altogether. */
  bare?: boolean;
}

const HASH_FOR_CURVE = { 'P-256': 'SHA-256', 'P-384': 'SHA-384' } as const;

/** Generates an ECDSA key pair (extractable, so tests can export it). */
export function generateEcKeys(curve: 'P-256' | 'P-384' = 'P-256'): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: curve }, true, ['sign', 'verify']);
}

function generateKeys(kind: 'P-256' | 'P-384' | 'RSA-PSS'): Promise<webcrypto.CryptoKeyPair> {
  if (kind !== 'RSA-PSS') return generateEcKeys(kind);
  return crypto.subtle.generateKey(
    { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' },
    true,
    ['sign', 'verify'],
  ) as Promise<webcrypto.CryptoKeyPair>;
}

/** The signature algorithm a signing key implies. */
function signingAlgorithm(key: webcrypto.CryptoKey): webcrypto.EcdsaParams | webcrypto.RsaPssParams {
  const algorithm = key.algorithm as webcrypto.EcKeyAlgorithm;
  if (algorithm.name === 'RSA-PSS') return { name: 'RSA-PSS', saltLength: 48, hash: 'SHA-384' } as webcrypto.RsaPssParams;
  return { name: 'ECDSA', hash: HASH_FOR_CURVE[algorithm.namedCurve as 'P-256' | 'P-384'] };
}

/** Builds one test certificate, self-signed when no issuer is given. */
export async function createTestCertificate(options: TestCertificateOptions): Promise<TestCertificate> {
  const curve = options.curve ?? 'P-256';
  const keys = options.keys ?? (await generateKeys(curve));
  const isCa = options.ca ?? options.issuer === undefined;
  const extensions: x509.Extension[] = [];
  if (options.bare !== true) {
    extensions.push(new x509.BasicConstraintsExtension(isCa, options.pathLength, true));
    const defaultUsage = isCa ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature;
    extensions.push(new x509.KeyUsagesExtension(options.keyUsage ?? defaultUsage, true));
  }
  extensions.push(...(options.extensions ?? []));
  const signer = options.issuer;
  const serialNumber = options.serialNumber ?? Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^0/, '1');
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: options.subject,
    issuer: signer?.subject ?? options.subject,
    notBefore: options.notBefore ?? new Date('2020-01-01T00:00:00Z'),
    notAfter: options.notAfter ?? new Date('2040-01-01T00:00:00Z'),
    publicKey: keys.publicKey,
    signingKey: (signer?.keys ?? keys).privateKey,
    signingAlgorithm: signingAlgorithm((signer?.keys ?? keys).privateKey),
    extensions,
  });
  return { der: new Uint8Array(certificate.rawData), pem: certificate.toString('pem'), keys, subject: options.subject };
}
