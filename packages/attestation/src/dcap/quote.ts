/**
 * Intel DCAP quote layouts ("Intel SGX ECDSA Quote Library API" appendix A.4 and "Intel TDX DCAP
 * Quoting Library API" appendix A.3/A.4): quote versions 3 (SGX), 4 (SGX or TDX) and 5 (typed
 * body: SGX report, TD report 1.0 or 1.5), with ECDSA P-256 attestation keys.
 */
import { attestationFailure } from '../platform.ts';

/** The size of each body kind. */
const SGX_REPORT_LENGTH = 384;
const TD10_REPORT_LENGTH = 584;
const TD15_REPORT_LENGTH = 648;
/** Attestation key type 2: ECDSA P-256 with SHA-256. */
const ECDSA_P256 = 2;
/** TEE types in the header. */
export const TEE_TYPE = { SGX: 0x00000000, TDX: 0x00000081 } as const;
/** Certification data types (QE certification data, §A.4.11). */
const CERT_DATA_PCK_CHAIN = 5;
const CERT_DATA_QE_REPORT = 6;

/** An SGX enclave report body (the quoted enclave's, or the Quoting Enclave's). */
export interface SgxReportBody {
  cpuSvn: Uint8Array;
  miscSelect: number;
  isvExtProdId: Uint8Array;
  attributes: Uint8Array;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  configId: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
  isvFamilyId: Uint8Array;
  reportData: Uint8Array;
}

/** A TD report body, TDX 1.0 or 1.5 (the latter adds TEE_TCB_SVN2 and MRSERVICETD). */
export interface TdReportBody {
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmrs: Uint8Array[];
  reportData: Uint8Array;
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
}

/** A parsed quote; nothing verified yet. */
export interface DcapQuote {
  version: number;
  attestationKeyType: number;
  teeType: number;
  qeSvn: number;
  pceSvn: number;
  qeVendorId: Uint8Array;
  userData: Uint8Array;
  /** v5 only: the body type (1 SGX, 2 TD 1.0, 3 TD 1.5). */
  bodyType?: number;
  body: { kind: 'sgx'; report: SgxReportBody } | { kind: 'td'; report: TdReportBody; tdx15: boolean };
  /** Header and body: what the attestation key signs. */
  signed: Uint8Array;
  /** ECDSA r||s over `signed`. */
  signature: Uint8Array;
  /** Raw x||y of the P-256 attestation key. */
  attestationKey: Uint8Array;
  /** The Quoting Enclave's report, raw (what the PCK signs) and parsed. */
  qeReportRaw: Uint8Array;
  qeReport: SgxReportBody;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** The PCK certificate chain, PEM text, leaf first. */
  pckChainPem: string;
  /** Zero bytes after the signature data (some quote generators pad). */
  trailingZeros: number;
}

function fail(platform: string, reason: string): never {
  throw attestationFailure(platform, `quote: ${reason}`);
}

/** A bounds-checked little-endian reader over the quote bytes. */
class Reader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly platform: string;
  offset: number;

  constructor(bytes: Uint8Array, platform: string, offset = 0) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.platform = platform;
    this.offset = offset;
  }

  need(length: number, what: string): void {
    if (this.offset + length > this.bytes.byteLength) {
      fail(this.platform, `truncated: ${what} needs ${length} bytes at offset ${this.offset}, only ${this.bytes.byteLength - this.offset} left`);
    }
  }

  take(length: number, what: string): Uint8Array {
    this.need(length, what);
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  u16(what: string): number {
    this.need(2, what);
    const value = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return value;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }
}

/** Parses a 384-byte SGX report body. */
export function parseSgxReportBody(bytes: Uint8Array): SgxReportBody {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = (offset: number, length: number): Uint8Array => bytes.slice(offset, offset + length);
  return {
    cpuSvn: at(0, 16),
    miscSelect: view.getUint32(16, true),
    isvExtProdId: at(32, 16),
    attributes: at(48, 16),
    mrEnclave: at(64, 32),
    mrSigner: at(128, 32),
    configId: at(192, 64),
    isvProdId: view.getUint16(256, true),
    isvSvn: view.getUint16(258, true),
    configSvn: view.getUint16(260, true),
    isvFamilyId: at(304, 16),
    reportData: at(320, 64),
  };
}

function parseTdReportBody(bytes: Uint8Array, tdx15: boolean): TdReportBody {
  const at = (offset: number, length: number): Uint8Array => bytes.slice(offset, offset + length);
  const body: TdReportBody = {
    teeTcbSvn: at(0, 16),
    mrSeam: at(16, 48),
    mrSignerSeam: at(64, 48),
    seamAttributes: at(112, 8),
    tdAttributes: at(120, 8),
    xfam: at(128, 8),
    mrTd: at(136, 48),
    mrConfigId: at(184, 48),
    mrOwner: at(232, 48),
    mrOwnerConfig: at(280, 48),
    rtmrs: [0, 1, 2, 3].map((index) => at(328 + index * 48, 48)),
    reportData: at(520, 64),
  };
  if (tdx15) {
    body.teeTcbSvn2 = at(584, 16);
    body.mrServiceTd = at(600, 48);
  }
  return body;
}

