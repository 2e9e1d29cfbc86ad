import { mkdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { webcrypto } from 'node:crypto';
import { generateDevKey, importDevPrivateKey } from '@veracruz-ts/attestation/evidence';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { writeFileAtomically } from '@veracruz-ts/policy/node';

/** The default place of the host's development key: `$XDG_CONFIG_HOME/veracruz-ts/dev-key.pem` (or ~/.config). */
export function defaultDevKeyPath(): string {
  const base = process.env.XDG_CONFIG_HOME !== undefined && process.env.XDG_CONFIG_HOME !== '' ? process.env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'veracruz-ts', 'dev-key.pem');
}

/** The public key file written beside a dev key: what an operator enrolls with `vc-pas enroll`. */
export function devPublicKeyPath(privateKeyPath: string): string {
  return privateKeyPath.replace(/(\.pem)?$/, '.pub.pem');
}

/** A loaded development key. */
export interface LoadedDevKey {
  /** The signing key (not extractable). */
  privateKey: webcrypto.CryptoKey;
  /** Where the private key lives. */
  privateKeyPath: string;
  /** Where its public key (SPKI PEM) lives. */
  publicKeyPath: string;
  /** Whether it was created just now. */
  created: boolean;
}

/**
 * Loads the host-local development key that signs `linux` evidence, creating it (mode 0600, in a
 * 0700 directory) on first use, with its public key beside it. Refuses a key file that group or
 * others can read, as ssh does: anyone who reads it can forge this host's evidence.
 */
export async function loadOrCreateDevKey(path: string = defaultDevKeyPath()): Promise<LoadedDevKey> {
  const publicKeyPath = devPublicKeyPath(path);
  let privateKeyPem: string;
  let created = false;
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new VeracruzError(Code.PermissionDenied, `dev key ${path} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
    }
    privateKeyPem = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof VeracruzError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new VeracruzError(Code.Unavailable, `dev key ${path} cannot be read: ${(error as Error).message}`);
    }
    const pair = await generateDevKey();
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // Written whole beside it and linked into place only if no key exists: a concurrent vc-server
    // never sees a created but still empty key file, nor replaces one.
    try {
      await writeFileAtomically(path, pair.privateKeyPem, { mode: 0o600, exclusive: true });
    } catch (writeError) {
      // Another vc-server created it first: use that one.
      if (writeError instanceof VeracruzError && writeError.code === Code.AlreadyExists) return loadOrCreateDevKey(path);
      throw new VeracruzError(Code.Unavailable, `dev key ${path} cannot be created: ${(writeError as Error).message}`);
    }
    await writeFileAtomically(publicKeyPath, pair.publicKeyPem, { mode: 0o644 });
    privateKeyPem = pair.privateKeyPem;
    created = true;
  }
  const privateKey = await importDevPrivateKey(privateKeyPem);
  return { privateKey, privateKeyPath: path, publicKeyPath, created };
}
