/**
 * The Veracruz policy: its types, parsing with precise errors, its hash, and lookups.
 *
 * The JSON layout is Veracruz's (crates/policy-utils, current schema), so a Veracruz policy loads
 * unchanged. Added, all optional: `runtime_manager_hash_tdx`, a top-level `limits` object and a
 * per-program `limits` object. Unknown fields are kept (see {@link Policy.unknownFields}), never
 * an error, so newer policies load in older tools. Errors name the JSON path and the reason:
 * `identities[2].certificate: not a PEM certificate`.
 */
import { sameBytes, toHex } from '@veracruz-ts/core';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { readCertificatePem, validityProblem, type CertificateInfo } from './certificate.ts';
import { findDuplicateKey } from './json-duplicates.ts';
import { parsePipeline, type PipelineExpr } from './pipeline.ts';
import { formatUnknownRights, isStdStream, isValidRights, normalizePath, type FileRights, ALL_RIGHTS } from './rights.ts';

/** The Veracruz ciphersuite names a policy may use, mapped to the names OpenSSL (node:tls) uses. */
export const CIPHERSUITES: Readonly<Record<string, string>> = Object.freeze({
  TLS1_3_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
  TLS1_3_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS1_3_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS1_3_AES_128_CCM_SHA256: 'TLS_AES_128_CCM_SHA256',
  TLS1_3_AES_128_CCM_8_SHA256: 'TLS_AES_128_CCM_8_SHA256',
});

/** The TLS 1.3 suite with the same AEAD cipher as a TLS 1.2 suite ending in that cipher's name. */
const TLS13_FOR_TLS12_CIPHER: Readonly<Record<string, string>> = {
  CHACHA20_POLY1305_SHA256: 'TLS1_3_CHACHA20_POLY1305_SHA256',
  AES_128_GCM_SHA256: 'TLS1_3_AES_128_GCM_SHA256',
  AES_256_GCM_SHA384: 'TLS1_3_AES_256_GCM_SHA384',
  AES_128_CCM: 'TLS1_3_AES_128_CCM_SHA256',
  AES_128_CCM_8: 'TLS1_3_AES_128_CCM_8_SHA256',
};

/**
 * TLS 1.2 ciphersuite names a Veracruz policy may carry (Veracruz looked the name up in mbedTLS, so
 * its TLS 1.2 suites passed), in IANA form (`TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256`) and
 * with a version prefix (`TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256`): the AEAD suites with
 * forward secrecy. Each maps to the TLS 1.3 suite (Veracruz name) with the same AEAD cipher, which
 * is what the isolate and the clients then use: they speak TLS 1.3 only.
 */
export const TLS12_CIPHERSUITES: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    ['ECDHE_ECDSA', 'ECDHE_RSA', 'DHE_RSA'].flatMap((exchange) =>
      Object.entries(TLS13_FOR_TLS12_CIPHER)
        // IANA defines the CCM suites for ECDHE_ECDSA and DHE_RSA only.
        .filter(([cipher]) => !(exchange === 'ECDHE_RSA' && cipher.includes('CCM')))
        .flatMap(([cipher, tls13]) => ['TLS', 'TLS1_2'].map((prefix) => [`${prefix}_${exchange}_WITH_${cipher}`, tls13])),
    ),
  ),
);

/**
 * The TLS 1.3 suite (Veracruz name, a key of {@link CIPHERSUITES}) that a policy's `ciphersuite`
 * puts in use: the name itself, or for a {@link TLS12_CIPHERSUITES} name the TLS 1.3 suite with the
 * same AEAD cipher. Undefined for a name no Veracruz policy could carry.
 */
export function tls13Ciphersuite(veracruzName: string): string | undefined {
  if (Object.hasOwn(CIPHERSUITES, veracruzName)) return veracruzName;
  return Object.hasOwn(TLS12_CIPHERSUITES, veracruzName) ? TLS12_CIPHERSUITES[veracruzName] : undefined;
}

