/**
 * The Veracruz policy as a value: who may do what, on which isolate, under which limits.
 *
 * The JSON layout is Veracruz's (crates/policy-utils, current schema), so a Veracruz policy loads
 * unchanged. Added, all optional: `runtime_manager_hash_tdx`, a top-level `limits` object, a
 * per-program `limits` object, a top-level `streams` array, isolate principals (`identities[].isolate`),
 * `dataflow` and `await_inputs`. Unknown fields are kept (see {@link Policy.unknownFields}), never
 * an error, so newer policies load in older tools.
 */
import type { CertificateInfo } from './certificate.ts';
import type { PipelineExpr } from './pipeline.ts';
import type { CIPHERSUITES, tls13Ciphersuite } from './policy-ciphersuite.ts';
import type { FileRights } from './rights.ts';
import type { RUNTIME_HASH_FIELDS } from './policy-defaults.ts';

// The format's fixed names and defaults (values, beside these types).
export { DEFAULT_STREAM_BUFFERED_BYTES, DEFAULT_TIMEOUT_MS, RUNTIME_HASH_FIELDS, WASM32_MAX_MEMORY_MIB } from './policy-defaults.ts';

/** How programs are executed, as Veracruz names it. Both mean the same engine here (V8's tiers). */
export type ExecutionStrategy = 'Interpretation' | 'JIT';

/** A platform with a runtime hash field in the policy. */
export type PolicyPlatform = keyof typeof RUNTIME_HASH_FIELDS;

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

/** What a peer isolate must prove: its certificate chains to this PAS CA, carries one of these runtime hashes and this policy hash. */
export interface PolicyPeer {
  /** A principal's: the peer's identity hash (see `policyIdentityHash`); a dataflow's: the receiver's policy hash. Lowercase hex. */
  policy_hash: string;
  /** The PAS CA the peer's certificate must chain to (default: this policy's `proxy_service_cert`). */
  proxy_service_cert: string;
  /** Runtime hashes the peer may carry, lowercase hex, each with the platform it is written for (default: this policy's own). */
  runtimeHashes: { platform: PolicyPlatform; hash: string }[];
}

/** A principal that is another isolate (an `identities` entry with `isolate` instead of `certificate`). */
export interface PolicyIsolatePrincipal {
  id: number;
  /** Derived: its index in the JSON `identities` array (certificate identities are in {@link Policy.identities}). */
  index: number;
  isolate: PolicyPeer;
  file_rights: FileRights[];
}

/** A `dataflow` entry: after a program run succeeds, `file` is pushed to `path` on the isolate at `address`. */
export interface PolicyDataflow {
  file: string;
  path: string;
  address: string;
  isolate: PolicyPeer;
}

/** An `await_inputs` entry: a run of `program` waits until every file exists, at most `deadline_ms`. */
export interface PolicyAwaitInputs {
  program: string;
  files: string[];
  deadline_ms: number;
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

/** What a stream does when a writer's session ends before it sent `close_stream`. */
export type WriterDisconnect = 'abort' | 'close' | 'wait';

/**
 * A file declared a stream (a top-level `streams` entry): writers append to it while programs read
 * it, a read past its current end waits for more, and it ends when every writer has closed it.
 */
export interface PolicyStream {
  /** The stream's file, normalised (absolute, `//`, `.` and `..` resolved). */
  path: string;
  /** The stream ends this many milliseconds after it opens (first append or first wait); absent: never. */
  deadline_ms?: number;
  /** Appends are held while more than this many bytes wait unread by a running program. @default 8388608 */
  max_buffered_bytes: number;
  /** What a writer's session ending before its `close_stream` does. @default 'abort' */
  on_writer_disconnect: WriterDisconnect;
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
  /** The `identities` entries with a `certificate` (Veracruz's principals). */
  identities: PolicyIdentity[];
  /** New: the `identities` entries with an `isolate` (other isolates as principals); absent: []. */
  isolate_principals: PolicyIsolatePrincipal[];
  /** New, optional: outputs pushed to peer isolates; absent: []. */
  dataflow: PolicyDataflow[];
  /** New, optional: programs whose runs wait for their inputs; absent: []. */
  await_inputs: PolicyAwaitInputs[];
  programs: PolicyProgram[];
  file_hashes: FileHash[];
  /** Absent in older policies: then []. */
  pipelines: PolicyPipeline[];
  /** Absent in older policies: then []. */
  native_modules: NativeModule[];
  /** New, optional: the files declared streams; absent: []. */
  streams: PolicyStream[];
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
  /** Derived: how peers name this isolate as a principal (see `policyIdentityHash`); `hash` without dataflow. */
  identityHash: string;
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
