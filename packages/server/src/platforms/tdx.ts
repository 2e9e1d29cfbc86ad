import { Code, VeracruzError } from '@veracruz-ts/core';
import type { LaunchOptions, LaunchedIsolate } from './types.ts';

/**
 * Intel TDX: the isolate is a trust domain (confidential VM), not a process on this host.
 *
 * What launching needs (not available on this host, so not faked here):
 * - a TDX host (4th-gen Xeon or later, TDX enabled in BIOS and a TDX host kernel), QEMU with TDX
 *   (`-object tdx-guest,id=tdx -machine confidential-guest-support=tdx`) and TDVF/OVMF;
 * - a guest image that starts Node 24 with the runtime bundle (`--platform tdx`) and exposes the
 *   channel over vsock to this server;
 * - the TD's MRTD, whose first 32 bytes go in the policy's `runtime_manager_hash_tdx`.
 * The guest side is implemented: the isolate gets a quote through configfs-tsm with report data =
 * sha256(CSR) || PAS nonce and returns it as its own evidence.
 */
export async function launchTdxIsolate(_options: LaunchOptions): Promise<LaunchedIsolate> {
  throw new VeracruzError(Code.Unavailable, 'tdx: launching a trust domain needs a TDX host, QEMU with TDX and a guest image (see packages/server/README.md); use --platform linux for development');
}
