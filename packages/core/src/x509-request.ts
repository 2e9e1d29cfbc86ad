/**
 * What a key holder (the isolate) needs to ask for a certificate: a Name from its RDNs, the ECDSA
 * signature scheme, signatures as certificates carry them, extensions, and the PKCS#10 request
 * itself. Names from text and the RSA schemes, which certificate authorities, tools and tests use,
 * are in x509-builder.ts, on top of this; certificates in x509-certificate-builder.ts. Platform-neutral.
 */
import {
  DerTag,
  decodeDer,
  encodeBitString,
  encodeBoolean,
  encodeContext,
  encodeInteger,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeSetOf,
  encodeString,
  encodeUnsignedInteger,
  isIa5String,
  isPrintableString,
  OID_TEXT,
} from './der.ts';
import { Code, VeracruzError } from './errors.ts';
import { ATTRIBUTE_TYPES, type X509Extension } from './x509.ts';

/** A WebCrypto key, named without reaching for a platform's type declarations. */
export type WebCryptoKey = Parameters<typeof crypto.subtle.sign>[1];

/** One attribute of a name to build: its type (OID or short name such as CN) and its value. */
export interface NameAttributeInput {
  /** An OID ("2.5.4.3") or a short name (CN, O, OU, C, ST, L, DC, E, G, I, SN, T). */
  type: string;
  /** The value: text, or the DER of a value that is not a character string. */
  value: string | Uint8Array;
}

/** A name as its relative distinguished names, in order, each one or more attributes. */
export type RdnSequenceInput = readonly (readonly NameAttributeInput[])[];

function invalid(reason: string): never {
  throw new VeracruzError(Code.InvalidRequest, reason);
}

/** The OID of an attribute type written as an OID, `OID.` and an OID, or a short name; `text` is the name it came from, for refusals. */
export function attributeType(label: string, text: string): string {
  const trimmed = label.trim();
  const oid = trimmed.replace(/^oid\./i, '');
  if (OID_TEXT.test(oid)) return oid;
  const known = ATTRIBUTE_TYPES.get(trimmed.toUpperCase());
  if (known === undefined) invalid(`distinguished name "${text}": unknown attribute type "${trimmed}"`);
  return known;
}

const IA5_TYPES = new Set(['1.2.840.113549.1.9.1', '0.9.2342.19200300.100.1.25']);

/**
 * The DER of one attribute value: IA5String for emailAddress and domainComponent, PrintableString
 * when the text fits one, UTF8String otherwise; DER given as bytes is taken as it is.
 */
export function encodeAttributeValue(type: string, value: string | Uint8Array): Uint8Array {
  if (value instanceof Uint8Array) return decodeDer(value, `value of ${type}`).der;
  if (IA5_TYPES.has(type)) {
    if (!isIa5String(value)) invalid(`the value of ${type} must be ASCII (an IA5String)`);
    return encodeString(DerTag.Ia5String, value);
  }
  return encodeString(isPrintableString(value) ? DerTag.PrintableString : DerTag.Utf8String, value);
}

/** The DER of a Name from its RDNs. */
export function encodeRdnSequence(rdns: RdnSequenceInput): Uint8Array {
  return encodeSequence(
    ...rdns.map((rdn) => {
      if (rdn.length === 0) invalid('a relative distinguished name needs at least one attribute');
      return encodeSetOf(
        ...rdn.map((attribute) => {
          const type = OID_TEXT.test(attribute.type) ? attribute.type : attributeType(attribute.type, attribute.type);
          return encodeSequence(encodeOid(type), encodeAttributeValue(type, attribute.value));
        }),
      );
    }),
  );
}

const ECDSA_OIDS = { 'SHA-256': '1.2.840.10045.4.3.2', 'SHA-384': '1.2.840.10045.4.3.3', 'SHA-512': '1.2.840.10045.4.3.4' } as const;

/** The hashes certificates are signed with here. */
export type SignatureHash = keyof typeof ECDSA_OIDS;

