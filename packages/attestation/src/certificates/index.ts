/**
 * `@veracruz-ts/attestation/certificates`: the isolate's identity (key pair + CSR), the PAS
 * certificate authority, the isolate certificate with its runtime-hash and policy-binding
 * extensions, and the helpers to read them and split Veracruz's concatenated DER chains.
 */
export {
  type CertificateAuthority,
  type CertificateAuthorityOptions,
  type CertificateAuthorityPem,
  createCertificateAuthority,
  loadCertificateAuthority,
} from './authority.ts';
export { type CertificationRequest, parseCertificationRequest, type VerifiedCsr, verifyCsr } from './csr.ts';
export { joinDerChain, splitDerChain } from './der-chain.ts';
export { createIsolateIdentity, ISOLATE_CSR_SUBJECT, type IsolateIdentity, type IsolateIdentityOptions } from './identity.ts';
export {
  DEFAULT_ISOLATE_CERTIFICATE_VALIDITY_MS,
  type IssuedCertificate,
  type IssueIsolateCertificateOptions,
  issueIsolateCertificate,
  issueIsolateCertificateDetailed,
  randomSerialNumber,
} from './issue.ts';
export { certificateDer, derToPem, pemToDer, pemToDerAll } from './pem.ts';
export { encodePolicyBinding, POLICY_BINDING_EXTENSION_OID, readPolicyBinding } from './policy-binding.ts';
export {
  measurementForCertificate,
  readRuntimeHash,
  runtimeHashMatches,
  RUNTIME_HASH_EXTENSION_OID,
  RUNTIME_HASH_LENGTH,
  SEV_SNP_RUNTIME_HASH_LENGTH,
} from './runtime-hash.ts';
