/**
 * @veracruz-ts/runtime: the trusted runtime's virtual file system, WASI preview1 implementation,
 * execution engine (worker threads, limits, fuel) and native services.
 */
export { VirtualFileSystem, NODE_BYTES, pathComponents, joinComponents } from './vfs/file-system.ts';
export { StorageQuota } from './vfs/storage-quota.ts';
export { MemoryBudget, BudgetExceeded, BUDGET_RESOURCES, formatBytes, isolateBudget, MIN_ISOLATE_BUDGET_MIB, servingReserve } from './budget/memory-budget.ts';
export type { BudgetResource } from './budget/memory-budget.ts';
export { BudgetHold } from './budget/budget-hold.ts';
export type { VirtualFileSystemOptions } from './vfs/file-system.ts';
export { PrincipalView } from './vfs/principal-view.ts';
export { ChunkedData, CHUNK_SIZE } from './vfs/chunked-data.ts';
export { Errno, errnoName } from './vfs/errno.ts';
export { ExecutionEngine, DEFAULT_LIMITS } from './engine/engine.ts';
export type { ExecutionOutcome, ExecutionLimits, ExecuteRequest, PipelineRequest, ExecutionEngineOptions } from './engine/engine.ts';
export { checkImports } from './engine/check-imports.ts';
export { prepareModule } from './engine/prepare-module.ts';
export { ENGINE_WORKER_MARKER, startEngineWorker } from './engine/worker.ts';
export type { StreamHooks } from './wasi/wasi-process.ts';
export type { ComputationRights, ProgramAbi, ResultSigner, StraceSink } from './wasi/process-options.ts';
export { straceLines } from './wasi/strace.ts';
export { type Narrowing, PROGRAM_SUBJECT, RightsInForce } from './session/rights-in-force.ts';
export { COMPUTATION_MODULE, COMPUTATION_SIGNATURES, CRYPTO_MODULE, CRYPTO_SIGNATURES, VERACRUZ_SIGNATURES, WASI_SIGNATURES } from './wasi/signatures.ts';
export type { NativeService, ServiceSpec } from './services/native-service.ts';
export { BUILTIN_SERVICES, DEFAULT_SERVICES, createService, servicesFromPolicy } from './services/registry.ts';
export { encodeAeadRequest, encodeAesCtrRequest, parseAeadRequest, parseAesCtrRequest } from './services/aes-services.ts';
export type { AeadRequest, AesCtrRequest } from './services/aes-services.ts';