/** Parses a DCAP quote. `platform` names the verifier in messages ("tdx" or "sgx"). */
export function parseDcapQuote(bytes: Uint8Array, platform: string): DcapQuote {
  const reader = new Reader(bytes, platform);
  const version = reader.u16('version');
  if (version !== 3 && version !== 4 && version !== 5) fail(platform, `version ${version} is not 3, 4 or 5`);
  const attestationKeyType = reader.u16('attestation key type');
  if (attestationKeyType !== ECDSA_P256) fail(platform, `attestation key type ${attestationKeyType} is not 2 (ECDSA P-256)`);
  const teeType = reader.u32('TEE type');
  if (teeType !== TEE_TYPE.SGX && teeType !== TEE_TYPE.TDX) fail(platform, `TEE type 0x${teeType.toString(16)} is neither SGX (0) nor TDX (0x81)`);
  if (version === 3 && teeType !== TEE_TYPE.SGX) fail(platform, 'a version 3 quote must be an SGX quote');
  const qeSvn = reader.u16('QE SVN');
  const pceSvn = reader.u16('PCE SVN');
  const qeVendorId = reader.take(16, 'QE vendor id').slice();
  const userData = reader.take(20, 'user data').slice();

  let body: DcapQuote['body'];
  let bodyType: number | undefined;
  if (version === 5) {
    bodyType = reader.u16('body type');
    const size = reader.u32('body size');
    const expected = { 1: SGX_REPORT_LENGTH, 2: TD10_REPORT_LENGTH, 3: TD15_REPORT_LENGTH }[bodyType];
    if (expected === undefined) fail(platform, `body type ${bodyType} is not 1 (SGX), 2 (TD 1.0) or 3 (TD 1.5)`);
    if (size !== expected) fail(platform, `body type ${bodyType} has size ${size}, expected ${expected}`);
    if ((bodyType === 1) !== (teeType === TEE_TYPE.SGX)) fail(platform, `body type ${bodyType} does not match TEE type 0x${teeType.toString(16)}`);
    const raw = reader.take(size, 'report body');
    body = bodyType === 1 ? { kind: 'sgx', report: parseSgxReportBody(raw) } : { kind: 'td', report: parseTdReportBody(raw, bodyType === 3), tdx15: bodyType === 3 };
  } else if (teeType === TEE_TYPE.SGX) {
    body = { kind: 'sgx', report: parseSgxReportBody(reader.take(SGX_REPORT_LENGTH, 'SGX report body')) };
  } else {
    body = { kind: 'td', report: parseTdReportBody(reader.take(TD10_REPORT_LENGTH, 'TD report body'), false), tdx15: false };
  }
  const signed = bytes.subarray(0, reader.offset);

  const signatureDataLength = reader.u32('signature data length');
  const end = reader.offset + signatureDataLength;
  reader.need(signatureDataLength, 'signature data');
  const signature = reader.take(64, 'quote signature').slice();
  const attestationKey = reader.take(64, 'attestation key').slice();

  // v3: QE report fields follow directly; v4/v5: inside certification data of type 6.
  let qeReader = reader;
  if (version !== 3) {
    const type = reader.u16('certification data type');
    const size = reader.u32('certification data size');
    if (type !== CERT_DATA_QE_REPORT) fail(platform, `certification data type ${type} is not 6 (QE report certification data)`);
    qeReader = new Reader(reader.take(size, 'QE report certification data'), platform);
  }
  const qeReportRaw = qeReader.take(SGX_REPORT_LENGTH, 'QE report').slice();
  const qeReportSignature = qeReader.take(64, 'QE report signature').slice();
  const qeAuthData = qeReader.take(qeReader.u16('QE authentication data size'), 'QE authentication data').slice();
  const certificationType = qeReader.u16('PCK certification data type');
  const certificationSize = qeReader.u32('PCK certification data size');
  if (certificationType !== CERT_DATA_PCK_CHAIN) fail(platform, `PCK certification data type ${certificationType} is not 5 (PCK certificate chain)`);
  const chain = qeReader.take(certificationSize, 'PCK certificate chain');
  if (qeReader !== reader && qeReader.offset !== qeReader.bytes.byteLength) fail(platform, 'QE report certification data has bytes after the PCK chain');
  if (reader.offset !== end) fail(platform, `signature data is ${signatureDataLength} bytes but its fields take ${reader.offset - (end - signatureDataLength)}`);
  const trailing = bytes.subarray(end);
  if (trailing.some((byte) => byte !== 0)) fail(platform, `${trailing.byteLength} bytes follow the signature data and they are not all zero`);

  return {
    version,
    attestationKeyType,
    teeType,
    qeSvn,
    pceSvn,
    qeVendorId,
    userData,
    ...(bodyType === undefined ? {} : { bodyType }),
    body,
    signed,
    signature,
    attestationKey,
    qeReportRaw,
    qeReport: parseSgxReportBody(qeReportRaw),
    qeReportSignature,
    qeAuthData,
    pckChainPem: Buffer.from(chain).toString('latin1').replace(/\0+$/, ''),
    trailingZeros: trailing.byteLength,
  };
}