/** How a key signs: the WebCrypto parameters, and the AlgorithmIdentifier (DER) that names them. */
export interface SignatureScheme {
  /** What `crypto.subtle.sign` takes. */
  params: { name: string; hash?: string; saltLength?: number };
  /** The DER AlgorithmIdentifier for signatureAlgorithm fields. */
  algorithmIdentifier: Uint8Array;
  /** ECDSA signatures come from WebCrypto as r‖s and go into certificates as DER. */
  ecdsa: boolean;
}

/** ECDSA with `hash` (ecdsa-with-SHA256 and its kin). */
export function ecdsaScheme(hash: SignatureHash): SignatureScheme {
  return { params: { name: 'ECDSA', hash }, algorithmIdentifier: encodeSequence(encodeOid(ECDSA_OIDS[hash])), ecdsa: true };
}

/** An ECDSA signature r‖s (WebCrypto's form) as the DER Ecdsa-Sig-Value certificates carry. */
export function ecdsaSignatureToDer(signature: Uint8Array): Uint8Array {
  if (signature.length === 0 || signature.length % 2 !== 0) throw new RangeError(`an ECDSA r||s signature of ${signature.length} bytes is malformed`);
  const half = signature.length / 2;
  return encodeSequence(encodeUnsignedInteger(signature.subarray(0, half)), encodeUnsignedInteger(signature.subarray(half)));
}

/** Signs `data` with `key` as `scheme` says, returning the signature as certificates carry it. */
export async function signWithScheme(scheme: SignatureScheme, key: WebCryptoKey, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const raw = new Uint8Array(await crypto.subtle.sign(scheme.params, key, data));
  return scheme.ecdsa ? ecdsaSignatureToDer(raw) : raw;
}
/** The SubjectPublicKeyInfo DER of a key given as DER or as a WebCrypto public key. */
export async function subjectPublicKeyInfoOf(key: Uint8Array | WebCryptoKey): Promise<Uint8Array> {
  return key instanceof Uint8Array ? key : new Uint8Array(await crypto.subtle.exportKey('spki', key));
}

/** The DER of an Extension: SEQUENCE { extnID, critical (only when true, as DER wants), extnValue }. */
export function encodeExtension(extension: X509Extension): Uint8Array {
  return encodeSequence(encodeOid(extension.oid), ...(extension.critical ? [encodeBoolean(true)] : []), encodeOctetString(extension.value));
}

/** PKCS#9 extensionRequest: the CSR attribute that carries the extensions a key holder asks for. */
export const EXTENSION_REQUEST_OID = '1.2.840.113549.1.9.14';

/** What {@link signCertificationRequest} puts in a request. */
export interface CertificationRequestParts {
  /** The DER of the subject's Name. */
  subject: Uint8Array;
  /** The key pair whose public half is requested and whose private half signs the request. */
  keys: { publicKey: WebCryptoKey; privateKey: WebCryptoKey };
  /** How the private key signs. */
  scheme: SignatureScheme;
  /** Extensions to ask the CA for, in an extensionRequest attribute. @default none (no attributes) */
  extensions?: readonly X509Extension[];
}

/**
 * Builds a PKCS#10 certification request (RFC 2986): version 0, the subject, the public key, an
 * extensionRequest attribute when extensions are given (no attributes otherwise), self-signed to
 * prove possession of the private key. Returns its DER.
 */
export async function signCertificationRequest(parts: CertificationRequestParts): Promise<Uint8Array<ArrayBuffer>> {
  const extensions = parts.extensions ?? [];
  // attributes [0] IMPLICIT SET OF Attribute, here at most the one.
  const requested = encodeSetOf(encodeSequence(...extensions.map(encodeExtension)));
  const attributes = extensions.length === 0 ? new Uint8Array(0) : encodeSequence(encodeOid(EXTENSION_REQUEST_OID), requested);
  const info = encodeSequence(encodeInteger(0), parts.subject, await subjectPublicKeyInfoOf(parts.keys.publicKey), encodeContext(0, attributes));
  const signature = await signWithScheme(parts.scheme, parts.keys.privateKey, info);
  return encodeSequence(info, parts.scheme.algorithmIdentifier, encodeBitString(signature));
}
