// The pieces every demo deploys: the runtime bundle, the parties' identities, a proxy attestation
// service that trusts this host's development key, and vc-server on the linux platform.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { devKeyId } from '@veracruz-ts/attestation/evidence';
import type { VeracruzClient } from '@veracruz-ts/client';
import { type PasHandle, startPas } from '@veracruz-ts/pas';
import { createIdentity } from '@veracruz-ts/policy';
import { run } from './narration.ts';
import { loadOrCreateDevKey, type LoadedDevKey, type RunningServer, type RuntimeBundle, type ServerOptions, startServer } from '@veracruz-ts/server';

/** A party's identity, also written to `<work>/<name>.crt` and `<name>.key` for vc-pgen and vc-client. */
export interface DemoParty {
  certificatePem: string;
  privateKeyPem: string;
  certificatePath: string;
}

/** Creates an identity per name, written to files in `work`. */
export async function createParties<N extends string>(work: string, names: readonly N[]): Promise<Record<N, DemoParty>> {
  return Object.fromEntries(await Promise.all(names.map(async (name) => {
    const identity = await createIdentity(name);
    const certificatePath = join(work, `${name}.crt`);
    await writeFile(certificatePath, identity.certificatePem);
    await writeFile(join(work, `${name}.key`), identity.privateKeyPem, { mode: 0o600 });
    return [name, { ...identity, certificatePath }] as const;
  }))) as Record<N, DemoParty>;
}

/** A PAS in `work/pas` that trusts this host's development key; its CA certificate in `work/pas-ca.crt`. */
export async function startDemoPas(work: string): Promise<{ pas: PasHandle; devKey: LoadedDevKey; keyId: string; caPath: string; address: string }> {
  const pas = await startPas({ dir: join(work, 'pas'), initialize: true, listen: '127.0.0.1:0' });
  const devKey = await loadOrCreateDevKey(join(work, 'host', 'dev-key.pem'));
  const devPublicKeyPem = await readFile(devKey.publicKeyPath, 'utf8');
  const keyId = Buffer.from(await devKeyId(devPublicKeyPem)).toString('hex');
  pas.store.enrollDevKey('demo-host', keyId, devPublicKeyPem, new Date());
  const caPath = join(work, 'pas-ca.crt');
  await writeFile(caPath, pas.caCertificatePem);
  return { pas, devKey, keyId, caPath, address: pas.url.replace(/^http:\/\//, '') };
}

/**
 * Writes a demo's policy with vc-pgen, as a party would: `flags` say who may do what (`-c`, `-p`,
 * `-w`, limits, ...), then the PAS (its host:port and CA certificate file) and the runtime bundle the
 * parties trust, vc-server at 127.0.0.1:3011 and an expiry a day ahead. Returns the file
 * (`work/name`) and its exact text.
 */
export async function writeDemoPolicy(
  work: string,
  pas: { address: string; caPath: string },
  bundle: { path: string },
  flags: readonly string[],
  name = 'policy.json',
): Promise<{ path: string; text: string }> {
  const path = join(work, name);
  run(process.execPath, [
    'packages/tools/bin/vc-pgen.ts', ...flags,
    '-s', '127.0.0.1:3011', '-t', pas.address, '--proxy-attestation-server-cert', pas.caPath,
    '-b', bundle.path, '-x', new Date(Date.now() + 24 * 3600 * 1000).toISOString(), '-o', path,
  ], 'vc-pgen');
  return { path, text: await readFile(path, 'utf8') };
}

/** vc-server on the linux platform for `policyText`, on a free loopback port. */
export function startDemoServer(policyText: string, bundle: RuntimeBundle, devKey: LoadedDevKey, pas: PasHandle, options: Pick<ServerOptions, 'sealedStorage'> = {}): Promise<RunningServer> {
  return startServer({
    policyText, platform: 'linux', runtimePath: bundle.path, devKeyPath: devKey.privateKeyPath, pasUrl: pas.url, listen: '127.0.0.1:0', log: () => {}, ...options,
  });
}

/** Ends the computation through `client`'s party and waits for vc-server to exit; returns how it ended. */
export async function shutDown(client: VeracruzClient, server: RunningServer): Promise<string> {
  await client.shutdown();
  const exit = await server.exited;
  return `vc-server exited (${exit.code}: ${exit.reason})`;
}

/**
 * Closes what a demo started and removes its directory, whatever state the demo stopped in: each
 * close may fail (the demo's own error is the one that matters).
 */
export async function tearDown(started: { clients?: readonly VeracruzClient[]; server: RunningServer | undefined; pas: PasHandle | undefined; work: string }): Promise<void> {
  await Promise.allSettled((started.clients ?? []).map((client) => client.close()));
  await started.server?.close().catch(() => {});
  await started.pas?.close().catch(() => {});
  await rm(started.work, { recursive: true, force: true });
}
