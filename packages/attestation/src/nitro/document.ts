/**
 * The AWS Nitro attestation document: the CBOR map inside the COSE_Sign1 payload, with the field
 * types and bounds of AWS's specification (aws-nitro-enclaves-nsm-api, "Attestation document").
 */
import { decode } from 'cbor2';
import { attestationFailure } from '../platform.ts';

/** The decoded payload of a Nitro attestation document. */
export interface NitroDocument {
  /** The enclave's module id, e.g. "i-0bee...-enc0194...". */
  moduleId: string;
  /** The PCR digest algorithm: "SHA384", the only one AWS defines. */
  digest: 'SHA384';
  /** Milliseconds since the epoch when the NSM produced the document. */
  timestamp: number;
  /** PCR index to value. */
  pcrs: Map<number, Uint8Array>;
  /** The leaf certificate (DER) whose key signed the document. */
  certificate: Uint8Array;
  /** The CA bundle (DER), root first: cabundle[0] is the AWS Nitro root. */
  cabundle: Uint8Array[];
  /** Optional enclave public key. */
  publicKey?: Uint8Array;
  /** Optional user data (our isolates put sha256(CSR) here). */
  userData?: Uint8Array;
  /** Optional nonce (our isolates put the PAS nonce here). */
  nonce?: Uint8Array;
}

const PCR_LENGTH = 48;
const MAX_PCRS = 32;
const MAX_OPTIONAL = { public_key: 1024, user_data: 512, nonce: 512 } as const;

function fail(reason: string): never {
  throw attestationFailure('nitro', `attestation document: ${reason}`);
}

function optionalBytes(map: Map<unknown, unknown>, key: keyof typeof MAX_OPTIONAL): Uint8Array | undefined {
  const value = map.get(key);
  if (value === undefined || value === null) return undefined;
  if (!(value instanceof Uint8Array)) fail(`${key} is not a byte string or null`);
  if (value.byteLength > MAX_OPTIONAL[key]) fail(`${key} is ${value.byteLength} bytes, more than the ${MAX_OPTIONAL[key]} allowed`);
  return value;
}

/** Decodes and checks the payload of a Nitro attestation document. */
export function decodeNitroDocument(payload: Uint8Array): NitroDocument {
  let map: unknown;
  try {
    map = decode(payload, { preferMap: true, rejectDuplicateKeys: true });
  } catch (error) {
    fail(`payload is not well-formed CBOR (${(error as Error).message})`);
  }
  if (!(map instanceof Map)) fail('payload is not a CBOR map');
  const fields = map as Map<unknown, unknown>;
  const moduleId = fields.get('module_id');
  if (typeof moduleId !== 'string' || moduleId.length === 0) fail('module_id is not a non-empty text string');
  const digest = fields.get('digest');
  if (digest !== 'SHA384') fail(`digest is ${JSON.stringify(digest)}, not SHA384`);
  const timestamp = fields.get('timestamp');
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp <= 0) fail('timestamp is not a positive integer');
  const pcrMap = fields.get('pcrs');
  if (!(pcrMap instanceof Map) || pcrMap.size === 0 || pcrMap.size > MAX_PCRS) fail(`pcrs is not a map of 1 to ${MAX_PCRS} entries`);
  const pcrs = new Map<number, Uint8Array>();
  for (const [index, value] of pcrMap) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= MAX_PCRS) fail(`pcrs has an invalid index ${String(index)}`);
    if (!(value instanceof Uint8Array) || value.byteLength !== PCR_LENGTH) fail(`pcrs[${index}] is not a ${PCR_LENGTH}-byte SHA384 value`);
    pcrs.set(index, value);
  }
  const certificate = fields.get('certificate');
  if (!(certificate instanceof Uint8Array) || certificate.byteLength === 0) fail('certificate is not a non-empty byte string');
  const cabundle = fields.get('cabundle');
  if (!Array.isArray(cabundle) || cabundle.length === 0) fail('cabundle is not a non-empty array');
  cabundle.forEach((entry: unknown, index) => {
    if (!(entry instanceof Uint8Array) || entry.byteLength === 0) fail(`cabundle[${index}] is not a non-empty byte string`);
  });
  const document: NitroDocument = { moduleId, digest, timestamp, pcrs, certificate, cabundle: cabundle as Uint8Array[] };
  const publicKey = optionalBytes(fields, 'public_key');
  const userData = optionalBytes(fields, 'user_data');
  const nonce = optionalBytes(fields, 'nonce');
  if (publicKey !== undefined) document.publicKey = publicKey;
  if (userData !== undefined) document.userData = userData;
  if (nonce !== undefined) document.nonce = nonce;
  return document;
}
