/**
 * For tests, benchmarks and demos only: a real vc-pas on loopback in a temporary directory, a host
 * dev key enrolled in it (or not), the built runtime bundle, and a policy that trusts both.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devKeyId, importDevPublicKey } from '@veracruz-ts/attestation/evidence';
import { startPas } from '@veracruz-ts/pas';
import type { PasHandle } from '@veracruz-ts/pas';
import { createIdentity } from '@veracruz-ts/policy';
import type { FileRights, Identity } from '@veracruz-ts/policy';
import { readFile } from 'node:fs/promises';
import { loadOrCreateDevKey } from './dev-key.ts';
import type { LoadedDevKey } from './dev-key.ts';
import { buildRuntimeBundle, sha256 } from '@veracruz-ts/runtime/bundle';
import { startServerWith } from './server.ts';
import type { RunningServer, ServerOptions } from './server.ts';
import type { RuntimeBundle } from '@veracruz-ts/runtime/bundle';

/** A PAS, an enrolled host key, the runtime bundle and a policy, in a temporary directory. */
export interface TestDeployment {
  dir: string;
  pas: PasHandle;
  devKey: LoadedDevKey;
  bundle: RuntimeBundle;
  principal: Identity & { rights: FileRights[] };
  /** The policy text: one principal with rw on /input, /output and stdout; the bundle's hash. */
  policyText: string;
  policyPath: string;
  /** Stops the PAS and removes the directory. */
  remove(): Promise<void>;
}

const RIGHTS_READ_WRITE = 24582 | 534084;

/**
 * Sets up a deployment; `enroll: false` leaves the host's dev key unknown to the PAS; `runtimePath`
 * uses an already built bundle instead of building the default one.
 */
export async function createTestDeployment(options: { enroll?: boolean; runtimePath?: string; maxMemoryMib?: number } = {}): Promise<TestDeployment> {
  const dir = await mkdtemp(join(tmpdir(), 'vc-server-test-'));
  let [bundle, pas, devKey, identity] = await Promise.all([
    options.runtimePath === undefined ? buildRuntimeBundle() : existingBundle(options.runtimePath),
    startPas({ dir: join(dir, 'pas'), initialize: true, listen: '127.0.0.1:0' }),
    loadOrCreateDevKey(join(dir, 'host', 'dev-key.pem')),
    createIdentity('principal-0'),
  ]);
  // A private copy: a rebuild of the shared bundle (sources edited while tests run) cannot change
  // the bytes this deployment's policy trusts.
  const privateBundle = join(dir, 'veracruz-runtime.mjs');
  await copyFile(bundle.path, privateBundle);
  bundle = { ...bundle, path: privateBundle, measurement: sha256(await readFile(privateBundle)) };
  if (options.enroll !== false) {
    const publicKeyPem = await readFile(devKey.publicKeyPath, 'utf8');
    const keyId = Buffer.from(await devKeyId(await importDevPublicKey(publicKeyPem))).toString('hex');
    pas.store.enrollDevKey('test-host', keyId, `${publicKeyPem.trim()}\n`, new Date());
  }
  const rights: FileRights[] = [
    { file_name: '/input', rights: RIGHTS_READ_WRITE },
    { file_name: '/output', rights: RIGHTS_READ_WRITE },
  ];
  const principal = { ...identity, rights };
  const policyText = policyFor({ principal, pasCertificatePem: pas.caCertificatePem, pasAddress: new URL(pas.url).host, runtimeHash: bundle.measurement, ...(options.maxMemoryMib === undefined ? {} : { maxMemoryMib: options.maxMemoryMib }) });
  const policyPath = join(dir, 'policy.json');
  await writeFile(policyPath, policyText);
  return {
    dir, pas, devKey, bundle, principal, policyText, policyPath,
    remove: async () => {
      await pas.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function existingBundle(path: string): Promise<RuntimeBundle> {
  return { path, measurement: sha256(await readFile(path)), rebuilt: false };
}

/** A minimal Veracruz policy (as vc-pgen writes them) for one principal. */
export function policyFor(options: {
  principal: Identity & { rights: FileRights[] }; pasCertificatePem: string; pasAddress: string; runtimeHash: string; serverAddress?: string;
  /** The isolate's memory budget. @default 256 */
  maxMemoryMib?: number;
}): string {
  return JSON.stringify({
    ciphersuite: 'TLS1_3_CHACHA20_POLY1305_SHA256',
    debug: false,
    enable_clock: false,
    enclave_cert_expiry: { day: 1, hour: 0, minute: 0, month: 1, year: 2100 },
    execution_strategy: 'JIT',
    file_hashes: [],
    identities: [{ certificate: options.principal.certificatePem.trim(), file_rights: options.principal.rights, id: 0 }],
    max_memory_mib: options.maxMemoryMib ?? 256,
    native_modules: [],
    pipelines: [],
    programs: [],
    proxy_attestation_server_url: options.pasAddress,
    proxy_service_cert: options.pasCertificatePem.trim(),
    runtime_manager_hash_linux: options.runtimeHash,
    runtime_manager_hash_nitro: null,
    runtime_manager_hash_sevsnp: null,
    veracruz_server_url: options.serverAddress ?? '127.0.0.1:3011',
  }, null, 2);
}

export { fullCollector, GARBAGE, PARTIAL_RECORD, pool, residentMemory, residentMiB, tcpChurn } from './connection-churn.ts';

/**
 * Benchmarks only: `startServer` with its linux isolate run WITHOUT the permission model and
 * with V8's CPU profiler on, writing a `.cpuprofile` to `cpuProfileDirectory` when the isolate exits
 * (`close()` the server). The permission model forbids writing the profile; everything else, the
 * bundle and the data path, is what vc-server runs. Never reachable from vc-server's options.
 */
export function startProfiledServer(options: ServerOptions, cpuProfileDirectory: string): Promise<RunningServer> {
  return startServerWith(options, { linux: { cpuProfileDirectory } });
}
