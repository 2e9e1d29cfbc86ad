import { Code, VeracruzError } from '@veracruz-ts/core';
import type { LaunchOptions, LaunchedIsolate } from './types.ts';

/**
 * AMD SEV-SNP: the isolate is a confidential VM, not a process on this host.
 *
 * What launching needs (not available on this host, so not faked here):
 * - a SEV-SNP capable host (EPYC Milan or later, SNP enabled in firmware and the kernel: `/dev/sev`),
 *   QEMU with SNP support (`-machine confidential-guest-support=sev0 -object sev-snp-guest,...`) and
 *   OVMF built for SNP;
 * - a guest image whose initrd starts Node 24 with the runtime bundle as PID 1's only job
 *   (`node --no-liftoff veracruz-runtime.mjs --platform sev-snp --channel-fd N`), the channel on a
 *   vsock or virtio-serial port that the host connects to this server's channel;
 * - the launch measurement of that image (`sev-snp-measure`): all 48 bytes (96 hex digits) go in the
 *   policy's `runtime_manager_hash_sevsnp`.
 * The guest side is implemented: the isolate reads its report through configfs-tsm
 * (`/sys/kernel/config/tsm/report`) with report data = sha256(CSR) || PAS nonce and returns it as its
 * own evidence; the PAS verifies it against AMD's VCEK chain.
 */
export async function launchSevSnpIsolate(_options: LaunchOptions): Promise<LaunchedIsolate> {
  throw new VeracruzError(Code.Unavailable, 'sev-snp: launching a confidential VM needs a SEV-SNP host, QEMU with SNP and a guest image (see packages/server/README.md); use --platform linux for development');
}
