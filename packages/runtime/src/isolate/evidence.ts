import { createConfidentialVmEvidence } from '@veracruz-ts/attestation/evidence';
import type { TsmFileSystem } from '@veracruz-ts/attestation/evidence';
import { EvidenceSource } from '@veracruz-ts/protocol/channel';
import type { IsolatePlatform } from './platform.ts';

/** What the isolate answers to an attestation request, besides its CSR. */
export interface IsolateEvidence {
  /** Whether the isolate produced the evidence, or the launcher must. */
  source: EvidenceSource;
  /** The evidence (empty when the launcher must produce it). */
  evidence: Uint8Array;
}

/** Where a confidential VM guest reads its report (configfs-tsm). */
export interface TsmAccess {
  /** The report directory. @default '/sys/kernel/config/tsm/report' */
  root?: string | undefined;
  /** The file operations (tests pass a double). @default node:fs */
  fileSystem?: TsmFileSystem | undefined;
}

/**
 * Produces the evidence binding this isolate's CSR hash and the PAS nonce.
 *
 * - `linux`: there is no hardware; the launcher plays it (it measured the bundle it started and signs
 *   with its dev key), so the isolate only asks for it.
 * - `sev-snp`, `tdx`: the guest asks its TEE for a report over configfs-tsm with report data =
 *   csrHash || nonce, and checks the provider is the expected TEE. Only runs inside a confidential VM.
 */
export async function produceEvidence(platform: IsolatePlatform, csrHash: Uint8Array, nonce: Uint8Array, tsm: TsmAccess = {}): Promise<IsolateEvidence> {
  if (platform === 'linux') return { source: EvidenceSource.Launcher, evidence: new Uint8Array(0) };
  const evidence = await createConfidentialVmEvidence({
    platform, csrHash, nonce,
    ...(tsm.root === undefined ? {} : { root: tsm.root }),
    ...(tsm.fileSystem === undefined ? {} : { fileSystem: tsm.fileSystem }),
  });
  return { source: EvidenceSource.Isolate, evidence };
}
