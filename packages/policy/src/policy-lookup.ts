/**
 * Questions asked of a parsed policy while it is enforced: which principal presented a certificate,
 * which program or pipeline a request names, what hash a file must have, which runtime is trusted,
 * the limits a program runs under, and whether a file is a stream.
 */
import { sameBytes } from '@veracruz-ts/core';
import { DEFAULT_TIMEOUT_MS, RUNTIME_HASH_FIELDS, WASM32_MAX_MEMORY_MIB } from './policy-defaults.ts';
import type {
  Policy,
  PolicyIdentity,
  PolicyPipeline,
  PolicyPlatform,
  PolicyStream,
  ProgramLimits,
} from './policy-model.ts';
import { hasRights, normalizePath, Right } from './rights.ts';

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

/** The stream declared at `path` (compared after {@link normalizePath}), if the file is one. */
export function findStream(policy: Pick<Policy, 'streams'>, path: string): PolicyStream | undefined {
  const target = normalizePath(path);
  return policy.streams.find((stream) => stream.path === target);
}

/**
 * The ids of the identities that write the stream at `path`: those whose rights grant FD_WRITE on
 * it. None means programs write it (an output stream).
 */
export function streamWriters(policy: { identities: readonly Pick<PolicyIdentity, 'id' | 'file_rights'>[] }, path: string): number[] {
  return policy.identities.filter((identity) => hasRights(identity.file_rights, path, Right.FD_WRITE)).map((identity) => identity.id);
}
