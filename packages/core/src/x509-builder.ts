/**
 * Signing X.509 structures with any WebCrypto key, and names from RFC 4514-style text: what
 * certificate authorities, tools and tests add to x509-request.ts (which the isolate uses alone).
 * Certificates are built in x509-certificate-builder.ts. Platform-neutral.
 */
import {
  DerReader,
  DerTag,
  decodeDer,
  encodeContext,
  encodeInteger,
  encodeNull,
  encodeOid,
  encodeSequence,
  readIntegerBytes,
} from './der.ts';
import { Code, VeracruzError } from './errors.ts';
import { readName, type X509Extension } from './x509.ts';
import {
  attributeType,
  ecdsaScheme,
  encodeRdnSequence,
  signCertificationRequest,
  type NameAttributeInput,
  type RdnSequenceInput,
  type SignatureHash,
  type SignatureScheme,
  type WebCryptoKey,
} from './x509-request.ts';

/** A name to build: RFC 4514-style text, the DER of a Name, or its RDNs. */
export type NameInput = string | Uint8Array | RdnSequenceInput;

function invalid(reason: string): never {
  throw new VeracruzError(Code.InvalidRequest, reason);
}

const SPECIALS = new Set([' ', '"', '#', '+', ',', ';', '<', '=', '>', '\\']);
const HEX_PAIR = /^[0-9a-fA-F]{2}$/;

/**
 * Parses RFC 4514-style text ("CN=Test Root, O=Example", "CN=a+OU=b,C=US") into RDNs in the
 * order written. Values may escape specials with a backslash and any byte as \XX; a value
 * starting with # is the hex of a DER value. Spaces around separators are ignored, as in
 * the text this project prints; unescaped " ; < > inside a value are refused.
 */
export function parseDistinguishedName(text: string): NameAttributeInput[][] {
  const rdns: NameAttributeInput[][] = [];
  if (text.trim() === '') return rdns;
  let current: NameAttributeInput[] = [];
  let index = 0;
  for (;;) {
    const equals = text.indexOf('=', index);
    if (equals < 0) invalid(`distinguished name "${text}": "${text.slice(index).trim()}" has no "="`);
    const type = attributeType(text.slice(index, equals), text);
    index = equals + 1;
    while (text[index] === ' ') index++;
    let value: string | Uint8Array;
    if (text[index] === '#') {
      const end = findSeparator(text, index);
      const hex = text.slice(index + 1, end).trimEnd();
      if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) invalid(`distinguished name "${text}": "#${hex}" is not hex`);
      value = Uint8Array.from(hex.match(/../g) as string[], (pair) => Number.parseInt(pair, 16));
      decodeDer(value, `distinguished name "${text}": value #${hex}`);
      index = end;
    } else {
      const bytes: number[] = [];
      let significant = 0;
      while (index < text.length && text[index] !== ',' && text[index] !== '+') {
        const char = text[index] as string;
        if (char === '\\') {
          const pair = text.slice(index + 1, index + 3);
          if (HEX_PAIR.test(pair)) {
            bytes.push(Number.parseInt(pair, 16));
            index += 3;
          } else if (SPECIALS.has(text[index + 1] ?? '')) {
            bytes.push((text[index + 1] as string).charCodeAt(0));
            index += 2;
          } else {
            invalid(`distinguished name "${text}": "\\${text[index + 1] ?? ''}" is not an escape`);
          }
          significant = bytes.length;
          continue;
        }
        if (char === '"' || char === ';' || char === '<' || char === '>') invalid(`distinguished name "${text}": unescaped ${char} in a value`);
        const encoded = new TextEncoder().encode(String.fromCodePoint(text.codePointAt(index) as number));
        bytes.push(...encoded);
        index += (text.codePointAt(index) as number) > 0xffff ? 2 : 1;
        if (char !== ' ') significant = bytes.length;
      }
      try {
        value = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes.slice(0, significant)));
      } catch {
        return invalid(`distinguished name "${text}": escaped bytes are not UTF-8`);
      }
    }
    current.push({ type, value });
    if (index >= text.length) break;
    if (text[index] === ',') {
      rdns.push(current);
      current = [];
    }
    index++;
  }
  rdns.push(current);
  return rdns;
}

function findSeparator(text: string, from: number): number {
  for (let index = from; index < text.length; index++) if (text[index] === ',' || text[index] === '+') return index;
  return text.length;
}

