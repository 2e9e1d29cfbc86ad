/**
 * vc-pgen's policy builder: turns what the command line gave (files already read and hashed)
 * into the policy JSON value Veracruz's vc-pgen would write. Pure: no file or clock access, so
 * every rule is tested without processes.
 */
import { Code, parseHostPort, VeracruzError } from '@veracruz-ts/core';
import { CIPHERSUITES, WASM32_MAX_MEMORY_MIB, isStdStream, normalizePath, parsePipeline, parseRights, readCertificatePem, tls13Ciphersuite, type FileRights, type PolicyLimits, type WriterDisconnect } from '@veracruz-ts/policy';
import type { JsonValue } from './json.ts';

/** A file given on the command line, already read: where it goes in the policy and its SHA-256. */
export interface HashedFile {
  /** The path inside the computation (`/program/a.wasm`). */
  policyPath: string;
  /** The local file it was read from (for error messages). */
  source: string;
  /** Lowercase hex SHA-256 of its content. */
  sha256: string;
}

/** A native module as given by the parallel --native-module-* flags. */
export interface NativeModuleInput {
  name: string;
  /** Empty for a Provisioned module. */
  specialFile: string;
  /** Empty for a Static module. */
  entryPoint: string;
}

/** Everything vc-pgen needs, with files already read. */
export interface PolicyInputs {
  /** Identity certificates in command-line order (ids are their indices). */
  certificates: { source: string; pem: string }[];
  /** The raw --capability values: certificates first, then programs, then pipelines. */
  capabilities: string[];
  /** Program binaries in command-line order. */
  programs: HashedFile[];
  /** Pipeline scripts in command-line order (named "0", "1", ...). */
  pipelines: string[];
  /** Extra files whose content the policy fixes (--hashes). */
  hashes: HashedFile[];
  /** `host:port` of vc-server. */
  veracruzServer: string;
  /** `host:port` of the PAS. */
  proxyAttestationServer: string;
  /** The PAS CA certificate, PEM, written unchanged. */
  proxyServiceCertPem: string;
  /** Runtime hashes (lowercase hex) per platform; absent = not trusted there. */
  runtimeHashes: RuntimeHashes;
  /** Veracruz's enclave_cert_expiry, written from the UTC fields of this date. */
  certificateExpiry: Date;
  debug: boolean;
  executionStrategy: string;
  enableClock: boolean;
  maxMemoryMib: number;
  /** @default DEFAULT_CIPHERSUITE (what Veracruz's vc-pgen always writes) */
  ciphersuite?: string;
  nativeModules: NativeModuleInput[];
  /** Per-program limits (`path:timeout_ms=..,fuel=..,max_memory_mib=..`), raw. */
  programLimits: string[];
  /** Policy-wide default limits (`timeout_ms=..,fuel=..,max_memory_mib=..`), raw. */
  limits?: string;
  /** Streams (`PATH[,deadline_ms=N][,max_buffered_bytes=N][,on_writer_disconnect=abort|close|wait]`), raw. */
  streams?: string[];
  /**
   * Other isolates as principals, named by their identity hash; their ids follow the certificates',
   * and their capabilities follow the certificates' in `capabilities`.
   */
  isolates?: PeerIsolateInput[];
  /** Files pushed to other isolates after every successful program run (the top-level `dataflow`). */
  dataflow?: DataflowInput[];
  /** Programs whose runs wait for input files (the top-level `await_inputs`). */
  awaitInputs?: AwaitInput[];
}

/** Runtime hashes (lowercase hex) per platform, as the policy's `runtime_manager_hash_*` fields hold them. */
export interface RuntimeHashes {
  linux?: string;
  nitro?: string;
  sevsnp?: string;
  tdx?: string;
}

/**
 * Another isolate this policy trusts: as a principal (`policyHash` is its identity hash) or as a
 * dataflow receiver (`policyHash` is its full policy hash).
 */
export interface PeerIsolateInput {
  /** 64 lowercase hex digits. */
  policyHash: string;
  /** The PAS CA certificate (PEM) that certifies the peer. @default this policy's `proxy_service_cert` */
  proxyServiceCertPem?: string;
  /** The runtime hashes the peer may carry. @default this policy's own runtime hashes */
  runtimeHashes?: RuntimeHashes;
  /** What names it in error messages. @default `--isolate N` or `--dataflow N` */
  source?: string;
}

