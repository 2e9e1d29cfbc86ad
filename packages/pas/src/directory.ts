import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { type Platform, readPsaEndorsement } from '@veracruz-ts/attestation';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  loadCertificateAuthority,
} from '@veracruz-ts/attestation/certificates';
import { defaultPasConfig, type PasConfig, parsePasConfig } from './config.ts';
import { PLATFORMS } from './platforms.ts';
import { PasStore } from './store.ts';
import { writeFileAtomically } from '@veracruz-ts/policy/node';

/** The configuration file's name inside a PAS directory. */
export const CONFIG_FILE = 'pas.json';

/** Trust inputs for one platform, loaded from the files the configuration names. */
export interface PlatformTrust {
  /** Whether the platform is accepted. */
  enabled: boolean;
  /** Trust anchors (PEM text); absent = the verifier's pinned vendor roots. */
  trustAnchors?: string[];
  /** Endorsement file contents. */
  endorsements: Uint8Array[];
}

/** An opened PAS directory: configuration, CA, database and per-platform trust inputs. */
export interface PasDirectory {
  /** The directory. */
  dir: string;
  /** The parsed configuration. */
  config: PasConfig;
  /** The CA, loaded for signing. */
  ca: CertificateAuthority;
  /** The CA certificate (PEM), as policies list it in `proxy_service_cert`. */
  caCertificatePem: string;
  /** The database. Close it (or the directory) when done. */
  store: PasStore;
  /** Trust inputs per platform. */
  trust: Record<Platform, PlatformTrust>;
}

function resolveIn(dir: string, file: string): string {
  return isAbsolute(file) ? file : join(dir, file);
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/**
 * Reads a configured PSA endorsement (an IAK public key, or a CoMID binding instance ids to keys)
 * as the verifier will, so that one that cannot be read stops the PAS at start rather than refusing
 * every PSA request. Throws `InvalidRequest` naming the file and what is wrong in it.
 */
function checkPsaEndorsement(bytes: Uint8Array, index: number, path: string): void {
  try {
    readPsaEndorsement(bytes, index);
  } catch (error) {
    const reason = error instanceof VeracruzError ? error.rawMessage : String(error);
    throw new VeracruzError(
      Code.InvalidRequest,
      `PAS configuration: ${reason.replace(/^psa: endorsements\[\d+\]/, `platforms.psa.endorsements[${index}] (${path})`)}`,
      { cause: error },
    );
  }
}

/**
 * Creates a PAS directory: a fresh CA (key in a 0600 file, certificate), the configuration
 * with its defaults, and the database. Refuses a directory that already holds a configuration.
 */
export async function initPasDirectory(dir: string): Promise<{ caCertificatePem: string; configPath: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const config = defaultPasConfig();
  const configPath = join(dir, CONFIG_FILE);
  const exists = await stat(configPath).then(() => true, () => false);
  if (exists) throw new VeracruzError(Code.AlreadyExists, `${configPath} exists: this directory is already a PAS`);
  const ca = await createCertificateAuthority();
  const keyPath = resolveIn(dir, config.caKey);
  const databasePath = resolveIn(dir, config.database);
  // Each file appears whole or not at all, and never replaces one that exists. If init fails
  // midway, what it created is removed: a leftover CA key would make the next init refuse.
  const created: string[] = [];
  const create = async (path: string, text: string, mode: number): Promise<void> => {
    await writeFileAtomically(path, text, { mode, exclusive: true });
    created.push(path);
  };
  try {
    try {
      await create(keyPath, ca.privateKeyPem, 0o600);
    } catch (error) {
      if (error instanceof VeracruzError && error.code === Code.AlreadyExists) {
        throw new VeracruzError(Code.AlreadyExists, `${keyPath} exists; refusing to overwrite a CA key`);
      }
      throw error;
    }
    await chmod(keyPath, 0o600); // the umask may have narrowed, never widened, but be explicit
    await create(resolveIn(dir, config.caCertificate), ca.certificatePem, 0o666);
    if (!(await stat(databasePath).then(() => true, () => false))) {
      created.push(databasePath, `${databasePath}-wal`, `${databasePath}-shm`, `${databasePath}-journal`);
    }
    new PasStore(databasePath).close();
    await create(configPath, `${JSON.stringify(config, null, 2)}\n`, 0o666);
  } catch (error) {
    await Promise.all(created.map((path) => rm(path, { force: true })));
    throw error;
  }
  return { caCertificatePem: ca.certificatePem, configPath };
}

/** Reads and parses a PAS directory's configuration. */
export async function readPasConfig(dir: string): Promise<PasConfig> {
  const configPath = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new VeracruzError(Code.NotFound, `${configPath} does not exist; run vc-pas init --dir ${dir}`);
    throw new VeracruzError(Code.Unavailable, `cannot read ${configPath} (${errnoCode(error) ?? 'error'})`);
  }
  return parsePasConfig(text);
}

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new VeracruzError(Code.NotFound, `${what} ${path} cannot be read (${errnoCode(error) ?? 'error'})`);
  }
}

/**
 * Opens a PAS directory for serving: configuration, CA (its key file must not be accessible by
 * group or others), per-platform trust inputs and the database.
 */
export async function openPasDirectory(dir: string): Promise<PasDirectory> {
  const config = await readPasConfig(dir);
  const keyPath = resolveIn(dir, config.caKey);
  const keyStat = await stat(keyPath).catch(() => {
    throw new VeracruzError(Code.NotFound, `CA key ${keyPath} does not exist`);
  });
  if ((keyStat.mode & 0o077) !== 0) {
    throw new VeracruzError(
      Code.PermissionDenied,
      `CA key ${keyPath} is accessible by group or others (mode ${(keyStat.mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  const caCertificatePem = (await readInput(resolveIn(dir, config.caCertificate), 'CA certificate')).toString('utf8');
  const ca = await loadCertificateAuthority({
    certificatePem: caCertificatePem,
    privateKeyPem: (await readInput(keyPath, 'CA key')).toString('utf8'),
  });
  const trust = {} as Record<Platform, PlatformTrust>;
  for (const platform of PLATFORMS) {
    const settings = config.platforms[platform];
    const anchors = await Promise.all(settings.trustAnchors.map(async (file) => (await readInput(resolveIn(dir, file), `${platform} trust anchor`)).toString('utf8')));
    const endorsements = await Promise.all(settings.endorsements.map(async (file) => new Uint8Array(await readInput(resolveIn(dir, file), `${platform} endorsement`))));
    if (platform === 'psa') {
      endorsements.forEach((bytes, index) => {
        checkPsaEndorsement(bytes, index, resolveIn(dir, settings.endorsements[index] as string));
      });
    }
    trust[platform] = { enabled: settings.enabled, endorsements, ...(anchors.length > 0 ? { trustAnchors: anchors } : {}) };
  }
  const store = new PasStore(resolveIn(dir, config.database));
  return { dir, config, ca, caCertificatePem, store, trust };
}

/** Opens only a PAS directory's database, for operator commands that need no CA key. */
export async function openPasStore(dir: string): Promise<PasStore> {
  const config = await readPasConfig(dir);
  return new PasStore(resolveIn(dir, config.database));
}
