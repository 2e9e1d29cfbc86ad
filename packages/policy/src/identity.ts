/**
 * Principal identities without openssl: an ECDSA P-256 key pair and a self-signed X.509
 * certificate a policy can list under `identities` and a client can present in mutual TLS.
 * WebCrypto and core's certificate builder only, so it also runs in a browser.
 */
import {
  basicConstraintsExtension,
  Code,
  createCertificate,
  ExtendedKeyUsage,
  extendedKeyUsageExtension,
  KeyUsage,
  keyUsageExtension,
  randomSerialNumber,
  subjectKeyIdentifierExtension,
  toPem,
  VeracruzError,
} from '@veracruz-ts/core';

/** When a created identity's certificate is valid. */
export interface IdentityOptions {
  /** Start of validity. @default now, minus one minute of allowance for clock skew */
  notBefore?: Date;
  /** End of validity. @default notBefore + 365 days */
  notAfter?: Date;
}

/** A created identity: the certificate for the policy, the private key for its holder alone. */
export interface Identity {
  /** Self-signed X.509 certificate, PEM. */
  certificatePem: string;
  /** PKCS#8 private key, PEM (`-----BEGIN PRIVATE KEY-----`). A secret: store with mode 0600. */
  privateKeyPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/**
 * Creates a fresh principal identity: ECDSA P-256 key and a self-signed certificate with subject
 * `CN=<commonName>`, keyUsage digitalSignature + keyCertSign (so TLS stacks accept the
 * self-signed certificate as its own trust anchor) and extKeyUsage clientAuth + serverAuth.
 */
export async function createIdentity(commonName: string, options: IdentityOptions = {}): Promise<Identity> {
  if (typeof commonName !== 'string' || commonName.trim() === '') {
    throw new VeracruzError(Code.InvalidRequest, 'an identity needs a non-empty common name');
  }
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 365 * DAY_MS);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new VeracruzError(Code.InvalidRequest, 'identity validity dates must be valid dates');
  }
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new VeracruzError(
      Code.InvalidRequest,
      `identity validity ends (${notAfter.toISOString()}) before it starts (${notBefore.toISOString()})`,
    );
  }
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  // The name is built from the attribute, not from text, so no character of the name needs escaping.
  const name = [[{ type: 'CN', value: commonName }]];
  const certificate = await createCertificate(
    {
      serialNumber: randomSerialNumber(),
      issuer: name,
      subject: name,
      notBefore,
      notAfter,
      publicKey: spki,
      extensions: [
        basicConstraintsExtension(false),
        keyUsageExtension(KeyUsage.digitalSignature | KeyUsage.keyCertSign),
        extendedKeyUsageExtension([ExtendedKeyUsage.clientAuth, ExtendedKeyUsage.serverAuth]),
        await subjectKeyIdentifierExtension(spki),
      ],
    },
    keys.privateKey,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certificatePem: toPem(certificate, 'CERTIFICATE'), privateKeyPem: toPem(pkcs8, 'PRIVATE KEY') };
}
