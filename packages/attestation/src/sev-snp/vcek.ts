/**
 * The AMD-specific extensions of VCEK and VLEK certificates (AMD "Versioned Chip Endorsement Key
 * (VCEK) Certificate and KDS Interface Specification", §3): product name, TCB security patch
 * levels, hardware id (VCEK) or CSP id (VLEK).
 */
import type { ParsedCertificate } from '../chain.ts';
import { attestationFailure } from '../platform.ts';

const AMD_OID = '1.3.6.1.4.1.3704.1';

/** The decoded AMD extensions. */
export interface AmdKeyExtensions {
  structVersion?: number;
  /** e.g. "Milan-B0", "Genoa", "Turin". */
  productName?: string;
  blSpl?: number;
  teeSpl?: number;
  snpSpl?: number;
  ucodeSpl?: number;
  /** Turin: FMC SPL. */
  fmcSpl?: number;
  /** VCEK: the chip id it was issued for (64 bytes; 8 on Turin). */
  hwId?: Uint8Array;
  /** VLEK: the cloud provider it was issued to. */
  cspId?: string;
}

function fail(reason: string): never {
  throw attestationFailure('sev-snp', `endorsement key certificate: ${reason}`);
}

/** A DER INTEGER of at most 6 content bytes, non-negative (the SPLs are small). */
function derInteger(value: Uint8Array, name: string): number {
  const length = value[1] ?? 0;
  if (value[0] !== 0x02 || length === 0 || length > 6 || value.byteLength !== 2 + length) fail(`${name} is not a DER INTEGER`);
  if (((value[2] ?? 0) & 0x80) !== 0) fail(`${name} is negative`);
  let result = 0;
  for (let i = 2; i < value.byteLength; i++) result = result * 256 + (value[i] ?? 0);
  return result;
}

/** A DER IA5String with a short-form length. */
function derIa5String(value: Uint8Array, name: string): string {
  const length = value[1] ?? 0;
  if (value[0] !== 0x16 || length >= 0x80 || value.byteLength !== 2 + length) fail(`${name} is not a DER IA5String`);
  const text = Buffer.from(value.subarray(2)).toString('latin1');
  if (!/^[\x20-\x7e]*$/.test(text)) fail(`${name} holds non-printable characters`);
  return text;
}

/** Reads the AMD extensions of a VCEK or VLEK. */
export function readAmdKeyExtensions(certificate: ParsedCertificate): AmdKeyExtensions {
  const out: AmdKeyExtensions = {};
  for (const extension of certificate.extensions) {
    if (!extension.oid.startsWith(`${AMD_OID}.`)) continue;
    const value = extension.value;
    switch (extension.oid.slice(AMD_OID.length + 1)) {
      case '1': out.structVersion = derInteger(value, 'structVersion'); break;
      case '2': out.productName = derIa5String(value, 'productName'); break;
      case '3.1': out.blSpl = derInteger(value, 'blSPL'); break;
      case '3.2': out.teeSpl = derInteger(value, 'teeSPL'); break;
      case '3.3': out.snpSpl = derInteger(value, 'snpSPL'); break;
      case '3.8': out.ucodeSpl = derInteger(value, 'ucodeSPL'); break;
      case '3.9': out.fmcSpl = derInteger(value, 'fmcSPL'); break;
      case '4': out.hwId = value; break;
      case '5': out.cspId = derIa5String(value, 'cspID'); break;
      default: break; // spl_4..spl_7 are reserved and other AMD OIDs carry nothing we check.
    }
  }
  return out;
}
