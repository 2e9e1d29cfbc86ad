/**
 * What a fleet sets up on this host, whether launched at once (launch.ts) or run by the reconciler
 * (controller.ts): a PAS of its own that trusts this host's development key, identities kept in the
 * fleet directory, and the upload of an isolate's programs by the fleet's provisioner.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { devKeyId } from '@veracruz-ts/attestation/evidence';
import { VeracruzClient } from '@veracruz-ts/client';
import { Code, formatHostPort, VeracruzError } from '@veracruz-ts/core';
import { DEFAULT_START_LIMITS, type PasHandle, startPas } from '@veracruz-ts/pas';
import { createIdentity } from '@veracruz-ts/policy';
import { writeFileAtomically } from '@veracruz-ts/policy/node';
import { loadOrCreateDevKey } from '@veracruz-ts/server';
import type { Topology } from './topology.ts';

/** An identity's files in the fleet directory. */
export interface IdentityFiles {
  /** The certificate (PEM). */
  certificatePath: string;
  /** The private key (PEM, mode 0600); absent for a party that brought its own certificate. */
  keyPath?: string;
}

/** SHA-256 of `bytes`, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The file at `path`, or a not_found error naming it (led by `what`, when given) and why. */
export async function readNamed(path: string, what?: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new VeracruzError(Code.NotFound, `${what === undefined ? '' : `${what} `}${path}: ${reason}`);
  }
}

/** The identity in `directory` named `name`: reused when both files exist, else made now. */
export async function ensureIdentity(directory: string, name: string): Promise<IdentityFiles & { certificatePem: string; privateKeyPem: string }> {
  const certificatePath = join(directory, `${name}.pem`);
  const keyPath = join(directory, `${name}.key.pem`);
  const existing = await Promise.all([readFile(certificatePath, 'utf8'), readFile(keyPath, 'utf8')]).catch(() => undefined);
  if (existing !== undefined) return { certificatePath, keyPath, certificatePem: existing[0], privateKeyPem: existing[1] };
  await mkdir(directory, { recursive: true });
  const created = await createIdentity(name);
  await writeFileAtomically(keyPath, created.privateKeyPem, { mode: 0o600 });
  await writeFileAtomically(certificatePath, created.certificatePem, { mode: 0o644 });
  return { certificatePath, keyPath, ...created };
}

/** A PAS in `dir/pas` that trusts this host's development key (enrolled once). */
export async function startFleetPas(dir: string, host: string, isolates: number): Promise<{ pas: PasHandle; devKeyPath: string; caPath: string }> {
  // Every isolate starts an attestation session at once, all from this host's address.
  const limits = { startBurst: Math.max(DEFAULT_START_LIMITS.startBurst, 2 * isolates) };
  const pas = await startPas({ dir: join(dir, 'pas'), initialize: true, listen: formatHostPort(host, 0), limits });
  try {
    const devKey = await loadOrCreateDevKey(join(dir, 'host', 'dev-key.pem'));
    const publicKeyPem = await readFile(devKey.publicKeyPath, 'utf8');
    const keyId = Buffer.from(await devKeyId(publicKeyPem)).toString('hex');
    if (!pas.store.listDevKeys().some((key) => key.keyId === keyId)) pas.store.enrollDevKey('fleet-host', keyId, publicKeyPem, new Date());
    const caPath = join(dir, 'pas-ca.pem');
    await writeFileAtomically(caPath, pas.caCertificatePem, { mode: 0o644 });
    return { pas, devKeyPath: devKey.privateKeyPath, caPath };
  } catch (error) {
    await pas.close().catch(() => {});
    throw error;
  }
}

/** Uploads an isolate's programs as the provisioner. */
export async function provision(address: string, policyText: string, identity: { certificatePem: string; privateKeyPem: string }, programs: readonly { path: string; bytes: Uint8Array }[]): Promise<void> {
  const client = await VeracruzClient.connect({ policy: policyText, certificatePem: identity.certificatePem, privateKeyPem: identity.privateKeyPem, address });
  try {
    for (const program of programs) await client.writeFile(program.path, program.bytes);
  } finally {
    await client.close();
  }
}

/** A topology's files, read before anything starts: each program's bytes (by `file`) and each brought party certificate. */
export async function readTopologyFiles(topology: Topology, baseDir: string): Promise<{ programs: Map<string, Buffer>; broughtCertificates: Map<string, string> }> {
  const programs = new Map<string, Buffer>();
  for (const isolate of topology.isolates) {
    for (const program of isolate.programs) {
      if (!programs.has(program.file)) programs.set(program.file, await readNamed(resolve(baseDir, program.file), `isolates.${isolate.name}.programs.${program.path}:`));
    }
  }
  const broughtCertificates = new Map<string, string>();
  for (const party of topology.parties) {
    if (party.certificate === undefined) continue;
    broughtCertificates.set(party.name, (await readNamed(resolve(baseDir, party.certificate), `parties.${party.name}.certificate:`)).toString('utf8'));
  }
  return { programs, broughtCertificates };
}

/** Each party's identity files and certificate: the one it brought, else one kept in `dir/parties` (made once). */
export async function partyIdentities(topology: Topology, baseDir: string, dir: string, brought: ReadonlyMap<string, string>): Promise<{ parties: Record<string, IdentityFiles>; partyCertificates: Record<string, string> }> {
  const parties: Record<string, IdentityFiles> = {};
  const partyCertificates: Record<string, string> = {};
  for (const party of topology.parties) {
    const certificate = brought.get(party.name);
    if (certificate !== undefined) {
      parties[party.name] = { certificatePath: resolve(baseDir, party.certificate!) };
      partyCertificates[party.name] = certificate;
    } else {
      const identity = await ensureIdentity(join(dir, 'parties'), party.name);
      parties[party.name] = { certificatePath: identity.certificatePath, ...(identity.keyPath === undefined ? {} : { keyPath: identity.keyPath }) };
      partyCertificates[party.name] = identity.certificatePem;
    }
  }
  return { parties, partyCertificates };
}

/** The SHA-256 of the runtime bundle at `path` (lowercase hex), or an error saying how to build it. */
export async function runtimeHashOf(path: string): Promise<string> {
  return sha256Hex(await readNamed(path, 'the runtime bundle').catch((error: unknown) => {
    throw new VeracruzError(Code.NotFound, `${VeracruzError.from(error).rawMessage} (build it: npm run build:runtime)`);
  }));
}