/** The OpenSSL (node:tls `ciphers`) name of the TLS 1.3 suite a policy's ciphersuite puts in use. */
export function opensslCiphersuite(veracruzName: string): string {
  const tls13 = tls13Ciphersuite(veracruzName);
  const name = tls13 === undefined ? undefined : CIPHERSUITES[tls13];
  if (name === undefined) throw new VeracruzError(Code.InvalidPolicy, `ciphersuite: unknown ciphersuite ${JSON.stringify(veracruzName)}`);
  return name;
}

/** How programs are executed, as Veracruz names it. Both mean the same engine here (V8's tiers). */
export type ExecutionStrategy = 'Interpretation' | 'JIT';

/** The platforms a policy can list a runtime hash for, and the field holding it. */
export const RUNTIME_HASH_FIELDS = {
  linux: 'runtime_manager_hash_linux',
  nitro: 'runtime_manager_hash_nitro',
  'sev-snp': 'runtime_manager_hash_sevsnp',
  tdx: 'runtime_manager_hash_tdx',
} as const;

/** A platform with a runtime hash field in the policy. */
export type PolicyPlatform = keyof typeof RUNTIME_HASH_FIELDS;

/** The most linear memory a wasm32 program can have: 65536 pages of 64 KiB. */
export const WASM32_MAX_MEMORY_MIB = 4096;
/** The wall-clock limit for one program run when the policy sets none. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Resource limits as written in a policy (`limits` at the top level or in a program entry). */
export interface PolicyLimits {
  /** Linear memory cap, MiB, 1 to 4096. */
  max_memory_mib?: number;
  /** Wall-clock limit per run, milliseconds. */
  timeout_ms?: number;
  /** Instruction budget; a JSON number, or a decimal string for values above 2^53 (then a bigint). */
  fuel?: number | bigint;
}

/** A principal: a party identified by its TLS client certificate. */
export interface PolicyIdentity {
  certificate: string;
  id: number;
  file_rights: FileRights[];
  /** Derived (not in the JSON): the parsed certificate. */
  certificateInfo: CertificateInfo;
}

/** A program the policy allows to run, and the rights it has while it runs. */
export interface PolicyProgram {
  program_file_name: string;
  id: number;
  file_rights: FileRights[];
  limits?: PolicyLimits;
}

/** A file whose content is fixed by the policy (programs, reference data). */
export interface FileHash {
  file_path: string;
  /** Lowercase hex SHA-256. */
  hash: string;
}

/** A pipeline script and the rights its programs run with. */
export interface PolicyPipeline {
  name: string;
  id: number;
  pipeline: string;
  file_rights: FileRights[];
  /** Derived (not in the JSON): the parsed script. */
  expr: PipelineExpr;
}

/** A native module ("service"), Veracruz's `NativeModuleType` as written in the JSON. */
export type NativeModuleType =
  | { Static: { special_file: string } }
  | { Dynamic: { special_file: string; entry_point: string } }
  | { Provisioned: { entry_point: string } };

/** A native module entry. */
export interface NativeModule {
  name: string;
  type: NativeModuleType;
}

/** The normalized special file through which a native module is invoked (none for Provisioned modules). */
export function nativeModuleSpecialFile(module: NativeModule): string | undefined {
  if ('Static' in module.type) return normalizePath(module.type.Static.special_file);
  if ('Dynamic' in module.type) return normalizePath(module.type.Dynamic.special_file);
  return undefined;
}

/**
 * Veracruz's `enclave_cert_expiry`, in UTC: the latest time the isolate's certificate may be valid
 * until. vc-server asks the PAS to cap the certificate it issues at this time (and refuses to start
 * once it has passed); clients refuse an isolate whose certificate has expired. Veracruz only
 * range-checked it.
 */
