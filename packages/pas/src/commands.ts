import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvidenceClaims, Platform } from '@veracruz-ts/attestation';
import { devKeyId, importDevPublicKey } from '@veracruz-ts/attestation/evidence';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { defaultPasConfig } from './config.ts';
import { initPasDirectory, openPasStore } from './directory.ts';
import { parseMeasurementHex, toHex } from './measurement-policy.ts';
import type { ReferenceKind } from './store.ts';
import { verifyEvidence } from './verify.ts';

/**
 * The operator commands of `vc-pas`, as functions that return what the command prints.
 * Failures are VeracruzErrors with the reason; nothing here prints key material.
 */

async function readInputFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
    throw new VeracruzError(Code.NotFound, `${what} ${path} cannot be read (${code})`);
  }
}

/** `vc-pas init`: creates the PAS directory and says where the CA certificate is. */
export async function initCommand(dir: string): Promise<string> {
  const { caCertificatePem, configPath } = await initPasDirectory(dir);
  const der = Buffer.from(caCertificatePem.replace(/-----[^-]+-----|\s+/g, ''), 'base64');
  const fingerprint = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', der)));
  const caPath = join(dir, defaultPasConfig().caCertificate);
  return (
    `initialised PAS in ${dir} (configuration ${configPath})\n` +
    `CA certificate SHA-256 ${fingerprint}: ${caPath}, for vc-pgen --proxy-attestation-server-cert\n` +
    `serve it with: npx vc-pas serve --dir ${dir}\n`
  );
}

/** `vc-pas enroll`: trusts a `linux` development public key under a name. */
export async function enrollCommand(dir: string, name: string, publicKeyPath: string, now: Date): Promise<string> {
  if (!/^[\w.@-]{1,64}$/.test(name)) {
    throw new VeracruzError(Code.InvalidRequest, `name ${JSON.stringify(name)} must be 1-64 letters, digits, '.', '_', '@' or '-'`);
  }
  const publicKeyPem = (await readInputFile(publicKeyPath, 'public key')).toString('utf8');
  const key = await importDevPublicKey(publicKeyPem);
  const keyId = toHex(await devKeyId(key));
  const store = await openPasStore(dir);
  try {
    store.enrollDevKey(name, keyId, `${publicKeyPem.trim()}\n`, now);
  } finally {
    store.close();
  }
  return `enrolled development key ${name} (key id ${keyId}); linux evidence it signs is accepted and marked insecure\n`;
}

/** `vc-pas unenroll`: withdraws trust in a development key. */
export async function unenrollCommand(dir: string, name: string): Promise<string> {
  const store = await openPasStore(dir);
  try {
    if (!store.removeDevKey(name)) throw new VeracruzError(Code.NotFound, `no development key named ${JSON.stringify(name)} is enrolled`);
  } finally {
    store.close();
  }
  return `removed development key ${name}\n`;
}

/** `vc-pas keys`: the enrolled development keys. */
export async function keysCommand(dir: string, json: boolean): Promise<string> {
  const store = await openPasStore(dir);
  try {
    const keys = store.listDevKeys().map(({ name, keyId, enrolledAt }) => ({ name, keyId, enrolledAt: enrolledAt.toISOString() }));
    if (json) return `${JSON.stringify(keys, null, 2)}\n`;
    return keys.map((key) => `${key.name}\t${key.keyId}\t${key.enrolledAt}\n`).join('');
  } finally {
    store.close();
  }
}

/** `vc-pas reference add|remove|list`. */
export async function referenceCommand(
  action: string,
  dir: string,
  options: { platform?: Platform; measurement?: string; deny: boolean; json: boolean },
  now: Date,
): Promise<string> {
  const kind: ReferenceKind = options.deny ? 'deny' : 'accept';
  const store = await openPasStore(dir);
  try {
    if (action === 'list') {
      const values = store.listReferenceValues(options.platform);
      if (options.json) {
        return `${JSON.stringify(values.map((value) => ({ ...value, addedAt: value.addedAt.toISOString() })), null, 2)}\n`;
      }
      return values.map((value) => `${value.platform}\t${value.kind}\t${value.measurement}\t${value.addedAt.toISOString()}\n`).join('');
    }
    if (action !== 'add' && action !== 'remove') {
      throw new VeracruzError(Code.InvalidRequest, `reference: unknown action ${JSON.stringify(action)} (add, remove or list)`);
    }
    if (options.platform === undefined) throw new VeracruzError(Code.InvalidRequest, `reference ${action}: --platform is required`);
    if (options.measurement === undefined) throw new VeracruzError(Code.InvalidRequest, `reference ${action}: --measurement is required`);
    const measurement = parseMeasurementHex(options.measurement);
    if (action === 'add') {
      store.addReferenceValue(options.platform, measurement, kind, now);
      return kind === 'deny'
        ? `denied ${options.platform} measurement ${measurement}\n`
        : `accepted ${options.platform} measurement ${measurement} (only listed measurements are accepted for ${options.platform} now)\n`;
    }
    if (!store.removeReferenceValue(options.platform, measurement, kind)) {
      throw new VeracruzError(Code.NotFound, `no ${kind} entry for ${options.platform} measurement ${measurement}`);
    }
    return `removed ${kind} entry for ${options.platform} measurement ${measurement}\n`;
  } finally {
    store.close();
  }
}

