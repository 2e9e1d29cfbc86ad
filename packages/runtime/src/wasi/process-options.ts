import type { FileRights } from '@veracruz-ts/policy';
import type { VirtualFileSystem } from '../vfs/file-system.ts';

/** Live standard streams (vc-fee): when set, they replace the VFS std stream files. */
export interface StreamHooks {
  /** Next bytes of standard input (at most `max`), an empty array or null at end of input. */
  stdin?: (max: number) => Promise<Uint8Array | null>;
  /** Called with each chunk the program writes to fd 1. */
  stdout?: (data: Uint8Array) => void;
  /** Called with each chunk the program writes to fd 2. */
  stderr?: (data: Uint8Array) => void;
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
  strace?: (line: string) => void;
  streams?: StreamHooks;
}
