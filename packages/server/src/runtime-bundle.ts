/** The runtime bundle's recipe lives in the runtime package; vc-server launches what it builds. */
export { buildRuntimeBundle, DEFAULT_RUNTIME_BUNDLE, REPOSITORY_ROOT, RUNTIME_ENTRY, sha256 } from '@veracruz-ts/runtime/bundle';
export type { BuildRuntimeOptions, RuntimeBundle } from '@veracruz-ts/runtime/bundle';