/** `vc-pas issued`: the audit trail of issued certificates. */
export async function issuedCommand(dir: string, json: boolean): Promise<string> {
  const store = await openPasStore(dir);
  try {
    const records = store.listIssued();
    if (json) {
      const rows = records.map((record) => ({
        ...record,
        issuedAt: record.issuedAt.toISOString(),
        notBefore: record.notBefore.toISOString(),
        notAfter: record.notAfter.toISOString(),
        certificate: Buffer.from(record.certificate).toString('base64'),
      }));
      return `${JSON.stringify(rows, null, 2)}\n`;
    }
    return records
      .map((record) => `${record.issuedAt.toISOString()}\t${record.serial}\t${record.platform}${record.insecure ? ' (insecure)' : ''}\t${record.measurement}\t${record.subject}\tsession ${record.sessionId}\n`)
      .join('');
  } finally {
    store.close();
  }
}

/** Options of {@link verifyCommand}, as `vc-pas verify` takes them. */
export interface VerifyCommandOptions {
  /** The evidence's platform. */
  platform: Platform;
  /** The evidence file, raw or base64 (detected). */
  evidencePath: string;
  /** When to verify at. @default now */
  at?: Date;
  /** The nonce the evidence must carry. */
  nonceHex?: string;
  /** The CSR hash the evidence must bind. */
  csrHashHex?: string;
  /** Endorsement files; for `linux`, enrolled development public keys (PEM). */
  endorsementPaths: string[];
  /** Trust anchor PEM files; default the vendors' pinned roots. */
  trustAnchorPaths: string[];
  /** Accept debug evidence. */
  allowDebug: boolean;
}

/** Reads evidence that may be raw bytes or base64 text (as samples are often shipped). */
export function decodeEvidenceFile(contents: Uint8Array): Uint8Array {
  const text = Buffer.from(contents).toString('latin1').replace(/\s+/g, '');
  if (text.length >= 8 && text.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    return new Uint8Array(Buffer.from(text, 'base64'));
  }
  return contents;
}

function parseHexOption(name: string, text: string): Uint8Array {
  const hex = text.trim().toLowerCase().replace(/^0x/, '');
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-f]+$/.test(hex)) {
    throw new VeracruzError(Code.InvalidRequest, `${name} must be hex`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Claims as JSON: byte strings as lowercase hex. */
export function claimsToJson(claims: EvidenceClaims): string {
  return `${JSON.stringify(claims, (_key, value: unknown) => (value instanceof Uint8Array ? toHex(value) : value), 2)}\n`;
}

/** `vc-pas verify`: checks evidence by hand and returns the claims as JSON; throws on refusal. */
export async function verifyCommand(options: VerifyCommandOptions): Promise<string> {
  const evidence = decodeEvidenceFile(new Uint8Array(await readInputFile(options.evidencePath, 'evidence')));
  const endorsements = await Promise.all(options.endorsementPaths.map(async (path) => new Uint8Array(await readInputFile(path, 'endorsement'))));
  const trustAnchors = await Promise.all(options.trustAnchorPaths.map(async (path) => (await readInputFile(path, 'trust anchor')).toString('utf8')));
  const claims = await verifyEvidence(options.platform, evidence, {
    at: options.at ?? new Date(),
    allowDebug: options.allowDebug,
    ...(options.platform === 'linux'
      ? { enrolledKeys: endorsements.map((bytes) => Buffer.from(bytes).toString('utf8')) }
      : { endorsements }),
    ...(trustAnchors.length > 0 ? { trustAnchors } : {}),
    ...(options.nonceHex === undefined ? {} : { expectedNonce: parseHexOption('--nonce', options.nonceHex) }),
    ...(options.csrHashHex === undefined ? {} : { expectedCsrHash: parseHexOption('--csr-hash', options.csrHashHex) }),
  });
  return claimsToJson(claims);
}
