/**
 * The claims of an Arm PSA initial attestation token, in both claim-key sets in use:
 * the PSA 2.0.0 profile (`http://arm.com/psa/2.0.0`, EAT keys 10/256/265 and 2394..2400) and the
 * legacy `PSA_IOT_PROFILE_1` (private keys -75000..-75010).
 */
import { decode } from 'cbor2';
import { attestationFailure } from '../platform.ts';

/** One measured software component. */
export interface PsaSoftwareComponent {
  /** Role of the component, e.g. "ARoT", "SPE", "NSPE", "BL". */
  measurementType?: string;
  /** The measurement (hash) of the component. */
  measurementValue: Uint8Array;
  /** Its version string. */
  version?: string;
  /** Hash of the key that signed the component. */
  signerId: Uint8Array;
  /** The hash algorithm of the measurement, e.g. "SHA256". */
  measurementDescription?: string;
}

/** The security lifecycle states of the PSA Security Model (the high byte of the claim). */
export const PSA_LIFECYCLE = {
  [0x0000]: 'unknown',
  [0x1000]: 'assembly-and-test',
  [0x2000]: 'psa-rot-provisioning',
  [0x3000]: 'secured',
  [0x4000]: 'non-psa-rot-debug',
  [0x5000]: 'recoverable-psa-rot-debug',
  [0x6000]: 'decommissioned',
} as const;

/** The name of a lifecycle state. */
export type PsaLifecycleState = (typeof PSA_LIFECYCLE)[keyof typeof PSA_LIFECYCLE];

/** The decoded claims of a PSA token. */
export interface PsaClaims {
  /** "http://arm.com/psa/2.0.0" or "PSA_IOT_PROFILE_1" (the legacy key set). */
  profile: string;
  /** Which claim-key set the token uses. */
  keySet: 'psa-2.0.0' | 'psa-iot-1';
  /** The challenge (32, 48 or 64 bytes). */
  nonce: Uint8Array;
  /** The instance id (UEID): 0x01 followed by 32 bytes (TF-M derives them from the attestation key; a CoMID may bind any). */
  instanceId: Uint8Array;
  /** The implementation id (32 bytes). */
  implementationId: Uint8Array;
  /** The security lifecycle, raw. */
  lifecycle: number;
  /** The security lifecycle state's name. */
  lifecycleState: PsaLifecycleState;
  /** The partition id of the caller. */
  clientId: number;
  /** The boot seed. */
  bootSeed: Uint8Array;
  /** The measured software components (empty when `noSoftwareMeasurements`). */
  softwareComponents: PsaSoftwareComponent[];
  /** Certification reference (2.0.0) or hardware version (legacy). */
  certificationReference?: string;
  /** Where to verify the token. */
  verificationServiceIndicator?: string;
}

/** Claim keys per key set. */
const KEYS = {
  'psa-2.0.0': {
    nonce: 10, instanceId: 256, profile: 265, clientId: 2394, lifecycle: 2395, implementationId: 2396,
    bootSeed: 2397, certificationReference: 2398, softwareComponents: 2399, verificationService: 2400, noSoftwareMeasurements: undefined,
  },
  'psa-iot-1': {
    nonce: -75008, instanceId: -75009, profile: -75000, clientId: -75001, lifecycle: -75002, implementationId: -75003,
    bootSeed: -75004, certificationReference: -75005, softwareComponents: -75006, verificationService: -75010, noSoftwareMeasurements: -75007,
  },
} as const;

/** The 2.0.0 profile name. */
export const PSA_PROFILE_2 = 'http://arm.com/psa/2.0.0';

/** Software component keys (the same in both key sets). */
const COMPONENT = { type: 1, value: 2, version: 4, signerId: 5, description: 6 } as const;

function fail(reason: string): never {
  throw attestationFailure('psa', `token claims: ${reason}`);
}

function bytesClaim(map: Map<unknown, unknown>, key: number, name: string, lengths: readonly number[]): Uint8Array {
  const value = map.get(key);
  if (!(value instanceof Uint8Array)) fail(`${name} (${key}) is missing or not a byte string`);
  if (!lengths.includes(value.byteLength)) fail(`${name} (${key}) is ${value.byteLength} bytes, expected ${lengths.join(' or ')}`);
  return value;
}

function intClaim(map: Map<unknown, unknown>, key: number, name: string): number {
  const value = map.get(key);
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(`${name} (${key}) is missing or not an integer`);
  return value;
}

function textClaim(map: Map<unknown, unknown>, key: number, name: string): string | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(`${name} (${key}) is not a text string`);
  return value;
}

