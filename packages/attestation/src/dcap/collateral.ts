/**
 * DCAP collateral: TCB info and QE identity (Intel PCS JSON, signed over their exact text by the
 * Intel SGX TCB Signing certificate), the TCB signing chain, and the root CA and PCK CRLs. Accepted
 * as Intel PCS returns them (`{"tcbInfo":…,"signature":…}`, `{"enclaveIdentity":…,"signature":…}`,
 * PEM chains, DER or PEM CRLs) or as one dcap-qvl `QuoteCollateralV3` JSON object.
 */
import { verify as verifySignature } from 'node:crypto';
import { parseX509Crl, readPemBlock, type X509Crl } from '@veracruz-ts/core';
import { pemCertificates, parseCertificate, verifyCertificateChain, type ParsedCertificate } from '../chain.ts';
import { attestationFailure, isoTime } from '../platform.ts';

/** One TCB component SVN entry of a TCB level. */
export interface TcbComponent {
  svn: number;
  category?: string;
  type?: string;
}

/** One level of a TCB info's `tcbLevels`. */
export interface TcbLevel {
  tcb: {
    sgxtcbcomponents?: TcbComponent[];
    tdxtcbcomponents?: TcbComponent[];
    pcesvn: number;
    /** TCB info version 2 names the SGX components sgxtcbcomp01svn..sgxtcbcomp16svn. */
    [key: string]: unknown;
  };
  tcbDate: string;
  tcbStatus: string;
  advisoryIDs?: string[];
}

/** A TDX module identity of TCB info version 3. */
export interface TdxModuleIdentity {
  id: string;
  mrsigner: string;
  attributes: string;
  attributesMask: string;
  tcbLevels: { tcb: { isvsvn: number }; tcbDate: string; tcbStatus: string; advisoryIDs?: string[] }[];
}

/** The body of a TCB info. */
export interface TcbInfo {
  id?: string;
  version: number;
  issueDate: string;
  nextUpdate: string;
  fmspc: string;
  pceId: string;
  tcbType?: number;
  tcbEvaluationDataNumber?: number;
  tdxModule?: { mrsigner: string; attributes: string; attributesMask: string };
  tdxModuleIdentities?: TdxModuleIdentity[];
  tcbLevels: TcbLevel[];
}

/** The body of a QE identity. */
export interface QeIdentity {
  id: string;
  version: number;
  issueDate: string;
  nextUpdate: string;
  tcbEvaluationDataNumber?: number;
  miscselect: string;
  miscselectMask: string;
  attributes: string;
  attributesMask: string;
  mrsigner: string;
  isvprodid: number;
  tcbLevels: { tcb: { isvsvn: number }; tcbDate: string; tcbStatus: string; advisoryIDs?: string[] }[];
}

/** A JSON document with the exact text its signature covers. */
export interface SignedJson<T> {
  /** The exact signed text. */
  text: string;
  body: T;
  /** Raw ECDSA P-256 r||s. */
  signature: Uint8Array;
  /** The issuer chain that came with it (leaf first), if any. */
  chain: Uint8Array[];
}

/** The collateral found in a verifier's endorsements. */
export interface DcapCollateral {
  tcbInfo?: SignedJson<TcbInfo>;
  qeIdentity?: SignedJson<QeIdentity>;
  /** Certificates given on their own (the TCB signing chain). */
  certificates: Uint8Array[];
  crls: X509Crl[];
}

function fail(platform: string, reason: string, cause?: unknown): never {
  throw attestationFailure(platform, reason, cause);
}

/**
 * The exact text of a top-level member's value in a JSON object text, so that a signature over
 * it can be checked without re-serialising.
 */
