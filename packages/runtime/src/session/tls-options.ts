import type tls from 'node:tls';
import { toPem } from '@veracruz-ts/core';
import { type FileRights, opensslCiphersuite, type Policy } from '@veracruz-ts/policy';

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

/** How long a client may take to complete its TLS handshake (a real one takes milliseconds). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The TLS server settings of every session: TLS 1.3 only, the policy's ciphersuite alone, the
 * isolate's chain and key, and a client certificate asked for and verified by OpenSSL against the
 * identities' (self-signed) certificates.
 *
 * These settings admit every client whose handshake completes: the caller must refuse those whose
 * certificate is not a policy identity (the SessionManager does, byte for byte, and requires
 * `socket.authorized` too). node:tls would otherwise drop them itself, but silently; refusing
 * them after the handshake lets the session manager send a TLS alert that says why.
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
    // Not `true`: node:tls would then drop a refused client without an alert (see tls-alert.ts).
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    // TLS 1.3 suites go in `ciphers` in Node; with only a TLS 1.3 name no TLS 1.2 suite remains.
    ciphers: opensslCiphersuite(policy.ciphersuite),
    // A session holds its budget charge until it ends: one that never completes its handshake is
    // dropped after this, not after node:tls's default of two minutes.
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  };
}
