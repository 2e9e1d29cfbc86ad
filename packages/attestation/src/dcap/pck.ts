/**
 * The Intel SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1, "Intel SGX PCK
 * Certificate and CRL Profile" §1.3.5): the platform's TCB (16 component SVNs, PCE SVN, CPU SVN),
 * PCE id and FMSPC, which TCB info is matched against.
 */
import * as asn1js from 'asn1js';
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

function fail(platform: string, reason: string): never {
  throw attestationFailure(platform, `PCK certificate: ${reason}`);
}

/** The (oid, value) pairs of an SGX extension SEQUENCE OF SEQUENCE { oid, value }. */
function members(block: asn1js.AsnType, platform: string, what: string): Map<string, asn1js.AsnType> {
  if (!(block instanceof asn1js.Sequence)) fail(platform, `${what} is not a SEQUENCE`);
  const out = new Map<string, asn1js.AsnType>();
  for (const item of block.valueBlock.value) {
    if (!(item instanceof asn1js.Sequence) || item.valueBlock.value.length !== 2) fail(platform, `${what} holds an entry that is not SEQUENCE { oid, value }`);
    const [oid, value] = item.valueBlock.value as [asn1js.AsnType, asn1js.AsnType];
    if (!(oid instanceof asn1js.ObjectIdentifier)) fail(platform, `${what} holds an entry without an OID`);
    out.set(oid.valueBlock.toString(), value);
  }
  return out;
}

function integer(value: asn1js.AsnType | undefined, platform: string, what: string): number {
  if (!(value instanceof asn1js.Integer) && !(value instanceof asn1js.Enumerated)) fail(platform, `${what} is missing or not an INTEGER`);
  const number = value.valueBlock.valueDec;
  if (!Number.isSafeInteger(number) || number < 0) fail(platform, `${what} is out of range`);
  return number;
}

function octets(value: asn1js.AsnType | undefined, platform: string, what: string, length: number): Uint8Array {
  if (!(value instanceof asn1js.OctetString)) fail(platform, `${what} is missing or not an OCTET STRING`);
  const bytes = new Uint8Array(value.valueBlock.valueHexView);
  if (bytes.byteLength !== length) fail(platform, `${what} is ${bytes.byteLength} bytes, expected ${length}`);
  return bytes;
}

/** Reads the SGX extensions of the PCK leaf certificate. */
export function readPckExtensions(certificate: ParsedCertificate, platform: string): PckExtensions {
  const extension = certificate.extensions.find((entry) => entry.type === SGX_EXTENSIONS);
  if (extension === undefined) fail(platform, 'has no SGX extensions (1.2.840.113741.1.13.1)');
  const parsed = asn1js.fromBER(extension.value);
  if (parsed.offset === -1) fail(platform, 'SGX extensions are not well-formed DER');
  const top = members(parsed.result, platform, 'SGX extensions');
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
