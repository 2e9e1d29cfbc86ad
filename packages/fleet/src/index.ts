/**
 * `@veracruz-ts/fleet`: networks of isolates from one topology file. `parseTopology` reads it,
 * `planFleet` generates every isolate's policy (breaking the sender/receiver hash cycle with identity
 * hashes), `startFleet` runs them on this host (or another backend) with a PAS of their own, and
 * `vc-fleet up` does it all from the command line.
 */
export type { IsolateBackend, IsolateToStart, StartedIsolate } from './backend.ts';
export { CONTROLLER_FILE, type Controller, type ControllerFile, type ControllerOptions, type SubmitBody, startController, TOKEN_FILE } from './controller.ts';
export { type LocalMember, type LocalMembersOptions, localMembers } from './local-members.ts';
export type { Assignment, MemberBackend, MemberExit, MemberHandle, MemberHealth, MemberInfo } from './member.ts';
export { type ComputationRequest, type FleetEnvironment, Reconciler, type ReconcilerOptions } from './reconciler.ts';
export type { ComputationIsolateStatus, ComputationState, ComputationStatus, FleetEvent, FleetStatus, MemberState, MemberStatus, PolicyStatus } from './status.ts';
export { EVENTS_KEPT } from './status.ts';
export { statusRoutes } from './status-routes.ts';
export { type Fleet, type FleetIsolate, type StartFleetOptions, startFleet } from './launch.ts';
export type { IdentityFiles } from './fleet-setup.ts';
export { type LocalBackendOptions, localBackend } from './local-backend.ts';
export { type FleetManifest, fleetManifest } from './manifest.ts';
export { type FleetPlan, type PlanInputs, type PlannedIsolate, planFleet } from './plan.ts';
export { type FleetPlatform, parseTopology, type Topology, type TopologyAwait, type TopologyIsolate, type TopologyParty, type TopologyProgram, type TopologySend } from './topology.ts';
