/**
 * X.509 certificate path validation at an explicit time (RFC 5280 §6, the parts attestation
 * chains use): validity windows, issuer/subject links, signatures, CA basic constraints, path
 * length, key usage and unknown critical extensions. Structure is decoded by the project's own
 * strict DER/X.509 loader (`@veracruz-ts/core`), so this trusted code carries no third-party
 * ASN.1; signatures are checked by `node:crypto`, which also handles the RSASSA-PSS links AMD uses.
 */
import { X509Certificate as NodeCertificate } from 'node:crypto';
import { Code, KeyUsage, parseX509Certificate, readPemBlocks, sameBytes, toPem, VeracruzError, type PemBlock, type X509Certificate } from '@veracruz-ts/core';

/** An ISO 8601 time without a `.000` millisecond part when it is zero, as certificates print it. */
export function isoTime(time: Date): string {
  const text = time.toISOString();
  return text.endsWith('.000Z') ? `${text.slice(0, -5)}Z` : text;
}

/** Whether `value` is a Date (from any realm) holding a valid time. */
export function isValidDate(value: unknown): value is Date {
  return Object.prototype.toString.call(value) === '[object Date]' && !Number.isNaN((value as Date).getTime());
}

/** A certificate decoded once: the X.509 fields, and OpenSSL's view for signatures and key identifiers. */
export interface ParsedCertificate extends X509Certificate {
  /** Signature verification and key identifiers (OpenSSL). */
  native: NodeCertificate;
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

const NOT_BASE64 = /block (\d+) \(CERTIFICATE\) is not base64$/;

/**
 * Every certificate in a PEM text, as DER, in order (core's PEM decoder, refusals as
 * `AttestationFailed`). A block whose body is not base64 is refused, never skipped; with `strict`,
 * so is any other text or block between them.
 */
export function pemCertificates(pem: string, options: PemOptions = {}): Uint8Array[] {
  const context = options.context ?? 'PEM';
  let blocks: PemBlock[];
  try {
    blocks = readPemBlocks(pem, { label: 'CERTIFICATE', what: context, code: Code.AttestationFailed });
  } catch (error) {
    const index = error instanceof VeracruzError ? NOT_BASE64.exec(error.rawMessage)?.[1] : undefined;
    throw index === undefined ? error : chainError(context, `certificate ${index} of the PEM text is not base64`, error);
  }
  if (options.strict === true) {
    try {
      readPemBlocks(pem, { label: 'CERTIFICATE', strict: true });
    } catch (error) {
      throw chainError(context, 'the PEM text holds something besides certificates', error);
    }
  }
  return blocks.map((block) => block.der);
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

function decodeCertificate(der: Uint8Array): ParsedCertificate {
  const fields = parseX509Certificate(der);
  const native = new NodeCertificate(der);
  void native.publicKey; // decoded now, so an unusable key is refused at parse time
  return { ...fields, native };
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
    const reason = error instanceof VeracruzError ? error.rawMessage : (error as Error).message;
    throw chainError(context, `${name} is not a well-formed X.509 certificate (${reason})`, error);
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
    if (extension.critical && !KNOWN_CRITICAL_EXTENSIONS.has(extension.oid)) {
      throw chainError(context, `${name} has an unsupported critical extension ${extension.oid}`);
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
  if (issuer.keyUsage !== undefined && (issuer.keyUsage & KeyUsage.keyCertSign) === 0) {
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
  for (const [index, cert] of path.entries()) checkValidity(context, nameOf(index), cert, at);
  checkValidity(context, anchorName, anchor, at);

  for (const [index, cert] of path.entries()) checkStructure(context, nameOf(index), cert, index === 0 && options.allowZeroSerialLeaf === true);
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
