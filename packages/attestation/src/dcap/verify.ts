/**
 * Verifiers of Intel DCAP quotes: TDX (quote versions 4 and 5) and SGX (versions 3 to 5). One
 * code path: quote signature by the attestation key, the QE report signed by the PCK and binding
 * that key, the PCK chain to the Intel SGX Root CA, then, when collateral is given, TCB info and
 * QE identity (signatures over their exact text, windows, FMSPC) and CRLs, and the TCB status.
 */
import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { pemCertificates, verifyCertificateChain, type ParsedCertificate } from '../chain.ts';
import { checkBoundReportData, splitReportData } from '../binding.ts';
import { INTEL_SGX_ROOT_CA_PEM } from '../roots/intel.ts';
import { attestationFailure, bytesEqual, refuseDebug, refuseUnexpected, requireTime, toHex, type EvidenceClaims, type VerifyOptions } from '../platform.ts';
import { checkCrls, checkWindow, readCollateral, verifySignedJson } from './collateral.ts';
import { readPckExtensions, type PckExtensions } from './pck.ts';
import { parseDcapQuote, TEE_TYPE, type DcapQuote, type SgxReportBody, type TdReportBody } from './quote.ts';
import { convergeStatus, matchPlatformTcb, matchQeIdentity, matchTdxModule, type TcbMatch, type TcbStatus } from './tcb.ts';

type DcapPlatform = 'tdx' | 'sgx';

function fail(platform: DcapPlatform, reason: string, cause?: unknown): never {
  throw attestationFailure(platform, reason, cause);
}

function ecdsaP256Verify(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verifySignature('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

function attestationPublicKey(platform: DcapPlatform, raw: Uint8Array): KeyObject {
  try {
    return createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: Buffer.from(raw.subarray(0, 32)).toString('base64url'), y: Buffer.from(raw.subarray(32)).toString('base64url') },
      format: 'jwk',
    });
  } catch (error) {
    fail(platform, 'quote: the attestation key is not a P-256 point', error);
  }
}

/** What the TCB evaluation found, for the claims' details. */
interface TcbEvaluation {
  tcbStatus: TcbStatus;
  advisoryIds: string[];
  platformTcb: TcbMatch;
  qeTcb: TcbMatch;
  tdxModuleTcb?: TcbMatch;
  fmspc: string;
  tcbInfoIssueDate: string;
  tcbEvaluationDataNumber?: number;
}

async function evaluateCollateral(
  platform: DcapPlatform,
  quote: DcapQuote,
  pck: PckExtensions,
  pckChain: ParsedCertificate[],
  root: ParsedCertificate,
  options: VerifyOptions,
  at: Date,
): Promise<{ crlsChecked: string[]; tcb?: TcbEvaluation }> {
  const collateral = readCollateral(platform, options.endorsements ?? []);
  const crlsChecked = await checkCrls(platform, collateral.crls, pckChain, root, at);
  const { tcbInfo, qeIdentity } = collateral;
  if (tcbInfo === undefined && qeIdentity === undefined) return { crlsChecked };
  if (tcbInfo === undefined) fail(platform, 'collateral: a QE identity was given without TCB info');
  if (qeIdentity === undefined) fail(platform, 'collateral: TCB info was given without a QE identity');
  const anchors = options.trustAnchors ?? [INTEL_SGX_ROOT_CA_PEM];
  await verifySignedJson(platform, 'TCB info', tcbInfo, collateral.certificates, anchors, at);
  await verifySignedJson(platform, 'QE identity', qeIdentity, collateral.certificates, anchors, at);
  checkWindow(platform, 'TCB info', tcbInfo.body.issueDate, tcbInfo.body.nextUpdate, at);
  checkWindow(platform, 'QE identity', qeIdentity.body.issueDate, qeIdentity.body.nextUpdate, at);

  const info = tcbInfo.body;
  const expectedId = quote.body.kind === 'td' ? 'TDX' : 'SGX';
  if ((info.id ?? 'SGX') !== expectedId) fail(platform, `TCB info is for ${JSON.stringify(info.id)}, expected ${expectedId}`);
  if (info.version !== 2 && info.version !== 3) fail(platform, `TCB info version ${info.version} is not 2 or 3`);
  if (expectedId === 'TDX' && info.version !== 3) fail(platform, 'TDX needs TCB info version 3');
  if (info.fmspc.toUpperCase() !== pck.fmspc) fail(platform, `TCB info is for FMSPC ${info.fmspc.toUpperCase()} but the PCK certificate's is ${pck.fmspc}`);
  if (info.pceId.toUpperCase() !== pck.pceId) fail(platform, `TCB info is for PCE-ID ${info.pceId.toUpperCase()} but the PCK certificate's is ${pck.pceId}`);

  const td = quote.body.kind === 'td' ? quote.body.report : undefined;
  const platformTcb = matchPlatformTcb(platform, info, pck, td?.teeTcbSvn);
  const qeTcb = matchQeIdentity(platform, qeIdentity.body, quote.qeReport, quote.body.kind === 'td' ? 'TD_QE' : 'QE');
  const tdxModuleTcb = td === undefined ? undefined : matchTdxModule(platform, info, td);
  let tcbStatus = convergeStatus(platformTcb.status, qeTcb.status);
  if (tdxModuleTcb !== undefined) tcbStatus = convergeStatus(tcbStatus, tdxModuleTcb.status);
  const advisoryIds = [...new Set([...platformTcb.advisoryIds, ...qeTcb.advisoryIds, ...(tdxModuleTcb?.advisoryIds ?? [])])];
  if (tcbStatus === 'Revoked') fail(platform, `TCB status is Revoked${advisoryIds.length > 0 ? ` (${advisoryIds.join(', ')})` : ''}`);
  const evaluation: TcbEvaluation = { tcbStatus, advisoryIds, platformTcb, qeTcb, fmspc: pck.fmspc, tcbInfoIssueDate: info.issueDate };
  if (tdxModuleTcb !== undefined) evaluation.tdxModuleTcb = tdxModuleTcb;
  if (info.tcbEvaluationDataNumber !== undefined) evaluation.tcbEvaluationDataNumber = info.tcbEvaluationDataNumber;
  return { crlsChecked, tcb: evaluation };
}

