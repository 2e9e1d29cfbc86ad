/**
 * `@veracruz-ts/runtime/testing`: support for tests, benchmarks and demos, never for production.
 * A test PKI and policies, an in-process computation, C compiled to WebAssembly with clang, and the
 * WASI probe program.
 */
export * from './session/test-fixture.ts';
export { compileC, WASM_CACHE_DIRECTORY } from './engine/compile-c.ts';
export { WASI_PROBE_SOURCE } from './wasi/wasi-probe.c.ts';
