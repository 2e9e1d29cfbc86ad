/**
 * Building X.509 certificates with WebCrypto and the DER writer: the common extensions, the
 * TBSCertificate and its signature. What each caller puts in its certificates (the PAS CA,
 * isolate certificates, principal identities, test PKIs) stays with the caller. Platform-neutral.
 */
import {
  DerReader,
  DerTag,
  decodeDer,
  encodeBitString,
  encodeBoolean,
  encodeContext,
  encodeInteger,
  encodeNamedBits,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeTime,
  encodeUnsignedInteger,
  readBitString,
} from './der.ts';
import { Code, VeracruzError } from './errors.ts';
import { ExtensionOid, type X509Extension } from './x509.ts';
import { encodeName, signatureSchemeFor, type NameInput } from './x509-builder.ts';
import { encodeExtension, signWithScheme, subjectPublicKeyInfoOf, type SignatureHash, type WebCryptoKey } from './x509-request.ts';

function invalid(reason: string): never {
  throw new VeracruzError(Code.InvalidRequest, reason);
}

/** Key purposes of extKeyUsage (RFC 5280 §4.2.1.12). */
export const ExtendedKeyUsage = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

/** basicConstraints: whether the key may certify others, and how many CAs may follow it. Critical by default. */
export function basicConstraintsExtension(ca: boolean, pathLength?: number, critical = true): X509Extension {
  if (pathLength !== undefined && (!Number.isSafeInteger(pathLength) || pathLength < 0 || !ca)) {
    throw new RangeError(`pathLenConstraint ${pathLength} needs a CA and a natural number`);
  }
  const fields = [...(ca ? [encodeBoolean(true)] : []), ...(pathLength === undefined ? [] : [encodeInteger(pathLength)])];
  return { oid: ExtensionOid.basicConstraints, critical, value: encodeSequence(...fields) };
}

/** keyUsage from {@link KeyUsage} bits. Critical by default. */
export function keyUsageExtension(bits: number, critical = true): X509Extension {
  return { oid: ExtensionOid.keyUsage, critical, value: encodeNamedBits(bits) };
}

/** extKeyUsage: the key purposes ({@link ExtendedKeyUsage}) in the order given. Not critical by default. */
export function extendedKeyUsageExtension(purposes: readonly string[], critical = false): X509Extension {
  return { oid: ExtensionOid.extKeyUsage, critical, value: encodeSequence(...purposes.map(encodeOid)) };
}

/** The RFC 5280 §4.2.1.2 key identifier: SHA-1 of the subjectPublicKey bits of an SPKI. */
export async function keyIdentifier(subjectPublicKeyInfo: Uint8Array): Promise<Uint8Array> {
  const reader = new DerReader(decodeDer(subjectPublicKeyInfo, 'subjectPublicKeyInfo'), 'subjectPublicKeyInfo');
  reader.next(DerTag.Sequence, 'algorithm');
  const bits = readBitString(reader.next(DerTag.BitString, 'subjectPublicKey'), 'subjectPublicKeyInfo.subjectPublicKey');
  reader.end();
  return new Uint8Array(await crypto.subtle.digest('SHA-1', bits.bytes));
}

/** subjectKeyIdentifier of a public key (SPKI DER). Not critical. */
export async function subjectKeyIdentifierExtension(subjectPublicKeyInfo: Uint8Array): Promise<X509Extension> {
  return { oid: ExtensionOid.subjectKeyIdentifier, critical: false, value: encodeOctetString(await keyIdentifier(subjectPublicKeyInfo)) };
}

/** authorityKeyIdentifier naming the issuer's key (SPKI DER) by its key identifier. Not critical. */
export async function authorityKeyIdentifierExtension(issuerPublicKeyInfo: Uint8Array): Promise<X509Extension> {
  const identifier = await keyIdentifier(issuerPublicKeyInfo);
  return { oid: ExtensionOid.authorityKeyIdentifier, critical: false, value: encodeSequence(encodeContext(0, identifier, false)) };
}

/** A random positive 128-bit serial number as hex, never needing a leading zero octet. */
export function randomSerialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // Clear the sign bit (positive) and set the next one (no leading zero octet, never zero).
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x40;
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** What a certificate says, before it is signed. */
export interface CertificateTemplate {
  /** Positive serial number: hex (RFC 5280 allows up to 20 octets) or bytes. */
  serialNumber: string | Uint8Array;
  issuer: NameInput;
  subject: NameInput;
  notBefore: Date;
  notAfter: Date;
  /** The subject's public key: SPKI DER, or a WebCrypto public key. */
  publicKey: Uint8Array | WebCryptoKey;
  extensions?: readonly X509Extension[];
}

function serialBytes(serial: string | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof serial === 'string') {
    if (!/^([0-9a-fA-F]{2})+$/.test(serial)) invalid(`serial number "${serial}" is not hex`);
    bytes = Uint8Array.from(serial.match(/../g) as string[], (pair) => Number.parseInt(pair, 16));
  } else {
    bytes = serial;
  }
  const significant = bytes.findIndex((byte) => byte !== 0);
  if (significant < 0) invalid('a serial number must be positive');
  if (bytes.length - significant > 20) invalid('a serial number has at most 20 octets (RFC 5280)');
  return bytes.subarray(significant);
}


/** The DER of a version 3 TBSCertificate signed with the algorithm `algorithmIdentifier` names. */
export async function encodeTbsCertificate(template: CertificateTemplate, algorithmIdentifier: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  if (Number.isNaN(template.notBefore.getTime()) || Number.isNaN(template.notAfter.getTime()) || template.notAfter.getTime() < template.notBefore.getTime()) {
    invalid('certificate validity must be two valid dates, notAfter not before notBefore');
  }
  const spki = await subjectPublicKeyInfoOf(template.publicKey);
  decodeDer(spki, 'subjectPublicKeyInfo');
  const extensions = template.extensions ?? [];
  return encodeSequence(
    encodeContext(0, encodeInteger(2)),
    encodeUnsignedInteger(serialBytes(template.serialNumber)),
    algorithmIdentifier,
    encodeName(template.issuer),
    encodeSequence(encodeTime(template.notBefore), encodeTime(template.notAfter)),
    encodeName(template.subject),
    spki,
    ...(extensions.length === 0 ? [] : [encodeContext(3, encodeSequence(...extensions.map(encodeExtension)))]),
  );
}

/** Builds and signs a certificate with the issuer's private key; returns its DER. */
export async function createCertificate(template: CertificateTemplate, signingKey: WebCryptoKey, hash?: SignatureHash): Promise<Uint8Array<ArrayBuffer>> {
  const scheme = signatureSchemeFor(signingKey, hash);
  const tbs = await encodeTbsCertificate(template, scheme.algorithmIdentifier);
  const signature = await signWithScheme(scheme, signingKey, tbs);
  return encodeSequence(tbs, scheme.algorithmIdentifier, encodeBitString(signature));
}