/** One `dataflow` entry: after each successful run, `file` is written whole to `path` on the isolate at `address`. */
export interface DataflowInput {
  /** The file in this isolate that is sent (a leading '/' is added). */
  file: string;
  /** Where it is written in the receiver (a leading '/' is added). */
  path: string;
  /** The receiver's vc-server, `host:port`. */
  address: string;
  /** The receiver, named by its full policy hash. */
  receiver: PeerIsolateInput;
  /** What names it in error messages. @default `--dataflow N` */
  source?: string;
}

/** One `await_inputs` entry: a run of `program` waits until every file of `files` exists. */
export interface AwaitInput {
  /** A program of this policy. */
  program: string;
  /** The files it waits for (at least one). */
  files: string[];
  /** The run fails after this many milliseconds without them. @default DEFAULT_AWAIT_DEADLINE_MS */
  deadlineMs?: number;
  /** What names it in error messages. @default `--await N` */
  source?: string;
}

/** What Veracruz's vc-pgen always writes as `ciphersuite`. */
export const DEFAULT_CIPHERSUITE = 'TLS1_3_CHACHA20_POLY1305_SHA256';

/** The `deadline_ms` vc-pgen writes for an `await_inputs` entry that gives none: ten minutes. */
export const DEFAULT_AWAIT_DEADLINE_MS = 600_000;

/** The largest `deadline_ms` a policy may give an `await_inputs` entry. */
export const MAX_AWAIT_DEADLINE_MS = 2 ** 31 - 1;

/** vc-pgen's default `max_memory_mib` (Veracruz's). */
export const DEFAULT_MAX_MEMORY_MIB = 256;

function fail(message: string): never {
  throw new VeracruzError(Code.InvalidPolicy, message);
}

/** Veracruz's `enforce_leading_slash`: std stream names stay as they are. */
export function withLeadingSlash(path: string): string {
  return isStdStream(path) || path.startsWith('/') ? path : `/${path}`;
}

/**
 * Splits a `[name=]file` argument (comma lists allowed) into policy path and local file.
 * Without `name=`, `defaultPath(file)` gives the policy path.
 */
export function parseRenamablePaths(text: string, defaultPath: (file: string) => string): { policyPath: string; file: string }[] {
  return text
    .split(',')
    .filter((item) => item !== '')
    .map((item) => {
      const separator = item.indexOf('=');
      if (separator < 0) return { policyPath: normalizePath(defaultPath(item)), file: item };
      const name = item.slice(0, separator);
      const file = item.slice(separator + 1);
      if (name === '' || file === '') fail(`${JSON.stringify(item)}: expected [path=]file`);
      return { policyPath: withLeadingSlash(name), file };
    });
}

/**
 * Parses one --capability value: `path:rights` entries separated by commas, rights as `r`,
 * `w`, `x` combinations, a decimal number or right names. `what` names the owner in errors.
 */
export function parseCapability(text: string, what: string): FileRights[] {
  if (text.trim() === '') return [];
  return text.split(',').map((item) => {
    const separator = item.lastIndexOf(':');
    if (separator <= 0) fail(`${what}: ${JSON.stringify(item)}: expected path:rights (e.g. /input/:r or stdout:w)`);
    const path = item.slice(0, separator).trim();
    let rights: number;
    try {
      rights = parseRights(item.slice(separator + 1));
    } catch (error) {
      fail(`${what}: ${JSON.stringify(item)}: ${VeracruzError.from(error).rawMessage}`);
    }
    return { file_name: withLeadingSlash(path), rights };
  });
}

