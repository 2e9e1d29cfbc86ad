/**
 * The fleet's one reconciler: desired computations and a pool size in; members started, assigned,
 * health-checked and stopped out, through a {@link MemberBackend} (processes on this host, or pods).
 *
 * - The pool: `pool` members are kept warm (certified, no policy); a computation takes warm members
 *   and the pool is refilled. Pending computations draw more members than the pool, up to
 *   `maxMembers` alive in all, so a pool of 0 is a cold start on demand.
 * - A computation is assigned whole: one member per isolate of its topology, every policy planned
 *   with the members' addresses (plan.ts), installed, and its programs uploaded; then it is ready.
 * - A member that dies is removed and the pool refilled; if it served a computation, that
 *   computation is lost, with which isolate died, when, and what its host reported. The other
 *   isolates of it keep serving (their parties' data is theirs), and nothing is restarted in its
 *   place: a new member has a new key and would get a new policy, and a policy hash once assigned is
 *   never assigned again, so no replacement can pass for the isolate that died.
 * - A member ending in order (a principal shut its computation down) completes its isolate; a
 *   computation whose isolates all did is completed.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';
import { provision, sha256Hex } from './fleet-setup.ts';
import type { Assignment, MemberBackend, MemberExit, MemberHandle } from './member.ts';
import { planFleet } from './plan.ts';
import { type ComputationStatus, EVENTS_KEPT, type FleetEvent, type FleetStatus, type MemberState, type MemberStatus, type PolicyStatus } from './status.ts';
import type { Topology } from './topology.ts';

/** A computation to run: its topology and what its files hold. */
export interface ComputationRequest {
  /** Unique in the fleet: 1 to 40 lowercase letters, digits and inner hyphens. */
  id: string;
  topology: Topology;
  /** Each program's bytes, by the topology program's `file`. */
  programs: ReadonlyMap<string, Uint8Array>;
  /** Each party's certificate (PEM), by party name: every party of the topology. */
  partyCertificates: Readonly<Record<string, string>>;
  /** Each party's identity files, for status (local fleets). */
  parties?: Record<string, { certificate: string; key?: string }>;
}

/** What every computation's policies share: the fleet's PAS, runtime and provisioner. */
export interface FleetEnvironment {
  /** The runtime measurement every member was started with (lowercase hex). */
  runtimeHash: string;
  pasCaPem: string;
  /** The PAS as policies name it: `host:port`. */
  pasAddress: string;
  /** The identity that uploads programs (given the write right on exactly them); absent: parties upload. */
  provisioner?: { certificatePem: string; privateKeyPem: string };
  /** Days from assignment to each policy's `enclave_cert_expiry`. */
  certificateDays: number;
}

/** Options of {@link Reconciler}. */
export interface ReconcilerOptions {
  backend: MemberBackend;
  /** Warm members to keep. */
  pool: number;
  /** Most members alive at once (warm, starting and serving). @default max(16, pool) */
  maxMembers?: number;
  environment: FleetEnvironment;
  /** Keeps a planned policy (a file, say); returns where, for status. */
  writePolicy?: (computation: string, isolate: string, text: string) => Promise<string>;
  /** How often every member's host is asked for its health. @default 1000 */
  healthIntervalMs?: number;
  /** Consecutive unanswered health checks after which a member is taken for dead. @default 3 */
  healthFailures?: number;
  log?: (line: string) => void;
  /** Called after every change of the status (debounced to the end of the turn). */
  onChange?: (status: FleetStatus) => void;
}

/** A member as the reconciler tracks it. */
interface MemberRecord {
  name: string;
  state: MemberState;
  startedAt: Date;
  handle?: MemberHandle;
  assignment?: Assignment;
  address?: string;
  missedHealthChecks: number;
  /** Why the reconciler stopped it as dead (its host failed health checks): its end is then no orderly one. */
  deathReason?: string;
}

interface ComputationRecord {
  request: ComputationRequest;
  status: ComputationStatus;
  /** The members it holds, by isolate name. */
  members: Map<string, MemberRecord>;
}

const ID_PATTERN = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
const DAY_MS = 86_400_000;

