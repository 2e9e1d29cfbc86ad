/**
 * X.509 certificate path validation at an explicit time (RFC 5280 §6, the parts attestation
 * chains use): validity windows, issuer/subject links, signatures, CA basic constraints, path
 * length, key usage and unknown critical extensions. Structure is decoded by PeculiarVentures'
 * ASN.1 schemas (`@peculiar/asn1-x509`, the decoder under `@peculiar/x509`, used directly because
 * building the full `@peculiar/x509` object costs twice as much); signatures are checked by
 * `node:crypto`, which also handles the RSASSA-PSS links AMD uses.
 */
import 'reflect-metadata';
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicConstraints, Certificate, KeyUsage, KeyUsageFlags } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { Code, sameBytes, toPem, VeracruzError } from '@veracruz-ts/core';
import { isoTime, isValidDate } from './platform.ts';

/** One extension of a certificate, undecoded. */
export interface CertificateExtension {
  /** The extension's OID, e.g. "2.5.29.19". */
  type: string;
  critical: boolean;
  /** The extnValue contents (the DER of the extension's own value). */
  value: Uint8Array;
}

/** A certificate decoded once: names, validity, extensions, and OpenSSL's view for signatures. */
export interface ParsedCertificate {
  /** The DER bytes. */
  der: Uint8Array;
  /** The subject name, RFC 4514 style ("CN=…, O=…"). */
  subject: string;
  /** The issuer name, same style. */
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** The serial number's INTEGER bytes in hex. */
  serialNumber: string;
  /** The OID of the signature algorithm, and its parameters' DER (RSASSA-PSS carries its hash there). */
  signatureAlgorithm: { oid: string; parameters?: Uint8Array };
  extensions: CertificateExtension[];
  /** basicConstraints, when present. */
  basicConstraints?: { ca: boolean; pathLength?: number };
  /** keyUsage bits (`KeyUsageFlags`), when present. */
  keyUsage?: number;
  /** Signature verification and key identifiers (OpenSSL). */
  native: NodeCertificate;
  /** The full `@peculiar/x509` object, built on first use. */
  readonly certificate: x509.X509Certificate;
}

/** Options of {@link verifyCertificateChain}. */
export interface ChainOptions {
  /** Names of the chain's certificates in messages, leaf first. @default "chain[i]" */
  names?: readonly string[];
  /** What the messages start with. @default "certificate chain" */
  context?: string;
  /**
   * Accept serial number 0 on the leaf. AMD's VCEK and VLEK certificates carry it (RFC 5280 wants
   * a positive serial); nothing else should. @default false
   */
  allowZeroSerialLeaf?: boolean;
}

