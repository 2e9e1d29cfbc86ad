/**
 * The one X.509 certificate loader (RFC 5280 §4.1): DER in, the facts verifiers and policies need
 * out. Structure only: signatures are checked by whoever holds a crypto library (node:crypto in
 * attestation, WebCrypto elsewhere). Built on the strict DER reader, so a certificate that is not
 * DER is refused with the field and byte at fault. Names print as RFC 4514-style text in the
 * order they are encoded ("C=US, O=Veracruz, CN=VeracruzCompute"), the form every message and
 * comparison in the project uses.
 */
import {
  DER_STRING_TAGS,
  decodeDer,
  DerReader,
  DerTag,
  contextTag,
  derChildren,
  readBitString,
  readBitStringOctets,
  readBoolean,
  readIntegerBytes,
  readNamedBits,
  readNaturalNumber,
  readOctetString,
  readOid,
  readString,
  readTime,
  refuseDer as refuse,
  type DerElement,
} from './der.ts';
import { sameBytes, toHex } from './bytes.ts';

/** An algorithm and its parameters, as certificates name signature and key algorithms. */
export interface AlgorithmIdentifier {
  /** The algorithm's OID, e.g. "1.2.840.10045.4.3.2" (ecdsa-with-SHA256). */
  oid: string;
  /** The DER of the parameters when present (RSASSA-PSS carries its hash there, EC keys their curve). */
  parameters?: Uint8Array;
}

/** One extension of a certificate, its value undecoded. */
export interface X509Extension {
  /** The extension's OID, e.g. "2.5.29.19". */
  oid: string;
  critical: boolean;
  /** The extnValue contents: the DER of the extension's own value. */
  value: Uint8Array;
}

/** One attribute of a distinguished name. */
export interface NameAttribute {
  /** The attribute type's OID, e.g. "2.5.4.3" (commonName). */
  type: string;
  /** The value's text when it is a character string; undefined for other ASN.1 types. */
  text?: string;
  /** The DER of the value. */
  der: Uint8Array;
}

/** A distinguished name: its text, its DER and its relative distinguished names in encoded order. */
export interface X509Name {
  /** "C=US, O=Veracruz, CN=...": attributes of one RDN joined by "+", RDNs by ", ". */
  text: string;
  /** The DER of the Name (what an issuer/subject comparison byte for byte uses). */
  der: Uint8Array;
  /** The RDNs in encoded order, each a list of attributes. */
  rdns: NameAttribute[][];
}

/** keyUsage bits as {@link X509Certificate.keyUsage} holds them (RFC 5280 §4.2.1.3, bit n is 2^n). */
export const KeyUsage = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;

/** A decoded certificate. */
export interface X509Certificate {
  /** The DER bytes given. */
  der: Uint8Array;
  /** The DER of tbsCertificate: what the signature covers. */
  tbsDer: Uint8Array;
  /** 1, 2 or 3. */
  version: number;
  /** The serial number's INTEGER content octets in lowercase hex (a leading 00 octet kept). */
  serialNumber: string;
  /** The outer signatureAlgorithm (equal to tbsCertificate.signature, or the certificate is refused). */
  signatureAlgorithm: AlgorithmIdentifier;
  /** The signature bytes. */
  signature: Uint8Array;
  /** The issuer name as text. */
  issuer: string;
  /** The issuer name's DER. */
  issuerDer: Uint8Array;
  /** The subject name as text. */
  subject: string;
  /** The subject name's DER. */
  subjectDer: Uint8Array;
  /** The subject's first commonName, or '' when it has none. */
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  /** The DER of subjectPublicKeyInfo (what WebCrypto imports as "spki"). */
  subjectPublicKeyInfo: Uint8Array;
  /** The public key's algorithm (id-ecPublicKey with its curve, rsaEncryption, ...). */
  publicKeyAlgorithm: AlgorithmIdentifier;
  /** The subjectPublicKey bits (an EC point, an RSAPublicKey). */
  publicKey: Uint8Array;
  extensions: X509Extension[];
  /** basicConstraints, when present. */
  basicConstraints?: { ca: boolean; pathLength?: number };
  /** keyUsage bits ({@link KeyUsage}), when present. */
  keyUsage?: number;
}