export interface EnclaveCertExpiry {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/** A parsed, validated policy. JSON fields keep their snake_case names; derived ones are camelCase. */
export interface Policy {
  identities: PolicyIdentity[];
  programs: PolicyProgram[];
  file_hashes: FileHash[];
  /** Absent in older policies: then []. */
  pipelines: PolicyPipeline[];
  /** Absent in older policies: then []. */
  native_modules: NativeModule[];
  veracruz_server_url: string;
  proxy_attestation_server_url: string;
  proxy_service_cert: string;
  enclave_cert_expiry: EnclaveCertExpiry;
  /** As written: a {@link CIPHERSUITES} name, or a TLS 1.2 name standing for {@link tls13Ciphersuite}'s suite. */
  ciphersuite: string;
  runtime_manager_hash_linux: string | null;
  runtime_manager_hash_nitro: string | null;
  runtime_manager_hash_sevsnp: string | null;
  runtime_manager_hash_tdx: string | null;
  debug: boolean;
  execution_strategy: ExecutionStrategy;
  enable_clock: boolean;
  max_memory_mib: number;
  /** Default limits for every program (a program's own `limits` override them field by field). */
  limits?: PolicyLimits;
  /** Derived: the PAS CA certificate. */
  proxyServiceCertInfo: CertificateInfo;
  /** Fields this version does not know, by JSON path (`runtime_manager_hash_sgx`, `identities[0].note`), kept as they were. */
  unknownFields: Record<string, unknown>;
  /** The exact text the policy was parsed from. */
  text: string;
  /** Lowercase hex SHA-256 of the exact bytes. */
  hash: string;
}

/** Options of {@link parsePolicy}. */
export interface ParsePolicyOptions {
  /** The time at which certificates must be valid. @default now */
  at?: Date;
  /** Refuse certificates not valid at `at`. Turn off only to inspect a policy (vc-pgen explain). @default true */
  checkValidity?: boolean;
  /** Refuse a program entry without a `file_hashes` entry for its binary. @default true */
  requireProgramHashes?: boolean;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?):([0-9]{1,5})$/;
const U32_MAX = 0xffff_ffff;

function invalid(path: string, reason: string): never {
  throw new VeracruzError(Code.InvalidPolicy, `${path}: ${reason}`);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** A JSON object whose fields are read one by one; the rest are reported as unknown. */
class ObjectReader {
  readonly path: string;
  private readonly value: Record<string, unknown>;
  private readonly seen = new Set<string>();

  constructor(value: unknown, path: string) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      invalid(path === '' ? '(policy)' : path, `expected an object, got ${show(value)}`);
    }
    this.value = value as Record<string, unknown>;
    this.path = path;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.value, key);
  }

  at(key: string): string {
    return join(this.path, key);
  }

  raw(key: string): unknown {
    this.seen.add(key);
    return Object.hasOwn(this.value, key) ? this.value[key] : undefined;
  }

  required(key: string): unknown {
    if (!this.has(key)) invalid(this.at(key), 'missing');
    return this.raw(key);
  }

  string(key: string): string {
    const value = this.required(key);
    if (typeof value !== 'string') invalid(this.at(key), `expected a string, got ${show(value)}`);
    return value;
  }

  nonEmptyString(key: string): string {
    const value = this.string(key);
    if (value.trim() === '') invalid(this.at(key), 'must not be empty');
    return value;
  }

  boolean(key: string): boolean {
    const value = this.required(key);
    if (typeof value !== 'boolean') invalid(this.at(key), `expected true or false, got ${show(value)}`);
    return value;
  }

  integer(key: string, min: number, max: number): number {
    const value = this.required(key);
    if (typeof value !== 'number' || !Number.isInteger(value)) invalid(this.at(key), `expected an integer, got ${show(value)}`);
    if (value < min || value > max) invalid(this.at(key), `${value} is out of range (${min} to ${max})`);
    return value;
  }

  array(key: string, optional = false): unknown[] {
    if (optional && !this.has(key)) return [];
    const value = this.required(key);
    if (!Array.isArray(value)) invalid(this.at(key), `expected an array, got ${show(value)}`);
    return value;
  }

  collectUnknown(into: Record<string, unknown>): void {
    for (const key of Object.keys(this.value)) if (!this.seen.has(key)) into[this.at(key)] = this.value[key];
  }
}