/** Parses `timeout_ms=..,fuel=..,max_memory_mib=..` (any subset) into policy limits. */
export function parseLimits(text: string, what: string): PolicyLimits {
  const limits: PolicyLimits = {};
  for (const item of text.split(',').filter((part) => part.trim() !== '')) {
    const match = /^\s*([a-z_]+)\s*=\s*([0-9]+)\s*$/.exec(item);
    if (match === null) fail(`${what}: ${JSON.stringify(item)}: expected name=integer`);
    const [, name, digits] = match as unknown as [string, string, string];
    const value = BigInt(digits);
    if (value < 1n) fail(`${what}: ${name} must be at least 1`);
    if (name === 'fuel') limits.fuel = value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    else if (name === 'timeout_ms') {
      if (value > 0xffff_ffffn) fail(`${what}: timeout_ms ${digits} is out of range (1 to 4294967295)`);
      limits.timeout_ms = Number(value);
    } else if (name === 'max_memory_mib') {
      if (value > BigInt(WASM32_MAX_MEMORY_MIB)) fail(`${what}: max_memory_mib ${digits} is above what wasm32 allows (${WASM32_MAX_MEMORY_MIB})`);
      limits.max_memory_mib = Number(value);
    } else fail(`${what}: unknown limit ${JSON.stringify(name)} (expected timeout_ms, fuel or max_memory_mib)`);
  }
  return limits;
}

/** One `streams` entry as --stream gives it; absent settings are left out (the policy's defaults apply). */
export interface StreamInput {
  path: string;
  deadline_ms?: number;
  max_buffered_bytes?: number;
  on_writer_disconnect?: WriterDisconnect;
}

/**
 * Parses one --stream value: `PATH[,deadline_ms=N][,max_buffered_bytes=N][,on_writer_disconnect=abort|close|wait]`.
 * The path gets a leading '/', as other vc-pgen paths do.
 */
