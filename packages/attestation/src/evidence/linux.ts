import type { webcrypto } from 'node:crypto';
import { decode, encode } from 'cbor2';
import { Code, sameBytes, toHex, VeracruzError } from '@veracruz-ts/core';
import { type CoseSign1, decodeCoseSign1, signCoseSign1, verifyCoseSign1 } from '../cose.ts';
import type { EvidenceClaims, VerifyOptions } from '../platform.ts';
import { devKeyId, devPublicKeyFor, type EnrolledDevKey, importDevPrivateKey, prepareEnrolledKeys } from './dev-key.ts';

type CryptoKey = webcrypto.CryptoKey;

/** The version of the linux evidence payload this code writes and reads. */
export const LINUX_EVIDENCE_VERSION = 1;

/** COSE header label `kid` (RFC 9052 §3.1): the signing key's id, SHA-256 of its SPKI. */
const HEADER_KID = 4;

const HASH_LENGTH = 32;
const MIN_NONCE_LENGTH = 16;
const MAX_NONCE_LENGTH = 64;
const PAYLOAD_KEYS = ['version', 'platform', 'nonce', 'measurement', 'csr_hash', 'debug'] as const;

/** Options for {@link createLinuxEvidence}. */
export interface LinuxEvidenceOptions {
  /** The host-local development private key (a CryptoKey, or PKCS#8 PEM). */
  devKey: CryptoKey | string;
  /** The PAS session nonce. */
  nonce: Uint8Array;
  /** SHA-256 of the isolate runtime bundle, measured by the launcher before starting it. */
  measurement: Uint8Array;
  /** SHA-256 of the isolate's CSR. */
  csrHash: Uint8Array;
  /** Whether the isolate runs with debugging enabled. @default false */
  debug?: boolean;
}

/** Options for {@link verifyLinuxEvidence}: the usual ones plus the keys an operator enrolled. */
export type LinuxVerifyOptions = VerifyOptions & {
  /** The enrolled development public keys (SPKI PEM, CryptoKeys, or prepared). Evidence by any other key is refused. */
  enrolledKeys: readonly (CryptoKey | string | EnrolledDevKey)[];
};

function failure(reason: string, cause?: unknown): VeracruzError {
  return new VeracruzError(Code.AttestationFailed, `linux: ${reason}`, cause === undefined ? undefined : { cause });
}

function checkLength(what: string, bytes: Uint8Array, min: number, max: number): void {
  if (bytes.length < min || bytes.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw new VeracruzError(Code.InvalidRequest, `linux evidence: ${what} is ${bytes.length} bytes, expected ${expected}`);
  }
}

/**
 * Creates `linux` evidence, as the launcher (which plays the hardware for the software isolate)
 * does: a COSE_Sign1 (ES256, tag 18) signed by the host-local development key, whose payload is
 * the CBOR map `{version: 1, platform: "linux", nonce, measurement, csr_hash, debug}` and whose
 * unprotected header names the key (`kid` = SHA-256 of its SPKI).
 */
export async function createLinuxEvidence(options: LinuxEvidenceOptions): Promise<Uint8Array> {
  checkLength('nonce', options.nonce, MIN_NONCE_LENGTH, MAX_NONCE_LENGTH);
  checkLength('measurement', options.measurement, HASH_LENGTH, HASH_LENGTH);
  checkLength('CSR hash', options.csrHash, HASH_LENGTH, HASH_LENGTH);
  const privateKey = typeof options.devKey === 'string' ? await importDevPrivateKey(options.devKey) : options.devKey;
  const publicKey = await devPublicKeyFor(privateKey);
  const payload = encode(
    new Map<string, unknown>([
      ['version', LINUX_EVIDENCE_VERSION],
      ['platform', 'linux'],
      ['nonce', options.nonce],
      ['measurement', options.measurement],
      ['csr_hash', options.csrHash],
      ['debug', options.debug ?? false],
    ]),
  );
  return signCoseSign1(payload, privateKey, 'ES256', new Map([[HEADER_KID, await devKeyId(publicKey)]]));
}

/**
 * Verifies `linux` evidence against the enrolled development keys and the expected nonce and CSR
 * hash. Refuses (AttestationFailed, precise reason) evidence that is malformed, signed by a key
 * that is not enrolled, badly signed, bound to another nonce or CSR, or from a debug isolate
 * unless `allowDebug`. The claims always say `insecure: true`: a development key is not hardware.
 */
