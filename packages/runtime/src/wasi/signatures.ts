/**
 * Every import the runtime provides to programs, with its parameter kinds: `i` = i32, `I` = i64.
 * All return an i32 errno except `proc_exit` (no result). This table drives the worker's import
 * functions, the main thread's argument decoding and the import check (vc-wc).
 */
export const WASI_MODULE = 'wasi_snapshot_preview1';
/** The Veracruz extension module (`fd_create`). */
export const VERACRUZ_MODULE = 'veracruz_si';
/** The programs' cryptography (docs/program-abi.md). */
export const CRYPTO_MODULE = 'veracruz_crypto_v1';
/** The programs' view of their computation: policy, rights in force, narrowing, signed results (docs/program-abi.md). */
export const COMPUTATION_MODULE = 'veracruz_v1';

/** `wasi_snapshot_preview1` function name → parameter kinds. */
export const WASI_SIGNATURES = {
  args_get: 'ii',
  args_sizes_get: 'ii',
  environ_get: 'ii',
  environ_sizes_get: 'ii',
  clock_res_get: 'ii',
  clock_time_get: 'iIi',
  fd_advise: 'iIIi',
  fd_allocate: 'iII',
  fd_close: 'i',
  fd_datasync: 'i',
  fd_fdstat_get: 'ii',
  fd_fdstat_set_flags: 'ii',
  fd_fdstat_set_rights: 'iII',
  fd_filestat_get: 'ii',
  fd_filestat_set_size: 'iI',
  fd_filestat_set_times: 'iIIi',
  fd_pread: 'iiiIi',
  fd_prestat_get: 'ii',
  fd_prestat_dir_name: 'iii',
  fd_pwrite: 'iiiIi',
  fd_read: 'iiii',
  fd_readdir: 'iiiIi',
  fd_renumber: 'ii',
  fd_seek: 'iIii',
  fd_sync: 'i',
  fd_tell: 'ii',
  fd_write: 'iiii',
  path_create_directory: 'iii',
  path_filestat_get: 'iiiii',
  path_filestat_set_times: 'iiiiIIi',
  path_link: 'iiiiiii',
  path_open: 'iiiiiIIii',
  path_readlink: 'iiiiii',
  path_remove_directory: 'iii',
  path_rename: 'iiiiii',
  path_symlink: 'iiiii',
  path_unlink_file: 'iii',
  poll_oneoff: 'iiii',
  proc_exit: 'i',
  proc_raise: 'i',
  sched_yield: '',
  random_get: 'ii',
  sock_accept: 'iii',
  sock_recv: 'iiiiii',
  sock_send: 'iiiii',
  sock_shutdown: 'ii',
} as const;

/** `veracruz_si` function name → parameter kinds. */
export const VERACRUZ_SIGNATURES = {
  fd_create: 'i',
} as const;

/** `veracruz_crypto_v1` function name → parameter kinds. */
export const CRYPTO_SIGNATURES = {
  random: 'ii',
  hash: 'iiiiii',
  key_generate: 'iiiii',
  key_import: 'iiiiiii',
  key_export: 'iiii',
  key_export_public: 'iiii',
  key_attributes: 'ii',
  key_destroy: 'i',
  mac_compute: 'iiiiiii',
  mac_verify: 'iiiiii',
  aead_encrypt: 'iiiiiiiiiii',
  aead_decrypt: 'iiiiiiiiiii',
  sign_message: 'iiiiiii',
  verify_message: 'iiiiii',
  key_agreement: 'iiiiiii',
  key_derive: 'iiiiiiiiiii',
  derive_bytes: 'iiiiiiii',
} as const;

/** `veracruz_v1` function name → parameter kinds. */
export const COMPUTATION_SIGNATURES = {
  policy_get: 'iii',
  policy_hash: 'i',
  subjects: 'iii',
  rights_get: 'iiii',
  readers: 'iiiii',
  rights_narrow: 'iiii',
  result_sign: 'iiii',
} as const;

/** The name of a WASI preview1 function the runtime implements. */
export type WasiFunctionName = keyof typeof WASI_SIGNATURES;

/** Every system call (all modules) → its parameter kinds. */
type SystemCallSignatures = typeof WASI_SIGNATURES & typeof VERACRUZ_SIGNATURES & typeof CRYPTO_SIGNATURES & typeof COMPUTATION_SIGNATURES;

/** The name of any system call the runtime implements, in either module. */
export type SystemCallName = keyof SystemCallSignatures;

/** A parameter of kind `Kind` as the runtime receives it: i32 as an unsigned number, i64 as a bigint. */
type ParameterType<Kind extends string> = Kind extends 'I' ? bigint : Kind extends 'i' ? number : never;

/** A string of parameter kinds (`'iIi'`) as the tuple of the parameters' types (`[number, bigint, number]`). */
export type ParameterTypes<Kinds extends string> = Kinds extends `${infer Kind}${infer Rest}` ? [ParameterType<Kind>, ...ParameterTypes<Rest>] : [];

/** The parameters of system call `Name`, typed from this table. */
export type SystemCallParameters<Name extends SystemCallName> = ParameterTypes<SystemCallSignatures[Name]>;

/** Every system call as `module.name` with its kinds, indexed by a stable call number. */
export const SYSTEM_CALLS: readonly { module: string; name: string; kinds: string }[] = [
  ...Object.entries(WASI_SIGNATURES).map(([name, kinds]) => ({ module: WASI_MODULE, name, kinds })),
  ...Object.entries(VERACRUZ_SIGNATURES).map(([name, kinds]) => ({ module: VERACRUZ_MODULE, name, kinds })),
  ...Object.entries(CRYPTO_SIGNATURES).map(([name, kinds]) => ({ module: CRYPTO_MODULE, name, kinds })),
  ...Object.entries(COMPUTATION_SIGNATURES).map(([name, kinds]) => ({ module: COMPUTATION_MODULE, name, kinds })),
];
