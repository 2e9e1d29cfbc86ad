import { Code, VeracruzError } from '@veracruz-ts/core';
import { bindReportData } from '../binding.ts';
import { requestTsmReport, type TsmFileSystem } from './tsm.ts';

/** The confidential-VM platforms whose guests get evidence through configfs-tsm. */
export type ConfidentialVmPlatform = 'sev-snp' | 'tdx';

/** The configfs-tsm provider name each platform's guest driver registers. */
export const TSM_PROVIDERS: Readonly<Record<ConfidentialVmPlatform, string>> = {
  'sev-snp': 'sev_guest',
  tdx: 'tdx_guest',
};

/** Options for {@link createConfidentialVmEvidence}. */
export interface ConfidentialVmEvidenceOptions {
  /** Which TEE the guest expects to run on; the provider must match. */
  platform: ConfidentialVmPlatform;
  /** SHA-256 of the isolate's CSR (32 bytes). */
  csrHash: Uint8Array;
  /** The PAS session nonce (32 bytes). */
  nonce: Uint8Array;
  /** The configfs-tsm report directory. @default '/sys/kernel/config/tsm/report' */
  root?: string;
  /** The file operations (tests pass a double). @default node:fs */
  fileSystem?: TsmFileSystem;
}

/**
 * Produces SEV-SNP or TDX evidence inside a confidential VM: the report data is
 * `bindReportData(csrHash, nonce)` (CSR hash then nonce, 64 bytes), the report comes from
 * configfs-tsm, and the provider must be the platform's (`sev_guest` / `tdx_guest`).
 * Returns the SEV-SNP attestation report or the TDX quote, as the PAS verifiers take them.
 */
export async function createConfidentialVmEvidence(options: ConfidentialVmEvidenceOptions): Promise<Uint8Array> {
  const reportData = bindReportData(options.csrHash, options.nonce);
  const report = await requestTsmReport({
    reportData,
    ...(options.root === undefined ? {} : { root: options.root }),
    ...(options.fileSystem === undefined ? {} : { fileSystem: options.fileSystem }),
  });
  const expected = TSM_PROVIDERS[options.platform];
  if (report.provider !== expected) {
    throw new VeracruzError(
      Code.Unavailable,
      `configfs-tsm provider is ${report.provider}, but ${options.platform} evidence needs ${expected}`,
    );
  }
  return report.outblob;
}
