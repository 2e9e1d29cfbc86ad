/**
 * `@veracruz-ts/server`: vc-server, the untrusted host. It launches an isolate, has the PAS certify
 * it, hands it the policy, and then hands clients' connections to it (linux) or relays their TLS
 * bytes to it over one multiplexed channel. It holds no key of the isolate's and parses nothing
 * inside TLS.
 */
export { DEFAULT_MAX_SESSIONS, DEFAULT_SEALED_STORAGE_BYTES, startServer } from './server.ts';
export { startWarmServer, type WarmServer, type WarmServerOptions, type WarmState } from './warm.ts';
export { type AssignAnswer, serveWarmControl, type WarmHealth } from './warm-control.ts';
export { type WarmControlClient, warmControlClient } from './warm-client.ts';
export { CONTROL_TOKEN_ENV } from './warm-cli.ts';
export { freePort } from './free-port.ts';
export { callJsonApi, errorAnswer, JsonApiUnreachable, type JsonAnswer, type JsonApi, type JsonApiOptions, type JsonCallOptions, type JsonRoute, startJsonApi } from './json-api.ts';
export type { BootTimings, RunningServer, ServerExit, ServerOptions, ServerPlatform } from './server.ts';
export type { FaultInjector, RelayDirection, RelayStats, RelayTap } from './relay.ts';
export { SessionRelay } from './relay.ts';
export { BUFFER_MEMORY_FLAG, countBufferMemoryInHeapLimit } from './heap-tuning.ts';
export { buildRuntimeBundle, DEFAULT_RUNTIME_BUNDLE, RUNTIME_ENTRY, REPOSITORY_ROOT } from '@veracruz-ts/runtime/bundle';
export type { BuildRuntimeOptions, RuntimeBundle } from '@veracruz-ts/runtime/bundle';
export { defaultDevKeyPath, devPublicKeyPath, loadOrCreateDevKey } from './dev-key.ts';
export type { LoadedDevKey } from './dev-key.ts';
export { canUnshareNetwork, ISOLATE_MEMORY_OVERHEAD_BYTES, ISOLATE_NODE_FLAGS, launchLinuxIsolate } from './platforms/linux.ts';
export type { LinuxLaunchOptions, NetworkIsolation } from './platforms/linux.ts';
export { launchSevSnpIsolate } from './platforms/sev-snp.ts';
export { launchTdxIsolate } from './platforms/tdx.ts';
export type { IsolateExit, LaunchedIsolate, LaunchOptions, SessionSocketPort } from './platforms/types.ts';
