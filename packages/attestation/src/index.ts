/**
 * @veracruz-ts/attestation: verifiers of attestation evidence (AWS Nitro, Arm PSA, AMD SEV-SNP,
 * Intel TDX and SGX), COSE_Sign1, X.509 chain validation at an explicit time, report-data binding.
 * Certificate/CSR helpers and the `linux` evidence live in the "./certificates" and "./evidence" entries.
 */
export type { Platform, VerifyOptions, EvidenceClaims } from './platform.ts';
export { bindReportData, splitReportData, checkBoundReportData, REPORT_DATA_LENGTH } from './binding.ts';
export {
  COSE_SIGN1_TAG,
  signCoseSign1,
  decodeCoseSign1,
  verifyCoseSign1,
  coseAlgorithmForKey,
  type CoseAlgorithm,
  type CoseSign1,
  type CoseHeaderMap,
  type SignCoseSign1Options,
  type VerifyCoseSign1Options,
} from './cose.ts';
export {
  verifyCertificateChain,
  clearCertificateCache,
  forgetCertificate,
  parseCertificate,
  parseTrustAnchors,
  pemCertificates,
  certificateToPem,
  type ChainOptions,
  type PemOptions,
  type VerifiedChain,
  type ParsedCertificate,
} from './chain.ts';
export { verifyNitro } from './nitro/verify.ts';
export { decodeNitroDocument, type NitroDocument } from './nitro/document.ts';
export { AWS_NITRO_ROOT_G1_PEM, AWS_NITRO_ROOT_G1_SHA256 } from './roots/aws-nitro.ts';
export { AMD_ROOTS, type AmdFamily, type AmdFamilyRoots } from './roots/amd.ts';
export { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from './roots/intel.ts';
export { verifyPsa, psaMeasurementComponent } from './psa/verify.ts';
export { readPsaEndorsement, psaInstanceIdOfKey, type PsaEndorsedKey } from './psa/endorsement.ts';
export { decodePsaClaims, PSA_LIFECYCLE, PSA_PROFILE_2, type PsaClaims, type PsaSoftwareComponent, type PsaLifecycleState } from './psa/token.ts';
export { verifySevSnp } from './sev-snp/verify.ts';
export { parseSnpReport, decodeTcb, familyFromCpuid, SNP_REPORT_LENGTH, type SnpReport, type SnpTcb, type SnpFamily } from './sev-snp/report.ts';
export { readAmdKeyExtensions, type AmdKeyExtensions } from './sev-snp/vcek.ts';
export { verifyTdx, verifySgx } from './dcap/verify.ts';
export { parseDcapQuote, parseSgxReportBody, TEE_TYPE, type DcapQuote, type SgxReportBody, type TdReportBody } from './dcap/quote.ts';
export { readCollateral, rawJsonMember, type DcapCollateral, type TcbInfo, type QeIdentity, type SignedJson } from './dcap/collateral.ts';
export { readPckExtensions, type PckExtensions } from './dcap/pck.ts';
export { convergeStatus, type TcbStatus, type TcbMatch } from './dcap/tcb.ts';
