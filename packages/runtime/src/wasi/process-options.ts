import type { FileRights } from '@veracruz-ts/policy';
import type { VirtualFileSystem } from '../vfs/file-system.ts';
import type { GuestMemory } from './guest-memory.ts';

/** Live standard streams (vc-fee): when set, they replace the VFS std stream files. */
export interface StreamHooks {
  /** Next bytes of standard input (at most `max`), an empty array or null at end of input. */
  stdin?: (max: number) => Promise<Uint8Array | null>;
  /** Called with each chunk the program writes to fd 1. */
  stdout?: (data: Uint8Array) => void;
  /** Called with each chunk the program writes to fd 2. */
  stderr?: (data: Uint8Array) => void;
}

/** Receives each system call a program made, once answered (see `straceLines` for text lines). */
export type StraceSink = (call: { name: string; args: readonly (number | bigint)[]; memory: GuestMemory; errno: number }) => void;

/** The rights of a computation's subjects as they stand now (see the session's RightsInForce). */
export interface ComputationRights {
  /** Every subject: principals' ids, then `0x80000000 | i` for the i-th program. */
  subjects(): number[];
  /** `subject`'s rights in force on `path` (0: none); undefined if there is no such subject. */
  rightsOf(subject: number, path: string): number | undefined;
  /** The principals that may read `path` now. */
  readers(path: string): number[];
  /** Narrows `subject`'s rights on `path` to `rights` on behalf of program `by`: 0, EPERM (it would widen them) or ENOENT (no such subject). */
  narrow(subject: number, path: string, rights: number, by: string): number;
}

/** What the isolate lets a program sign with: its attested key, certified for this policy. */
export interface ResultSigner {
  /** The isolate's certificate (PEM), issued by the policy's PAS, binding the policy's hash. */
  certificatePem: string;
  /** An ECDSA-SHA256 (DER) signature of `data` by the isolate's key. */
  sign(data: Uint8Array): Uint8Array;
}

/** The computation a program runs in, as `veracruz_v1` shows it (docs/program-abi.md). */
export interface ProgramAbi {
  /** The policy's exact bytes. */
  policyText: Uint8Array;
  /** Its SHA-256. */
  policyHash: Uint8Array;
  rights: ComputationRights;
  /** The running program's path (recorded with its narrowings and signed results). */
  program: string;
  /** Absent where no attested key exists (a local run): `result_sign` is then ENOTSUP. */
  signer?: ResultSigner | undefined;
}

/** What a {@link WasiProcess} needs to know about the program it serves. */
export interface WasiProcessOptions {
  vfs: VirtualFileSystem;
  /** The rights the program runs with. */
  rights: readonly FileRights[];
  /** argv, including argv[0]. */
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /**
   * Whether the clocks may be read (policy `enable_clock`); else clock calls return EACCES as in
   * Veracruz (no WASI right governs clocks, so ENOTCAPABLE, the answer to a missing right, would misdescribe it).
   */
  enableClock: boolean;
  strace?: StraceSink;
  streams?: StreamHooks;
  /** The computation, for `veracruz_v1`; absent outside one (its calls are then ENOTSUP). */
  abi?: ProgramAbi;
}
