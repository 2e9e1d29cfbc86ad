/**
 * Bringing a fleet up on this host: a PAS of its own (SQLite in the fleet directory) that trusts this
 * host's development key, the parties' identities, an address per isolate, every policy (see
 * plan.ts), one vc-server per isolate started in parallel, and each isolate's programs uploaded.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { timestamped } from '@veracruz-ts/policy';
import { writeFileAtomically } from '@veracruz-ts/policy/node';
import { DEFAULT_RUNTIME_BUNDLE, type RunningServer } from '@veracruz-ts/server';
import type { IsolateBackend, StartedIsolate } from './backend.ts';
import { ensureIdentity, type IdentityFiles, partyIdentities, provision, readTopologyFiles, runtimeHashOf, sha256Hex, startFleetPas } from './fleet-setup.ts';
import { localBackend } from './local-backend.ts';
import { planFleet } from './plan.ts';
import type { Topology } from './topology.ts';

/** Options of {@link startFleet}. */
export interface StartFleetOptions {
  /** The fleet directory (PAS, identities, policies); created when absent, reused when present. */
  dir: string;
  /** Where the topology's relative paths (programs, party certificates) start. @default process.cwd() */
  baseDir?: string;
  /** The runtime bundle every isolate runs. @default DEFAULT_RUNTIME_BUNDLE */
  runtimePath?: string;
  /** Days from now to every policy's `enclave_cert_expiry`. @default 30 */
  certificateDays?: number;
  /**
   * Upload each isolate's programs before returning, as a principal of the fleet's own that may
   * write exactly those files (whose hashes the policy fixes). Without it, a party needs the write
   * right on the programs and uploads them itself. @default true
   */
  provisionPrograms?: boolean;
  /** Diagnostics: the fleet's steps and every vc-server's lines, led by the isolate's name. @default stderr, each line timed */
  log?: (line: string) => void;
}

/** One isolate of a running fleet. */
export interface FleetIsolate<Started> {
  name: string;
  /** Where its vc-server listens: `host:port`. */
  address: string;
  /** Its policy file in the fleet directory. */
  policyPath: string;
  policyText: string;
  policyHash: string;
  /** What its receivers' policies name it by. */
  identityHash: string;
  /** The backend's handle (a RunningServer on this host). */
  server: Started;
}

