/**
 * The commands vc-server tells its operator to run, written so that they work when pasted into a
 * shell from the repository: the `vc-pas enroll` that makes a PAS trust this host's development
 * key, and the build of the runtime bundle.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { devKeyId } from '@veracruz-ts/attestation/evidence';
import { toHex } from '@veracruz-ts/core';

/** A word as a POSIX shell reads it: unquoted when it is plain, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * A name for a development key in the PAS: the host name and the start of the key's id (as
 * `vc-pas keys` lists it), so that two keys of one host get two names. What `vc-pas enroll --name`
 * does not take (1 to 64 letters, digits, '.', '_', '@', '-') becomes '-'.
 */
export async function devKeyName(publicKeyPath: string, host: string = hostname()): Promise<string> {
  const base = host.replace(/[^\w.@-]/g, '-').slice(0, 55) || 'dev-host';
  try {
    return `${base}-${toHex(await devKeyId(await readFile(publicKeyPath, 'utf8'))).slice(0, 8)}`;
  } catch {
    // No readable public key: the host name alone; vc-pas will say what is wrong with the file.
    return base;
  }
}

/**
 * The complete `vc-pas enroll` command for a development public key. The PAS's directory is known
 * only on the PAS host: the command reads it from `$PAS_DIR`, so it can be pasted as it is once
 * that is set (without it, vc-pas says `--dir is required`).
 */
export function enrollCommand(publicKeyPath: string, name: string): string {
  return `npx vc-pas enroll --dir "$PAS_DIR" --name ${shellWord(name)} ${shellWord(publicKeyPath)}`;
}

/** The enroll command with what the operator needs to know around it, on one line. */
export async function enrollHint(publicKeyPath: string): Promise<string> {
  return `on the PAS host, with PAS_DIR set to the directory of its vc-pas init, run: ${enrollCommand(publicKeyPath, await devKeyName(publicKeyPath))}`;
}

/**
 * The command that builds the default runtime bundle, from anywhere: npm runs the script on the
 * Node 24 that `npm ci` installs (the system Node may be older).
 */
export function buildRuntimeCommand(repositoryRoot: string): string {
  return `npm run --prefix ${shellWord(repositoryRoot)} build:runtime`;
}
