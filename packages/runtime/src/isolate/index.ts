/**
 * `@veracruz-ts/runtime/isolate`: the isolate's runtime manager (boot: identity, evidence,
 * certificate and policy checks; then sessions over the host channel). The process entry point is
 * `main.ts`, bundled by `scripts/build-runtime.ts`.
 */
export { DEFAULT_MAX_SESSIONS, Isolate } from './isolate.ts';
export type { IsolateOptions, IsolateState, SessionHandler, SessionSetup } from './isolate.ts';
export { ChannelSessionStream } from './session-stream.ts';
export type { ChannelSessionStreamOptions } from './session-stream.ts';
export { checkIsolateCertificate } from './certificate-check.ts';
export type { CertificateCheck, PolicyTrust } from './certificate-check.ts';
export { produceEvidence } from './evidence.ts';
export type { IsolateEvidence, TsmAccess } from './evidence.ts';
export { IsolatePlatform, isIsolatePlatform, POLICY_RUNTIME_HASH_FIELD } from './platform.ts';
