/**
 * What `vc-pgen explain` reports about a policy: a structured summary of who may do what, and the
 * risks (findings) a party should weigh before agreeing. Plain data: the analysis fills it in, the
 * text and JSON renderings lay it out.
 */
import type { PolicyLimits, ProgramLimits, WriterDisconnect } from '@veracruz-ts/policy';

/** How much a finding matters to a party deciding whether to agree. */
export type Severity = 'high' | 'medium' | 'low' | 'info';

/** One finding of the analysis. */
export interface Risk {
  severity: Severity;
  message: string;
}

/** One file-rights entry, explained. */
export interface RightsLine {
  /** Normalized path or stream name. */
  path: string;
  rights: number;
  /** `read, write`, `execute`, `no access`, ... */
  verbs: string;
  /** Short form: `rw`, `x`, `r+FD_TELL`, ... */
  short: string;
}

/** An identity (party), explained. */
export interface PrincipalSummary {
  id: number;
  commonName: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  /** `valid`, `expired`, `not yet valid`, or `expires in N days`. */
  validity: string;
  rights: RightsLine[];
}

/** A program entry, explained. */
export interface ProgramSummary {
  path: string;
  id: number;
  /** The SHA-256 its binary must have, or undefined when any content is accepted. */
  hash: string | undefined;
  rights: RightsLine[];
  limits: ProgramLimits;
  /** Identities that can upload (write) the binary. */
  writableBy: number[];
  /** Identities that can run it (FD_EXECUTE and FD_SEEK on its path). */
  runnableBy: number[];
}

/** A pipeline, explained. */
export interface PipelineSummary {
  index: number;
  name: string;
  id: number;
  script: string;
  programs: string[];
  conditions: string[];
  rights: RightsLine[];
  /** Identities that can run every program of the script. */
  runnableBy: number[];
}

/** A file declared a stream, explained. */
export interface StreamSummary {
  path: string;
  /** `input`: identities append to it and close it; `output`: programs write it, and it ends when such a run finishes. */
  kind: 'input' | 'output';
  /** Identities that can append to it (FD_WRITE on its path): it ends when all of them have closed it. */
  writers: number[];
  /** Programs and pipelines that can write it (`pipeline 0` for a pipeline). */
  writtenBy: string[];
  /** Identities that can follow it as it grows (FD_READ on its path). */
  followers: number[];
  /** Milliseconds after it opens at which it ends; undefined: no deadline. */
  deadlineMs: number | undefined;
  maxBufferedBytes: number;
  onWriterDisconnect: WriterDisconnect;
}

/** A route by which one party's data can reach another party. */
export interface DataFlow {
  /** The identity whose data it is. */
  from: number;
  /** Alternating regions and programs: [region written by `from`, program, region, program, ..., region read by `to`]. */
  route: string[];
  /** The identity that can read the result. */
  to: number;
}

/** The PAS CA another isolate's certificate must chain to, when it is not this policy's own. */
export interface OtherPasSummary {
  subject: string;
  commonName: string;
  /** SHA-256 of the certificate's DER bytes, lowercase hex: to compare with the CA a party knows. */
  sha256: string;
  notBefore: Date;
  notAfter: Date;
  /** `valid`, `expired`, `not yet valid`, or `expires in N days`. */
  validity: string;
}

/** What another isolate must prove to be the one a principal or a `dataflow` entry names. */
export interface PeerSummary {
  /** Whether its certificate must chain to this policy's own PAS CA (`proxy_service_cert`). */
  ownPas: boolean;
  /** The other PAS CA, when {@link PeerSummary.ownPas} is false; `problem` when what is written is no certificate. */
  otherPas?: OtherPasSummary | { problem: string };
  /** Whether the runtime hashes it may carry are this policy's own. */
  ownRuntimes: boolean;
  /** The runtime hashes it may carry, each with the platform it is written for. */
  runtimes: { platform: string; hash: string }[];
}

