/**
 * `fleet.json`: what a running fleet tells its parties and scripts: where each isolate listens, its
 * policy file and hashes, and each party's identity files. Paths are absolute.
 */
import type { Fleet } from './launch.ts';
import type { ComputationStatus } from './status.ts';

/** The content of `fleet.json`. */
export interface FleetManifest {
  pas: { url: string; ca_certificate: string };
  isolates: Record<string, { address: string; policy: string; policy_hash: string; identity_hash: string }>;
  parties: Record<string, { certificate: string; key?: string }>;
}

/** The manifest of a running fleet. */
export function fleetManifest(fleet: Fleet<unknown>): FleetManifest {
  return {
    pas: { url: fleet.pas.url, ca_certificate: fleet.pas.caPath },
    isolates: Object.fromEntries(Object.values(fleet.isolates).map((isolate) => [isolate.name, {
      address: isolate.address,
      policy: isolate.policyPath,
      policy_hash: isolate.policyHash,
      identity_hash: isolate.identityHash,
    }])),
    parties: Object.fromEntries(Object.entries(fleet.parties).map(([name, files]) => [name, {
      certificate: files.certificatePath,
      ...(files.keyPath === undefined ? {} : { key: files.keyPath }),
    }])),
  };
}

/** The manifest of a computation a fleet's controller made ready. */
export function computationManifest(computation: ComputationStatus, pas: { url: string; caCertificate: string }): FleetManifest {
  return {
    pas: { url: pas.url, ca_certificate: pas.caCertificate },
    isolates: Object.fromEntries(computation.isolates.map((isolate) => [isolate.name, {
      address: isolate.address ?? '',
      policy: isolate.policyPath ?? '',
      policy_hash: isolate.policyHash ?? '',
      identity_hash: isolate.identityHash ?? '',
    }])),
    parties: structuredClone(computation.parties ?? {}),
  };
}