export function parseStream(text: string): StreamInput {
  const what = `--stream ${JSON.stringify(text)}`;
  const [path = '', ...settings] = text.split(',');
  if (path.trim() === '' || path.includes('=')) fail(`${what}: expected PATH[,deadline_ms=N][,max_buffered_bytes=N][,on_writer_disconnect=abort|close|wait]`);
  if (isStdStream(path.trim())) fail(`${what}: ${path.trim()} is a standard stream; a policy stream is a file path`);
  const stream: StreamInput = { path: withLeadingSlash(path.trim()) };
  for (const item of settings) {
    const match = /^\s*([a-z_]+)\s*=\s*(\S+)\s*$/.exec(item);
    if (match === null) fail(`${what}: ${JSON.stringify(item)}: expected name=value`);
    const [, name, value] = match as unknown as [string, string, string];
    if (Object.hasOwn(stream, name)) fail(`${what}: ${name} is given twice`);
    if (name === 'deadline_ms' || name === 'max_buffered_bytes') {
      const number = Number(value);
      if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(number) || number < 1) fail(`${what}: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
      stream[name] = number;
    } else if (name === 'on_writer_disconnect') {
      if (value !== 'abort' && value !== 'close' && value !== 'wait') fail(`${what}: on_writer_disconnect must be abort, close or wait, got ${JSON.stringify(value)}`);
      stream.on_writer_disconnect = value;
    } else fail(`${what}: unknown setting ${JSON.stringify(name)} (expected deadline_ms, max_buffered_bytes or on_writer_disconnect)`);
  }
  return stream;
}

/** A peer isolate as --isolate or --dataflow gives it, its PAS CA certificate still a file to read. */
export interface PeerIsolateFlag {
  /** Lowercased; checked by {@link buildPolicy}. */
  policyHash: string;
  /** The `pas=FILE` setting: the PAS CA certificate that certifies the peer. */
  pasFile?: string;
  /** The `linux=HEX`, `sevsnp=HEX`, `tdx=HEX`, `nitro=HEX` settings, lowercased. */
  runtimeHashes?: RuntimeHashes;
}

const PEER_SETTINGS = '[,pas=FILE][,linux=HEX][,sevsnp=HEX][,tdx=HEX][,nitro=HEX]';
const RUNTIME_PLATFORMS = ['linux', 'nitro', 'sevsnp', 'tdx'] as const;

function parsePeerSettings(items: readonly string[], what: string): Omit<PeerIsolateFlag, 'policyHash'> {
  const settings: { pasFile?: string; runtimeHashes?: RuntimeHashes } = {};
  const seen = new Set<string>();
  for (const item of items) {
    const match = /^\s*([a-z_]+)\s*=\s*(\S(?:.*\S)?)\s*$/.exec(item);
    if (match === null) fail(`${what}: ${JSON.stringify(item)}: expected name=value`);
    const [, name, value] = match as unknown as [string, string, string];
    if (seen.has(name)) fail(`${what}: ${name} is given twice`);
    seen.add(name);
    const platform = RUNTIME_PLATFORMS.find((known) => known === name);
    if (name === 'pas') settings.pasFile = value;
    else if (platform !== undefined) settings.runtimeHashes = { ...settings.runtimeHashes, [platform]: value.toLowerCase() };
    else fail(`${what}: unknown setting ${JSON.stringify(name)} (expected pas, linux, sevsnp, tdx or nitro)`);
  }
  return settings;
}

/**
 * Parses one --isolate value: `HASH[,pas=FILE][,linux=HEX][,sevsnp=HEX][,tdx=HEX][,nitro=HEX]`, another
 * isolate as a principal, named by its identity hash. Without `pas=`, the peer must be certified by
 * this policy's PAS; without runtime hashes, it must carry one of this policy's.
 */
export function parseIsolateFlag(text: string): PeerIsolateFlag {
  const what = `--isolate ${JSON.stringify(text)}`;
  const [hash = '', ...settings] = text.split(',');
  if (hash.trim() === '' || hash.includes('=')) fail(`${what}: expected HASH${PEER_SETTINGS}`);
  return { policyHash: hash.trim().toLowerCase(), ...parsePeerSettings(settings, what) };
}

/** A --dataflow value, its receiver's PAS CA certificate still a file to read. */
export interface DataflowFlag {
  file: string;
  address: string;
  path: string;
  receiver: PeerIsolateFlag;
}

/**
 * Parses one --dataflow value: `FILE=HOST:PORT:PATH@HASH[,pas=FILE][,linux=HEX]...`: after each
 * successful run, FILE is written to PATH on the isolate at HOST:PORT, whose full policy hash is HASH.
 */
export function parseDataflowFlag(text: string): DataflowFlag {
  const what = `--dataflow ${JSON.stringify(text)}`;
  const expected = `${what}: expected FILE=HOST:PORT:PATH@HASH${PEER_SETTINGS}`;
  const separator = text.indexOf('=');
  if (separator <= 0) fail(expected);
  const file = text.slice(0, separator).trim();
  // The first '@' followed by hex digits and then a ',' or the end: a path may hold '@', a hash cannot.
  const target = /^(.*?)@([0-9A-Fa-f]+)(?:,(.*))?$/.exec(text.slice(separator + 1));
  const place = target === null ? null : /^(\[[^\]]+\]|[^:[\]]+):([0-9]+):(.+)$/.exec(target[1]!);
  if (target === null || place === null || file === '') fail(expected);
  const settings = target[3] === undefined ? [] : target[3].split(',');
  return {
    file,
    address: `${place[1]}:${place[2]}`,
    path: place[3]!.trim(),
    receiver: { policyHash: target[2]!.toLowerCase(), ...parsePeerSettings(settings, what) },
  };
}

/** Parses one --await value: `PROGRAM=FILE[,FILE...][,deadline_ms=N]`. */
export function parseAwaitFlag(text: string): AwaitInput {
  const what = `--await ${JSON.stringify(text)}`;
  const separator = text.indexOf('=');
  const program = separator < 0 ? '' : text.slice(0, separator).trim();
  if (program === '') fail(`${what}: expected PROGRAM=FILE[,FILE...][,deadline_ms=N]`);
  const entry: AwaitInput = { program, files: [] };
  for (const item of text.slice(separator + 1).split(',')) {
    const setting = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(item);
    if (setting === null) {
      if (item.trim() === '') fail(`${what}: an empty file name`);
      entry.files.push(item.trim());
      continue;
    }
    const [, name, value] = setting as unknown as [string, string, string];
    if (name !== 'deadline_ms') fail(`${what}: unknown setting ${JSON.stringify(name)} (expected deadline_ms)`);
    if (entry.deadlineMs !== undefined) fail(`${what}: deadline_ms is given twice`);
    const number = Number(value);
    if (!/^[0-9]+$/.test(value) || number < 1 || number > MAX_AWAIT_DEADLINE_MS) fail(`${what}: deadline_ms must be an integer from 1 to ${MAX_AWAIT_DEADLINE_MS}, got ${JSON.stringify(value)}`);
    entry.deadlineMs = number;
  }
  return entry;
}

function limitsJson(limits: PolicyLimits): JsonValue {
  return { max_memory_mib: limits.max_memory_mib, timeout_ms: limits.timeout_ms, fuel: limits.fuel };
}

/** Veracruz's layout for identity certificates: the base64 body on one line. */
export function collapseCertificate(pem: string): string {
  return pem
    .replace(/\r?\n/g, '')
    .replace('-----BEGIN CERTIFICATE-----', '-----BEGIN CERTIFICATE-----\n')
    .replace('-----END CERTIFICATE-----', '\n-----END CERTIFICATE-----');
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function checkRuntimeHashes(hashes: RuntimeHashes, prefix: string): void {
  for (const [platform, value] of Object.entries(hashes)) {
    // SEV-SNP's launch measurement is SHA-384: 96 digits (64, its first half, as older policies give it).
    const sevSnp = platform === 'sevsnp';
    if (value !== undefined && !(sevSnp ? /^([0-9a-f]{64}|[0-9a-f]{96})$/ : HEX_SHA256).test(value)) {
      fail(`${prefix}runtime hash for ${platform}: expected ${sevSnp ? '96 (or 64)' : '64'} lowercase hex digits, got ${JSON.stringify(value)}`);
    }
  }
}

/** The `isolate` object of an identity or dataflow entry; optional fields only when given. */
function peerIsolateJson(peer: PeerIsolateInput, what: string): JsonValue {
  if (!HEX_SHA256.test(peer.policyHash)) fail(`${what}: policy hash: expected 64 lowercase hex digits, got ${JSON.stringify(peer.policyHash)}`);
  if (peer.proxyServiceCertPem !== undefined) {
    const info = readCertificatePem(peer.proxyServiceCertPem);
    if (typeof info === 'string') fail(`${what}: pas: ${info}`);
  }
  const hashes = peer.runtimeHashes ?? {};
  checkRuntimeHashes(hashes, `${what}: `);
  return {
    policy_hash: peer.policyHash,
    proxy_service_cert: peer.proxyServiceCertPem,
    runtime_manager_hash_linux: hashes.linux,
    runtime_manager_hash_nitro: hashes.nitro,
    runtime_manager_hash_sevsnp: hashes.sevsnp,
    runtime_manager_hash_tdx: hashes.tdx,
  };
}

/** A dataflow or await path: a file, with a leading '/'. */
function filePath(text: string, what: string): string {
  const path = text.trim();
  if (path === '') fail(`${what}: an empty path`);
  if (isStdStream(path)) fail(`${what}: ${path} is a standard stream; a file path is expected`);
  if (path.endsWith('/')) fail(`${what}: ${path} ends with '/'; a file path is expected`);
  return withLeadingSlash(path);
}

function buildDataflow(flows: readonly DataflowInput[], ownAddress: string): JsonValue[] {
  const targets = new Map<string, string>();
  return flows.map((flow, index): JsonValue => {
    const what = flow.source ?? `--dataflow ${index + 1}`;
    const file = filePath(flow.file, `${what}: file`);
    const path = filePath(flow.path, `${what}: path`);
    let port: number;
    try {
      port = parseHostPort(flow.address, `${what}: address`).port;
    } catch (error) {
      fail(VeracruzError.from(error).rawMessage);
    }
    if (port === 0) fail(`${what}: address ${flow.address}: port 0 names no isolate`);
    if (flow.address === ownAddress) fail(`${what}: address ${flow.address} is this policy's own veracruz_server_url: an isolate does not send to itself`);
    const target = `${flow.address} ${normalizePath(path)}`;
    const previous = targets.get(target);
    if (previous !== undefined) fail(`${what}: ${normalizePath(path)} at ${flow.address} is already written by ${previous}`);
    targets.set(target, what);
    return { address: flow.address, file, isolate: peerIsolateJson(flow.receiver, `${what}: receiver`), path };
  });
}

