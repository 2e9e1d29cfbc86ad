import type { webcrypto } from 'node:crypto';
import { ecdsaScheme, encodeRdnSequence, signCertificationRequest, type RdnSequenceInput } from '@veracruz-ts/core';
import { ECDSA_P256_SHA256 } from './ecdsa.ts';
import { derToPem } from './pem.ts';
import { POLICY_BINDING_EXTENSION_OID } from './policy-binding.ts';

/**
 * The subject of the isolate's CSR, as Veracruz's runtime manager writes it: "C=US, ST=Texas,
 * L=Austin, O=Veracruz, OU=Compute Enclave, CN=VeracruzCompute". Given as RDNs, so that the isolate
 * carries no parser of names as text.
 */
export const ISOLATE_CSR_SUBJECT: RdnSequenceInput = [
  [{ type: 'C', value: 'US' }],
  [{ type: 'ST', value: 'Texas' }],
  [{ type: 'L', value: 'Austin' }],
  [{ type: 'O', value: 'Veracruz' }],
  [{ type: 'OU', value: 'Compute Enclave' }],
  [{ type: 'CN', value: 'VeracruzCompute' }],
];

/** The isolate's identity: its boot-time key pair and the CSR that proves it holds the private key. */
export interface IsolateIdentity {
  /** ECDSA P-256 key pair, made at boot; the private key never leaves the isolate. */
  keyPair: webcrypto.CryptoKeyPair;
  /** The private key as PKCS#8 PEM, for `node:tls` inside the isolate. Never log it. */
  privateKeyPem: string;
  /** The PKCS#10 CSR (DER), self-signed with SHA-256. */
  csrDer: Uint8Array;
  /** SHA-256 of `csrDer`: what the evidence binds. */
  csrHash: Uint8Array;
}

/** Options for {@link createIsolateIdentity}. */
export interface IsolateIdentityOptions {
  /** The CSR subject. @default ISOLATE_CSR_SUBJECT */
  subject?: RdnSequenceInput;
  /** The policy binding to ask the PAS to certify (see `encodePolicyBinding`). @default none */
  policyBinding?: Uint8Array;
}

/**
 * Makes the isolate's identity at boot: a fresh P-256 key pair and a PKCS#10 CSR for it, signed
 * with ECDSA/SHA-256 (built by core's DER writer, so the isolate carries no ASN.1 library), asking
 * for the policy-binding extension when `policyBinding` is given.
 * The PAS certifies the CSR's key once the evidence binding `csrHash` is verified.
 */
export async function createIsolateIdentity(options: IsolateIdentityOptions = {}): Promise<IsolateIdentity> {
  // Extractable because node:tls takes the key as PEM; it is exported once, here, and stays in the isolate.
  const keyPair = (await crypto.subtle.generateKey(ECDSA_P256_SHA256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const extensions = options.policyBinding === undefined ? [] : [{ oid: POLICY_BINDING_EXTENSION_OID, critical: false, value: options.policyBinding }];
  const subject = encodeRdnSequence(options.subject ?? ISOLATE_CSR_SUBJECT);
  const csrDer = await signCertificationRequest({ subject, keys: keyPair, scheme: ecdsaScheme('SHA-256'), extensions });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keyPair.privateKey));
  const privateKeyPem = derToPem(pkcs8, 'PRIVATE KEY');
  pkcs8.fill(0);
  const csrHash = new Uint8Array(await crypto.subtle.digest('SHA-256', csrDer));
  return { keyPair, privateKeyPem, csrDer, csrHash };
}