/** Runs a fleet: see the file comment. */
export class Reconciler {
  readonly #options: ReconcilerOptions;
  readonly #backend: MemberBackend;
  readonly #members = new Map<string, MemberRecord>();
  readonly #computations = new Map<string, ComputationRecord>();
  /** Every policy hash ever assigned: none is assigned twice. */
  readonly #assignedHashes = new Set<string>();
  readonly #events: FleetEvent[] = [];
  readonly #settled = new Map<string, ((status: ComputationStatus) => void)[]>();
  #pool: number;
  #maxMembers: number;
  #counter = 0;
  #tickQueued = false;
  #changeQueued = false;
  #healthTimer: NodeJS.Timeout | undefined;
  /** Members being started, which close() waits for (and then stops). */
  readonly #starts = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;

  constructor(options: ReconcilerOptions) {
    this.#options = options;
    this.#backend = options.backend;
    this.#pool = checkedCount(options.pool, 'pool');
    this.#maxMembers = checkedCount(options.maxMembers ?? Math.max(16, options.pool), 'maxMembers');
    if (this.#maxMembers < this.#pool) throw new VeracruzError(Code.InvalidRequest, `maxMembers (${this.#maxMembers}) is less than the pool (${this.#pool})`);
  }

  /** Starts filling the pool and checking members' health. */
  start(): void {
    if (this.#healthTimer !== undefined) return;
    this.#healthTimer = setInterval(() => void this.#checkHealth(), this.#options.healthIntervalMs ?? 1000);
    this.#healthTimer.unref();
    this.#queueTick();
  }

  /** Accepts a computation; it is assigned as soon as enough members are warm. */
  submit(request: ComputationRequest): ComputationStatus {
    this.#refuseWhenClosing();
    if (!ID_PATTERN.test(request.id)) throw new VeracruzError(Code.InvalidRequest, `computation id ${JSON.stringify(request.id)}: expected 1 to 40 lowercase letters, digits and inner hyphens`);
    if (this.#computations.has(request.id)) throw new VeracruzError(Code.AlreadyExists, `computation ${request.id} exists already (ids are never reused: submit it under a new one)`);
    const needed = request.topology.isolates.length;
    if (needed > this.#maxMembers) throw new VeracruzError(Code.LimitExceeded, `computation ${request.id} needs ${needed} isolates; this fleet runs at most ${this.#maxMembers} members`);
    const status: ComputationStatus = {
      id: request.id,
      state: 'pending',
      submittedAt: new Date().toISOString(),
      isolates: request.topology.isolates.map((isolate) => ({ name: isolate.name })),
      ...(request.parties === undefined ? {} : { parties: request.parties }),
    };
    this.#computations.set(request.id, { request, status, members: new Map() });
    this.#event(`computation ${request.id} submitted (${needed} isolate${needed === 1 ? '' : 's'})`);
    this.#queueTick();
    return structuredClone(status);
  }

  /** Stops a computation's members (its data goes with them) and forgets nothing: its status stays. */
  async cancel(id: string): Promise<ComputationStatus> {
    const record = this.#computation(id);
    if (record.status.state === 'pending' || record.status.state === 'assigning' || record.status.state === 'ready') {
      this.#end(record, 'failed', 'cancelled by the operator');
    }
    await Promise.all([...record.members.values()].map((member) => this.#stopMember(member)));
    return structuredClone(record.status);
  }

  /** Sets how many members to keep warm. */
  scale(pool: number): void {
    this.#refuseWhenClosing();
    const target = checkedCount(pool, 'pool');
    if (target > this.#maxMembers) throw new VeracruzError(Code.InvalidRequest, `pool ${target} is more than the fleet's most members (${this.#maxMembers})`);
    this.#event(`pool scaled from ${this.#pool} to ${target}`);
    this.#pool = target;
    this.#queueTick();
  }

  /** The fleet as it stands. */
  status(): FleetStatus {
    const members = [...this.#members.values()];
    return {
      backend: this.#backend.kind,
      pas: { url: `http://${this.#options.environment.pasAddress}` },
      pool: { target: this.#pool, warm: members.filter((member) => member.state === 'warm').length, starting: members.filter((member) => member.state === 'starting').length },
      members: members.map((member) => memberStatus(member)),
      computations: [...this.#computations.values()].map((record) => structuredClone(record.status)),
      events: [...this.#events],
    };
  }

  /** One computation's status. */
  computation(id: string): ComputationStatus {
    return structuredClone(this.#computation(id).status);
  }

  /** The computation and isolate that serve (or served) the policy whose hash is `policyHash`. */
  policyStatus(policyHash: string): PolicyStatus | undefined {
    for (const record of this.#computations.values()) {
      const isolate = record.status.isolates.find((candidate) => candidate.policyHash === policyHash);
      if (isolate === undefined) continue;
      return {
        computation: record.status.id, isolate: isolate.name, state: record.status.state,
        ...(isolate.ended === undefined ? {} : { ended: isolate.ended }),
        ...(record.status.reason === undefined ? {} : { reason: record.status.reason }),
      };
    }
    return undefined;
  }

  /** Resolves once the computation is ready, completed, lost or failed. */
  settled(id: string): Promise<ComputationStatus> {
    const record = this.#computation(id);
    if (record.status.state !== 'pending' && record.status.state !== 'assigning') return Promise.resolve(structuredClone(record.status));
    return new Promise((resolve) => this.#settled.set(id, [...(this.#settled.get(id) ?? []), resolve]));
  }

  /** Stops every member; resolves once all are gone. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#healthTimer);
      await Promise.allSettled([...this.#members.values()].map((member) => this.#stopMember(member)));
      await Promise.allSettled([...this.#starts]);
    })();
    return this.#closing;
  }

  #computation(id: string): ComputationRecord {
    const record = this.#computations.get(id);
    if (record === undefined) throw new VeracruzError(Code.NotFound, `no computation ${id} in this fleet`);
    return record;
  }

  #refuseWhenClosing(): void {
    if (this.#closing !== undefined) throw new VeracruzError(Code.Unavailable, 'the fleet is shutting down');
  }

  #event(message: string): void {
    this.#events.push({ at: new Date().toISOString(), message });
    if (this.#events.length > EVENTS_KEPT) this.#events.splice(0, this.#events.length - EVENTS_KEPT);
    this.#options.log?.(message);
    this.#changed();
  }

  #changed(): void {
    if (this.#changeQueued || this.#options.onChange === undefined) return;
    this.#changeQueued = true;
    queueMicrotask(() => {
      this.#changeQueued = false;
      this.#options.onChange?.(this.status());
    });
  }

  #queueTick(): void {
    if (this.#tickQueued || this.#closing !== undefined) return;
    this.#tickQueued = true;
    setImmediate(() => {
      this.#tickQueued = false;
      if (this.#closing === undefined) this.#tick();
    });
  }

  /** One pass: assign what can be, start what is missing, stop warm members beyond the pool. */
  #tick(): void {
    const warm = () => [...this.#members.values()].filter((member) => member.state === 'warm');
    let demand = 0;
    for (const record of this.#computations.values()) {
      if (record.status.state !== 'pending') continue;
      const needed = record.request.topology.isolates.length;
      const available = warm();
      // In submission order: a large computation is not overtaken by smaller ones behind it.
      if (demand > 0 || available.length < needed) {
        demand += needed;
        continue;
      }
      void this.#assign(record, available.slice(0, needed));
    }
    const members = [...this.#members.values()];
    const starting = members.filter((member) => member.state === 'starting').length;
    const idle = warm().length;
    const wanted = Math.min(this.#pool + demand - idle - starting, this.#maxMembers - members.length, this.#backend.startConcurrency - starting);
    for (let i = 0; i < wanted; i++) {
      const started = this.#startMember();
      this.#starts.add(started);
      void started.finally(() => this.#starts.delete(started));
    }
    if (demand === 0 && idle > this.#pool) {
      for (const member of warm().slice(this.#pool).reverse()) {
        this.#event(`member ${member.name} stopped: the pool is ${this.#pool}`);
        void this.#stopMember(member);
      }
    }
  }

  async #startMember(): Promise<void> {
    const name = `m${(++this.#counter).toString().padStart(3, '0')}-${Math.random().toString(36).slice(2, 6)}`;
    const member: MemberRecord = { name, state: 'starting', startedAt: new Date(), missedHealthChecks: 0 };
    this.#members.set(name, member);
    this.#changed();
    let handle: MemberHandle;
    try {
      handle = await this.#backend.start(name);
    } catch (error) {
      this.#members.delete(name);
      this.#event(`member ${name} did not start: ${VeracruzError.from(error).rawMessage}`);
      // A backend that cannot start members now is not asked again at once.
      setTimeout(() => this.#queueTick(), 1000).unref();
      return;
    }
    member.handle = handle;
    if (member.state === 'stopping' || this.#closing !== undefined) {
      await this.#backend.stop(handle).catch(() => {});
      return;
    }
    member.state = 'warm';
    this.#event(`member ${name} attested at ${handle.info.attestedAt.toISOString()} and warm (${Math.round(handle.info.attestedAt.getTime() - member.startedAt.getTime())} ms)`);
    void handle.exited.then((exit) => this.#memberExited(member, exit));
    this.#queueTick();
  }

  async #assign(record: ComputationRecord, members: MemberRecord[]): Promise<void> {
    const { request, status } = record;
    const { environment } = this.#options;
    status.state = 'assigning';
    request.topology.isolates.forEach((isolate, index) => {
      const member = members[index]!;
      member.state = 'assigning';
      member.assignment = { computation: request.id, isolate: isolate.name };
      member.address = this.#backend.address(member.handle!, member.assignment);
      record.members.set(isolate.name, member);
      const entry = status.isolates.find((candidate) => candidate.name === isolate.name)!;
      entry.member = member.name;
      entry.address = member.address;
    });
    this.#event(`computation ${request.id} assigned to ${members.map((member) => `${member.name} (${member.assignment!.isolate})`).join(', ')}`);
    try {
      const now = new Date();
      const plan = await planFleet({
        topology: request.topology,
        runtimeHash: environment.runtimeHash,
        pasCaPem: environment.pasCaPem,
        pasAddress: environment.pasAddress,
        partyCertificates: request.partyCertificates,
        addresses: Object.fromEntries([...record.members].map(([isolate, member]) => [isolate, member.address!])),
        programHashes: Object.fromEntries([...request.programs].map(([file, bytes]) => [file, sha256Hex(bytes)])),
        ...(environment.provisioner === undefined ? {} : { provisionerCertificate: environment.provisioner.certificatePem }),
        certificateExpiry: new Date(now.getTime() + environment.certificateDays * DAY_MS),
        at: now,
      });
      const reused = plan.isolates.find((planned) => this.#assignedHashes.has(planned.policyHash));
      if (reused !== undefined) throw new VeracruzError(Code.AlreadyExists, `isolate ${reused.name}'s policy ${reused.policyHash} was assigned before: a policy is served by one isolate in its life`);
      for (const planned of plan.isolates) {
        this.#assignedHashes.add(planned.policyHash);
        const entry = status.isolates.find((candidate) => candidate.name === planned.name)!;
        entry.policyHash = planned.policyHash;
        entry.identityHash = planned.identityHash;
        const path = await this.#options.writePolicy?.(request.id, planned.name, planned.policyText);
        if (path !== undefined) entry.policyPath = path;
      }
      await Promise.all(plan.isolates.map(async (planned) => {
        const member = record.members.get(planned.name)!;
        try {
          await this.#backend.assign(member.handle!, planned.policyText, member.assignment!);
        } catch (error) {
          throw new VeracruzError(VeracruzError.from(error).code, `isolate ${planned.name} (member ${member.name}): ${VeracruzError.from(error).rawMessage}`, { cause: error });
        }
        if (member.state === 'assigning') member.state = 'serving';
      }));
      if (environment.provisioner !== undefined) {
        await Promise.all(plan.isolates.map(async (planned) => {
          const isolate = request.topology.isolates.find((candidate) => candidate.name === planned.name)!;
          if (isolate.programs.length === 0) return;
          const programs = isolate.programs.map((program) => ({ path: program.path, bytes: request.programs.get(program.file)! }));
          try {
            await provision(planned.address, planned.policyText, environment.provisioner!, programs);
          } catch (error) {
            throw new VeracruzError(VeracruzError.from(error).code, `isolate ${planned.name}: uploading its programs failed: ${VeracruzError.from(error).rawMessage}`, { cause: error });
          }
        }));
      }
      if (status.state !== 'assigning') return;
      status.state = 'ready';
      status.readyAt = new Date().toISOString();
      this.#event(`computation ${request.id} ready in ${Date.parse(status.readyAt) - Date.parse(status.submittedAt)} ms: ${plan.isolates.map((planned) => `${planned.name} on ${planned.address}`).join(', ')}`);
      this.#resolveSettled(record);
    } catch (error) {
      if (status.state !== 'assigning') return;
      // Nothing of a party's reached these members yet: stop them all, the computation failed.
      this.#end(record, 'failed', `assignment failed: ${VeracruzError.from(error).rawMessage}`);
      await Promise.all([...record.members.values()].map((member) => this.#stopMember(member)));
    }
    this.#queueTick();
  }

  #end(record: ComputationRecord, state: 'completed' | 'lost' | 'failed', reason?: string): void {
    record.status.state = state;
    record.status.endedAt = new Date().toISOString();
    if (reason !== undefined) record.status.reason = reason;
    this.#event(`computation ${record.status.id} ${state}${reason === undefined ? '' : `: ${reason}`}`);
    this.#resolveSettled(record);
  }

  #resolveSettled(record: ComputationRecord): void {
    for (const resolve of this.#settled.get(record.status.id) ?? []) resolve(structuredClone(record.status));
    this.#settled.delete(record.status.id);
  }

  #memberExited(member: MemberRecord, ended: MemberExit): void {
    let exit = ended;
    const stopping = member.state === 'stopping';
    this.#members.delete(member.name);
    const at = new Date().toISOString();
    if (this.#closing !== undefined) return;
    const assignment = member.assignment;
    const record = assignment === undefined ? undefined : this.#computations.get(assignment.computation);
    if (record === undefined || assignment === undefined) {
      if (!stopping) this.#event(`member ${member.name} died while warm (${exit.reason}); replacing it`);
      this.#queueTick();
      return;
    }
    const entry = record.status.isolates.find((candidate) => candidate.name === assignment.isolate)!;
    const orderly = exit.code === 0 && member.deathReason === undefined;
    if (member.deathReason !== undefined) exit = { code: exit.code === 0 ? 1 : exit.code, reason: `${member.deathReason}; then ${exit.reason}` };
    entry.ended = { code: exit.code, reason: exit.reason, at };
    this.#event(`member ${member.name} (${record.status.id}/${assignment.isolate}) ended ${orderly ? 'in order' : 'unexpectedly'}: ${exit.reason}`);
    if (record.status.state === 'ready' || record.status.state === 'assigning') {
      if (!orderly) {
        const lost = `isolate ${assignment.isolate} (member ${member.name}, ${member.address}) died at ${at}: ${exit.reason}. Everything it held is gone; no other isolate holds it, and none will be started in its place (submit the computation again, under a new id, for a new policy)`;
        if (record.status.state === 'assigning') {
          this.#end(record, 'failed', `assignment failed: ${lost}`);
          for (const other of record.members.values()) void this.#stopMember(other);
        } else {
          this.#end(record, 'lost', lost);
        }
      } else if (record.status.isolates.every((isolate) => isolate.ended?.code === 0)) {
        this.#end(record, 'completed');
      } else {
        this.#changed();
      }
    } else {
      this.#changed();
    }
    this.#queueTick();
  }

  async #stopMember(member: MemberRecord): Promise<void> {
    if (member.state === 'stopping' && member.handle === undefined) return;
    member.state = 'stopping';
    this.#changed();
    if (member.handle === undefined) return; // stopped once its start resolves
    await this.#backend.stop(member.handle, member.deathReason === undefined ? 'orderly' : 'kill').catch((error: unknown) => this.#options.log?.(`member ${member.name} did not stop cleanly: ${VeracruzError.from(error).rawMessage}`));
  }

  async #checkHealth(): Promise<void> {
    const limit = this.#options.healthFailures ?? 3;
    await Promise.all([...this.#members.values()].map(async (member) => {
      if (member.handle === undefined || (member.state !== 'warm' && member.state !== 'serving')) return;
      try {
        const health = await this.#backend.health(member.handle);
        member.missedHealthChecks = 0;
        const expected = member.state === 'serving' ? 'serving' : 'warm';
        if (health.state !== expected && health.state !== 'stopping') {
          member.deathReason = `its host reported ${health.state} where ${expected} was expected`;
          this.#event(`member ${member.name}: ${member.deathReason}; stopping it`);
          await this.#stopMember(member);
        }
      } catch (error) {
        member.missedHealthChecks++;
        if (member.missedHealthChecks < limit || (member.state as MemberState) === 'stopping') return;
        member.deathReason = `its host did not answer ${limit} health checks (${VeracruzError.from(error).rawMessage})`;
        this.#event(`member ${member.name}: ${member.deathReason}; stopping it`);
        await this.#stopMember(member);
      }
    }));
  }
}

function memberStatus(member: MemberRecord): MemberStatus {
  const info = member.handle?.info;
  return {
    name: member.name,
    state: member.state,
    startedAt: member.startedAt.toISOString(),
    ...(info === undefined ? {} : { attestedAt: info.attestedAt.toISOString(), measurement: info.measurement }),
    ...(info?.pids === undefined ? {} : { pids: info.pids }),
    ...(member.assignment === undefined ? {} : { computation: member.assignment.computation, isolate: member.assignment.isolate }),
    ...(member.address === undefined ? {} : { address: member.address }),
  };
}

function checkedCount(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0) throw new VeracruzError(Code.InvalidRequest, `${what}: expected a whole number, got ${value}`);
  return value;
}

