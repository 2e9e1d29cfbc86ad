/**
 * A VeracruzComputation's spec turned into what the reconciler takes: the topology as vc-fleet
 * reads it (each program named by the ConfigMap key that holds it), the programs' bytes, and every
 * party's certificate. Checked whole before anything is submitted; every fault names its field
 * (`spec.topology.parties.analyst.certificate: ...`), which the operator writes to the status.
 */
import { Code, parseX509Certificate, readPemBlock, VeracruzError } from '@veracruz-ts/core';
import { type ComputationRequest, parseTopology } from '@veracruz-ts/fleet';
import type { KubernetesPlatform } from './manifests.ts';

/** Where a program's binary is: a key of a ConfigMap in the computation's namespace. */
export interface ProgramReference {
  configMap: string;
  key: string;
}

/** What a ConfigMap holds, as the API returns it (binaryData base64). */
export interface ConfigMapContent {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** The ids the reconciler takes for a computation: a DNS label of at most 40 characters. */
const COMPUTATION_ID = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

function invalid(field: string, reason: string): never {
  throw new VeracruzError(Code.InvalidPolicy, `${field}: ${reason}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The name a program goes by in the topology handed to the reconciler (its `file`). */
export function programFile(reference: ProgramReference): string {
  return `configmap:${reference.configMap}/${reference.key}`;
}

/** A computation's spec read and checked, before any ConfigMap is read. */
export interface ComputationSpec {
  /** The topology file's text as `parseTopology` takes it. */
  topologyText: string;
  /** Every program's ConfigMap key, by its {@link programFile}. */
  programs: Map<string, ProgramReference>;
  /** Every party's certificate (PEM), by name. */
  partyCertificates: Record<string, string>;
}

/**
 * Reads a VeracruzComputation named `name` with `spec`, for a fleet whose members run on
 * `platform`. Throws VeracruzError(InvalidPolicy) naming the field: a name the reconciler cannot
 * take, another platform, a certificate that is not one, a topology vc-fleet refuses.
 */
export function readComputationSpec(name: string, spec: unknown, platform: KubernetesPlatform): ComputationSpec {
  if (!COMPUTATION_ID.test(name)) invalid('metadata.name', `${JSON.stringify(name)}: a computation's name must be lowercase letters, digits and '-', at most 40, starting and ending with a letter or digit`);
  if (!isObject(spec) || !isObject(spec['topology'])) invalid('spec.topology', 'expected an object');
  const topology = spec['topology'];
  const wanted = topology['platform'] ?? 'linux';
  if (wanted !== platform) invalid('spec.topology.platform', `${JSON.stringify(wanted)}, but this fleet's members run on ${platform}`);
  // The fleet's planner names a linux runtime hash only; a policy for another platform would be refused by its member.
  if (platform !== 'linux') invalid('spec.topology.platform', `the fleet plans policies for linux isolates only, so its ${platform} members cannot be given a computation yet`);

  const partyCertificates: Record<string, string> = {};
  const parties: Record<string, object> = {};
  const partyEntries = topology['parties'] ?? {};
  if (!isObject(partyEntries)) invalid('spec.topology.parties', 'expected an object of party name -> {certificate}');
  for (const [party, entry] of Object.entries(partyEntries)) {
    const field = `spec.topology.parties.${party}.certificate`;
    const pem = isObject(entry) ? entry['certificate'] : undefined;
    if (typeof pem !== 'string') invalid(field, 'expected the party\'s certificate (PEM)');
    try {
      parseX509Certificate(readPemBlock(pem, 'CERTIFICATE', 'certificate'));
    } catch (error) {
      invalid(field, `not a certificate: ${VeracruzError.from(error).rawMessage}`);
    }
    partyCertificates[party] = pem;
    parties[party] = {};
  }

  const programs = new Map<string, ProgramReference>();
  const isolates: Record<string, unknown> = {};
  const isolateEntries = topology['isolates'];
  if (!isObject(isolateEntries)) invalid('spec.topology.isolates', 'expected an object of isolate name -> isolate');
  for (const [isolate, entry] of Object.entries(isolateEntries)) {
    if (!isObject(entry)) invalid(`spec.topology.isolates.${isolate}`, 'expected an object');
    if (entry['port'] !== undefined) invalid(`spec.topology.isolates.${isolate}.port`, 'a member listens on the client port behind a Service of its own, which the policies name; remove it');
    const files: Record<string, string> = {};
    const references = entry['programs'] ?? {};
    if (!isObject(references)) invalid(`spec.topology.isolates.${isolate}.programs`, 'expected an object of program path -> {configMap, key}');
    for (const [path, reference] of Object.entries(references)) {
      const field = `spec.topology.isolates.${isolate}.programs.${path}`;
      if (!isObject(reference) || typeof reference['configMap'] !== 'string' || typeof reference['key'] !== 'string') invalid(field, 'expected {configMap, key}');
      const program = { configMap: reference['configMap'], key: reference['key'] };
      files[path] = programFile(program);
      programs.set(programFile(program), program);
    }
    isolates[isolate] = { ...entry, programs: files };
  }
  const topologyText = JSON.stringify({ platform: 'linux', parties, isolates });
  try {
    // The topology's own checks (rights, sends, cycles), with the fields as the resource names them.
    parseTopology(topologyText);
  } catch (error) {
    const failure = VeracruzError.from(error);
    throw new VeracruzError(failure.code, `spec.topology.${failure.rawMessage.replace(/^\(topology\): /, '')}`, { cause: error });
  }
  return { topologyText, programs, partyCertificates };
}

/** A program's bytes from its ConfigMap: `binaryData` (what kubectl makes of a binary file), else `data`. */
export function programBytes(reference: ProgramReference, configMap: ConfigMapContent | undefined): Uint8Array {
  const where = `ConfigMap ${reference.configMap}`;
  if (configMap === undefined) throw new VeracruzError(Code.NotFound, `${where} does not exist`);
  const binary = configMap.binaryData?.[reference.key];
  if (binary !== undefined) return new Uint8Array(Buffer.from(binary, 'base64'));
  const text = configMap.data?.[reference.key];
  if (text !== undefined) return new TextEncoder().encode(text);
  const keys = [...Object.keys(configMap.binaryData ?? {}), ...Object.keys(configMap.data ?? {})];
  throw new VeracruzError(Code.NotFound, `${where} has no key ${JSON.stringify(reference.key)} (it has ${keys.length === 0 ? 'none' : keys.join(', ')})`);
}

/**
 * The reconciler's request for a computation: its spec read as {@link readComputationSpec} does,
 * each program's bytes from `readConfigMap` (each ConfigMap read once).
 */
export async function computationRequest(
  name: string, spec: unknown, platform: KubernetesPlatform, readConfigMap: (name: string) => Promise<ConfigMapContent | undefined>,
): Promise<ComputationRequest> {
  const read = readComputationSpec(name, spec, platform);
  const configMaps = new Map<string, Promise<ConfigMapContent | undefined>>();
  const programs = new Map<string, Uint8Array>();
  for (const [file, reference] of read.programs) {
    if (!configMaps.has(reference.configMap)) configMaps.set(reference.configMap, readConfigMap(reference.configMap));
    programs.set(file, programBytes(reference, await configMaps.get(reference.configMap)));
  }
  return { id: name, topology: parseTopology(read.topologyText), programs, partyCertificates: read.partyCertificates };
}
