/**
 * The AMD SEV-SNP ATTESTATION_REPORT structure (SEV-SNP Firmware ABI specification, Table 23
 * "ATTESTATION_REPORT Structure"), versions 2 to 5: 1184 bytes, little-endian.
 */
import { attestationFailure, toHex } from '../platform.ts';

/** The size of every report version. */
export const SNP_REPORT_LENGTH = 1184;
/** The signed region: bytes [0, 0x2A0). */
export const SNP_SIGNED_LENGTH = 0x2a0;
/** Report versions this parser reads. */
export const SNP_REPORT_VERSIONS = [2, 3, 4, 5] as const;

/** The chip families, named as AMD's KDS names them. */
export type SnpFamily = 'Milan' | 'Genoa' | 'Turin';

/** A TCB_VERSION, decoded for its family's layout. */
export interface SnpTcb {
  /** Turin only: the FMC security patch level. */
  fmc?: number;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  /** The u64 as 16 hex digits, most significant first (as AMD tools print it). */
  raw: string;
}

/** The fields of a report (the signature kept raw). */
export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  signatureAlgo: number;
  currentTcbRaw: Uint8Array;
  platformInfo: bigint;
  /** Bit 0: AUTHOR_KEY_EN; bit 1: MASK_CHIP_KEY; bits 2..4: SIGNING_KEY. */
  flags: number;
  signingKey: 'VCEK' | 'VLEK' | 'none';
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  reportedTcbRaw: Uint8Array;
  /** Version 3 and later: CPUID family, model and stepping of the chip. */
  cpuid?: { family: number; model: number; stepping: number };
  chipId: Uint8Array;
  committedTcbRaw: Uint8Array;
  currentVersion: string;
  committedVersion: string;
  launchTcbRaw: Uint8Array;
  /** The bytes the signature covers. */
  signed: Uint8Array;
  /** r and s, each 72 bytes little-endian. */
  signatureR: Uint8Array;
  signatureS: Uint8Array;
}

/** Policy bit 19: DEBUG allowed (the hypervisor may read and write guest memory). */
export const POLICY_DEBUG_BIT = 19n;
/** Policy bit 16: SMT allowed. */
export const POLICY_SMT_BIT = 16n;

function fail(reason: string): never {
  throw attestationFailure('sev-snp', `report: ${reason}`);
}

/** Parses a report's layout. Refuses a wrong length or version; verifies nothing. */
export function parseSnpReport(bytes: Uint8Array): SnpReport {
  if (bytes.byteLength !== SNP_REPORT_LENGTH) fail(`is ${bytes.byteLength} bytes, expected ${SNP_REPORT_LENGTH}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = (offset: number, length: number): Uint8Array => bytes.slice(offset, offset + length);
  const version = view.getUint32(0x00, true);
  if (!(SNP_REPORT_VERSIONS as readonly number[]).includes(version)) fail(`version ${version} is not one of ${SNP_REPORT_VERSIONS.join(', ')}`);
  const flags = view.getUint32(0x48, true);
  const signingKeyCode = (flags >> 2) & 0x7;
  const signingKey = signingKeyCode === 0 ? 'VCEK' : signingKeyCode === 1 ? 'VLEK' : signingKeyCode === 7 ? 'none' : fail(`SIGNING_KEY ${signingKeyCode} is reserved`);
  const firmware = (offset: number): string => `${bytes[offset + 2]}.${bytes[offset + 1]}.${bytes[offset]}`;
  const report: SnpReport = {
    version,
    guestSvn: view.getUint32(0x04, true),
    policy: view.getBigUint64(0x08, true),
    familyId: at(0x10, 16),
    imageId: at(0x20, 16),
    vmpl: view.getUint32(0x30, true),
    signatureAlgo: view.getUint32(0x34, true),
    currentTcbRaw: at(0x38, 8),
    platformInfo: view.getBigUint64(0x40, true),
    flags,
    signingKey,
    reportData: at(0x50, 64),
    measurement: at(0x90, 48),
    hostData: at(0xc0, 32),
    idKeyDigest: at(0xe0, 48),
    authorKeyDigest: at(0x110, 48),
    reportId: at(0x140, 32),
    reportIdMa: at(0x160, 32),
    reportedTcbRaw: at(0x180, 8),
    chipId: at(0x1a0, 64),
    committedTcbRaw: at(0x1e0, 8),
    currentVersion: firmware(0x1e8),
    committedVersion: firmware(0x1ec),
    launchTcbRaw: at(0x1f0, 8),
    signed: bytes.subarray(0, SNP_SIGNED_LENGTH),
    signatureR: at(0x2a0, 72),
    signatureS: at(0x2e8, 72),
  };
  // The signature field is 512 bytes: r (72), s (72), then 368 reserved bytes the firmware zeroes.
  if (bytes.subarray(0x330, SNP_REPORT_LENGTH).some((byte) => byte !== 0)) fail('the reserved bytes after the signature (0x330..0x4A0) are not zero');
  if (version >= 3) report.cpuid = { family: bytes[0x188] ?? 0, model: bytes[0x189] ?? 0, stepping: bytes[0x18a] ?? 0 };
  return report;
}

/** The chip family from CPUID (family 0x19: Milan / Genoa; 0x1A: Turin), or undefined when unknown. */
export function familyFromCpuid(cpuid: { family: number; model: number }): SnpFamily | undefined {
  if (cpuid.family === 0x19 && cpuid.model <= 0x0f) return 'Milan';
  if (cpuid.family === 0x19 && ((cpuid.model >= 0x10 && cpuid.model <= 0x1f) || (cpuid.model >= 0xa0 && cpuid.model <= 0xaf))) return 'Genoa';
  if (cpuid.family === 0x1a && cpuid.model <= 0x1f) return 'Turin';
  return undefined;
}

/** Decodes a TCB_VERSION for the family's layout (Turin adds FMC and moves the fields). */
export function decodeTcb(raw: Uint8Array, family: SnpFamily): SnpTcb {
  const hex = toHex(raw.slice().reverse());
  if (family === 'Turin') {
    return { fmc: raw[0] ?? 0, bootloader: raw[1] ?? 0, tee: raw[2] ?? 0, snp: raw[3] ?? 0, microcode: raw[7] ?? 0, raw: hex };
  }
  return { bootloader: raw[0] ?? 0, tee: raw[1] ?? 0, snp: raw[6] ?? 0, microcode: raw[7] ?? 0, raw: hex };
}