export async function verifyLinuxEvidence(evidence: Uint8Array, options: LinuxVerifyOptions): Promise<EvidenceClaims> {
  if (!(options.at instanceof Date) || Number.isNaN(options.at.getTime())) {
    throw failure('options.at (the time to verify at) must be a valid Date');
  }
  let sign1: CoseSign1;
  try {
    sign1 = decodeCoseSign1(evidence);
  } catch (error) {
    throw failure(`evidence is malformed (${error instanceof VeracruzError ? error.rawMessage : 'not CBOR'})`, error);
  }
  if (sign1.alg !== 'ES256') throw failure(`algorithm ${sign1.alg} where ES256 is required`);
  const kid = sign1.unprotected.get(HEADER_KID) ?? sign1.protectedHeader.get(HEADER_KID);
  if (!(kid instanceof Uint8Array) || kid.length !== HASH_LENGTH) {
    throw failure('evidence does not name its signing key (kid, 32 bytes)');
  }
  const enrolled = await prepareEnrolledKeys(options.enrolledKeys);
  const signer = enrolled.find((key) => sameBytes(key.keyId, kid));
  if (signer === undefined) throw failure(`signed by development key ${toHex(kid)}, which is not enrolled`);
  await verifyCoseSign1(sign1, signer.publicKey, { alg: 'ES256' }).catch((error: unknown) => {
    throw failure(`signature does not verify with enrolled key ${toHex(kid)}`, error);
  });
  const payload = decodePayload(sign1.payload);
  if (options.expectedNonce !== undefined && !sameBytes(payload.nonce, options.expectedNonce)) {
    throw failure(`nonce is ${toHex(payload.nonce)} but ${toHex(options.expectedNonce)} was expected`);
  }
  if (options.expectedCsrHash !== undefined && !sameBytes(payload.csrHash, options.expectedCsrHash)) {
    throw failure(`CSR hash is ${toHex(payload.csrHash)} but ${toHex(options.expectedCsrHash)} was expected`);
  }
  if (payload.debug && options.allowDebug !== true) {
    throw failure('debug evidence refused (the isolate runs with debugging enabled); pass allowDebug to accept it');
  }
  const details: Record<string, unknown> = { version: LINUX_EVIDENCE_VERSION, keyId: toHex(kid) };
  if (signer.name !== undefined) details['keyName'] = signer.name;
  return {
    platform: 'linux',
    measurement: payload.measurement,
    nonce: payload.nonce,
    csrHash: payload.csrHash,
    debug: payload.debug,
    insecure: true,
    details,
  };
}

interface LinuxPayload {
  nonce: Uint8Array;
  measurement: Uint8Array;
  csrHash: Uint8Array;
  debug: boolean;
}

/** Decodes and strictly checks the payload map: known keys only, each of the right type and size. */
function decodePayload(bytes: Uint8Array): LinuxPayload {
  let value: unknown;
  try {
    value = decode(bytes, { preferMap: true, rejectDuplicateKeys: true });
  } catch {
    throw failure('payload is not well-formed CBOR');
  }
  if (!(value instanceof Map)) throw failure('payload is not a CBOR map');
  for (const key of value.keys()) {
    if (!(PAYLOAD_KEYS as readonly unknown[]).includes(key)) throw failure(`payload has an unknown field ${JSON.stringify(String(key))}`);
  }
  const version = value.get('version');
  if (version !== LINUX_EVIDENCE_VERSION) throw failure(`payload version ${String(version)} is not supported (expected ${LINUX_EVIDENCE_VERSION})`);
  if (value.get('platform') !== 'linux') throw failure('payload platform is not "linux"');
  const bytesField = (name: string, min: number, max: number): Uint8Array => {
    const field = value.get(name);
    if (!(field instanceof Uint8Array)) throw failure(`payload field ${name} is missing or not a byte string`);
    if (field.length < min || field.length > max) throw failure(`payload field ${name} is ${field.length} bytes`);
    return field;
  };
  const debug = value.get('debug');
  if (typeof debug !== 'boolean') throw failure('payload field debug is missing or not a boolean');
  return {
    nonce: bytesField('nonce', MIN_NONCE_LENGTH, MAX_NONCE_LENGTH),
    measurement: bytesField('measurement', HASH_LENGTH, HASH_LENGTH),
    csrHash: bytesField('csr_hash', HASH_LENGTH, HASH_LENGTH),
    debug,
  };
}
