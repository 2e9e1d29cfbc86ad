/**
 * What the operator writes to its resources' status subresource, from the reconciler's status: a
 * computation's state, reason, times and isolates (with their addresses and policy hashes, what a
 * party checks), and a pool's warm and starting members. Written as JSON merge patches, in which a
 * `null` removes a field that no longer applies.
 */
import type { ComputationStatus, FleetStatus } from '@veracruz-ts/fleet';

/** A VeracruzComputation's `status`, as a merge patch. */
export interface ComputationResourceStatus {
  state: ComputationStatus['state'];
  reason: string | null;
  /** Isolates serving / isolates: the `Ready` column. */
  ready: string;
  observedGeneration: number | null;
  submittedAt: string | null;
  readyAt: string | null;
  endedAt: string | null;
  isolates: { name: string; member?: string; address?: string; policyHash?: string; ended?: { code: number; reason: string; at: string } }[];
}

/** The status of a computation the reconciler runs. */
export function computationResourceStatus(status: ComputationStatus, observedGeneration: number | undefined): ComputationResourceStatus {
  // Isolates serve from the computation being ready until each ends (the others keep serving when one is lost).
  const serving = status.state === 'ready' || status.state === 'lost' ? status.isolates.filter((isolate) => isolate.policyHash !== undefined && isolate.ended === undefined).length : 0;
  return {
    state: status.state,
    reason: status.reason ?? null,
    ready: `${serving}/${status.isolates.length}`,
    observedGeneration: observedGeneration ?? null,
    submittedAt: status.submittedAt,
    readyAt: status.readyAt ?? null,
    endedAt: status.endedAt ?? null,
    isolates: status.isolates.map((isolate) => ({
      name: isolate.name,
      ...(isolate.member === undefined ? {} : { member: isolate.member }),
      ...(isolate.address === undefined ? {} : { address: isolate.address }),
      ...(isolate.policyHash === undefined ? {} : { policyHash: isolate.policyHash }),
      ...(isolate.ended === undefined ? {} : { ended: isolate.ended }),
    })),
  };
}

/** The status of a computation the operator never gave the reconciler: refused, or left by an earlier operator. */
export function endedResourceStatus(state: 'failed' | 'lost', reason: string, isolates: number, observedGeneration: number | undefined, at: Date): Partial<ComputationResourceStatus> {
  return { state, reason, ready: `0/${isolates}`, observedGeneration: observedGeneration ?? null, endedAt: at.toISOString() };
}

/** A VeracruzPool's `status`. */
export interface PoolResourceStatus {
  warm: number | null;
  starting: number | null;
  message: string | null;
}

/** The status of the pool the operator follows. */
export function poolResourceStatus(pool: FleetStatus['pool'], message?: string): PoolResourceStatus {
  return { warm: pool.warm, starting: pool.starting, message: message ?? null };
}