function buildAwaitInputs(entries: readonly AwaitInput[], programs: readonly HashedFile[]): JsonValue[] {
  const programPaths = new Set(programs.map((program) => normalizePath(program.policyPath)));
  const waiting = new Map<string, string>();
  return entries.map((entry, index): JsonValue => {
    const what = entry.source ?? `--await ${index + 1}`;
    const program = filePath(entry.program, `${what}: program`);
    const key = normalizePath(program);
    if (!programPaths.has(key)) fail(`${what}: no --program-binary is at ${key}`);
    const previous = waiting.get(key);
    if (previous !== undefined) fail(`${what}: ${key} already waits for inputs (${previous})`);
    waiting.set(key, what);
    if (entry.files.length === 0) fail(`${what}: no files to wait for`);
    const seen = new Set<string>();
    const files = entry.files.map((text) => {
      const file = filePath(text, `${what}: files`);
      if (seen.has(normalizePath(file))) fail(`${what}: ${normalizePath(file)} is listed twice`);
      seen.add(normalizePath(file));
      return file;
    });
    const deadline = entry.deadlineMs ?? DEFAULT_AWAIT_DEADLINE_MS;
    if (!Number.isInteger(deadline) || deadline < 1 || deadline > MAX_AWAIT_DEADLINE_MS) fail(`${what}: deadline_ms must be an integer from 1 to ${MAX_AWAIT_DEADLINE_MS}, got ${deadline}`);
    return { deadline_ms: deadline, files, program };
  });
}

