/**
 * The topology file: which parties and isolates make up a fleet, what each isolate runs, who may do
 * what in it, and which outputs flow from one isolate to another. Parsed whole and checked before
 * anything starts; every fault names its field (`isolates.reducer.sends[0].to: ...`).
 */
import { Code, formatHostPort, parseHostPort, VeracruzError } from '@veracruz-ts/core';
import { isStdStream, normalizePath, WASM32_MAX_MEMORY_MIB } from '@veracruz-ts/policy';
import { parseCapability } from '@veracruz-ts/tools/generate';

/** The platforms a fleet can run its isolates on. */
export type FleetPlatform = 'linux';

/** A party: a principal outside the fleet, identified by its certificate. */
export interface TopologyParty {
  name: string;
  /** Its certificate (PEM file, relative to the topology file); absent: the fleet makes the identity. */
  certificate?: string;
}

/** A program of an isolate: where it is in the computation and the local file it is read from. */
export interface TopologyProgram {
  /** Its path inside the isolate (`/program/map.wasm`). */
  path: string;
  /** The local binary (relative to the topology file). */
  file: string;
  /** Its capability while it runs (`/input/:r,/output/:rw`), as vc-pgen's -p takes it. */
  rights: string;
}

/** One output an isolate pushes to another after each successful program run. */
export interface TopologySend {
  /** The file in the sending isolate. */
  file: string;
  /** The receiving isolate's name. */
  to: string;
  /** Where the file is written in the receiver. */
  path: string;
}

/** A receiver's wait for what is sent to it: a run of `program` waits until every sent file exists. */
export interface TopologyAwait {
  program: string;
  /** @default DEFAULT_AWAIT_DEADLINE_MS (ten minutes) */
  deadlineMs?: number;
}

/** One isolate of the fleet: a vc-server and the policy it enforces. */
export interface TopologyIsolate {
  name: string;
  programs: TopologyProgram[];
  /** Each party's capability in this isolate, in the order written; parties not listed have none. */
  rights: { party: string; capability: string }[];
  sends: TopologySend[];
  await?: TopologyAwait;
  /** @default 256 */
  maxMemoryMib?: number;
  /** The port its vc-server listens on; absent: a free one. */
  port?: number;
}

/** A parsed topology. */
export interface Topology {
  platform: FleetPlatform;
  /** The host every isolate listens on, and the policies name. @default '127.0.0.1' */
  listen: string;
  parties: TopologyParty[];
  /** In the order written. */
  isolates: TopologyIsolate[];
  /** Isolate names, every sender before its receivers (the order policies are generated in). */
  order: string[];
}

/** Names of parties and isolates: they name files in the fleet directory. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function invalid(path: string, reason: string): never {
  throw new VeracruzError(Code.InvalidPolicy, `${path}: ${reason}`);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return JSON.stringify(value);
}

/** A JSON object read field by field; a field nobody reads is refused (a typo must not pass). */
class Fields {
  readonly #value: Record<string, unknown>;
  readonly #read = new Set<string>();
  readonly path: string;

  constructor(value: unknown, path: string) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(path === '' ? '(topology)' : path, `expected an object, got ${show(value)}`);
    this.#value = value as Record<string, unknown>;
    this.path = path;
  }

  at(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  raw(key: string): unknown {
    this.#read.add(key);
    return Object.hasOwn(this.#value, key) ? this.#value[key] : undefined;
  }

  keys(): string[] {
    return Object.keys(this.#value);
  }

  string(key: string, fallback?: string): string {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'string' || value.trim() === '') invalid(this.at(key), `expected a non-empty string, got ${show(value)}`);
    return value.trim();
  }

  integer(key: string, min: number, max: number): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) invalid(this.at(key), `expected an integer from ${min} to ${max}, got ${show(value)}`);
    return value;
  }

  object(key: string): Fields | undefined {
    const value = this.raw(key);
    return value === undefined ? undefined : new Fields(value, this.at(key));
  }

  refuseUnknown(known: string): void {
    for (const key of Object.keys(this.#value)) {
      if (!this.#read.has(key)) invalid(this.at(key), `unknown field (expected ${known})`);
    }
  }
}

function checkName(name: string, path: string): void {
  if (!NAME.test(name)) invalid(path, `${JSON.stringify(name)}: use letters, digits, '.', '_' and '-', starting with a letter or digit (it names files)`);
}

/** A file path inside an isolate: absolute, not a directory, not a standard stream; normalised. */
function isolateFile(value: unknown, path: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.endsWith('/') || isStdStream(value)) {
    invalid(path, `expected an absolute file path inside the isolate, got ${show(value)}`);
  }
  return normalizePath(value);
}