/** The outcome of a successful {@link verifyCertificateChain}. */
export interface VerifiedChain {
  /** The chain's certificates, leaf first, without the trust anchor. */
  certificates: ParsedCertificate[];
  /** The trust anchor the chain ends at. */
  anchor: ParsedCertificate;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/** Extensions whose meaning this validator enforces or may safely ignore when marked critical. */
const KNOWN_CRITICAL_EXTENSIONS = new Set([
  '2.5.29.15', // keyUsage
  '2.5.29.19', // basicConstraints
  '2.5.29.37', // extKeyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.31', // cRLDistributionPoints
  '2.5.29.32', // certificatePolicies (no policy constraints are asserted by attestation chains)
]);

/** Parsed certificates by DER (base64), so repeated intermediates and roots are parsed once. */
const parseCache = new Map<string, ParsedCertificate>();
const PARSE_CACHE_LIMIT = 256;

/**
 * Issuers whose signature on a certificate has been verified, per certificate. A signature check
 * depends on the bytes alone, so a link verified once (an intermediate under its root) need not be
 * verified again; validity windows are still checked at every call.
 */
const verifiedLinks = new WeakMap<ParsedCertificate, WeakSet<ParsedCertificate>>();

/** Forgets every parsed certificate and verified link (benchmarks measure cold verification with it). */
export function clearCertificateCache(): void {
  parseCache.clear();
}

/** Forgets one certificate (DER), as if it had never been seen; benchmarks use it to time a fresh leaf. */
export function forgetCertificate(der: Uint8Array): void {
  parseCache.delete(Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64'));
}

function chainError(context: string, reason: string, cause?: unknown): VeracruzError {
  return new VeracruzError(Code.AttestationFailed, `${context}: ${reason}`, cause === undefined ? undefined : { cause });
}

/** How strictly {@link pemCertificates} reads a PEM text. */
export interface PemOptions {
  /** Refuse any text outside the certificate blocks but whitespace (for evidence, where nothing else belongs). @default false */
  strict?: boolean;
  /** What refusal messages start with. @default "PEM" */
  context?: string;
}

/**
 * Every certificate in a PEM text, as DER, in order. A block whose body is not base64 is refused,
 * never skipped; with `strict`, so is any other text between the blocks.
 */
export function pemCertificates(pem: string, options: PemOptions = {}): Uint8Array[] {
  const context = options.context ?? 'PEM';
  if (options.strict === true && pem.replace(PEM_BLOCK, '').trim() !== '') {
    throw chainError(context, 'the PEM text holds something besides certificates');
  }
  const out: Uint8Array[] = [];
  for (const [index, match] of [...pem.matchAll(PEM_BLOCK)].entries()) {
    const body = match[1] ?? '';
    if (!BASE64_BODY.test(body)) throw chainError(context, `certificate ${index} of the PEM text is not base64`);
    const der = new Uint8Array(Buffer.from(body.replace(/\s+/g, ''), 'base64'));
    if (der.byteLength === 0) throw chainError(context, `certificate ${index} of the PEM text is empty`);
    out.push(der);
  }
  return out;
}

/** PEM text of one DER certificate. */
export function certificateToPem(der: Uint8Array): string {
  return toPem(der, 'CERTIFICATE');
}

/** The DER of a single certificate given as DER bytes, PEM bytes or PEM text; undefined if it is none. */
function singleDer(input: Uint8Array | string): Uint8Array | undefined {
  if (typeof input === 'string') {
    const all = pemCertificates(input);
    return all.length === 1 ? all[0] : undefined;
  }
  // PEM given as bytes ("-----BEGIN").
  if (input.byteLength > 10 && input[0] === 0x2d && input[1] === 0x2d) return singleDer(Buffer.from(input).toString('latin1'));
  return input;
}

/** The length a DER SEQUENCE says it has (header included), or undefined if the header is not DER. */
function encodedLength(der: Uint8Array): number | undefined {
  const first = der[1];
  if (der[0] !== 0x30 || first === undefined) return undefined;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  if (count === 0 || count > 4 || der.byteLength < 2 + count) return undefined;
  let length = 0;
  for (let index = 0; index < count; index++) length = length * 256 + (der[2 + index] ?? 0);
  return 2 + count + length;
}

function decodeCertificate(der: Uint8Array): ParsedCertificate {
  const length = encodedLength(der);
  if (length !== der.byteLength) {
    throw new Error(length === undefined ? 'not a DER SEQUENCE' : `its encoding says ${length} bytes but ${der.byteLength} were given`);
  }
  const asn = AsnConvert.parse(der, Certificate);
  const tbs = asn.tbsCertificate;
  // That the two signature algorithm fields agree is left to OpenSSL's verify, which checks it.
  const native = new NodeCertificate(der);
  void native.publicKey; // decoded now, so an unusable key is refused at parse time
  let full: x509.X509Certificate | undefined;
  const parameters = asn.signatureAlgorithm.parameters;
  const extensions = (tbs.extensions ?? []).map((extension) => ({
    type: extension.extnID,
    critical: extension.critical,
    value: new Uint8Array(extension.extnValue.buffer),
  }));
  const extensionValue = (oid: string): Uint8Array | undefined => extensions.find((extension) => extension.type === oid)?.value;
  const basicValue = extensionValue('2.5.29.19');
  const basic = basicValue === undefined ? undefined : AsnConvert.parse(basicValue, BasicConstraints);
  const usageValue = extensionValue('2.5.29.15');
  const parsed: ParsedCertificate = {
    der,
    subject: new x509.Name(tbs.subject).toString(),
    issuer: new x509.Name(tbs.issuer).toString(),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    serialNumber: Buffer.from(tbs.serialNumber).toString('hex'),
    signatureAlgorithm: {
      oid: asn.signatureAlgorithm.algorithm,
      ...(parameters === null || parameters === undefined ? {} : { parameters: new Uint8Array(parameters) }),
    },
    extensions,
    native,
    get certificate(): x509.X509Certificate {
      full ??= new x509.X509Certificate(der);
      return full;
    },
  };
  if (basic !== undefined) parsed.basicConstraints = { ca: basic.cA, ...(basic.pathLenConstraint === undefined ? {} : { pathLength: basic.pathLenConstraint }) };
  if (usageValue !== undefined) parsed.keyUsage = AsnConvert.parse(usageValue, KeyUsage).toNumber();
  return parsed;
}

/**
 * Parses one certificate (DER, or PEM holding exactly one), caching by its bytes. `name` is used in
 * the refusal message.
 */
export function parseCertificate(input: Uint8Array | string, name: string, context = 'certificate chain'): ParsedCertificate {
  const der = singleDer(input);
  if (der === undefined) throw chainError(context, `${name} is not exactly one PEM certificate`);
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const cached = parseCache.get(key);
  if (cached !== undefined) return cached;
  let parsed: ParsedCertificate;
  try {
    parsed = decodeCertificate(new Uint8Array(der));
  } catch (error) {
    throw chainError(context, `${name} is not a well-formed X.509 certificate (${(error as Error).message})`, error);
  }
  if (parseCache.size >= PARSE_CACHE_LIMIT) {
    const oldest = parseCache.keys().next().value;
    if (oldest !== undefined) parseCache.delete(oldest);
  }
  parseCache.set(key, parsed);
  return parsed;
}

/** Trust anchors given as DER, PEM text or PEM bundles, flattened and parsed. */
export function parseTrustAnchors(anchors: readonly (Uint8Array | string)[], context = 'certificate chain'): ParsedCertificate[] {
  const out: ParsedCertificate[] = [];
  anchors.forEach((anchor, index) => {
    const ders = typeof anchor === 'string' ? pemCertificates(anchor) : [anchor];
    if (ders.length === 0) throw chainError(context, `trust anchor ${index} holds no PEM certificate`);
    for (const der of ders) out.push(parseCertificate(der, `trust anchor ${index}`, context));
  });
  return out;
}

function describe(name: string, cert: ParsedCertificate): string {
  return `${name} ("${cert.subject}")`;
}

function checkValidity(context: string, name: string, cert: ParsedCertificate, at: Date): void {
  const { notBefore, notAfter } = cert;
  if (at.getTime() < notBefore.getTime()) {
    throw chainError(context, `${name} is not valid before ${isoTime(notBefore)} (verifying at ${isoTime(at)})`);
  }
  if (at.getTime() > notAfter.getTime()) {
    throw chainError(context, `${name} expired at ${isoTime(notAfter)} (verifying at ${isoTime(at)})`);
  }
}

function checkStructure(context: string, name: string, cert: ParsedCertificate, allowZeroSerial: boolean): void {
  const serial = cert.serialNumber.replace(/^0+/, '');
  if (serial === '' && !allowZeroSerial) throw chainError(context, `${name} has serial number 0 (RFC 5280 requires a positive serial)`);
  for (const extension of cert.extensions) {
    if (extension.critical && !KNOWN_CRITICAL_EXTENSIONS.has(extension.type)) {
      throw chainError(context, `${name} has an unsupported critical extension ${extension.type}`);
    }
  }
}

/**
 * Checks that `issuer` may issue certificates: basicConstraints cA, path length, keyCertSign.
 * `intermediatesBelow` counts the CA certificates between `issuer` and the leaf.
 */
function checkIssuerRole(context: string, name: string, issuer: ParsedCertificate, intermediatesBelow: number): void {
  const basic = issuer.basicConstraints;
  if (basic === undefined || !basic.ca) throw chainError(context, `${name} is not a CA certificate (basicConstraints cA is not set)`);
  if (basic.pathLength !== undefined && intermediatesBelow > basic.pathLength) {
    throw chainError(context, `${name} allows a path length of ${basic.pathLength} but ${intermediatesBelow} CA certificates follow it`);
  }
  if (issuer.keyUsage !== undefined && (issuer.keyUsage & KeyUsageFlags.keyCertSign) === 0) {
    throw chainError(context, `${name} key usage does not include keyCertSign`);
  }
}

function signedBy(child: ParsedCertificate, issuer: ParsedCertificate): boolean {
  if (verifiedLinks.get(child)?.has(issuer) === true) return true;
  let valid = false;
  try {
    valid = child.native.verify(issuer.native.publicKey);
  } catch {
    valid = false;
  }
  if (valid) {
    const issuers = verifiedLinks.get(child) ?? new WeakSet<ParsedCertificate>();
    issuers.add(issuer);
    verifiedLinks.set(child, issuers);
  }
  return valid;
}

/**
 * Verifies a certificate chain (leaf first, DER or PEM; it may end with the trust anchor itself)
 * against trust anchors at time `at`: every certificate and the anchor valid at `at`, every link's
 * names and signature, issuers being CAs allowed to sign certificates. Throws `AttestationFailed`
 * with a precise reason ("nitro: certificate chain: cabundle[2] expired at ... (verifying at ...)").
 */
export async function verifyCertificateChain(
  chain: readonly (Uint8Array | string)[],
  trustAnchors: readonly (Uint8Array | string)[],
  at: Date,
  options: ChainOptions = {},
): Promise<VerifiedChain> {
  const context = options.context ?? 'certificate chain';
  if (!isValidDate(at)) throw chainError(context, 'the time to verify at is not a valid Date');
  if (chain.length === 0) throw chainError(context, 'the chain is empty');
  const nameOf = (index: number): string => options.names?.[index] ?? `chain[${index}]`;
  const certificates = chain.map((input, index) => parseCertificate(input, nameOf(index), context));
  const anchors = parseTrustAnchors(trustAnchors, context);
  if (anchors.length === 0) throw chainError(context, 'no trust anchors given');

  // A chain that carries its root: the root must be one of the anchors, byte for byte.
  let path = certificates;
  let anchor: ParsedCertificate | undefined;
  const last = certificates[certificates.length - 1] as ParsedCertificate;
  const pinned = anchors.find((candidate) => sameBytes(candidate.der, last.der));
  if (pinned !== undefined) {
    anchor = pinned;
    path = certificates.slice(0, -1);
  }
  const top = path[path.length - 1];
  if (anchor === undefined && top !== undefined) {
    const named = anchors.filter((candidate) => candidate.subject === top.issuer);
    if (named.length === 0) {
      throw chainError(context, `${describe(nameOf(path.length - 1), top)} is issued by "${top.issuer}", which is not a trust anchor`);
    }
    anchor = named.find((candidate) => signedBy(top, candidate));
    if (anchor === undefined) {
      throw chainError(context, `${nameOf(path.length - 1)} signature does not verify with the trust anchor "${named[0]?.subject}"`);
    }
  }
  if (anchor === undefined) throw chainError(context, 'no trust anchor found');
  const anchorName = pinned !== undefined ? nameOf(certificates.length - 1) : `trust anchor "${anchor.subject}"`;

  // Validity first: an expired certificate is the most useful thing to report.
  path.forEach((cert, index) => checkValidity(context, nameOf(index), cert, at));
  checkValidity(context, anchorName, anchor, at);

  path.forEach((cert, index) => checkStructure(context, nameOf(index), cert, index === 0 && options.allowZeroSerialLeaf === true));
  checkStructure(context, anchorName, anchor, false);

  for (let index = 0; index < path.length; index++) {
    const child = path[index] as ParsedCertificate;
    const issuer = index + 1 < path.length ? (path[index + 1] as ParsedCertificate) : anchor;
    const issuerName = index + 1 < path.length ? nameOf(index + 1) : anchorName;
    if (child.issuer !== issuer.subject) {
      throw chainError(context, `${nameOf(index)} (issuer "${child.issuer}") is not issued by ${describe(issuerName, issuer)}`);
    }
    checkIssuerRole(context, issuerName, issuer, index);
    // OpenSSL's issuer check adds the authority/subject key identifier match.
    if (!child.native.checkIssued(issuer.native)) {
      throw chainError(context, `${nameOf(index)} authority key identifier does not match ${describe(issuerName, issuer)}`);
    }
    if (!signedBy(child, issuer)) throw chainError(context, `${nameOf(index)} signature does not verify with the key of ${issuerName}`);
  }
  return { certificates: path, anchor };
}
