/**
 * What a fleet says about the isolate that serves a policy, to explain a connection that failed.
 * A fleet's controller answers `GET {fleet}/v1/policies/{policyHash}` without authentication, and
 * the fleet is the host: its report is untrusted. It is still worth reading, since all a host can
 * do with it is deny liveness, which it can do anyway; so it is quoted as the fleet's word, never
 * as a fact about the isolate, and never used to decide anything.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';

/** A computation's state as a fleet reports it. */
export type FleetComputationState = 'pending' | 'assigning' | 'ready' | 'completed' | 'lost' | 'failed' | 'cancelled';

/** What a fleet reports about the isolate that serves (or served) one policy. */
export interface FleetReport {
  /** The computation's id. */
  computation: string;
  /** The isolate's name in the computation. */
  isolate: string;
  state: FleetComputationState;
  /** Set once this isolate ended: its exit code, the host's reason and when (ISO 8601). */
  ended?: { code: number; reason: string; at: string };
  /** Why the computation was lost or failed. */
  reason?: string;
}

/** Options of {@link fetchFleetReport}. */
export interface FleetReportOptions {
  /** How long to wait for the fleet's whole answer. @default 3000 */
  timeoutMs?: number;
}

/** The largest answer read from a fleet, and the longest text quoted from it. */
const MAX_REPORT_BYTES = 64 * 1024;
const MAX_QUOTED = 2000;

/** `text` cut to {@link MAX_QUOTED} characters. */
function bounded(text: string): string {
  return text.length <= MAX_QUOTED ? text : `${text.slice(0, MAX_QUOTED)}…`;
}

const STATES: ReadonlySet<string> = new Set<FleetComputationState>(['pending', 'assigning', 'ready', 'completed', 'lost', 'failed', 'cancelled']);

/** `value` as a report, or undefined if it does not have the report's shape. */
function asReport(value: unknown): FleetReport | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { computation, isolate, state, ended, reason } = value as Record<string, unknown>;
  if (typeof computation !== 'string' || typeof isolate !== 'string' || typeof state !== 'string' || !STATES.has(state)) return undefined;
  const report: FleetReport = { computation: bounded(computation), isolate: bounded(isolate), state: state as FleetComputationState };
  if (typeof reason === 'string') report.reason = bounded(reason);
  if (typeof ended === 'object' && ended !== null) {
    const { code, reason: why, at } = ended as Record<string, unknown>;
    if (typeof code === 'number' && typeof why === 'string' && typeof at === 'string') report.ended = { code, reason: bounded(why), at: bounded(at) };
  }
  return report;
}

/**
 * Asks the fleet whose API is at `fleetUrl` (`http://host:port`) about the isolate given the policy
 * whose SHA-256 is `policyHash` (hex). Resolves with its report, or undefined when there is none to
 * be had: the fleet knows no such policy (404), cannot be reached in time, or answers anything but
 * a report. Never rejects: it is asked while another error is on its way to the caller.
 */
export async function fetchFleetReport(fleetUrl: string, policyHash: string, options: FleetReportOptions = {}): Promise<FleetReport | undefined> {
  try {
    const url = `${fleetUrl.replace(/\/+$/, '')}/v1/policies/${encodeURIComponent(policyHash)}`;
    // The fleet is untrusted: no redirect is followed, and its answer is read up to a bound.
    const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 3000), headers: { accept: 'application/json' }, redirect: 'error' });
    if (response.status !== 200 || response.body === null) {
      await response.body?.cancel().catch(() => {});
      return undefined;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += chunk.length;
      if (size > MAX_REPORT_BYTES) {
        await response.body.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(chunk);
    }
    return asReport(JSON.parse(Buffer.concat(chunks).toString('utf8')));
  } catch {
    // Unreachable, timed out, not JSON, not a URL: no report.
    return undefined;
  }
}

/** The sentence a report adds, if it says the isolate is gone or ended; else undefined. */
function reportSentence(report: FleetReport, error: VeracruzError): string | undefined {
  const { computation, isolate, state, ended, reason } = report;
  if (state === 'failed') return `that computation ${computation} failed: ${reason ?? 'no reason given'}`;
  if (state === 'cancelled') return `that its operator cancelled computation ${computation}, and stopped its isolates`;
  if (state === 'lost' && ended === undefined) {
    // Another isolate of the computation died; the fleet says this one still runs, so the failure itself is kept.
    return `that computation ${computation} was lost: ${reason ?? 'no reason given'}; its isolate ${isolate}, which serves this policy, ` +
      `had not ended when the fleet answered (${error.rawMessage})`;
  }
  if (state === 'lost' && ended !== undefined && ended.code !== 0) {
    return `that computation ${computation} lost its isolate ${isolate} at ${ended.at}: ${ended.reason}; ` +
      'what that isolate held is gone, and no other isolate serves this policy';
  }
  if (ended !== undefined) return `that isolate ${isolate} of computation ${computation} ended at ${ended.at} (${ended.reason})`;
  return undefined;
}

/**
 * Explains an `unavailable` error with the fleet's report on the isolate serving the policy whose
 * hash is `policyHash`: when the fleet says the computation was lost or failed, or that the isolate
 * ended, resolves with a new `unavailable` error saying so, as the fleet's unauthenticated report,
 * with `error` as its cause. Otherwise (another code, no report, an isolate the fleet says is
 * serving) resolves with `error` itself. Never rejects.
 */
export async function explainUnavailable(error: VeracruzError, fleetUrl: string, policyHash: string, options: { settleMs?: number } = {}): Promise<VeracruzError> {
  if (error.code !== Code.Unavailable) return error;
  // A client often sees an isolate die before its fleet does (the host reports the exit, then the
  // fleet records it): a report of a computation still running is asked again, for a moment.
  const deadline = Date.now() + (options.settleMs ?? SETTLE_MS);
  for (;;) {
    const report = await fetchFleetReport(fleetUrl, policyHash);
    const sentence = report === undefined ? undefined : reportSentence(report, error);
    if (sentence !== undefined) return new VeracruzError(Code.Unavailable, `the fleet at ${fleetUrl} reports (unauthenticated) ${sentence}`, { cause: error });
    if (report === undefined || !RUNNING.has(report.state) || Date.now() >= deadline) return error;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** How long a report of a running computation is asked again. */
const SETTLE_MS = 2000;
const RUNNING: ReadonlySet<FleetComputationState> = new Set(['pending', 'assigning', 'ready']);