function readParties(value: unknown): TopologyParty[] {
  if (Array.isArray(value)) {
    return value.map((item, index) => {
      if (typeof item !== 'string') invalid(`parties[${index}]`, `expected a party name, got ${show(item)}`);
      checkName(item, `parties[${index}]`);
      return { name: item };
    });
  }
  const parties = new Fields(value, 'parties');
  return parties.keys().map((name) => {
    checkName(name, parties.at(name));
    const party = new Fields(parties.raw(name), parties.at(name));
    const certificate = party.raw('certificate') === undefined ? undefined : party.string('certificate');
    party.refuseUnknown('certificate');
    return certificate === undefined ? { name } : { name, certificate };
  });
}

function capability(value: unknown, path: string): string {
  if (typeof value !== 'string') invalid(path, `expected a capability such as "/input/:r,/output/:w", got ${show(value)}`);
  try {
    parseCapability(value, path);
  } catch (error) {
    throw new VeracruzError(Code.InvalidPolicy, VeracruzError.from(error).rawMessage);
  }
  return value;
}

function readIsolate(name: string, fields: Fields, parties: ReadonlySet<string>): TopologyIsolate {
  const programFiles = fields.object('programs');
  const programRights = fields.object('program_rights');
  const programs = (programFiles?.keys() ?? []).map((written): TopologyProgram => {
    const path = isolateFile(written, programFiles!.at(written));
    const file = programFiles!.string(written);
    if (programRights?.raw(written) === undefined) invalid(fields.at('program_rights'), `no capability for the program ${written}`);
    return { path, file, rights: capability(programRights.raw(written), programRights.at(written)) };
  });
  const seenPrograms = new Set<string>();
  programs.forEach((program, index) => {
    if (seenPrograms.has(program.path)) invalid(fields.at('programs'), `${program.path} is given twice (as ${programFiles!.keys()[index]})`);
    seenPrograms.add(program.path);
  });
  programRights?.refuseUnknown('one capability per program in programs');

  const rightsFields = fields.object('rights');
  const rights = (rightsFields?.keys() ?? []).map((party) => {
    if (!parties.has(party)) invalid(rightsFields!.at(party), `no party named ${JSON.stringify(party)} (parties: ${[...parties].join(', ')})`);
    return { party, capability: capability(rightsFields!.raw(party), rightsFields!.at(party)) };
  });

  const sendsValue = fields.raw('sends') ?? [];
  if (!Array.isArray(sendsValue)) invalid(fields.at('sends'), `expected an array, got ${show(sendsValue)}`);
  const sends = sendsValue.map((item, index): TopologySend => {
    const send = new Fields(item, `${fields.at('sends')}[${index}]`);
    const result = { file: isolateFile(send.raw('file'), send.at('file')), to: send.string('to'), path: isolateFile(send.raw('path'), send.at('path')) };
    send.refuseUnknown('file, to, path');
    return result;
  });

  const awaitFields = fields.object('await');
  let wait: TopologyAwait | undefined;
  if (awaitFields !== undefined) {
    const program = isolateFile(awaitFields.raw('program'), awaitFields.at('program'));
    if (!seenPrograms.has(program)) invalid(awaitFields.at('program'), `${program} is not one of this isolate's programs`);
    const deadlineMs = awaitFields.integer('deadline_ms', 1, 2 ** 31 - 1);
    awaitFields.refuseUnknown('program, deadline_ms');
    wait = deadlineMs === undefined ? { program } : { program, deadlineMs };
  }
  const maxMemoryMib = fields.integer('max_memory_mib', 1, WASM32_MAX_MEMORY_MIB);
  const port = fields.integer('port', 1, 65535);
  fields.refuseUnknown('programs, program_rights, rights, sends, await, max_memory_mib, port');
  return {
    name, programs, rights, sends,
    ...(wait === undefined ? {} : { await: wait }),
    ...(maxMemoryMib === undefined ? {} : { maxMemoryMib }),
    ...(port === undefined ? {} : { port }),
  };
}

