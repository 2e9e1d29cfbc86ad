/**
 * `@veracruz-ts/pas`: the proxy attestation service (Veracruz's routes over hono), its SQLite
 * store, the evidence dispatch shared with `vc-pas verify`, and a small client for vc-server.
 */
export { type PasCertifyOptions, pasCertify, type PasSession, pasStart } from './client.ts';
export { defaultPasConfig, type PasConfig, parseListen, parsePasConfig, type PlatformConfig } from './config.ts';
export { CONFIG_FILE, initPasDirectory, openPasDirectory, openPasStore, type PasDirectory, type PlatformTrust, readPasConfig } from './directory.ts';
export { checkMeasurement, parseMeasurementHex } from './measurement-policy.ts';
export { parsePlatform, platformOfRouteName, PLATFORMS, ROUTE_NAMES } from './platforms.ts';
export { type Problem, type ProblemKind, PROBLEMS, problemType } from './problem.ts';
export { type PasHandle, startPas, type StartPasOptions } from './server.ts';
export { createPasApp, NONCE_LENGTH, type PasServiceOptions } from './service.ts';
export { DEFAULT_START_LIMITS, type StartLimits } from './start-limits.ts';
export {
  type DevKeyRecord,
  type IssuedCertificateRecord,
  PasStore,
  type ReferenceKind,
  type ReferenceValueRecord,
  SCHEMA_VERSION,
  type SessionConsumption,
  type SessionCreation,
  type SessionRefusal,
} from './store.ts';
export { type EvidenceVerificationOptions, verifyEvidence } from './verify.ts';