/** The DER of a Name: text is parsed, RDN lists are encoded, DER is checked and kept as it is. */
export function encodeName(name: NameInput): Uint8Array {
  if (name instanceof Uint8Array) return readName(decodeDer(name, 'name'), 'name').der;
  return encodeRdnSequence(typeof name === 'string' ? parseDistinguishedName(name) : name);
}
const HASH_OIDS = { 'SHA-256': '2.16.840.1.101.3.4.2.1', 'SHA-384': '2.16.840.1.101.3.4.2.2', 'SHA-512': '2.16.840.1.101.3.4.2.3' } as const;
const HASH_LENGTHS = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 } as const;
const RSA_OIDS = { 'SHA-256': '1.2.840.113549.1.1.11', 'SHA-384': '1.2.840.113549.1.1.12', 'SHA-512': '1.2.840.113549.1.1.13' } as const;
const CURVE_HASHES = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' } as const;
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const MGF1 = '1.2.840.113549.1.1.8';

function isHash(name: unknown): name is SignatureHash {
  return typeof name === 'string' && Object.hasOwn(HASH_OIDS, name);
}

/**
 * The signature scheme of a private key: ECDSA with the hash its curve calls for (P-256/SHA-256,
 * P-384/SHA-384, P-521/SHA-512) unless `hash` says otherwise; RSASSA-PKCS1-v1_5 and RSA-PSS
 * (salt as long as the hash) with the key's own hash.
 */
export function signatureSchemeFor(key: WebCryptoKey, hash?: SignatureHash): SignatureScheme {
  const algorithm = key.algorithm as { name: string; namedCurve?: string; hash?: { name?: string } };
  if (algorithm.name === 'ECDSA') {
    const chosen = hash ?? CURVE_HASHES[algorithm.namedCurve as keyof typeof CURVE_HASHES];
    if (chosen === undefined) invalid(`ECDSA curve ${String(algorithm.namedCurve)} is not supported`);
    return ecdsaScheme(chosen);
  }
  const keyHash = hash ?? algorithm.hash?.name;
  if (!isHash(keyHash)) invalid(`${algorithm.name} with hash ${String(keyHash)} is not supported`);
  if (algorithm.name === 'RSASSA-PKCS1-v1_5') {
    return { params: { name: algorithm.name }, algorithmIdentifier: encodeSequence(encodeOid(RSA_OIDS[keyHash]), encodeNull()), ecdsa: false };
  }
  if (algorithm.name === 'RSA-PSS') {
    const hashIdentifier = encodeSequence(encodeOid(HASH_OIDS[keyHash]));
    const parameters = encodeSequence(
      encodeContext(0, hashIdentifier),
      encodeContext(1, encodeSequence(encodeOid(MGF1), hashIdentifier)),
      encodeContext(2, encodeInteger(HASH_LENGTHS[keyHash])),
    );
    return { params: { name: 'RSA-PSS', saltLength: HASH_LENGTHS[keyHash] }, algorithmIdentifier: encodeSequence(encodeOid(RSASSA_PSS), parameters), ecdsa: false };
  }
  return invalid(`${algorithm.name} keys cannot sign certificates here`);
}

/** A DER Ecdsa-Sig-Value as r‖s with each half `size` bytes (32 for P-256), for WebCrypto's verify. */
export function ecdsaSignatureFromDer(signature: Uint8Array, size: number): Uint8Array {
  const reader = new DerReader(decodeDer(signature, 'ECDSA signature'), 'ECDSA signature');
  const out = new Uint8Array(size * 2);
  for (const [index, name] of ['r', 's'].entries()) {
    let bytes = readIntegerBytes(reader.next(DerTag.Integer, name), `ECDSA signature.${name}`);
    if (((bytes[0] as number) & 0x80) !== 0) invalid(`ECDSA signature: ${name} is negative`);
    if (bytes[0] === 0 && bytes.length > 1) bytes = bytes.subarray(1);
    if (bytes.length > size) invalid(`ECDSA signature: ${name} is longer than ${size} bytes`);
    out.set(bytes, index * size + size - bytes.length);
  }
  reader.end();
  return out;
}

/** Options of {@link createCertificationRequest}. */
export interface CertificationRequestOptions {
  subject: NameInput;
  /** The key pair whose public half is requested and whose private half signs the request. */
  keys: { publicKey: WebCryptoKey; privateKey: WebCryptoKey };
  /** Extensions to ask the CA for, in an extensionRequest attribute. @default none (no attributes) */
  extensions?: readonly X509Extension[];
}

/**
 * Builds a PKCS#10 certification request (RFC 2986) as {@link signCertificationRequest} does, for a
 * subject given in any {@link NameInput} form and a key of any scheme {@link signatureSchemeFor}
 * knows. Returns its DER.
 */
export async function createCertificationRequest(options: CertificationRequestOptions): Promise<Uint8Array<ArrayBuffer>> {
  const scheme = signatureSchemeFor(options.keys.privateKey);
  const { keys, extensions } = options;
  return signCertificationRequest({ subject: encodeName(options.subject), keys, scheme, ...(extensions === undefined ? {} : { extensions }) });
}