/** Checks what joins the isolates: known receivers, no path written twice, no cycle; returns senders first. */
function checkFlows(isolates: readonly TopologyIsolate[]): string[] {
  const byName = new Map(isolates.map((isolate) => [isolate.name, isolate]));
  const written = new Map<string, string>();
  for (const isolate of isolates) {
    isolate.sends.forEach((send, index) => {
      const at = `isolates.${isolate.name}.sends[${index}]`;
      if (!byName.has(send.to)) invalid(`${at}.to`, `no isolate named ${JSON.stringify(send.to)} (isolates: ${[...byName.keys()].join(', ')})`);
      const key = `${send.to}\0${send.path}`;
      const previous = written.get(key);
      if (previous !== undefined) invalid(`${at}.path`, `${send.path} in ${send.to} is already written by ${previous}: each sent file needs a path of its own`);
      written.set(key, at);
    });
  }
  for (const isolate of isolates) {
    const received = isolates.some((sender) => sender.sends.some((send) => send.to === isolate.name));
    if (isolate.await !== undefined && !received) invalid(`isolates.${isolate.name}.await`, `nothing is sent to ${isolate.name}, so there is nothing to wait for`);
  }
  // Depth-first, in the order written: a receiver is placed after all its senders, and a path back
  // to an isolate still being visited is a cycle.
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      // The walk goes from receivers to their senders: reversed, the cycle reads in the direction data flows.
      const cycle = [...trail.slice(trail.indexOf(name)), name].reverse();
      invalid('isolates', `the sends form a cycle, ${cycle.join(' -> ')}: a sender's identity must be fixed before its receiver's policy, so outputs cannot flow in a circle`);
    }
    state.set(name, 'visiting');
    for (const sender of isolates) {
      if (sender.sends.some((send) => send.to === name)) visit(sender.name, [...trail, name]);
    }
    state.set(name, 'done');
    order.push(name);
  };
  for (const isolate of isolates) visit(isolate.name, []);
  return order;
}

/**
 * Parses a topology (the JSON text of a topology file). Throws VeracruzError(InvalidPolicy) naming
 * the field at fault: an unknown field, party or isolate, a path written twice, a cycle of sends.
 */
export function parseTopology(text: string): Topology {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    invalid('(topology)', `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const root = new Fields(json, '');
  const platform = root.string('platform', 'linux');
  if (platform !== 'linux') invalid('platform', `only "linux" is supported, got ${show(platform)}`);
  const listen = root.string('listen', '127.0.0.1');
  try {
    parseHostPort(formatHostPort(listen, 0));
  } catch {
    invalid('listen', `expected a host name or IP address, got ${show(listen)}`);
  }
  const parties = readParties(root.raw('parties') ?? []);
  const partyNames = new Set(parties.map((party) => party.name));
  if (partyNames.size !== parties.length) invalid('parties', 'a party is named twice');
  const isolateFields = new Fields(root.raw('isolates'), 'isolates');
  const names = isolateFields.keys();
  if (names.length === 0) invalid('isolates', 'no isolates');
  const isolates = names.map((name) => {
    checkName(name, isolateFields.at(name));
    return readIsolate(name, new Fields(isolateFields.raw(name), isolateFields.at(name)), partyNames);
  });
  const ports = new Map<number, string>();
  for (const isolate of isolates) {
    if (isolate.port === undefined) continue;
    const previous = ports.get(isolate.port);
    if (previous !== undefined) invalid(`isolates.${isolate.name}.port`, `${isolate.port} is already ${previous}'s`);
    ports.set(isolate.port, isolate.name);
  }
  const order = checkFlows(isolates);
  root.refuseUnknown('platform, listen, parties, isolates');
  return { platform: 'linux', listen, parties, isolates, order };
}