function readFileRights(value: unknown, path: string, unknown: Record<string, unknown>): FileRights[] {
  if (!Array.isArray(value)) invalid(path, `expected an array, got ${show(value)}`);
  const seen = new Map<string, number>();
  return value.map((item, index) => {
    const entry = new ObjectReader(item, join(path, index));
    const fileName = entry.nonEmptyString('file_name');
    if (fileName.includes('\0')) invalid(entry.at('file_name'), 'contains a NUL character');
    const rights = entry.required('rights');
    if (!isValidRights(rights)) {
      const reason =
        typeof rights === 'number' && Number.isInteger(rights) && rights > ALL_RIGHTS
          ? `unknown rights bits ${formatUnknownRights(rights)} in ${rights} (known bits are 0 to 29)`
          : `expected rights as an unsigned integer, got ${show(rights)}`;
      invalid(entry.at('rights'), reason);
    }
    const key = normalizePath(fileName);
    const previous = seen.get(key);
    if (previous !== undefined) {
      invalid(entry.at('file_name'), `${JSON.stringify(fileName)} names the same path as ${join(path, previous)} (${key})`);
    }
    seen.set(key, index);
    entry.collectUnknown(unknown);
    return { file_name: fileName, rights };
  });
}

function readLimits(value: unknown, path: string): PolicyLimits {
  const reader = new ObjectReader(value, path);
  const limits: PolicyLimits = {};
  const allowed = new Set(['max_memory_mib', 'timeout_ms', 'fuel']);
  for (const key of Object.keys(value as object)) {
    // A misspelt limit would silently mean "no limit": refuse it.
    if (!allowed.has(key)) invalid(reader.at(key), 'unknown limit (expected max_memory_mib, timeout_ms or fuel)');
  }
  if (reader.has('max_memory_mib')) limits.max_memory_mib = reader.integer('max_memory_mib', 1, WASM32_MAX_MEMORY_MIB);
  if (reader.has('timeout_ms')) limits.timeout_ms = reader.integer('timeout_ms', 1, U32_MAX);
  if (reader.has('fuel')) {
    const fuel = reader.raw('fuel');
    if (typeof fuel === 'string' && /^[1-9][0-9]*$/.test(fuel)) {
      limits.fuel = BigInt(fuel);
    } else if (typeof fuel === 'number' && Number.isSafeInteger(fuel) && fuel >= 1) {
      limits.fuel = fuel;
    } else {
      invalid(reader.at('fuel'), `expected a positive integer (or a decimal string above 2^53), got ${show(fuel)}`);
    }
  }
  return limits;
}

function readCertificate(pem: string, path: string, at: Date, checkValidity: boolean): CertificateInfo {
  const info = readCertificatePem(pem);
  if (typeof info === 'string') invalid(path, info);
  if (checkValidity) {
    const problem = validityProblem(info, at);
    if (problem !== undefined) invalid(path, `certificate ${info.subject || '(no subject)'} ${problem}`);
  }
  return info;
}

function readNativeModule(value: unknown, path: string, unknown: Record<string, unknown>): NativeModule {
  const entry = new ObjectReader(value, path);
  const name = entry.nonEmptyString('name');
  const type = new ObjectReader(entry.required('type'), entry.at('type'));
  const expected = `expected one of {"Static": {"special_file"}}, {"Dynamic": {"special_file", "entry_point"}}, {"Provisioned": {"entry_point"}}`;
  const kinds = ['Static', 'Dynamic', 'Provisioned'].filter((kind) => type.has(kind));
  if (kinds.length !== 1) invalid(type.path, expected);
  const kind = kinds[0]!;
  const body = new ObjectReader(type.raw(kind), type.at(kind));
  let moduleType: NativeModuleType;
  if (kind === 'Static') moduleType = { Static: { special_file: body.nonEmptyString('special_file') } };
  else if (kind === 'Dynamic') {
    moduleType = { Dynamic: { special_file: body.nonEmptyString('special_file'), entry_point: body.nonEmptyString('entry_point') } };
  } else moduleType = { Provisioned: { entry_point: body.nonEmptyString('entry_point') } };
  body.collectUnknown(unknown);
  type.collectUnknown(unknown);
  entry.collectUnknown(unknown);
  return { name, type: moduleType };
}

