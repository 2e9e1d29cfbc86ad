/**
 * COSE_Sign1 (RFC 9052 §4.2) with ECDSA, as used by AWS Nitro attestation documents, Arm PSA
 * tokens and the project's own `linux` evidence. CBOR by `cbor2`, signatures by WebCrypto.
 */
import type { webcrypto } from 'node:crypto';
import { decode, encode, Tag } from 'cbor2';
import { Code, VeracruzError } from '@veracruz-ts/core';

/** The COSE_Sign1 CBOR tag (RFC 9052 §2). */
export const COSE_SIGN1_TAG = 18;

/** The ECDSA algorithms supported, by COSE name. */
export type CoseAlgorithm = 'ES256' | 'ES384';

/** COSE algorithm identifiers (RFC 9053 §2.1), with the curve and hash each implies. */
const ALGORITHMS = {
  ES256: { id: -7, curve: 'P-256', hash: 'SHA-256', signatureLength: 64 },
  ES384: { id: -35, curve: 'P-384', hash: 'SHA-384', signatureLength: 96 },
} as const;

/** The COSE header label of the algorithm (RFC 9052 §3.1). */
const HEADER_ALG = 1;

/** A CBOR map as cbor2 decodes it with `preferMap`. */
export type CoseHeaderMap = Map<unknown, unknown>;

/** A decoded, not yet verified COSE_Sign1. */
export interface CoseSign1 {
  /** The protected header, decoded. */
  protectedHeader: CoseHeaderMap;
  /** The protected header's exact bytes, as signed. */
  protectedBytes: Uint8Array;
  /** The unprotected header. */
  unprotected: CoseHeaderMap;
  /** The payload bytes (detached payloads are not supported). */
  payload: Uint8Array;
  /** The raw r||s signature. */
  signature: Uint8Array;
  /** The algorithm named by the protected header. */
  alg: CoseAlgorithm;
  /** Whether the structure was wrapped in CBOR tag 18. */
  tagged: boolean;
}

/** Options of {@link signCoseSign1}. */
export interface SignCoseSign1Options {
  /** Wrap the result in CBOR tag 18 (PSA does; Nitro does not). @default true */
  tagged?: boolean;
  /** Externally supplied data bound into the signature. @default empty */
  externalAad?: Uint8Array;
}

const decodeOptions = { preferMap: true, rejectDuplicateKeys: true } as const;

function coseError(reason: string, cause?: unknown): VeracruzError {
  return new VeracruzError(Code.AttestationFailed, `COSE_Sign1: ${reason}`, cause === undefined ? undefined : { cause });
}

function algorithmName(id: unknown): CoseAlgorithm {
  for (const [name, spec] of Object.entries(ALGORITHMS)) if (spec.id === id) return name as CoseAlgorithm;
  throw coseError(`unsupported algorithm ${String(id)} in the protected header (supported: ES256 = -7, ES384 = -35)`);
}

/** The ToBeSigned bytes: CBOR of ["Signature1", protected, external_aad, payload]. */
function sigStructure(protectedBytes: Uint8Array, externalAad: Uint8Array, payload: Uint8Array): Uint8Array {
  return encode(['Signature1', protectedBytes, externalAad, payload]);
}

/**
 * Signs `payload` as a COSE_Sign1 with an ECDSA private key (P-256 for ES256, P-384 for ES384).
 * The algorithm goes in the protected header; `unprotected` is copied as given.
 */
export async function signCoseSign1(
  payload: Uint8Array,
  key: webcrypto.CryptoKey,
  alg: CoseAlgorithm,
  unprotected: CoseHeaderMap = new Map(),
  options: SignCoseSign1Options = {},
): Promise<Uint8Array> {
  const spec = ALGORITHMS[alg];
  checkKey(key, alg, 'sign');
  const protectedBytes = encode(new Map([[HEADER_ALG, spec.id]]));
  const toBeSigned = sigStructure(protectedBytes, options.externalAad ?? new Uint8Array(), payload);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: spec.hash }, key, toBeSigned));
  const structure = [protectedBytes, unprotected, payload, signature];
  return encode(options.tagged === false ? structure : new Tag(COSE_SIGN1_TAG, structure));
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/**
 * Decodes a COSE_Sign1 (tagged with 18 or untagged) without verifying it. Refuses anything that
 * is not exactly one well-formed COSE_Sign1 with a supported algorithm.
 */
