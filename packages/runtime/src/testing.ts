/**
 * `@veracruz-ts/runtime/testing`: support for tests, benchmarks and demos, never for production.
 * A test PKI and policies, an in-process computation, C compiled to WebAssembly with clang, the
 * WASI probe program, and the sealed store (to measure what sealing file data out costs).
 */
export * from './session/test-fixture.ts';
export { compileC, WASM_CACHE_DIRECTORY } from './engine/compile-c.ts';
export { WASI_PROBE_SOURCE } from './wasi/wasi-probe.c.ts';
export { SealedStore } from './vfs/sealed-store.ts';
export type { SealedStoreOptions } from './vfs/sealed-store.ts';