function checkUniqueIds(items: readonly { id: number }[], path: string): void {
  const seen = new Map<number, number>();
  items.forEach((item, index) => {
    const previous = seen.get(item.id);
    if (previous !== undefined) invalid(`${path}[${index}].id`, `duplicate id ${item.id} (also ${path}[${previous}].id)`);
    seen.set(item.id, index);
  });
}

/** Lowercase hex SHA-256 of the policy file's exact bytes (a string is hashed as UTF-8). */
export async function policyHash(bytes: string | Uint8Array): Promise<string> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return toHex(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
}

/**
 * Parses and validates a policy file. Pass the file's bytes (or its text) unchanged: the policy
 * hash is computed over exactly those bytes. Throws VeracruzError(InvalidPolicy) naming the JSON
 * path and the reason of the first fault.
 */
export async function parsePolicy(source: string | Uint8Array, options: ParsePolicyOptions = {}): Promise<Policy> {
  const at = options.at ?? new Date();
  if (Number.isNaN(at.getTime())) throw new VeracruzError(Code.InvalidRequest, 'parsePolicy: options.at is not a valid date');
  const checkValidity = options.checkValidity ?? true;
  const requireProgramHashes = options.requireProgramHashes ?? true;
  let text: string;
  if (typeof source === 'string') text = source;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(source);
    } catch {
      invalid('(policy)', 'not UTF-8 text');
    }
  }
  const hash = await policyHash(source);
  let json: unknown;
  const jsonText = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    json = JSON.parse(jsonText);
  } catch (error) {
    invalid('(policy)', `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const duplicate = findDuplicateKey(jsonText);
  if (duplicate !== undefined) {
    invalid(duplicate.path, 'duplicate key: JSON readers disagree on which value counts, so parties could read different policies');
  }
  const unknownFields: Record<string, unknown> = {};
  const root = new ObjectReader(json, '');

  const identities = root.array('identities').map((item, index): PolicyIdentity => {
    const entry = new ObjectReader(item, `identities[${index}]`);
    const certificate = entry.string('certificate');
    const certificateInfo = readCertificate(certificate, entry.at('certificate'), at, checkValidity);
    const id = entry.integer('id', 0, U32_MAX);
    const fileRights = readFileRights(entry.required('file_rights'), entry.at('file_rights'), unknownFields);
    entry.collectUnknown(unknownFields);
    return { certificate, id, file_rights: fileRights, certificateInfo };
  });
  checkUniqueIds(identities, 'identities');
  identities.forEach((identity, index) => {
    const previous = identities.findIndex((other) => sameBytes(other.certificateInfo.der, identity.certificateInfo.der));
    if (previous !== index) invalid(`identities[${index}].certificate`, `same certificate as identities[${previous}]: a principal could not be told apart`);
  });

  const fileHashes = root.array('file_hashes').map((item, index): FileHash => {
    const entry = new ObjectReader(item, `file_hashes[${index}]`);
    const filePath = entry.nonEmptyString('file_path');
    const fileHash = entry.string('hash');
    if (!HEX_SHA256.test(fileHash)) invalid(entry.at('hash'), `expected 64 lowercase hex digits (SHA-256), got ${show(fileHash)}`);
    entry.collectUnknown(unknownFields);
    return { file_path: filePath, hash: fileHash };
  });
  const hashedPaths = new Map<string, number>();
  fileHashes.forEach((entry, index) => {
    const key = normalizePath(entry.file_path);
    const previous = hashedPaths.get(key);
    if (previous !== undefined) invalid(`file_hashes[${index}].file_path`, `${key} already has a hash in file_hashes[${previous}]`);
    hashedPaths.set(key, index);
  });

  const programs = root.array('programs').map((item, index): PolicyProgram => {
    const entry = new ObjectReader(item, `programs[${index}]`);
    const programFileName = entry.nonEmptyString('program_file_name');
    if (isStdStream(programFileName)) invalid(entry.at('program_file_name'), `${programFileName} is a stream, not a program path`);
    const id = entry.integer('id', 0, U32_MAX);
    const fileRights = readFileRights(entry.required('file_rights'), entry.at('file_rights'), unknownFields);
    const program: PolicyProgram = { program_file_name: programFileName, id, file_rights: fileRights };
    if (entry.has('limits')) program.limits = readLimits(entry.raw('limits'), entry.at('limits'));
    if (requireProgramHashes && !hashedPaths.has(normalizePath(programFileName))) {
      invalid(entry.at('program_file_name'), `no hash in file_hashes for ${normalizePath(programFileName)}: anyone allowed to write it could replace the program`);
    }
    entry.collectUnknown(unknownFields);
    return program;
  });
  checkUniqueIds(programs, 'programs');
  const programPaths = new Map<string, number>();
  programs.forEach((program, index) => {
    const key = normalizePath(program.program_file_name);
    const previous = programPaths.get(key);
    if (previous !== undefined) invalid(`programs[${index}].program_file_name`, `${key} is already listed in programs[${previous}]`);
    programPaths.set(key, index);
  });

  const pipelines = root.array('pipelines', true).map((item, index): PolicyPipeline => {
    const entry = new ObjectReader(item, `pipelines[${index}]`);
    const name = entry.string('name');
    const id = entry.integer('id', 0, U32_MAX);
    const script = entry.string('pipeline');
    let expr: PipelineExpr;
    try {
      expr = parsePipeline(script);
    } catch (error) {
      invalid(entry.at('pipeline'), VeracruzError.from(error).rawMessage);
    }
    const fileRights = readFileRights(entry.required('file_rights'), entry.at('file_rights'), unknownFields);
    entry.collectUnknown(unknownFields);
    return { name, id, pipeline: script, file_rights: fileRights, expr };
  });
  checkUniqueIds(pipelines, 'pipelines');

  const nativeModules = root.array('native_modules', true).map((item, index) => readNativeModule(item, `native_modules[${index}]`, unknownFields));
  nativeModules.forEach((module, index) => {
    const previous = nativeModules.findIndex((other) => other.name === module.name);
    if (previous !== index) invalid(`native_modules[${index}].name`, `duplicate module name ${JSON.stringify(module.name)} (also native_modules[${previous}])`);
    const file = nativeModuleSpecialFile(module);
    if (file !== undefined) {
      const clash = nativeModules.findIndex((other) => nativeModuleSpecialFile(other) === file);
      if (clash !== index) invalid(`native_modules[${index}].type`, `special file ${file} is also used by native_modules[${clash}]`);
    }
  });

  const url = (key: string): string => {
    const value = root.string(key);
    const match = HOST_PORT.exec(value);
    const port = match === null ? 0 : Number(match[1]);
    if (match === null || port < 1 || port > 65535) invalid(key, `expected host:port (port 1 to 65535), got ${show(value)}`);
    return value;
  };
  const veracruzServerUrl = url('veracruz_server_url');
  const proxyAttestationServerUrl = url('proxy_attestation_server_url');
  const proxyServiceCert = root.string('proxy_service_cert');
  const proxyServiceCertInfo = readCertificate(proxyServiceCert, 'proxy_service_cert', at, checkValidity);

  const expiry = new ObjectReader(root.required('enclave_cert_expiry'), 'enclave_cert_expiry');
  const enclaveCertExpiry: EnclaveCertExpiry = {
    year: expiry.integer('year', 0, U32_MAX),
    month: expiry.integer('month', 1, 12),
    day: expiry.integer('day', 1, 31),
    hour: expiry.integer('hour', 0, 23),
    minute: expiry.integer('minute', 0, 59),
  };
  const daysInMonth = new Date(Date.UTC(enclaveCertExpiry.year, enclaveCertExpiry.month, 0)).getUTCDate();
  if (enclaveCertExpiry.year <= 275759 && enclaveCertExpiry.day > daysInMonth) {
    invalid('enclave_cert_expiry.day', `${enclaveCertExpiry.day} is out of range (month ${enclaveCertExpiry.month} of ${enclaveCertExpiry.year} has ${daysInMonth} days)`);
  }
  expiry.collectUnknown(unknownFields);

  const ciphersuite = root.string('ciphersuite');
  if (tls13Ciphersuite(ciphersuite) === undefined) {
    invalid(
      'ciphersuite',
      `unknown ciphersuite ${show(ciphersuite)} (known: ${Object.keys(CIPHERSUITES).join(', ')}; ` +
        'or a TLS 1.2 AEAD suite such as TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, for which the TLS 1.3 suite with the same cipher is used)',
    );
  }

  const runtimeHash = (key: string): string | null => {
    const value = root.raw(key);
    // Older policies write "" for a platform they do not use; it means the same as null.
    if (value === undefined || value === null || value === '') return null;
    // SEV-SNP's launch measurement is SHA-384: Veracruz's build passes all 96 digits, which the isolate
    // certificate carries whole; policies written before gave its first 64, which still match.
    if (key === 'runtime_manager_hash_sevsnp') {
      if (typeof value !== 'string' || !/^([0-9a-fA-F]{64}|[0-9a-fA-F]{96})$/.test(value)) {
        invalid(key, `expected 96 hex digits (the SHA-384 launch measurement; older policies give its first 64) or null, got ${show(value)}`);
      }
    } else if (typeof value !== 'string' || !/^[0-9a-fA-F]{64}$/.test(value)) {
      invalid(key, `expected 64 lowercase hex digits (SHA-256) or null, got ${show(value)}`);
    }
    // Build tools print hex in either case; every comparison uses the lowercase form.
    return value.toLowerCase();
  };
  const hashes = {
    runtime_manager_hash_linux: runtimeHash('runtime_manager_hash_linux'),
    runtime_manager_hash_nitro: runtimeHash('runtime_manager_hash_nitro'),
    runtime_manager_hash_sevsnp: runtimeHash('runtime_manager_hash_sevsnp'),
    runtime_manager_hash_tdx: runtimeHash('runtime_manager_hash_tdx'),
  };
  if (Object.values(hashes).every((value) => value === null)) {
    invalid('runtime_manager_hash_*', 'no runtime hash: at least one of runtime_manager_hash_linux, _nitro, _sevsnp, _tdx is required, or no isolate could be trusted');
  }

  const debug = root.boolean('debug');
  const strategy = root.string('execution_strategy');
  if (strategy !== 'Interpretation' && strategy !== 'JIT') invalid('execution_strategy', `expected "Interpretation" or "JIT", got ${show(strategy)}`);
  const enableClock = root.boolean('enable_clock');
  const maxMemoryMib = root.integer('max_memory_mib', 1, U32_MAX);
  const limits = root.has('limits') ? readLimits(root.raw('limits'), 'limits') : undefined;
  root.collectUnknown(unknownFields);

  const policy: Policy = {
    identities,
    programs,
    file_hashes: fileHashes,
    pipelines,
    native_modules: nativeModules,
    veracruz_server_url: veracruzServerUrl,
    proxy_attestation_server_url: proxyAttestationServerUrl,
    proxy_service_cert: proxyServiceCert,
    enclave_cert_expiry: enclaveCertExpiry,
    ciphersuite,
    ...hashes,
    debug,
    execution_strategy: strategy,
    enable_clock: enableClock,
    max_memory_mib: maxMemoryMib,
    proxyServiceCertInfo,
    unknownFields,
    text,
    hash,
  };
  if (limits !== undefined) policy.limits = limits;
  return policy;
}

/** The limits a program runs under, resolved from the policy with defaults filled in. */
export interface ProgramLimits {
  /** Linear memory cap, MiB (at most {@link WASM32_MAX_MEMORY_MIB}). */
  maxMemoryMib: number;
  /** Wall-clock limit per run, milliseconds. */
  timeoutMs: number;
  /** Instruction budget; absent = unlimited. */
  fuel?: bigint | number;
}

/**
 * The limits for running `programFileName`: its program entry's `limits`, else the policy's
 * top-level `limits`, else the defaults: memory = policy `max_memory_mib` capped at 4096 MiB,
 * timeout 60 000 ms, unlimited fuel. Programs not in `programs` (pipeline steps) get the
 * policy-level values.
 */
export function programLimits(policy: Pick<Policy, 'programs' | 'limits' | 'max_memory_mib'>, programFileName: string): ProgramLimits {
  const own = findProgram(policy, programFileName)?.limits ?? {};
  const shared = policy.limits ?? {};
  const limits: ProgramLimits = {
    maxMemoryMib: own.max_memory_mib ?? shared.max_memory_mib ?? Math.min(policy.max_memory_mib, WASM32_MAX_MEMORY_MIB),
    timeoutMs: own.timeout_ms ?? shared.timeout_ms ?? DEFAULT_TIMEOUT_MS,
  };
  const fuel = own.fuel ?? shared.fuel;
  if (fuel !== undefined) limits.fuel = fuel;
  return limits;
}

/** The program entry for a path (compared after {@link normalizePath}), if the policy lists it. */
export function findProgram<P extends Pick<Policy, 'programs'>>(policy: P, path: string): P['programs'][number] | undefined {
  const target = normalizePath(path);
  return policy.programs.find((program) => normalizePath(program.program_file_name) === target);
}

/** The identity whose certificate is exactly these DER bytes (what the TLS peer presented). */
export function findIdentityByCertificate(policy: Pick<Policy, 'identities'>, der: Uint8Array): PolicyIdentity | undefined {
  return policy.identities.find((identity) => sameBytes(identity.certificateInfo.der, der));
}

/** The identity with this id. */
export function findIdentity(policy: Pick<Policy, 'identities'>, id: number): PolicyIdentity | undefined {
  return policy.identities.find((identity) => identity.id === id);
}

/**
 * The pipeline a request names: Veracruz clients send the pipeline's index as a decimal string
 * (vc-pgen names pipelines "0", "1", ...); otherwise the name is matched exactly.
 */
export function findPipeline(policy: Pick<Policy, 'pipelines'>, reference: string | number): PolicyPipeline | undefined {
  const text = String(reference);
  if (/^(0|[1-9][0-9]*)$/.test(text)) {
    const byIndex = policy.pipelines[Number(text)];
    if (byIndex !== undefined) return byIndex;
  }
  return policy.pipelines.find((pipeline) => pipeline.name === text);
}

/** The expected SHA-256 (lowercase hex) of the file at `path`, if the policy fixes one. */
export function expectedFileHash(policy: Pick<Policy, 'file_hashes'>, path: string): string | undefined {
  const target = normalizePath(path);
  return policy.file_hashes.find((entry) => normalizePath(entry.file_path) === target)?.hash;
}

/** The runtime hash the policy trusts for a platform, or undefined when it trusts none there. */
export function runtimeHash(policy: Pick<Policy, (typeof RUNTIME_HASH_FIELDS)[PolicyPlatform]>, platform: PolicyPlatform): string | undefined {
  return policy[RUNTIME_HASH_FIELDS[platform]] ?? undefined;
}
