import type tls from 'node:tls';
import { type FileRights, opensslCiphersuite, type Policy, toPem } from '@veracruz-ts/policy';

/** A policy identity's certificate, parsed once, for matching client certificates by DER. */
export interface PolicyIdentityCertificate {
  id: number;
  der: Buffer;
  pem: string;
  fileRights: readonly FileRights[];
}

/** The identities' certificates of `policy`, as DER and as 64-column PEM (vc-pgen collapses lines). */
export function identityCertificates(policy: Policy): PolicyIdentityCertificate[] {
  return policy.identities.map((identity) => {
    const der = Buffer.from(identity.certificateInfo.der);
    return { id: identity.id, der, pem: toPem(der, 'CERTIFICATE'), fileRights: identity.file_rights };
  });
}

/**
 * The TLS server settings of every session: TLS 1.3 only, the policy's ciphersuite alone, the
 * isolate's chain and key, and a client certificate required and verified against the identities'
 * (self-signed) certificates.
 */
export function tlsServerOptions(
  policy: Policy,
  certificateChainPem: string,
  privateKeyPem: string,
  identities: readonly PolicyIdentityCertificate[],
): tls.TlsOptions {
  return {
    key: privateKeyPem,
    cert: certificateChainPem,
    ca: identities.map((identity) => identity.pem),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    // TLS 1.3 suites go in `ciphers` in Node; with only a TLS 1.3 name no TLS 1.2 suite remains.
    ciphers: opensslCiphersuite(policy.ciphersuite),
  };
}
