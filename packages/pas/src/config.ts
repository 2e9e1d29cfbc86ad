import { Code, parseHostPort, VeracruzError } from '@veracruz-ts/core';
import type { Platform } from '@veracruz-ts/attestation';
import { PLATFORMS } from './platforms.ts';
import { DEFAULT_START_LIMITS, START_LIMIT_NAMES, startLimitProblem, type StartLimits } from './start-limits.ts';

/** Per-platform settings of a PAS. */
export interface PlatformConfig {
  /** Whether evidence of this platform is accepted at all. @default true */
  enabled: boolean;
  /** Trust anchor PEM files (relative to the PAS directory); empty = the vendor's pinned roots. */
  trustAnchors: string[];
  /** Endorsement files passed to the verifier: VCEK/VLEK, DCAP collateral JSON, a PSA instance's public key or a CoMID JSON binding PSA instance ids to keys, ... */
  endorsements: string[];
}

/**
 * The PAS configuration (`pas.json` in its directory). The Start limits (`maxOpenSessions`,
 * `startRatePerSecond`, `startBurst`, `startRateMaxClients`) are {@link StartLimits}.
 */
export interface PasConfig extends StartLimits {
  /** Format version of this file. */
  version: 1;
  /** Default `host:port` for `vc-pas serve`. @default '127.0.0.1:3010' */
  listen: string;
  /** The SQLite database file, relative to the directory. @default 'pas.db' */
  database: string;
  /** The CA certificate (PEM), relative to the directory. @default 'ca.pem' */
  caCertificate: string;
  /** The CA private key (PKCS#8 PEM, mode 0600), relative to the directory. @default 'ca.key' */
  caKey: string;
  /** How long a session nonce stays usable. @default 300 */
  sessionTtlSeconds: number;
  /** Lifetime of an issued isolate certificate. @default 86400 */
  certificateValiditySeconds: number;
  /** How far notBefore is backdated, for clients whose clocks lag. @default 60 */
  clockSkewSeconds: number;
  /** The largest request body accepted. @default 1048576 */
  maxBodyBytes: number;
  /** Accept debug evidence. @default false */
  allowDebug: boolean;
  /** Per-platform settings. */
  platforms: Record<Platform, PlatformConfig>;
}

/** The configuration `vc-pas init` writes. */
export function defaultPasConfig(): PasConfig {
  return {
    version: 1,
    listen: '127.0.0.1:3010',
    database: 'pas.db',
    caCertificate: 'ca.pem',
    caKey: 'ca.key',
    sessionTtlSeconds: 300,
    certificateValiditySeconds: 24 * 60 * 60,
    clockSkewSeconds: 60,
    maxBodyBytes: 1024 * 1024,
    allowDebug: false,
    ...DEFAULT_START_LIMITS,
    platforms: Object.fromEntries(
      PLATFORMS.map((platform): [Platform, PlatformConfig] => [platform, { enabled: true, trustAnchors: [], endorsements: [] }]),
    ) as Record<Platform, PlatformConfig>,
  };
}

function invalid(reason: string): VeracruzError {
  return new VeracruzError(Code.InvalidRequest, `PAS configuration: ${reason}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses `pas.json`: missing fields take their defaults, unknown fields and wrong types are
 * refused with the field's name.
 */
export function parsePasConfig(text: string): PasConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw invalid(`not JSON (${(error as Error).message})`);
  }
  if (!isRecord(raw)) throw invalid('not a JSON object');
  const config = defaultPasConfig();
  const known = new Set(Object.keys(config));
  for (const key of Object.keys(raw)) if (!known.has(key)) throw invalid(`unknown field ${JSON.stringify(key)}`);
  if (raw['version'] !== undefined && raw['version'] !== 1) throw invalid(`version ${JSON.stringify(raw['version'])} is not supported (expected 1)`);
  const text_ = (key: 'listen' | 'database' | 'caCertificate' | 'caKey'): void => {
    const value = raw[key];
    if (value === undefined) return;
    if (typeof value !== 'string' || value === '') throw invalid(`${key} must be a non-empty string`);
    config[key] = value;
  };
  const positive = (key: 'sessionTtlSeconds' | 'certificateValiditySeconds' | 'clockSkewSeconds' | 'maxBodyBytes', allowZero = false): void => {
    const value = raw[key];
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (value === 0 && !allowZero)) {
      throw invalid(`${key} must be a ${allowZero ? 'non-negative' : 'positive'} integer`);
    }
    config[key] = value;
  };
  text_('listen');
  text_('database');
  text_('caCertificate');
  text_('caKey');
  positive('sessionTtlSeconds');
  positive('certificateValiditySeconds');
  positive('clockSkewSeconds', true);
  positive('maxBodyBytes');
  for (const name of START_LIMIT_NAMES) {
    const value = raw[name];
    if (value === undefined) continue;
    const reason = startLimitProblem(name, value);
    if (reason !== undefined) throw invalid(reason);
    config[name] = value as number;
  }
  if (raw['allowDebug'] !== undefined) {
    if (typeof raw['allowDebug'] !== 'boolean') throw invalid('allowDebug must be a boolean');
    config.allowDebug = raw['allowDebug'];
  }
  parseListen(config.listen);
  const platforms = raw['platforms'];
  if (platforms !== undefined) {
    if (!isRecord(platforms)) throw invalid('platforms must be an object');
    for (const [name, value] of Object.entries(platforms)) {
      if (!(PLATFORMS as readonly string[]).includes(name)) throw invalid(`platforms: unknown platform ${JSON.stringify(name)}`);
      if (!isRecord(value)) throw invalid(`platforms.${name} must be an object`);
      const target = config.platforms[name as Platform];
      for (const [field, item] of Object.entries(value)) {
        if (field === 'enabled') {
          if (typeof item !== 'boolean') throw invalid(`platforms.${name}.enabled must be a boolean`);
          target.enabled = item;
        } else if (field === 'trustAnchors' || field === 'endorsements') {
          if (!Array.isArray(item) || !item.every((entry) => typeof entry === 'string' && entry !== '')) {
            throw invalid(`platforms.${name}.${field} must be an array of file names`);
          }
          target[field] = item as string[];
        } else {
          throw invalid(`platforms.${name}: unknown field ${JSON.stringify(field)}`);
        }
      }
    }
  }
  return config;
}

/** Splits `host:port` (IPv6 as `[::1]:3010`); port 0 asks the OS for a free one. */
export function parseListen(listen: string): { host: string; port: number } {
  return parseHostPort(listen, 'listen address');
}