function sgxDetails(report: SgxReportBody): Record<string, unknown> {
  return {
    mrEnclave: toHex(report.mrEnclave),
    mrSigner: toHex(report.mrSigner),
    isvProdId: report.isvProdId,
    isvSvn: report.isvSvn,
    cpuSvn: toHex(report.cpuSvn),
    miscSelect: report.miscSelect.toString(16).padStart(8, '0'),
    attributes: toHex(report.attributes),
    configId: toHex(report.configId),
    configSvn: report.configSvn,
    isvFamilyId: toHex(report.isvFamilyId),
    isvExtProdId: toHex(report.isvExtProdId),
  };
}

function tdDetails(report: TdReportBody): Record<string, unknown> {
  const details: Record<string, unknown> = {
    mrTd: toHex(report.mrTd),
    rtmrs: report.rtmrs.map(toHex),
    mrConfigId: toHex(report.mrConfigId),
    mrOwner: toHex(report.mrOwner),
    mrOwnerConfig: toHex(report.mrOwnerConfig),
    mrSeam: toHex(report.mrSeam),
    mrSignerSeam: toHex(report.mrSignerSeam),
    teeTcbSvn: toHex(report.teeTcbSvn),
    seamAttributes: toHex(report.seamAttributes),
    tdAttributes: toHex(report.tdAttributes),
    xfam: toHex(report.xfam),
  };
  if (report.teeTcbSvn2 !== undefined) details.teeTcbSvn2 = toHex(report.teeTcbSvn2);
  if (report.mrServiceTd !== undefined) details.mrServiceTd = toHex(report.mrServiceTd);
  return details;
}

/** SGX ATTRIBUTES.FLAGS bit 1: DEBUG. */
const SGX_DEBUG = 0x02;
/** TDATTRIBUTES bit 0: DEBUG. */
const TD_DEBUG = 0x01;

