/**
 * Parsing and validating a policy file: the hash covers the bytes as given, the JSON is read field
 * by field, and the first fault is refused naming the JSON path and the reason:
 * `identities[2].certificate: not a PEM certificate`.
 */
import { Code, parseHostPort, sameBytes, VeracruzError } from '@veracruz-ts/core';
import { readCertificatePem, validityProblem, type CertificateInfo } from './certificate.ts';
import { findDuplicateKey } from './json-duplicates.ts';
import { nativeModuleSpecialFile } from './native-modules.ts';
import { parsePipeline, type PipelineExpr } from './pipeline.ts';
import { CIPHERSUITES, tls13Ciphersuite } from './policy-ciphersuite.ts';
import { policyHash } from './policy-hash.ts';
import { policyIdentityHash, readAwaitInputs, readDataflow, readPeer } from './policy-network.ts';
import { readStreams } from './policy-streams.ts';
import { invalid, join, ObjectReader, show } from './policy-json-reader.ts';
import { RUNTIME_HASH_FIELDS, WASM32_MAX_MEMORY_MIB } from './policy-defaults.ts';
import type {
  EnclaveCertExpiry,
  FileHash,
  NativeModule,
  NativeModuleType,
  Policy,
  PolicyIdentity,
  PolicyIsolatePrincipal,
  PolicyLimits,
  PolicyPipeline,
  PolicyPlatform,
  PolicyProgram,
} from './policy-model.ts';
import { formatUnknownRights, isStdStream, isValidRights, normalizePath, type FileRights, ALL_RIGHTS } from './rights.ts';

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
const U32_MAX = 0xffff_ffff;

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

  // Isolate principals default to the policy's own PAS CA and runtime hashes, read further down.
  const isolateEntries: { entry: ObjectReader; id: number; index: number; fileRights: FileRights[] }[] = [];
  const identities: PolicyIdentity[] = [];
  // The JSON index of each certificate identity, for error messages.
  const certificateIndex: number[] = [];
  const ids = root.array('identities').map((item, index) => {
    const entry = new ObjectReader(item, `identities[${index}]`);
    // Below 2^31: the programs' ABI names programs 0x80000000 | index.
    const id = entry.integer('id', 0, 0x7fffffff);
    const fileRights = readFileRights(entry.required('file_rights'), entry.at('file_rights'), unknownFields);
    if (entry.has('isolate') && !entry.has('certificate')) {
      isolateEntries.push({ entry, id, index, fileRights });
      return { id };
    }
    const certificate = entry.string('certificate');
    if (entry.has('isolate')) invalid(entry.at('isolate'), 'an identity is a certificate or an isolate, not both');
    const certificateInfo = readCertificate(certificate, entry.at('certificate'), at, checkValidity);
    entry.collectUnknown(unknownFields);
    identities.push({ certificate, id, file_rights: fileRights, certificateInfo });
    certificateIndex.push(index);
    return { id };
  });
  checkUniqueIds(ids, 'identities');
  identities.forEach((identity, index) => {
    const previous = identities.findIndex((other) => sameBytes(other.certificateInfo.der, identity.certificateInfo.der));
    if (previous !== index) invalid(`identities[${certificateIndex[index]}].certificate`, `same certificate as identities[${certificateIndex[previous]}]: a principal could not be told apart`);
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

  const streams = readStreams(root.raw('streams'), 'streams', unknownFields);

  const url = (key: string): string => {
    const value = root.string(key);
    let port = 0;
    try {
      port = parseHostPort(value).port;
    } catch {
      // refused below, with the policy's own wording
    }
    if (port < 1) invalid(key, `expected host:port (port 1 to 65535), got ${show(value)}`);
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
  const own = {
    proxy_service_cert: proxyServiceCert,
    runtimeHashes: (Object.entries(RUNTIME_HASH_FIELDS) as [PolicyPlatform, keyof typeof hashes][]).flatMap(([platform, field]) => {
      const hash = hashes[field];
      return hash === null ? [] : [{ platform, hash }];
    }),
  };
  const isolatePrincipals = isolateEntries.map(({ entry, id, index, fileRights }): PolicyIsolatePrincipal => {
    const isolate = readPeer(entry.raw('isolate'), entry.at('isolate'), own, unknownFields);
    entry.collectUnknown(unknownFields);
    return { id, index, isolate, file_rights: fileRights };
  });
  const dataflow = readDataflow(root.raw('dataflow'), own, unknownFields);
  const awaitInputs = readAwaitInputs(root.raw('await_inputs'), unknownFields);
  root.collectUnknown(unknownFields);

  const policy: Policy = {
    identities,
    isolate_principals: isolatePrincipals,
    dataflow,
    await_inputs: awaitInputs,
    programs,
    file_hashes: fileHashes,
    pipelines,
    native_modules: nativeModules,
    streams,
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
    identityHash: dataflow.length === 0 ? hash : await policyIdentityHash(text, dataflow),
  };
  if (limits !== undefined) policy.limits = limits;
  return policy;
}