/** Another isolate as a principal (an `identities` entry with `isolate`), explained. */
export interface IsolatePrincipalSummary {
  id: number;
  /** The identity hash its certificate must carry (its policy's, see `policyIdentityHash`). */
  identityHash: string;
  peer: PeerSummary;
  rights: RightsLine[];
}

/** A `dataflow` entry, explained: a file of this isolate pushed to another isolate. */
export interface DataflowSummary {
  /** The file pushed after every successful program run here. */
  file: string;
  /** Where it is written on the receiving isolate. */
  path: string;
  /** The receiving isolate's address (host:port). */
  address: string;
  /** The policy hash the receiving isolate's certificate must carry: its policy decides who reads `path`. */
  policyHash: string;
  peer: PeerSummary;
  /** Programs and pipelines here that can write `file` (`pipeline 0` for a pipeline). */
  writtenBy: string[];
  /** Principals whose data can reach `file`: they write it, or programs carry their data to it. */
  carries: number[];
}

/** An `await_inputs` entry, explained. */
export interface AwaitInputsSummary {
  program: string;
  /** Each file a run waits for, with the principals and the programs (or pipelines) that can write it. */
  files: { path: string; writers: number[]; writtenBy: string[] }[];
  /** How long a run waits, from the request, before it fails with `unavailable` naming the missing files. */
  deadlineMs: number;
}

/** What a policy in a network of isolates says about its peers; absent when it names none. */
export interface NetworkSummary {
  /** How other isolates' policies name this isolate as a principal (the policy hash when nothing is pushed). */
  identityHash: string;
  isolatePrincipals: IsolatePrincipalSummary[];
  dataflow: DataflowSummary[];
  awaitInputs: AwaitInputsSummary[];
}

/** The isolate's one memory budget, as a party should understand it before agreeing. */
export interface MemoryBudgetSummary {
  /** The policy's `max_memory_mib`: all the memory the isolate may hold for principals, in MiB. */
  mib: number;
  /** What counts against it, one phrase each. */
  holds: string[];
  /** MiB of it that data (files, streams, programs' memory) may not use: kept for serving principals. */
  servingReserveMib: number;
  /** Each program's own memory cap (`programLimits(policy, path).maxMemoryMib`), drawn from the same budget. */
  programs: { path: string; maxMemoryMib: number }[];
}

/** Everything `vc-pgen explain` reports. */
export interface Explanation {
  hash: string;
  at: Date;
  principals: PrincipalSummary[];
  programs: ProgramSummary[];
  pipelines: PipelineSummary[];
  nativeModules: { name: string; kind: string; specialFile?: string; entryPoint?: string }[];
  streams: StreamSummary[];
  runtimes: { platform: string; hash: string }[];
  pas: { url: string; subject: string; commonName: string; notBefore: Date; notAfter: Date; validity: string };
  server: string;
  /**
   * The policy's ciphersuite as written, and the TLS 1.3 suite in use (Veracruz and OpenSSL names):
   * the same suite, unless the policy names a TLS 1.2 suite (the isolate speaks TLS 1.3 only).
   */
  ciphersuite: { veracruz: string; inUse: string; openssl: string; tls12: boolean };
  settings: { debug: boolean; enableClock: boolean; executionStrategy: string; maxMemoryMib: number; limits: PolicyLimits | undefined; defaultLimits: ProgramLimits };
  /** `enclave_cert_expiry` as `YYYY-MM-DD HH:MM` (UTC). */
  enclaveCertExpiry: string;
  /** `valid`, `expired` or `expires in N days`, at {@link Explanation.at}. */
  enclaveCertExpiryValidity: string;
  flows: DataFlow[];
  /**
   * Other isolates as principals, data pushed to other isolates, programs waiting for inputs, and
   * the identity hash: present only when the policy has `isolate` principals, `dataflow` or `await_inputs`.
   */
  network?: NetworkSummary;
  /** Every field this version ignores, by JSON path. */
  unknownFields: string[];
  /** The top-level keys among them, as written. */
  ignoredTopLevelKeys: string[];
  memoryBudget: MemoryBudgetSummary;
  /** Most severe first. Messages are display-safe: policy text in them is already escaped. */
  risks: Risk[];
}