export function rawJsonMember(text: string, key: string): string | undefined {
  let index = text.indexOf('{');
  if (index < 0) return undefined;
  index++;
  const skipSpace = (): void => {
    while (index < text.length && /\s/.test(text[index] ?? '')) index++;
  };
  const endOfString = (start: number): number => {
    let i = start + 1;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    return i + 1;
  };
  const endOfValue = (start: number): number => {
    if (text[start] === '"') return endOfString(start);
    let depth = 0;
    let i = start;
    for (; i < text.length; i++) {
      const char = text[i];
      if (char === '"') {
        i = endOfString(i) - 1;
      } else if (char === '{' || char === '[') {
        depth++;
      } else if (char === '}' || char === ']') {
        if (depth === 0) break;
        depth--;
        if (depth === 0) return i + 1;
      } else if (char === ',' && depth === 0) {
        break;
      }
    }
    return i;
  };
  while (index < text.length) {
    skipSpace();
    if (text[index] !== '"') return undefined;
    const keyEnd = endOfString(index);
    const name = JSON.parse(text.slice(index, keyEnd)) as string;
    index = keyEnd;
    skipSpace();
    if (text[index] !== ':') return undefined;
    index++;
    skipSpace();
    const valueEnd = endOfValue(index);
    if (name === key) return text.slice(index, valueEnd).trimEnd();
    index = valueEnd;
    skipSpace();
    if (text[index] !== ',') return undefined;
    index++;
  }
  return undefined;
}

function hexBytes(platform: string, value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(value)) fail(platform, `collateral: ${what} is not hex`);
  return new Uint8Array(Buffer.from(value, 'hex'));
}

/** Parsed CRLs by their bytes: Intel's CRLs change daily at most, and parsing a long one is slow. */
const crlCache = new Map<string, X509Crl>();
const CRL_CACHE_LIMIT = 32;
/** CRLs whose signature was verified, with the issuer that verified it. */
const verifiedCrls = new WeakMap<X509Crl, WeakSet<ParsedCertificate>>();

/** Parses a CRL (DER bytes or PEM text), or returns undefined if it is not one. */
function tryParseCrl(bytes: Uint8Array | string): X509Crl | undefined {
  const key = typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const cached = crlCache.get(key);
  if (cached !== undefined) return cached;
  let crl: X509Crl;
  try {
    crl = parseX509Crl(typeof bytes === 'string' ? readPemBlock(bytes, 'X509 CRL', 'CRL') : bytes.slice());
  } catch {
    return undefined;
  }
  if (crlCache.size >= CRL_CACHE_LIMIT) {
    const oldest = crlCache.keys().next().value;
    if (oldest !== undefined) crlCache.delete(oldest);
  }
  crlCache.set(key, crl);
  return crl;
}

function parseCrl(platform: string, bytes: Uint8Array | string, what: string): X509Crl {
  return tryParseCrl(bytes) ?? fail(platform, `collateral: ${what} is not a CRL`);
}

function signedJson<T>(platform: string, text: string, signature: unknown, chain: Uint8Array[], what: string): SignedJson<T> {
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch (error) {
    fail(platform, `collateral: ${what} is not JSON`, error);
  }
  const bytes = hexBytes(platform, signature, `${what} signature`);
  if (bytes.byteLength !== 64) fail(platform, `collateral: ${what} signature is ${bytes.byteLength} bytes, expected 64 (r||s)`);
  return { text, body, signature: bytes, chain };
}

