/** The kinds of isolate this runtime can boot as (the `linux` software isolate, or a confidential VM guest). */
export const IsolatePlatform = {
  /** A separate OS process; the launching host measures the bundle and signs evidence (insecure, for development). */
  Linux: 'linux',
  /** An AMD SEV-SNP guest; the runtime reads its own report through configfs-tsm. */
  SevSnp: 'sev-snp',
  /** An Intel TDX guest; the runtime reads its own quote through configfs-tsm. */
  Tdx: 'tdx',
} as const;

/** One of {@link IsolatePlatform}'s values. */
export type IsolatePlatform = (typeof IsolatePlatform)[keyof typeof IsolatePlatform];

/** Whether `value` names a platform the isolate can boot as. */
export function isIsolatePlatform(value: unknown): value is IsolatePlatform {
  return value === 'linux' || value === 'sev-snp' || value === 'tdx';
}

/** The policy field that lists the trusted runtime hash for each platform. */
export const POLICY_RUNTIME_HASH_FIELD = {
  linux: 'runtime_manager_hash_linux',
  'sev-snp': 'runtime_manager_hash_sevsnp',
  tdx: 'runtime_manager_hash_tdx',
} as const satisfies Record<IsolatePlatform, string>;