/**
 * Builds the policy JSON value. Throws VeracruzError(InvalidPolicy) naming the flag and value
 * at fault (`--capability 3 of 4 (program /program/a.wasm): "/input:rwz": rights "rwz": ...`).
 */
export function buildPolicy(inputs: PolicyInputs): JsonValue {
  const isolates = inputs.isolates ?? [];
  const owners = [
    ...inputs.certificates.map((certificate) => `certificate ${certificate.source}`),
    ...isolates.map((peer) => `isolate ${peer.policyHash.slice(0, 16)}...`),
    ...inputs.programs.map((program) => `program ${program.policyPath}`),
    ...inputs.pipelines.map((_, index) => `pipeline ${index}`),
  ];
  if (owners.length !== inputs.capabilities.length) {
    const isolateCount = isolates.length === 0 ? '' : `${plural(isolates.length, 'isolate')} + `;
    fail(
      `expected ${owners.length} --capability values (${plural(inputs.certificates.length, 'certificate')} + ${isolateCount}` +
        `${plural(inputs.programs.length, 'program')} + ${plural(inputs.pipelines.length, 'pipeline')}, in that order), ` +
        `got ${inputs.capabilities.length}`,
    );
  }
  const rights = inputs.capabilities.map((text, index) => parseCapability(text, `--capability ${index + 1} of ${owners.length} (${owners[index]})`));
  // Capabilities come in the order of `owners`: certificates, isolates, programs, pipelines.
  const programsFrom = inputs.certificates.length + isolates.length;

  const identities = inputs.certificates.map((certificate, index): JsonValue => {
    const info = readCertificatePem(certificate.pem);
    if (typeof info === 'string') fail(`--certificate ${certificate.source}: ${info}`);
    return { certificate: collapseCertificate(certificate.pem.trim()), id: index, file_rights: rights[index]! as unknown as JsonValue };
  });
  const principals = new Map<string, string>();
  for (const [index, peer] of isolates.entries()) {
    const what = peer.source ?? `--isolate ${index + 1}`;
    const isolate = peerIsolateJson(peer, what);
    const previous = principals.get(peer.policyHash);
    if (previous !== undefined) fail(`${what}: identity hash ${peer.policyHash} is already a principal (${previous}): a principal could not be told apart`);
    principals.set(peer.policyHash, what);
    const id = inputs.certificates.length + index;
    identities.push({ id, isolate, file_rights: rights[inputs.certificates.length + index]! as unknown as JsonValue });
  }

  const programLimits = new Map<string, PolicyLimits>();
  for (const text of inputs.programLimits) {
    const separator = text.search(/:[a-z_]+\s*=/);
    if (separator <= 0) fail(`--program-limits ${JSON.stringify(text)}: expected path:timeout_ms=..,fuel=..,max_memory_mib=..`);
    const path = normalizePath(text.slice(0, separator));
    if (!inputs.programs.some((program) => normalizePath(program.policyPath) === path)) {
      fail(`--program-limits ${JSON.stringify(text)}: no --program-binary is at ${path}`);
    }
    if (programLimits.has(path)) fail(`--program-limits ${JSON.stringify(text)}: limits for ${path} were already given`);
    programLimits.set(path, parseLimits(text.slice(separator + 1), `--program-limits ${path}`));
  }

  const seenPrograms = new Set<string>();
  const programs = inputs.programs.map((program, index): JsonValue => {
    const path = normalizePath(program.policyPath);
    if (seenPrograms.has(path)) fail(`--program-binary ${program.source}: a program is already at ${path}`);
    seenPrograms.add(path);
    const limits = programLimits.get(path);
    return {
      program_file_name: program.policyPath,
      id: index,
      file_rights: rights[programsFrom + index]! as unknown as JsonValue,
      limits: limits === undefined ? undefined : limitsJson(limits),
    };
  });

  const pipelines = inputs.pipelines.map((script, index): JsonValue => {
    try {
      parsePipeline(script);
    } catch (error) {
      fail(`--pipeline ${index + 1} (${JSON.stringify(script)}): ${VeracruzError.from(error).rawMessage}`);
    }
    return {
      name: String(index),
      id: index,
      pipeline: script,
      file_rights: rights[programsFrom + inputs.programs.length + index]! as unknown as JsonValue,
    };
  });

  const hashed = new Map<string, string>();
  const fileHashes = [...inputs.programs, ...inputs.hashes].map((file): JsonValue => {
    const path = normalizePath(file.policyPath);
    const previous = hashed.get(path);
    if (previous !== undefined) fail(`--hashes ${file.source}: ${path} already has a hash (from ${previous})`);
    hashed.set(path, file.source);
    return { file_path: file.policyPath, hash: file.sha256 };
  });

  const nativeModules = inputs.nativeModules.map((module, index): JsonValue => {
    const what = `native module ${index + 1} (${JSON.stringify(module.name)})`;
    if (module.name.trim() === '') fail(`${what}: --native-module-name must not be empty`);
    if (module.specialFile !== '' && module.entryPoint === '') {
      return { name: module.name, type: { Static: { special_file: withLeadingSlash(module.specialFile) } } };
    }
    if (module.specialFile !== '') {
      return { name: module.name, type: { Dynamic: { special_file: withLeadingSlash(module.specialFile), entry_point: module.entryPoint } } };
    }
    if (module.entryPoint !== '') return { name: module.name, type: { Provisioned: { entry_point: module.entryPoint } } };
    return fail(`${what}: give --native-module-special-file, --native-module-entry-point or both`);
  });

  checkRuntimeHashes(inputs.runtimeHashes, '');
  const streamPaths = new Map<string, string>();
  const streams = (inputs.streams ?? []).map((text): JsonValue => {
    const stream = parseStream(text);
    const path = normalizePath(stream.path);
    const previous = streamPaths.get(path);
    if (previous !== undefined) fail(`--stream ${JSON.stringify(text)}: ${path} is already a stream (--stream ${JSON.stringify(previous)})`);
    streamPaths.set(path, text);
    return { ...stream };
  });

  const dataflow = buildDataflow(inputs.dataflow ?? [], inputs.veracruzServer);
  const awaitInputs = buildAwaitInputs(inputs.awaitInputs ?? [], inputs.programs);

  const { linux, nitro, sevsnp, tdx } = inputs.runtimeHashes;
  if (linux === undefined && nitro === undefined && sevsnp === undefined && tdx === undefined) {
    fail('no runtime hash: give at least one of --css-file (linux), --pcr-file (nitro), --sevsnp-hash, --tdx-hash');
  }
  if (inputs.executionStrategy !== 'Interpretation' && inputs.executionStrategy !== 'JIT') {
    fail(`--execution-strategy: expected Interpretation or JIT, got ${JSON.stringify(inputs.executionStrategy)}`);
  }
  const ciphersuite = inputs.ciphersuite ?? DEFAULT_CIPHERSUITE;
  if (tls13Ciphersuite(ciphersuite) === undefined) {
    fail(`--ciphersuite: unknown ${JSON.stringify(ciphersuite)} (known: ${Object.keys(CIPHERSUITES).join(', ')}, or a TLS 1.2 AEAD suite such as TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)`);
  }
  if (inputs.veracruzServer === inputs.proxyAttestationServer) {
    fail(
      `--veracruz-server-ip and --proxy-attestation-server-ip are both ${inputs.veracruzServer}: vc-server and the PAS cannot listen on one address ` +
        '(vc-pas serve listens on 127.0.0.1:3010 unless told otherwise; Veracruz\'s examples put vc-server on 127.0.0.1:3011)',
    );
  }
  if (!Number.isInteger(inputs.maxMemoryMib) || inputs.maxMemoryMib < 1 || inputs.maxMemoryMib > 0xffff_ffff) {
    fail(`--max-memory-mib: expected a positive integer, got ${inputs.maxMemoryMib}`);
  }
  const expiry = inputs.certificateExpiry;
  if (Number.isNaN(expiry.getTime())) fail('--certificate-expiry: not a date (expected RFC 2822 or ISO 8601)');

  return {
    // Written only when given, as `streams` is.
    await_inputs: awaitInputs.length === 0 ? undefined : awaitInputs,
    ciphersuite,
    dataflow: dataflow.length === 0 ? undefined : dataflow,
    debug: inputs.debug,
    enable_clock: inputs.enableClock,
    enclave_cert_expiry: {
      year: expiry.getUTCFullYear(),
      month: expiry.getUTCMonth() + 1,
      day: expiry.getUTCDate(),
      hour: expiry.getUTCHours(),
      minute: expiry.getUTCMinutes(),
    },
    execution_strategy: inputs.executionStrategy,
    file_hashes: fileHashes,
    identities,
    limits: inputs.limits === undefined ? undefined : limitsJson(parseLimits(inputs.limits, '--limits')),
    max_memory_mib: inputs.maxMemoryMib,
    native_modules: nativeModules,
    pipelines,
    programs,
    proxy_attestation_server_url: inputs.proxyAttestationServer,
    proxy_service_cert: inputs.proxyServiceCertPem,
    runtime_manager_hash_linux: linux ?? null,
    runtime_manager_hash_nitro: nitro ?? null,
    runtime_manager_hash_sevsnp: sevsnp ?? null,
    // Written only when given, so that without --tdx-hash the output matches Veracruz's byte for byte.
    runtime_manager_hash_tdx: tdx,
    // Written only when given, as `runtime_manager_hash_tdx` is.
    streams: streams.length === 0 ? undefined : streams,
    veracruz_server_url: inputs.veracruzServer,
  };
}