/** Sorts the endorsements into TCB info, QE identity, certificates and CRLs. */
export function readCollateral(platform: string, endorsements: readonly Uint8Array[]): DcapCollateral {
  const collateral: DcapCollateral = { certificates: [], crls: [] };
  const setOnce = <K extends 'tcbInfo' | 'qeIdentity'>(key: K, value: DcapCollateral[K], index: number): void => {
    if (collateral[key] !== undefined) fail(platform, `endorsements[${index}]: a second ${key === 'tcbInfo' ? 'TCB info' : 'QE identity'}`);
    collateral[key] = value;
  };
  endorsements.forEach((bytes, index) => {
    const text = Buffer.from(bytes).toString('utf8');
    const trimmed = text.trimStart();
    if (trimmed.startsWith('{')) {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch (error) {
        fail(platform, `endorsements[${index}] is not well-formed JSON`, error);
      }
      if (typeof json.tcb_info === 'string' && typeof json.qe_identity === 'string') {
        const tcbChain = pemCertificates(String(json.tcb_info_issuer_chain ?? ''), { strict: true, context: `${platform}: collateral: tcb_info_issuer_chain` });
        const qeChain = pemCertificates(String(json.qe_identity_issuer_chain ?? ''), { strict: true, context: `${platform}: collateral: qe_identity_issuer_chain` });
        setOnce('tcbInfo', signedJson<TcbInfo>(platform, json.tcb_info, json.tcb_info_signature, tcbChain, 'tcb_info'), index);
        setOnce('qeIdentity', signedJson<QeIdentity>(platform, json.qe_identity, json.qe_identity_signature, qeChain, 'qe_identity'), index);
        for (const name of ['root_ca_crl', 'pck_crl'] as const) {
          const value = json[name];
          if (value === undefined || value === null || value === '') continue;
          const crl = typeof value === 'string' && value.includes('-----BEGIN') ? value : hexBytes(platform, value, name);
          collateral.crls.push(parseCrl(platform, crl, name));
        }
      } else if (json.tcbInfo !== undefined) {
        setOnce('tcbInfo', signedJson<TcbInfo>(platform, rawJsonMember(text, 'tcbInfo') ?? '', json.signature, [], 'tcbInfo'), index);
      } else if (json.enclaveIdentity !== undefined || json.qeIdentity !== undefined) {
        const key = json.enclaveIdentity !== undefined ? 'enclaveIdentity' : 'qeIdentity';
        setOnce('qeIdentity', signedJson<QeIdentity>(platform, rawJsonMember(text, key) ?? '', json.signature, [], key), index);
      } else {
        fail(platform, `endorsements[${index}] is JSON but neither TCB info, QE identity nor dcap-qvl collateral`);
      }
    } else if (trimmed.startsWith('-----BEGIN CERTIFICATE')) {
      collateral.certificates.push(...pemCertificates(text, { context: `${platform}: endorsements[${index}]` }));
    } else if (trimmed.startsWith('-----BEGIN X509 CRL')) {
      collateral.crls.push(parseCrl(platform, text, `endorsements[${index}]`));
    } else {
      // DER: a CRL (SEQUENCE { tbsCertList, ... }) or a certificate.
      const crl = tryParseCrl(bytes);
      if (crl !== undefined) collateral.crls.push(crl);
      else collateral.certificates.push(parseCertificate(bytes, `endorsements[${index}]`, `${platform}: endorsements`).der);
    }
  });
  return collateral;
}

/** Checks a collateral document's issueDate..nextUpdate window at `at`. */
export function checkWindow(platform: string, what: string, issueDate: string, nextUpdate: string, at: Date): void {
  const issued = new Date(issueDate);
  const next = new Date(nextUpdate);
  if (Number.isNaN(issued.getTime()) || Number.isNaN(next.getTime())) fail(platform, `${what}: issueDate or nextUpdate is not a date`);
  if (at.getTime() < issued.getTime()) fail(platform, `${what} is not valid before its issueDate ${isoTime(issued)} (verifying at ${isoTime(at)})`);
  if (at.getTime() > next.getTime()) fail(platform, `${what} expired: nextUpdate ${isoTime(next)} (verifying at ${isoTime(at)})`);
}

const TCB_SIGNING_CN = /(?:^|, )CN=Intel SGX TCB Signing(?:,|$)/;

/**
 * Verifies a signed JSON document: its signing chain (the TCB Signing certificate, issued directly
 * by the trust anchor) at `at`, then its signature over the exact text.
 */
