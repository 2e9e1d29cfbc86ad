/**
 * `@veracruz-ts/client`: the principal's side of a Veracruz computation. `VeracruzClient.connect`
 * verifies the isolate (certificate chain to the policy's PAS CA, runtime hash, policy hash)
 * before any data leaves, then reads, writes, executes and shuts down.
 */
export {
  chunksOf,
  type ConnectOptions,
  type IsolateAttestation,
  rechunk,
  type RightsReport,
  type TransferOptions,
  type TransferProgress,
  VeracruzClient,
} from './client.ts';
export { checkIdentityKeyPair, checkPolicyHash, checkRuntimeHash, trustedRuntimeHashes } from './checks.ts';
export { MAX_STREAM_WAIT_MS, StreamFollower, type StreamFollowerOptions } from './stream-follower.ts';
export { type StreamProgress, StreamWriter, type StreamWriterOptions } from './stream-writer.ts';
export { explainUnavailable, type FleetComputationState, type FleetReport, type FleetReportOptions, fetchFleetReport } from './fleet-report.ts';
export { alertError, describeRequest, FramedConnection, receivedTlsAlert, responseError } from './connection.ts';
export { type VerifiedSignedResult, type VerifySignedResultOptions, verifySignedResult } from './signed-result.ts';