/** The OIDs of the extensions this module decodes. */
export const ExtensionOid = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  cRLDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

/** Short names of name attributes, as printed (others print as their OID). */
const ATTRIBUTE_LABELS: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.6', 'C'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['1.2.840.113549.1.9.1', 'E'],
  ['2.5.4.42', 'G'],
  ['2.5.4.43', 'I'],
  ['2.5.4.4', 'SN'],
  ['2.5.4.12', 'T'],
]);

/** The OID of a name attribute's short name (CN, O, ...), for builders. */
export const ATTRIBUTE_TYPES: ReadonlyMap<string, string> = new Map([...ATTRIBUTE_LABELS].map(([oid, label]) => [label, oid]));

/** The printed label of an attribute type: its short name, or its OID. */
export function attributeLabel(type: string): string {
  return ATTRIBUTE_LABELS.get(type) ?? type;
}

/**
 * Escapes an attribute value for the text form: RFC 4514's specials (, + " \ < > ;) get a
 * backslash, as do a leading space or # and a trailing space; CR, LF and TAB become \0D, \0A, \09
 * so a name always prints on one line.
 */
export function escapeAttributeValue(value: string): string {
  return value
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ')
    .replace(/[\r\n\t]/g, (char) => `\\${char.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

/** Reads an AlgorithmIdentifier: SEQUENCE { algorithm OID, parameters ANY OPTIONAL }. */
export function readAlgorithmIdentifier(item: DerElement, what: string): AlgorithmIdentifier {
  if (item.tag !== DerTag.Sequence) refuse(what, 'not a SEQUENCE', item.offset);
  const reader = new DerReader(item, what);
  const oid = readOid(reader.next(DerTag.ObjectIdentifier, 'algorithm'), `${what}.algorithm`);
  const parameters = reader.done ? undefined : reader.any('parameters');
  reader.end();
  return parameters === undefined ? { oid } : { oid, parameters: parameters.der };
}

/** Reads a Name (SEQUENCE OF RelativeDistinguishedName), keeping the encoded order. */
export function readName(item: DerElement, what: string): X509Name {
  if (item.tag !== DerTag.Sequence) refuse(what, 'not a SEQUENCE', item.offset);
  const rdns = derChildren(item, what).map((set, index) => {
    const rdnWhat = `${what}[${index}]`;
    if (set.tag !== DerTag.Set) refuse(rdnWhat, 'not a SET', set.offset);
    const attributes = derChildren(set, rdnWhat).map((pair, position) => {
      const pairWhat = `${rdnWhat}[${position}]`;
      if (pair.tag !== DerTag.Sequence) refuse(pairWhat, 'not a SEQUENCE', pair.offset);
      const reader = new DerReader(pair, pairWhat);
      const type = readOid(reader.next(DerTag.ObjectIdentifier, 'type'), `${pairWhat}.type`);
      const value = reader.any('value');
      reader.end();
      const attribute: NameAttribute = { type, der: value.der };
      if (DER_STRING_TAGS.has(value.tag)) attribute.text = readString(value, `${pairWhat}.value`);
      return attribute;
    });
    if (attributes.length === 0) refuse(rdnWhat, 'empty RelativeDistinguishedName', set.offset);
    return attributes;
  });
  return { text: formatName(rdns), der: item.der, rdns };
}

/** The text form of a name's RDNs; a value that is not a character string prints as #hex of its DER. */
export function formatName(rdns: readonly (readonly NameAttribute[])[]): string {
  return rdns
    .map((rdn) => rdn.map((attribute) => `${attributeLabel(attribute.type)}=${attribute.text === undefined ? `#${toHex(attribute.der)}` : escapeAttributeValue(attribute.text)}`).join('+'))
    .join(', ');
}

/** The first value of an attribute type in a name (e.g. commonName "2.5.4.3"), or undefined. */
export function nameAttribute(name: X509Name, type: string): string | undefined {
  for (const rdn of name.rdns) for (const attribute of rdn) if (attribute.type === type) return attribute.text ?? `#${toHex(attribute.der)}`;
  return undefined;
}

/**
 * Reads Extensions (SEQUENCE SIZE (1..MAX) OF Extension) as certificates, CRLs and CRL entries
 * carry them: critical only when TRUE is encoded, no extension twice.
 */
export function readExtensionList(list: DerElement, what: string): X509Extension[] {
  if (list.tag !== DerTag.Sequence) refuse(what, 'not a SEQUENCE', list.offset);
  const seen = new Set<string>();
  const extensions = derChildren(list, what).map((entry, index) => {
    const entryWhat = `${what}[${index}]`;
    if (entry.tag !== DerTag.Sequence) refuse(entryWhat, 'not a SEQUENCE', entry.offset);
    const reader = new DerReader(entry, entryWhat);
    const oid = readOid(reader.next(DerTag.ObjectIdentifier, 'extnID'), `${entryWhat}.extnID`);
    const criticalItem = reader.optional(DerTag.Boolean, 'critical');
    const critical = criticalItem === undefined ? false : readBoolean(criticalItem, `${entryWhat}.critical`);
    const value = readOctetString(reader.next(DerTag.OctetString, 'extnValue'), `${entryWhat}.extnValue`);
    reader.end();
    if (seen.has(oid)) refuse(entryWhat, `extension ${oid} appears twice`, entry.offset);
    seen.add(oid);
    return { oid, critical, value };
  });
  if (extensions.length === 0) refuse(what, 'empty (RFC 5280 wants at least one)', list.offset);
  return extensions;
}

/** Reads `[n] EXPLICIT Extensions`, the wrapper certificates and CRLs put their extensions in. */
export function readExplicitExtensions(wrapper: DerElement, what: string): X509Extension[] {
  const reader = new DerReader(wrapper, what);
  const list = reader.next(DerTag.Sequence, 'list');
  reader.end();
  return readExtensionList(list, what);
}

/** Decodes a basicConstraints extension value: SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }. */
export function readBasicConstraints(value: Uint8Array, what = 'basicConstraints'): { ca: boolean; pathLength?: number } {
  const top = decodeDer(value, what);
  if (top.tag !== DerTag.Sequence) refuse(what, 'not a SEQUENCE', top.offset);
  const reader = new DerReader(top, what);
  const caItem = reader.optional(DerTag.Boolean, 'cA');
  const lengthItem = reader.optional(DerTag.Integer, 'pathLenConstraint');
  reader.end();
  const result: { ca: boolean; pathLength?: number } = { ca: caItem === undefined ? false : readBoolean(caItem, `${what}.cA`) };
  if (lengthItem !== undefined) result.pathLength = readNaturalNumber(lengthItem, `${what}.pathLenConstraint`);
  return result;
}

/** Decodes a keyUsage extension value into {@link KeyUsage} bits. */
export function readKeyUsage(value: Uint8Array, what = 'keyUsage'): number {
  return readNamedBits(decodeDer(value, what), what);
}

/** Decodes an extKeyUsage extension value: the key purpose OIDs in order. */
export function readExtendedKeyUsage(value: Uint8Array, what = 'extKeyUsage'): string[] {
  const top = decodeDer(value, what);
  if (top.tag !== DerTag.Sequence) refuse(what, 'not a SEQUENCE', top.offset);
  return derChildren(top, what).map((item, index) => readOid(item, `${what}[${index}]`));
}

/** The extension with `oid`, or undefined. */
export function findExtension(certificate: Pick<X509Certificate, 'extensions'>, oid: string): X509Extension | undefined {
  return certificate.extensions.find((extension) => extension.oid === oid);
}

/**
 * Decodes one DER certificate (exactly the bytes given: truncation and trailing bytes are
 * refused). Checks the structure RFC 5280 fixes: field order and types, version 1 to 3 (extensions
 * only in version 3), the two signature algorithm fields equal, valid UTC times, extensions not
 * repeated, and basicConstraints and keyUsage decodable. Throws `InvalidRequest` naming the field.
 */
export function parseX509Certificate(der: Uint8Array): X509Certificate {
  const top = decodeDer(der, '');
  if (top.tag !== DerTag.Sequence) refuse('', 'not a DER SEQUENCE', 0);
  const outer = new DerReader(top, '');
  const tbs = outer.next(DerTag.Sequence, 'tbsCertificate');
  const signatureAlgorithmItem = outer.next(DerTag.Sequence, 'signatureAlgorithm');
  const signature = readBitStringOctets(outer.next(DerTag.BitString, 'signatureValue'), 'signatureValue');
  outer.end();

  const at = 'tbsCertificate';
  const reader = new DerReader(tbs, at);
  const versionItem = reader.optional(contextTag(0), 'version');
  let version = 1;
  if (versionItem !== undefined) {
    const versionReader = new DerReader(versionItem, `${at}.version`);
    const number = readNaturalNumber(versionReader.next(DerTag.Integer, 'value'), `${at}.version`);
    versionReader.end();
    if (number > 2) refuse(`${at}.version`, `version ${number + 1} does not exist (1 to 3 do)`, versionItem.offset);
    version = number + 1;
  }
  const serial = readIntegerBytes(reader.next(DerTag.Integer, 'serialNumber'), `${at}.serialNumber`);
  const innerAlgorithm = reader.next(DerTag.Sequence, 'signature');
  const issuer = readName(reader.next(DerTag.Sequence, 'issuer'), `${at}.issuer`);
  const validity = reader.next(DerTag.Sequence, 'validity');
  const subject = readName(reader.next(DerTag.Sequence, 'subject'), `${at}.subject`);
  const spki = reader.next(DerTag.Sequence, 'subjectPublicKeyInfo');
  reader.optional(contextTag(1, false), 'issuerUniqueID');
  reader.optional(contextTag(2, false), 'subjectUniqueID');
  const extensionsItem = reader.optional(contextTag(3), 'extensions');
  reader.end();

  const signatureAlgorithm = readAlgorithmIdentifier(signatureAlgorithmItem, 'signatureAlgorithm');
  readAlgorithmIdentifier(innerAlgorithm, `${at}.signature`);
  if (!sameBytes(innerAlgorithm.der, signatureAlgorithmItem.der)) {
    refuse(`${at}.signature`, 'differs from signatureAlgorithm', innerAlgorithm.offset);
  }

  const times = new DerReader(validity, `${at}.validity`);
  const notBefore = readTime(times.any('notBefore'), `${at}.validity.notBefore`);
  const notAfter = readTime(times.any('notAfter'), `${at}.validity.notAfter`);
  times.end();

  const keyReader = new DerReader(spki, `${at}.subjectPublicKeyInfo`);
  const publicKeyAlgorithm = readAlgorithmIdentifier(keyReader.next(DerTag.Sequence, 'algorithm'), `${at}.subjectPublicKeyInfo.algorithm`);
  const publicKey = readBitString(keyReader.next(DerTag.BitString, 'subjectPublicKey'), `${at}.subjectPublicKeyInfo.subjectPublicKey`).bytes;
  keyReader.end();

  if (extensionsItem !== undefined && version !== 3) refuse(`${at}.extensions`, `present in a version ${version} certificate (only version 3 has them)`, extensionsItem.offset);
  const extensions = extensionsItem === undefined ? [] : readExplicitExtensions(extensionsItem, `${at}.extensions`);

  const certificate: X509Certificate = {
    der,
    tbsDer: tbs.der,
    version,
    serialNumber: toHex(serial),
    signatureAlgorithm,
    signature,
    issuer: issuer.text,
    issuerDer: issuer.der,
    subject: subject.text,
    subjectDer: subject.der,
    commonName: nameAttribute(subject, '2.5.4.3') ?? '',
    notBefore,
    notAfter,
    subjectPublicKeyInfo: spki.der,
    publicKeyAlgorithm,
    publicKey,
    extensions,
  };
  const basic = findExtension(certificate, ExtensionOid.basicConstraints);
  if (basic !== undefined) certificate.basicConstraints = readBasicConstraints(basic.value, `${at}.extensions.basicConstraints`);
  const usage = findExtension(certificate, ExtensionOid.keyUsage);
  if (usage !== undefined) certificate.keyUsage = readKeyUsage(usage.value, `${at}.extensions.keyUsage`);
  return certificate;
}