export async function verifySignedJson(
  platform: string,
  what: string,
  document: SignedJson<unknown>,
  extraCertificates: readonly Uint8Array[],
  trustAnchors: readonly (string | Uint8Array)[],
  at: Date,
): Promise<ParsedCertificate> {
  const candidates = [...document.chain, ...extraCertificates].map((der) => parseCertificate(der, `${what} signing certificate`, `${platform}: ${what} signing chain`));
  const signer = candidates.find((certificate) => TCB_SIGNING_CN.test(certificate.subject));
  if (signer === undefined) fail(platform, `${what}: no Intel SGX TCB Signing certificate among the collateral`);
  await verifyCertificateChain([signer.der], trustAnchors, at, { context: `${platform}: ${what} signing chain`, names: ['TCB Signing certificate'] });
  let valid = false;
  try {
    valid = verifySignature('sha256', Buffer.from(document.text, 'utf8'), { key: signer.native.publicKey, dsaEncoding: 'ieee-p1363' }, document.signature);
  } catch (error) {
    fail(platform, `${what} signature could not be checked`, error);
  }
  if (!valid) fail(platform, `${what} signature does not verify with the TCB Signing certificate`);
  return signer;
}

function normalSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+/, '');
}

/** The hash of the ECDSA and RSA PKCS#1 v1.5 signature algorithms a CRL may be signed with. */
const CRL_SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** Whether `issuer`'s key signed the CRL (node:crypto over the tbsCertList bytes). */
function crlSignedBy(crl: X509Crl, issuer: ParsedCertificate): boolean {
  const hash = CRL_SIGNATURE_HASHES[crl.signatureAlgorithm.oid];
  if (hash === undefined) return false;
  try {
    return verifySignature(hash, crl.tbsDer, issuer.native.publicKey, crl.signature);
  } catch {
    return false;
  }
}

/**
 * Checks the CRLs given against the PCK chain: each must be issued by the root (root CA CRL) or the
 * PCK CA (PCK CRL), signed by it, current at `at`, and must not list the PCK CA or PCK certificate.
 * Returns which CRLs were checked.
 */
export async function checkCrls(platform: string, crls: readonly X509Crl[], pckChain: readonly ParsedCertificate[], root: ParsedCertificate, at: Date): Promise<string[]> {
  const leaf = pckChain[0] as ParsedCertificate;
  const ca = pckChain[1] as ParsedCertificate;
  const checked: string[] = [];
  for (const crl of crls) {
    const [name, issuer, subject] =
      crl.issuer === root.subject ? ['root CA CRL', root, ca] as const
      : crl.issuer === ca.subject ? ['PCK CRL', ca, leaf] as const
      : fail(platform, `CRL issued by "${crl.issuer}" is neither the root CA's nor the PCK CA's`);
    if (verifiedCrls.get(crl)?.has(issuer) !== true) {
      if (!crlSignedBy(crl, issuer)) fail(platform, `${name} signature does not verify with its issuer's key`);
      const issuers = verifiedCrls.get(crl) ?? new WeakSet<ParsedCertificate>();
      issuers.add(issuer);
      verifiedCrls.set(crl, issuers);
    }
    if (at.getTime() < crl.thisUpdate.getTime()) fail(platform, `${name} is not valid before its thisUpdate ${isoTime(crl.thisUpdate)} (verifying at ${isoTime(at)})`);
    if (crl.nextUpdate === undefined || at.getTime() > crl.nextUpdate.getTime()) {
      fail(platform, `${name} expired: nextUpdate ${crl.nextUpdate === undefined ? 'absent' : isoTime(crl.nextUpdate)} (verifying at ${isoTime(at)})`);
    }
    const serial = normalSerial(subject.serialNumber);
    if (crl.revoked.some((entry) => normalSerial(entry.serialNumber) === serial)) {
      fail(platform, `${name} revokes the ${subject === leaf ? 'PCK certificate' : 'PCK CA certificate'} (serial ${subject.serialNumber})`);
    }
    checked.push(name);
  }
  return checked;
}
