import { Code, VeracruzError } from '@veracruz-ts/core';
import type { Platform } from '@veracruz-ts/attestation';

/** Every platform the PAS knows, in the project's spelling. */
export const PLATFORMS: readonly Platform[] = ['linux', 'nitro', 'psa', 'sev-snp', 'tdx', 'sgx'];

/** The platform names in Veracruz's routes (`POST /proxy/v1/<Name>/<session>`). */
export const ROUTE_NAMES: Readonly<Record<Platform, string>> = {
  linux: 'Linux',
  psa: 'PSA',
  nitro: 'Nitro',
  'sev-snp': 'SEV',
  tdx: 'TDX',
  sgx: 'SGX',
};

const byRouteName = new Map<string, Platform>(Object.entries(ROUTE_NAMES).map(([platform, name]) => [name, platform as Platform]));

/** The platform a route name stands for, or `undefined` for a name Veracruz's routes do not use. */
export function platformOfRouteName(name: string): Platform | undefined {
  return byRouteName.get(name);
}

/** Parses a platform as operators type it (`sev-snp`; `Linux`/`SEV` route names are accepted too). */
export function parsePlatform(text: string): Platform {
  const platform = (PLATFORMS as readonly string[]).includes(text) ? (text as Platform) : platformOfRouteName(text);
  if (platform === undefined) {
    throw new VeracruzError(Code.InvalidRequest, `unknown platform ${JSON.stringify(text)} (expected one of ${PLATFORMS.join(', ')})`);
  }
  return platform;
}