/** A running fleet. */
export interface Fleet<Started> {
  dir: string;
  /** The fleet's PAS: its URL and its CA certificate file (every policy's `proxy_service_cert`). */
  pas: { url: string; address: string; caPath: string };
  /**
   * This host's development key (PEM file, mode 0600), which the fleet's PAS trusts: a vc-server
   * started with it and `pas.url` is attested as the fleet's own isolates are (an isolate added
   * alongside the fleet, say).
   */
  devKeyPath: string;
  /** By name, in topology order. */
  isolates: Record<string, FleetIsolate<Started>>;
  /** By name, in topology order. */
  parties: Record<string, IdentityFiles>;
  /** The identity that uploaded the programs, when the fleet did. */
  provisioner: IdentityFiles | undefined;
  /** Stops every isolate, then the PAS; the files stay. Resolves once all are gone; safe to call twice. */
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;

/**
 * Brings a fleet up: its PAS, the parties' identities (made in `dir/parties` unless the topology
 * gives a certificate), an address per isolate, every policy (written to `dir/policies`), and then
 * every isolate in parallel, each on its own vc-server; finally each isolate's programs are uploaded.
 * If any isolate fails to start, all that started are stopped and the error names it.
 */
export function startFleet(topology: Topology, options: StartFleetOptions): Promise<Fleet<RunningServer>>;
/** {@link startFleet} on another backend (the PAS still runs here). */
export function startFleet<Started extends StartedIsolate>(topology: Topology, options: StartFleetOptions & { backend: (pas: { url: string; devKeyPath: string }) => IsolateBackend<Started> }): Promise<Fleet<Started>>;
export async function startFleet(
  topology: Topology,
  options: StartFleetOptions & { backend?: (pas: { url: string; devKeyPath: string }) => IsolateBackend<StartedIsolate> },
): Promise<Fleet<StartedIsolate>> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${timestamped(line, new Date())}\n`));
  const dir = resolve(options.dir);
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const runtimePath = options.runtimePath ?? DEFAULT_RUNTIME_BUNDLE;
  const days = options.certificateDays ?? 30;
  if (!Number.isFinite(days) || days <= 0) throw new VeracruzError(Code.InvalidRequest, `certificateDays: expected a positive number of days, got ${days}`);

  // Everything that can be refused without starting anything is read first.
  const runtimeHash = await runtimeHashOf(runtimePath);
  const files = await readTopologyFiles(topology, baseDir);
  const programBytes = files.programs;

  await mkdir(join(dir, 'policies'), { recursive: true });
  const { pas, devKeyPath, caPath } = await startFleetPas(dir, topology.listen, topology.isolates.length);
  const pasAddress = pas.url.replace(/^http:\/\//, '');
  const backend = options.backend?.({ url: pas.url, devKeyPath }) ?? localBackend({ runtimePath, devKeyPath, pasUrl: pas.url, log: (name, line) => log(`[${name}] ${line}`) });
  const started = new Map<string, StartedIsolate>();
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled([...started.values()].map((server) => backend.stop(server)));
    await pas.close().catch(() => {});
  };
  try {
    const { parties, partyCertificates } = await partyIdentities(topology, baseDir, dir, files.broughtCertificates);
    const provisionPrograms = (options.provisionPrograms ?? true) && topology.isolates.some((isolate) => isolate.programs.length > 0);
    const provisioner = provisionPrograms ? await ensureIdentity(join(dir, 'host'), 'provisioner') : undefined;

    const addresses: Record<string, string> = {};
    for (const isolate of topology.isolates) addresses[isolate.name] = await backend.reserveAddress(isolate.name, topology.listen, isolate.port);
    const now = new Date();
    const plan = await planFleet({
      topology,
      runtimeHash,
      pasCaPem: pas.caCertificatePem,
      pasAddress,
      partyCertificates,
      addresses,
      programHashes: Object.fromEntries([...programBytes].map(([file, bytes]) => [file, sha256Hex(bytes)])),
      ...(provisioner === undefined ? {} : { provisionerCertificate: provisioner.certificatePem }),
      certificateExpiry: new Date(now.getTime() + days * DAY_MS),
      at: now,
    });
    const policyPaths = new Map<string, string>();
    for (const planned of plan.isolates) {
      const path = join(dir, 'policies', `${planned.name}.json`);
      await writeFileAtomically(path, planned.policyText, { mode: 0o644 });
      policyPaths.set(planned.name, path);
    }

    log(`starting ${plan.isolates.length} isolate${plan.isolates.length === 1 ? '' : 's'}: ${plan.isolates.map((planned) => `${planned.name} at ${planned.address}`).join(', ')}`);
    const results = await Promise.allSettled(plan.isolates.map(async (planned) => {
      try {
        started.set(planned.name, await backend.start({ name: planned.name, policyText: planned.policyText, address: planned.address }));
      } catch (error) {
        const failure = VeracruzError.from(error);
        throw new VeracruzError(failure.code, `isolate ${planned.name} (${planned.address}) did not start: ${failure.rawMessage}`, { cause: error });
      }
    }));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;

    if (provisioner !== undefined) {
      await Promise.all(plan.isolates.map(async (planned) => {
        const isolate = topology.isolates.find((candidate) => candidate.name === planned.name)!;
        if (isolate.programs.length === 0) return;
        const programs = isolate.programs.map((program) => ({ path: program.path, bytes: new Uint8Array(programBytes.get(program.file)!) }));
        try {
          await provision(planned.address, planned.policyText, provisioner, programs);
        } catch (error) {
          const failure = VeracruzError.from(error);
          throw new VeracruzError(failure.code, `isolate ${planned.name}: uploading its programs failed: ${failure.rawMessage}`, { cause: error });
        }
      }));
    }

    let closing: Promise<void> | undefined;
    return {
      dir,
      pas: { url: pas.url, address: pasAddress, caPath },
      devKeyPath,
      isolates: Object.fromEntries(plan.isolates.map((planned) => [planned.name, {
        name: planned.name,
        address: planned.address,
        policyPath: policyPaths.get(planned.name)!,
        policyText: planned.policyText,
        policyHash: planned.policyHash,
        identityHash: planned.identityHash,
        server: started.get(planned.name)!,
      }])),
      parties,
      provisioner: provisioner === undefined ? undefined : { certificatePath: provisioner.certificatePath, ...(provisioner.keyPath === undefined ? {} : { keyPath: provisioner.keyPath }) },
      close: () => (closing ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