export function decodeCoseSign1(bytes: Uint8Array): CoseSign1 {
  let value: unknown;
  try {
    value = decode(bytes, decodeOptions);
  } catch (error) {
    throw coseError(`not well-formed CBOR (${(error as Error).message})`, error);
  }
  let tagged = false;
  if (value instanceof Tag) {
    if (value.tag !== COSE_SIGN1_TAG) throw coseError(`CBOR tag ${String(value.tag)} where tag 18 or an untagged array was expected`);
    tagged = true;
    value = value.contents;
  }
  if (!Array.isArray(value) || value.length !== 4) throw coseError('not a 4-element array [protected, unprotected, payload, signature]');
  const [protectedBytes, unprotected, payload, signature] = value as unknown[];
  if (!isBytes(protectedBytes)) throw coseError('protected header is not a byte string');
  if (!(unprotected instanceof Map)) throw coseError('unprotected header is not a map');
  if (payload === null) throw coseError('detached payloads are not supported');
  if (!isBytes(payload)) throw coseError('payload is not a byte string');
  if (!isBytes(signature)) throw coseError('signature is not a byte string');
  let protectedHeader: unknown = new Map();
  if (protectedBytes.byteLength > 0) {
    try {
      protectedHeader = decode(protectedBytes, decodeOptions);
    } catch (error) {
      throw coseError(`protected header is not well-formed CBOR (${(error as Error).message})`, error);
    }
  }
  if (!(protectedHeader instanceof Map)) throw coseError('protected header does not encode a map');
  if (unprotected.has(HEADER_ALG)) throw coseError('the algorithm must be in the protected header, not the unprotected one');
  const alg = algorithmName(protectedHeader.get(HEADER_ALG));
  if (signature.byteLength !== ALGORITHMS[alg].signatureLength) {
    throw coseError(`${alg} signature is ${signature.byteLength} bytes, expected ${ALGORITHMS[alg].signatureLength} (raw r||s)`);
  }
  return { protectedHeader, protectedBytes, unprotected, payload, signature, alg, tagged };
}

function checkKey(key: webcrypto.CryptoKey, alg: CoseAlgorithm, usage: 'sign' | 'verify'): void {
  const algorithm = key.algorithm as webcrypto.EcKeyAlgorithm;
  if (algorithm.name !== 'ECDSA') throw coseError(`${alg} needs an ECDSA key, got ${algorithm.name}`);
  if (algorithm.namedCurve !== ALGORITHMS[alg].curve) {
    throw coseError(`${alg} needs a ${ALGORITHMS[alg].curve} key, got ${algorithm.namedCurve}`);
  }
  if (!key.usages.includes(usage)) throw coseError(`the key may not be used to ${usage}`);
}

/** Options of {@link verifyCoseSign1}. */
export interface VerifyCoseSign1Options {
  /** Externally supplied data the signature must cover. @default empty */
  externalAad?: Uint8Array;
  /** Refuse any algorithm but this one. */
  alg?: CoseAlgorithm;
}

/**
 * Verifies a COSE_Sign1 (bytes, or the result of {@link decodeCoseSign1}) with an ECDSA public
 * key and returns the decoded structure. Throws `AttestationFailed` when the signature does not verify.
 */
export async function verifyCoseSign1(
  input: Uint8Array | CoseSign1,
  key: webcrypto.CryptoKey,
  options: VerifyCoseSign1Options = {},
): Promise<CoseSign1> {
  const sign1 = input instanceof Uint8Array ? decodeCoseSign1(input) : input;
  if (options.alg !== undefined && sign1.alg !== options.alg) throw coseError(`algorithm ${sign1.alg} where ${options.alg} is required`);
  checkKey(key, sign1.alg, 'verify');
  const toBeSigned = sigStructure(sign1.protectedBytes, options.externalAad ?? new Uint8Array(), sign1.payload);
  const valid = await crypto.subtle.verify({ name: 'ECDSA', hash: ALGORITHMS[sign1.alg].hash }, key, sign1.signature, toBeSigned);
  if (!valid) throw coseError(`${sign1.alg} signature does not verify`);
  return sign1;
}

/** The COSE algorithm whose curve matches an ECDSA key, for callers that pick it from the key. */
export function coseAlgorithmForKey(key: webcrypto.CryptoKey): CoseAlgorithm {
  const curve = (key.algorithm as webcrypto.EcKeyAlgorithm).namedCurve;
  if (curve === 'P-256') return 'ES256';
  if (curve === 'P-384') return 'ES384';
  throw coseError(`no supported COSE algorithm for curve ${String(curve)}`);
}
