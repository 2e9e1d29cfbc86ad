/**
 * What a fleet reports about itself: its pool, its members and its computations. The reconciler
 * keeps it, the controller serves it (`GET /v1/status`), `vc-fleet status` prints it and the SDK
 * reads one computation's entry to explain a connection that failed. All of it is the host's word:
 * useful to operate, never evidence about an isolate.
 */

/** A member's place in its life. */
export type MemberState = 'starting' | 'warm' | 'assigning' | 'serving' | 'stopping';

/** One member of the pool. */
export interface MemberStatus {
  name: string;
  state: MemberState;
  /** ISO 8601. */
  startedAt: string;
  /** ISO 8601; absent while starting. */
  attestedAt?: string;
  measurement?: string;
  /** Its host and isolate processes (local fleets). */
  pids?: { host: number; isolate: number };
  /** The computation and isolate it serves, once assigned. */
  computation?: string;
  isolate?: string;
  /** Where its parties reach it, once assigned. */
  address?: string;
}

/**
 * A computation's place in its life. pending: waiting for warm members; assigning: policies being
 * installed and programs uploaded; ready: its parties may connect; completed: every isolate ended in
 * order; lost: an isolate died, with everything it held; failed: it could not be assigned;
 * cancelled: the operator stopped it.
 */
export type ComputationState = 'pending' | 'assigning' | 'ready' | 'completed' | 'lost' | 'failed' | 'cancelled';

/** One isolate of a computation. */
export interface ComputationIsolateStatus {
  name: string;
  /** The member serving it, once assigned. */
  member?: string;
  address?: string;
  policyHash?: string;
  /** What its receivers' policies name it by. */
  identityHash?: string;
  /** The policy file (local fleets). */
  policyPath?: string;
  /** Whether it ended; with its reason. */
  ended?: { code: number; reason: string; at: string };
}

/** One computation. */
export interface ComputationStatus {
  id: string;
  state: ComputationState;
  /** ISO 8601 times of its steps. */
  submittedAt: string;
  readyAt?: string;
  endedAt?: string;
  /** Why it was lost or failed: which isolate, when, and what its host reported. */
  reason?: string;
  isolates: ComputationIsolateStatus[];
  /** Each party's identity files (local fleets): certificate, and key when the fleet made it. */
  parties?: Record<string, { certificate: string; key?: string }>;
}

/** One line of the fleet's history: members started, attested, died, replaced; computations assigned, lost. */
export interface FleetEvent {
  at: string;
  message: string;
}

/** The whole fleet. */
export interface FleetStatus {
  backend: string;
  pas: { url: string; caCertificate?: string };
  pool: { target: number; warm: number; starting: number };
  members: MemberStatus[];
  computations: ComputationStatus[];
  /** The most recent events, oldest first (at most {@link EVENTS_KEPT}). */
  events: FleetEvent[];
}

/** How many events a status keeps. */
export const EVENTS_KEPT = 100;

/** What the controller answers about the isolate that serves (or served) one policy: `GET /v1/policies/HASH`. */
export interface PolicyStatus {
  computation: string;
  isolate: string;
  state: ComputationState;
  /** Whether this isolate itself ended, and why. */
  ended?: { code: number; reason: string; at: string };
  reason?: string;
}
