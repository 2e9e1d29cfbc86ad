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
 *   isolates of it keep serving (their parties' data is theirs), and nothing is started in its
 *   place: the fleet never gives a lost isolate's policy to another member. (A host could: policies
 *   are not secret. Such an isolate would hold none of the lost one's data, so a party finds its
 *   files missing; nothing can make the data come back.)
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
  /** How long an assignment may take (policies installed, programs uploaded) before it fails. @default 120000 */
  assignDeadlineMs?: number;
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
  /** Whether a health check of it is in flight (checks do not overlap). */
  checking?: boolean;
}

interface ComputationRecord {
  request: ComputationRequest;
  status: ComputationStatus;
  /** The members it holds, by isolate name. */
  members: Map<string, MemberRecord>;
}

const ID_PATTERN = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
const DAY_MS = 86_400_000;
const DEFAULT_ASSIGN_DEADLINE_MS = 120_000;

/** Runs a fleet: see the file comment. */
export class Reconciler {
  readonly #options: ReconcilerOptions;
  readonly #backend: MemberBackend;
  readonly #members = new Map<string, MemberRecord>();
  readonly #computations = new Map<string, ComputationRecord>();
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

  /** Stops a computation's members (its data goes with them); it is then cancelled, and its status stays. */
  async cancel(id: string): Promise<ComputationStatus> {
    const record = this.#computation(id);
    if (record.status.state === 'pending' || record.status.state === 'assigning' || record.status.state === 'ready') {
      this.#end(record, 'cancelled');
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
      await this.#backend.close?.();
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
    status.state = 'assigning';
    request.topology.isolates.forEach((isolate, index) => {
      const member = members[index]!;
      member.state = 'assigning';
      member.assignment = { computation: request.id, isolate: isolate.name };
      record.members.set(isolate.name, member);
      status.isolates.find((candidate) => candidate.name === isolate.name)!.member = member.name;
    });
    this.#event(`computation ${request.id} assigned to ${members.map((member) => `${member.name} (${member.assignment!.isolate})`).join(', ')}`);
    let timer: NodeJS.Timeout | undefined;
    const deadlineMs = this.#options.assignDeadlineMs ?? DEFAULT_ASSIGN_DEADLINE_MS;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new VeracruzError(Code.Unavailable, `not ready within ${deadlineMs / 1000} s (a member's isolate or host stopped answering)`)), deadlineMs);
    });
    try {
      await Promise.race([this.#install(record), deadline]);
      if (status.state !== 'assigning') return;
      status.state = 'ready';
      status.readyAt = new Date().toISOString();
      this.#event(`computation ${request.id} ready in ${Date.parse(status.readyAt) - Date.parse(status.submittedAt)} ms: ${status.isolates.map((isolate) => `${isolate.name} on ${isolate.address}`).join(', ')}`);
      this.#resolveSettled(record);
    } catch (error) {
      if (status.state !== 'assigning') return;
      // Nothing of a party's reached these members yet: stop them all, the computation failed.
      this.#end(record, 'failed', `assignment failed: ${VeracruzError.from(error).rawMessage}`);
      await Promise.all([...record.members.values()].map((member) => this.#stopMember(member, 'kill')));
    } finally {
      clearTimeout(timer);
    }
    this.#queueTick();
  }

  /** Plans the computation's policies for its members, installs them and uploads the programs; stops early once it is no longer being assigned. */
  async #install(record: ComputationRecord): Promise<void> {
    const { request, status } = record;
    const { environment } = this.#options;
    const abandoned = (): boolean => status.state !== 'assigning';
    for (const [isolate, member] of record.members) {
      member.address = this.#backend.address(member.handle!, member.assignment!);
      status.isolates.find((candidate) => candidate.name === isolate)!.address = member.address;
    }
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
    for (const planned of plan.isolates) {
      const entry = status.isolates.find((candidate) => candidate.name === planned.name)!;
      entry.policyHash = planned.policyHash;
      entry.identityHash = planned.identityHash;
      const path = await this.#options.writePolicy?.(request.id, planned.name, planned.policyText);
      if (path !== undefined) entry.policyPath = path;
    }
    if (abandoned()) return;
    await Promise.all(plan.isolates.map(async (planned) => {
      const member = record.members.get(planned.name)!;
      try {
        await this.#backend.assign(member.handle!, planned.policyText, member.assignment!);
      } catch (error) {
        throw new VeracruzError(VeracruzError.from(error).code, `isolate ${planned.name}: ${VeracruzError.from(error).rawMessage}`, { cause: error });
      }
      if (member.state === 'assigning') member.state = 'serving';
    }));
    if (abandoned()) return;
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
  }

  #end(record: ComputationRecord, state: 'completed' | 'lost' | 'failed' | 'cancelled', reason?: string): void {
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
        const died = `isolate ${assignment.isolate} (member ${member.name}${member.address === undefined ? '' : `, ${member.address}`}) died at ${at}: ${exit.reason}`;
        if (record.status.state === 'assigning') {
          // No party had reached it: nothing is lost but the assignment.
          this.#end(record, 'failed', `assignment failed: ${died}`);
          for (const other of record.members.values()) void this.#stopMember(other);
        } else {
          this.#end(record, 'lost', `${died}. Everything it held is gone; no other isolate holds it, and none will be started in its place (submit the computation again, under a new id, for new policies)`);
        }
      } else if (record.status.isolates.every((isolate) => isolate.ended?.code === 0)) {
        this.#end(record, 'completed');
      }
    }
    this.#queueTick();
  }

  async #stopMember(member: MemberRecord, how: 'orderly' | 'kill' = member.deathReason === undefined ? 'orderly' : 'kill'): Promise<void> {
    if (member.state === 'stopping' && member.handle === undefined) return;
    member.state = 'stopping';
    this.#changed();
    if (member.handle === undefined) return; // stopped once its start resolves
    await this.#backend.stop(member.handle, how).catch((error: unknown) => this.#options.log?.(`member ${member.name} did not stop cleanly: ${VeracruzError.from(error).rawMessage}`));
  }

  async #checkHealth(): Promise<void> {
    const limit = this.#options.healthFailures ?? 3;
    await Promise.all([...this.#members.values()].map(async (member) => {
      const asked = member.state;
      if (member.handle === undefined || (asked !== 'warm' && asked !== 'serving') || member.checking === true) return;
      member.checking = true;
      try {
        const health = await this.#backend.health(member.handle);
        // A member assigned, or stopped, while it was asked: its answer is about another state.
        if (member.state !== asked) return;
        member.missedHealthChecks = 0;
        const policyHash = asked === 'serving' ? this.#computations.get(member.assignment!.computation)?.status.isolates.find((isolate) => isolate.name === member.assignment!.isolate)?.policyHash : undefined;
        const wrong = health.state !== asked && health.state !== 'stopping'
          ? `its host reported ${health.state} where ${asked} was expected`
          : policyHash !== undefined && health.state === 'serving' && health.policyHash !== policyHash ? `its host reported serving policy ${health.policyHash}, not ${policyHash}` : undefined;
        if (wrong !== undefined) {
          member.deathReason = wrong;
          this.#event(`member ${member.name}: ${wrong}; stopping it`);
          await this.#stopMember(member);
        }
      } catch (error) {
        if (member.state !== asked) return;
        member.missedHealthChecks++;
        if (member.missedHealthChecks < limit) return;
        member.deathReason = `its host did not answer ${limit} health checks (${VeracruzError.from(error).rawMessage})`;
        this.#event(`member ${member.name}: ${member.deathReason}; stopping it`);
        await this.#stopMember(member);
      } finally {
        member.checking = false;
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