function decodeComponent(value: unknown, index: number): PsaSoftwareComponent {
  if (!(value instanceof Map)) fail(`software component ${index} is not a map`);
  const map = value as Map<unknown, unknown>;
  const measurementValue = map.get(COMPONENT.value);
  if (!(measurementValue instanceof Uint8Array) || measurementValue.byteLength < 32) fail(`software component ${index} measurement value is missing or shorter than 32 bytes`);
  const signerId = map.get(COMPONENT.signerId);
  if (!(signerId instanceof Uint8Array) || signerId.byteLength < 32) fail(`software component ${index} signer id is missing or shorter than 32 bytes`);
  const component: PsaSoftwareComponent = { measurementValue, signerId };
  const type = textClaim(map, COMPONENT.type, `software component ${index} measurement type`);
  const version = textClaim(map, COMPONENT.version, `software component ${index} version`);
  const description = textClaim(map, COMPONENT.description, `software component ${index} measurement description`);
  if (type !== undefined) component.measurementType = type;
  if (version !== undefined) component.version = version;
  if (description !== undefined) component.measurementDescription = description;
  return component;
}

/** Decodes and checks the claims map of a PSA token's payload. */
export function decodePsaClaims(payload: Uint8Array): PsaClaims {
  let value: unknown;
  try {
    value = decode(payload, { preferMap: true, rejectDuplicateKeys: true });
  } catch (error) {
    fail(`payload is not well-formed CBOR (${(error as Error).message})`);
  }
  if (!(value instanceof Map)) fail('payload is not a CBOR map');
  const map = value as Map<unknown, unknown>;
  const keySet = map.has(KEYS['psa-2.0.0'].profile) ? 'psa-2.0.0' : map.has(KEYS['psa-iot-1'].profile) ? 'psa-iot-1' : fail('no profile claim (265 or -75000)');
  const keys = KEYS[keySet];
  const profile = textClaim(map, keys.profile, 'profile') as string;
  if (keySet === 'psa-2.0.0' && profile !== PSA_PROFILE_2) fail(`profile is ${JSON.stringify(profile)}, not ${PSA_PROFILE_2}`);
  if (keySet === 'psa-iot-1' && profile !== 'PSA_IOT_PROFILE_1') fail(`legacy profile is ${JSON.stringify(profile)}, not PSA_IOT_PROFILE_1`);

  const nonce = bytesClaim(map, keys.nonce, 'nonce', [32, 48, 64]);
  const instanceId = bytesClaim(map, keys.instanceId, 'instance id', [33]);
  if (instanceId[0] !== 0x01) fail(`instance id type is 0x${(instanceId[0] ?? 0).toString(16)}, not 0x01 (RAND)`);
  const implementationId = bytesClaim(map, keys.implementationId, 'implementation id', [32]);
  const bootSeed = bytesClaim(map, keys.bootSeed, 'boot seed', [8, 16, 24, 32]);
  const lifecycle = intClaim(map, keys.lifecycle, 'security lifecycle');
  const lifecycleState = PSA_LIFECYCLE[(lifecycle & 0xff00) as keyof typeof PSA_LIFECYCLE];
  if (lifecycle < 0 || lifecycle > 0xffff || lifecycleState === undefined) fail(`security lifecycle 0x${lifecycle.toString(16)} is not a PSA lifecycle state`);
  const clientId = intClaim(map, keys.clientId, 'client id');

  const componentsValue = map.get(keys.softwareComponents);
  let softwareComponents: PsaSoftwareComponent[];
  if (componentsValue === undefined) {
    // Only the legacy set may say "no measurements" explicitly; 2.0.0 makes components mandatory.
    if (keys.noSoftwareMeasurements === undefined || !map.has(keys.noSoftwareMeasurements)) fail(`software components (${keys.softwareComponents}) are missing`);
    softwareComponents = [];
  } else {
    if (!Array.isArray(componentsValue) || componentsValue.length === 0) fail(`software components (${keys.softwareComponents}) is not a non-empty array`);
    softwareComponents = componentsValue.map((component: unknown, index) => decodeComponent(component, index));
  }

  const claims: PsaClaims = { profile, keySet, nonce, instanceId, implementationId, lifecycle, lifecycleState, clientId, bootSeed, softwareComponents };
  const reference = textClaim(map, keys.certificationReference, keySet === 'psa-2.0.0' ? 'certification reference' : 'hardware version');
  const service = textClaim(map, keys.verificationService, 'verification service indicator');
  if (reference !== undefined) claims.certificationReference = reference;
  if (service !== undefined) claims.verificationServiceIndicator = service;
  return claims;
}
