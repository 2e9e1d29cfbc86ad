/** The policy format's fixed names and defaults (the types are in policy-model.ts). */

/** The platforms a policy can list a runtime hash for, and the field holding it. */
export const RUNTIME_HASH_FIELDS = {
  linux: 'runtime_manager_hash_linux',
  nitro: 'runtime_manager_hash_nitro',
  'sev-snp': 'runtime_manager_hash_sevsnp',
  tdx: 'runtime_manager_hash_tdx',
} as const;

/** The most linear memory a wasm32 program can have: 65536 pages of 64 KiB. */
export const WASM32_MAX_MEMORY_MIB = 4096;
/** The wall-clock limit for one program run when the policy sets none. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** The backpressure bound of a stream when the policy sets none: 8 MiB. */
export const DEFAULT_STREAM_BUFFERED_BYTES = 8 * 1024 * 1024;
