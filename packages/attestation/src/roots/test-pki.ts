/**
 * A small self-made PKI for tests: roots, intermediates and leaves with chosen validity, names,
 * constraints and keys. Nothing here is trusted by default; it exists to show that verifiers refuse
 * chains that do not end at a vendor's pinned root.
 */
import type { webcrypto } from 'node:crypto';
import {
  basicConstraintsExtension,
  createCertificate,
  encodeBitString,
  encodeInteger,
  encodeName,
  encodeSequence,
  encodeTime,
  encodeUnsignedInteger,
  KeyUsage,
  keyUsageExtension,
  signatureSchemeFor,
  signWithScheme,
  toPem,
  type X509Extension,
} from '@veracruz-ts/core';

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
  /** keyUsage bits (core's `KeyUsage`); default keyCertSign|cRLSign for CAs, digitalSignature otherwise. */
  keyUsage?: number;
  /** Hex serial number. @default random */
  serialNumber?: string;
  /** Extra extensions (e.g. an unknown critical one). */
  extensions?: X509Extension[];
  /** Leave out basicConstraints and keyUsage altogether. */
  bare?: boolean;
}

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

/**
 * Builds one test certificate, self-signed when no issuer is given, signed as the issuer's key
 * implies: ECDSA with SHA-256 (P-256) or SHA-384 (P-384), RSA-PSS with SHA-384 and a 48-byte salt.
 */
export async function createTestCertificate(options: TestCertificateOptions): Promise<TestCertificate> {
  const curve = options.curve ?? 'P-256';
  const keys = options.keys ?? (await generateKeys(curve));
  const isCa = options.ca ?? options.issuer === undefined;
  const extensions: X509Extension[] = [];
  if (options.bare !== true) {
    extensions.push(basicConstraintsExtension(isCa, options.pathLength));
    const defaultUsage = isCa ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature;
    extensions.push(keyUsageExtension(options.keyUsage ?? defaultUsage));
  }
  extensions.push(...(options.extensions ?? []));
  const signer = options.issuer;
  const serialNumber = options.serialNumber ?? Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^0/, '1');
  const der = await createCertificate(
    {
      serialNumber,
      subject: options.subject,
      issuer: signer?.subject ?? options.subject,
      notBefore: options.notBefore ?? new Date('2020-01-01T00:00:00Z'),
      notAfter: options.notAfter ?? new Date('2040-01-01T00:00:00Z'),
      publicKey: keys.publicKey,
      extensions,
    },
    (signer?.keys ?? keys).privateKey,
  );
  return { der, pem: toPem(der, 'CERTIFICATE'), keys, subject: options.subject };
}

/** How to build one test CRL. */
export interface TestCrlOptions {
  /** The CA that issues and signs it. */
  issuer: TestCertificate;
  /** @default 2020-01-01 */
  thisUpdate?: Date;
  /** @default 2040-01-01; null leaves it out */
  nextUpdate?: Date | null;
  /** Serial numbers (hex) of the revoked certificates. */
  revoked?: string[];
}

/** Builds a version 2 CRL (DER) signed by its issuer's key, as a CA publishes one. */
export async function createTestCrl(options: TestCrlOptions): Promise<Uint8Array> {
  const scheme = signatureSchemeFor(options.issuer.keys.privateKey);
  const thisUpdate = options.thisUpdate ?? new Date('2020-01-01T00:00:00Z');
  const entries = (options.revoked ?? []).map((serial) => encodeSequence(encodeUnsignedInteger(Buffer.from(serial, 'hex')), encodeTime(thisUpdate)));
  const tbs = encodeSequence(
    encodeInteger(1),
    scheme.algorithmIdentifier,
    encodeName(options.issuer.subject),
    encodeTime(thisUpdate),
    ...(options.nextUpdate === null ? [] : [encodeTime(options.nextUpdate ?? new Date('2040-01-01T00:00:00Z'))]),
    ...(entries.length === 0 ? [] : [encodeSequence(...entries)]),
  );
  const signature = await signWithScheme(scheme, options.issuer.keys.privateKey, tbs);
  return encodeSequence(tbs, scheme.algorithmIdentifier, encodeBitString(signature));
}
