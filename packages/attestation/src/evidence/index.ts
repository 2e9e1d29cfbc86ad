/**
 * `@veracruz-ts/attestation/evidence`: making (and, for `linux`, verifying) the evidence an
 * isolate presents to the PAS. Evidence always binds SHA-256 of the isolate's CSR and the PAS nonce.
 */
export {
  type ConfidentialVmEvidenceOptions,
  type ConfidentialVmPlatform,
  createConfidentialVmEvidence,
  TSM_PROVIDERS,
} from './confidential-vm.ts';
export {
  type DevKeyPem,
  devKeyId,
  devPublicKeyFor,
  type EnrolledDevKey,
  generateDevKey,
  importDevPrivateKey,
  importDevPublicKey,
  prepareEnrolledKeys,
} from './dev-key.ts';
export {
  createLinuxEvidence,
  LINUX_EVIDENCE_VERSION,
  type LinuxEvidenceOptions,
  type LinuxVerifyOptions,
  verifyLinuxEvidence,
} from './linux.ts';
export {
  nodeTsmFileSystem,
  requestTsmReport,
  TSM_INBLOB_MAX,
  TSM_REPORT_ROOT,
  type TsmFileSystem,
  type TsmReport,
  type TsmReportOptions,
} from './tsm.ts';