async function verifyDcapQuote(platform: DcapPlatform, evidence: Uint8Array, options: VerifyOptions): Promise<EvidenceClaims> {
  const at = requireTime(platform, options);
  const quote = parseDcapQuote(evidence, platform);
  const expectedTee = platform === 'tdx' ? TEE_TYPE.TDX : TEE_TYPE.SGX;
  if (quote.teeType !== expectedTee) fail(platform, `quote: TEE type 0x${quote.teeType.toString(16)} is a${platform === 'tdx' ? 'n SGX' : ' TDX'} quote, not ${platform.toUpperCase()}`);

  // 1. The PCK chain to the Intel root.
  const pckPems = pemCertificates(quote.pckChainPem, { strict: true, context: `${platform}: quote: PCK certificate chain` });
  if (pckPems.length < 2) fail(platform, `quote: the PCK certificate chain holds ${pckPems.length} certificates, expected at least 2`);
  const names = ['PCK certificate', 'PCK CA certificate', 'root CA certificate', 'chain[3]'];
  const chain = await verifyCertificateChain(pckPems, options.trustAnchors ?? [INTEL_SGX_ROOT_CA_PEM], at, { context: `${platform}: PCK certificate chain`, names });
  const pckLeaf = chain.certificates[0];
  if (pckLeaf === undefined || !/(?:^|, )CN=Intel SGX PCK Certificate(?:,|$)/.test(pckLeaf.subject)) {
    fail(platform, 'PCK certificate chain: the leaf is not an Intel SGX PCK Certificate');
  }
  if (chain.certificates.length !== 2) fail(platform, `PCK certificate chain: expected a PCK certificate and a PCK CA below the root, found ${chain.certificates.length} certificates`);

  // 2. The Quoting Enclave's report: signed by the PCK, binding the attestation key.
  if (!ecdsaP256Verify(pckLeaf.native.publicKey, quote.qeReportRaw, quote.qeReportSignature)) fail(platform, 'QE report signature does not verify with the PCK certificate key');
  const keyHash = createHash('sha256').update(quote.attestationKey).update(quote.qeAuthData).digest();
  if (!bytesEqual(quote.qeReport.reportData.subarray(0, 32), keyHash) || quote.qeReport.reportData.subarray(32).some((byte) => byte !== 0)) {
    fail(platform, 'QE report data does not bind the attestation key (SHA-256 of attestation key and QE authentication data)');
  }
  if (((quote.qeReport.attributes[0] ?? 0) & SGX_DEBUG) !== 0) fail(platform, 'the Quoting Enclave is a debug enclave');

  // 3. The quote itself, signed by the attestation key.
  if (!ecdsaP256Verify(attestationPublicKey(platform, quote.attestationKey), quote.signed, quote.signature)) {
    fail(platform, 'quote signature does not verify with the attestation key');
  }

  // 4. Collateral, when given.
  const pck = readPckExtensions(pckLeaf, platform);
  const { crlsChecked, tcb } = await evaluateCollateral(platform, quote, pck, chain.certificates, chain.anchor, options, at);

  // 5. Debug and binding.
  const body = quote.body;
  const debug = body.kind === 'td' ? ((body.report.tdAttributes[0] ?? 0) & TD_DEBUG) !== 0 : ((body.report.attributes[0] ?? 0) & SGX_DEBUG) !== 0;
  refuseDebug(platform, debug, body.kind === 'td' ? 'TD attributes bit 0 (DEBUG) is set' : 'enclave attributes DEBUG flag is set', options);
  const reportData = body.report.reportData;
  checkBoundReportData(platform, 'report data', reportData, options);

  const halves = splitReportData(reportData);
  const details: Record<string, unknown> = {
    quoteVersion: quote.version,
    teeType: quote.teeType,
    qeSvn: quote.qeSvn,
    pceSvn: quote.pceSvn,
    qeVendorId: toHex(quote.qeVendorId),
    headerUserData: toHex(quote.userData),
    ...(quote.bodyType === undefined ? {} : { bodyType: quote.bodyType }),
    ...(body.kind === 'td' ? { tdReport: body.tdx15 ? '1.5' : '1.0', ...tdDetails(body.report) } : sgxDetails(body.report)),
    qeReport: sgxDetails(quote.qeReport),
    pckSubject: pckLeaf.subject,
    pck: { ...pck, cpuSvn: toHex(pck.cpuSvn) },
    pckCaSubject: chain.certificates[1]?.subject,
    trailingZeros: quote.trailingZeros,
    collateral: tcb !== undefined,
    tcbStatus: tcb?.tcbStatus,
    advisoryIds: tcb?.advisoryIds,
    platformTcb: tcb?.platformTcb,
    qeTcb: tcb?.qeTcb,
    tdxModuleTcb: tcb?.tdxModuleTcb,
    fmspc: tcb?.fmspc,
    tcbEvaluationDataNumber: tcb?.tcbEvaluationDataNumber,
    crlsChecked,
  };
  return {
    platform,
    measurement: body.kind === 'td' ? body.report.mrTd : body.report.mrEnclave,
    reportData,
    csrHash: halves.csrHash,
    nonce: halves.nonce,
    debug,
    insecure: false,
    details,
  };
}

/**
 * Verifies an Intel TDX quote (version 4 or 5; TD report 1.0 or 1.5) at `options.at`.
 * `options.endorsements` (optional): TCB info and QE identity JSON (Intel PCS form or a dcap-qvl
 * collateral object), the TCB signing chain (PEM), CRLs (DER or PEM). Without TCB info and QE
 * identity the TCB status is not evaluated (`details.tcbStatus` undefined, `details.collateral`
 * false); with them, the status is returned and only `Revoked` is refused. Trust anchor: the Intel
 * SGX Root CA unless `trustAnchors`. Claims: measurement = MRTD; debug = TD attributes bit 0;
 * report data = `csrHash || nonce`.
 */
export function verifyTdx(evidence: Uint8Array, options: VerifyOptions): Promise<EvidenceClaims> {
  return refuseUnexpected('tdx', () => verifyDcapQuote('tdx', evidence, options));
}

/**
 * Verifies an Intel SGX DCAP quote (version 3, or 4/5 with an SGX body) at `options.at`, with the
 * same checks and collateral as {@link verifyTdx}. Claims: measurement = MRENCLAVE; debug = the
 * enclave's ATTRIBUTES DEBUG flag; report data = `csrHash || nonce`.
 */
export function verifySgx(evidence: Uint8Array, options: VerifyOptions): Promise<EvidenceClaims> {
  return refuseUnexpected('sgx', () => verifyDcapQuote('sgx', evidence, options));
}