/**
 * What a party should hear about a policy that is valid but may not do what its author meant: an
 * `enclave_cert_expiry` already past at `now` (vc-server then cannot start an isolate for it), and a
 * TLS 1.2 ciphersuite name (the TLS 1.3 suite with the same cipher is used instead). One sentence each.
 */
export function generationWarnings(inputs: Pick<PolicyInputs, 'certificateExpiry' | 'ciphersuite'>, now: Date): string[] {
  const warnings: string[] = [];
  const expiry = inputs.certificateExpiry;
  // Minutes are what the policy keeps: compare what will be written.
  const written = Date.UTC(expiry.getUTCFullYear(), expiry.getUTCMonth(), expiry.getUTCDate(), expiry.getUTCHours(), expiry.getUTCMinutes());
  if (written <= now.getTime()) {
    warnings.push(
      `--certificate-expiry ${new Date(written).toISOString()} is in the past: vc-server cannot start an isolate for this policy ` +
        "(the isolate's certificate may not be valid after enclave_cert_expiry); give a later date",
    );
  }
  const ciphersuite = inputs.ciphersuite ?? DEFAULT_CIPHERSUITE;
  const tls13 = tls13Ciphersuite(ciphersuite);
  if (tls13 !== undefined && tls13 !== ciphersuite) {
    warnings.push(`--ciphersuite ${ciphersuite} is a TLS 1.2 suite: the isolate speaks TLS 1.3 only, so ${tls13} (the same cipher) is used`);
  }
  return warnings;
}

