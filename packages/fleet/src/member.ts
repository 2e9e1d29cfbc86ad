/**
 * The members of a pool: isolates started, attested and certified before any policy exists, each
 * waiting in a host that takes one policy later (`vc-server warm`). This is the one interface the
 * reconciler drives; the local backend runs the hosts as processes on this machine, the Kubernetes
 * backend as pods. Everything a backend reports comes from hosts, which are untrusted: it decides
 * where work goes, never what a party may believe about an isolate (that is the certificate's).
 */

/** What a member is known by once it is attested and waiting. */
export interface MemberInfo {
  /** Unique in the fleet; chosen by the reconciler. */
  name: string;
  /** When the backend was asked to start it. */
  startedAt: Date;
  /** When its isolate was certified by the PAS (without a policy). */
  attestedAt: Date;
  /** The runtime measurement it was certified with (lowercase hex). */
  measurement: string;
  /** Its host and isolate processes, where they run on this machine (the local backend). */
  pids?: { host: number; isolate: number };
}

/** How and why a member ended. */
export interface MemberExit {
  /** 0: stopped in order (asked to, or a principal shut its computation down); else it died. */
  code: number;
  /** One sentence: what the host reported, or how the host itself ended. */
  reason: string;
}

/** A started member, as its backend tracks it. */
export interface MemberHandle {
  readonly info: MemberInfo;
  /** Settles once the member is gone for whatever reason: its isolate or its host ended, or it was stopped. */
  readonly exited: Promise<MemberExit>;
}

/** What a member's host says about it when asked. */
export interface MemberHealth {
  /** warm: attested, no policy; serving: a policy is installed; stopping: on its way out. */
  state: 'warm' | 'serving' | 'stopping';
  /** Client connections open now. */
  sessions: number;
  /** The policy it serves, once assigned. */
  policyHash?: string;
}

/** Where a member stands in its computation: which one, and which isolate of its topology it is. */
export interface Assignment {
  computation: string;
  isolate: string;
}

/** Runs a pool's members somewhere. */
export interface MemberBackend {
  /** 'local' or 'kubernetes': shown in status. */
  readonly kind: string;
  /** The most members starting at once this backend should be asked for (the PAS's start burst, say). */
  readonly startConcurrency: number;
  /** Starts a warm member named `name`; resolves once it is certified and waiting, rejects naming why not. */
  start(name: string): Promise<MemberHandle>;
  /**
   * The `host:port` where the parties reach `member` once it serves `assignment`: what its policy names
   * (the member's own port on this host; a Service of the computation in a cluster).
   */
  address(member: MemberHandle, assignment: Assignment): string;
  /** Installs the policy; resolves once the member serves it at {@link address}. */
  assign(member: MemberHandle, policyText: string, assignment: Assignment): Promise<void>;
  /** Asks the member's host; rejects when the host does not answer in time. */
  health(member: MemberHandle): Promise<MemberHealth>;
  /**
   * Stops the member and whatever the backend made for it; resolves once it is gone. `kill`: at
   * once, without asking its host (which stopped answering); else its host stops its isolate in order.
   */
  stop(member: MemberHandle, how?: 'orderly' | 'kill'): Promise<void>;
  /** Once every member is stopped: waits until nothing the backend started is left. */
  close?(): Promise<void>;
}
