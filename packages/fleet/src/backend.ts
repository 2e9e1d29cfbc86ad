/**
 * Where a fleet's isolates run: the one thing that differs between vc-servers on this host and, say,
 * pods of a cluster. A backend gives each isolate its address before any policy exists (the policies
 * name the addresses), then starts and stops one isolate at a time; the plan is the same for all.
 */
import type { ServerExit } from '@veracruz-ts/server';

/** What a backend is asked to start: one isolate and the policy it enforces. */
export interface IsolateToStart {
  name: string;
  /** The policy's exact text. */
  policyText: string;
  /** The address reserved for it, as its policy names it: where its vc-server must listen. */
  address: string;
}

/** An isolate a backend started. */
export interface StartedIsolate {
  /** Settles when it has stopped, for whatever reason. */
  exited: Promise<ServerExit>;
}

/** Runs a fleet's isolates. */
export interface IsolateBackend<Started extends StartedIsolate> {
  /** The `host:port` where `name` will listen; `port` when the topology fixes one. */
  reserveAddress(name: string, host: string, port: number | undefined): Promise<string>;
  /** Starts one isolate; resolves once it is attested and accepts clients. */
  start(isolate: IsolateToStart): Promise<Started>;
  /** Stops one isolate; resolves once it is gone. */
  stop(started: Started): Promise<void>;
}
