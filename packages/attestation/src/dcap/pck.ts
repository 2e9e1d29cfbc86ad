/**
 * The Intel SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1, "Intel SGX PCK
 * Certificate and CRL Profile" §1.3.5): the platform's TCB (16 component SVNs, PCE SVN, CPU SVN),
 * PCE id and FMSPC, which TCB info is matched against.
 */
import { Code, decodeDer, DerReader, DerTag, derChildren, readInteger, readOctetString, readOid, VeracruzError, type DerElement } from '@veracruz-ts/core';
import type { ParsedCertificate } from '../chain.ts';
import { attestationFailure, toHex } from '../platform.ts';

const SGX_EXTENSIONS = '1.2.840.113741.1.13.1';

/** The SGX extension values a verifier needs. */
export interface PckExtensions {
  ppid?: string;
  /** The 16 TCB component SVNs. */
  componentSvns: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  /** 4 hex digits, uppercase. */
  pceId: string;
  /** 12 hex digits, uppercase. */
  fmspc: string;
  sgxType?: number;
}

function fail(platform: string, reason: string, cause?: unknown): never {
  throw attestationFailure(platform, `PCK certificate: ${reason}`, cause);
}

/** The (oid, value) pairs of an SGX extension SEQUENCE OF SEQUENCE { oid, value }. */
function members(block: DerElement, platform: string, what: string): Map<string, DerElement> {
  if (block.tag !== DerTag.Sequence) fail(platform, `${what} is not a SEQUENCE`);
  const out = new Map<string, DerElement>();
  for (const [index, item] of derChildren(block, what).entries()) {
    if (item.tag !== DerTag.Sequence) fail(platform, `${what} holds an entry that is not SEQUENCE { oid, value }`);
    const reader = new DerReader(item, `${what}[${index}]`);
    if (reader.peekTag() !== DerTag.ObjectIdentifier) fail(platform, `${what} holds an entry without an OID`);
    const oid = readOid(reader.any('oid'), `${what}[${index}].oid`);
    if (reader.done) fail(platform, `${what} holds an entry that is not SEQUENCE { oid, value }`);
    const value = reader.any('value');
    if (!reader.done) fail(platform, `${what} holds an entry that is not SEQUENCE { oid, value }`);
    out.set(oid, value);
  }
  return out;
}

function integer(value: DerElement | undefined, platform: string, what: string): number {
  if (value === undefined || (value.tag !== DerTag.Integer && value.tag !== DerTag.Enumerated)) fail(platform, `${what} is missing or not an INTEGER`);
  const number = readInteger(value, what, value.tag);
  if (number < 0n || number > 0xffff_ffffn) fail(platform, `${what} is out of range`);
  return Number(number);
}

function octets(value: DerElement | undefined, platform: string, what: string, length: number): Uint8Array {
  if (value === undefined || value.tag !== DerTag.OctetString) fail(platform, `${what} is missing or not an OCTET STRING`);
  const bytes = readOctetString(value, what).slice();
  if (bytes.byteLength !== length) fail(platform, `${what} is ${bytes.byteLength} bytes, expected ${length}`);
  return bytes;
}

/** Reads the SGX extensions of the PCK leaf certificate. */
export function readPckExtensions(certificate: ParsedCertificate, platform: string): PckExtensions {
  const extension = certificate.extensions.find((entry) => entry.oid === SGX_EXTENSIONS);
  if (extension === undefined) fail(platform, 'has no SGX extensions (1.2.840.113741.1.13.1)');
  try {
    return readSgxExtensions(extension.value, platform);
  } catch (error) {
    // The DER reader's refusals are InvalidRequest; here they mean the evidence is refused.
    if (error instanceof VeracruzError && error.code === Code.AttestationFailed) throw error;
    const reason = error instanceof VeracruzError ? ` (${error.rawMessage})` : '';
    return fail(platform, `SGX extensions are not well-formed DER${reason}`, error);
  }
}

function readSgxExtensions(value: Uint8Array, platform: string): PckExtensions {
  const top = members(decodeDer(value, 'SGX extensions'), platform, 'SGX extensions');
  const tcb = members(top.get(`${SGX_EXTENSIONS}.2`) ?? fail(platform, 'SGX extensions lack the TCB'), platform, 'SGX TCB');
  const componentSvns: number[] = [];
  for (let index = 1; index <= 16; index++) componentSvns.push(integer(tcb.get(`${SGX_EXTENSIONS}.2.${index}`), platform, `TCB component ${index} SVN`));
  const result: PckExtensions = {
    componentSvns,
    pceSvn: integer(tcb.get(`${SGX_EXTENSIONS}.2.17`), platform, 'PCE SVN'),
    cpuSvn: octets(tcb.get(`${SGX_EXTENSIONS}.2.18`), platform, 'CPU SVN', 16),
    pceId: toHex(octets(top.get(`${SGX_EXTENSIONS}.3`), platform, 'PCE-ID', 2)).toUpperCase(),
    fmspc: toHex(octets(top.get(`${SGX_EXTENSIONS}.4`), platform, 'FMSPC', 6)).toUpperCase(),
  };
  const ppid = top.get(`${SGX_EXTENSIONS}.1`);
  if (ppid !== undefined) result.ppid = toHex(octets(ppid, platform, 'PPID', 16));
  const sgxType = top.get(`${SGX_EXTENSIONS}.5`);
  if (sgxType !== undefined) result.sgxType = integer(sgxType, platform, 'SGX type');
  return result;
}
