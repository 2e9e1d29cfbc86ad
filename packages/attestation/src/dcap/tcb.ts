/**
 * TCB status evaluation as Intel's Quote Verification Library does it: match the platform's TCB
 * (PCK certificate SVNs, and the TD's TEE_TCB_SVN) against TCB info levels, the Quoting Enclave
 * against QE identity levels, the TDX module against its identity, then converge the statuses.
 */
import { attestationFailure, toHex } from '../platform.ts';
import type { QeIdentity, TcbInfo, TcbLevel } from './collateral.ts';
import type { PckExtensions } from './pck.ts';
import type { SgxReportBody, TdReportBody } from './quote.ts';

/** The statuses of Intel's TCB info, plus the QVL's converged ones. */
export type TcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked';

/** A matched level's status, date and advisories. */
export interface TcbMatch {
  status: TcbStatus;
  tcbDate?: string;
  advisoryIds: string[];
}

const STATUSES = new Set<string>(['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked']);

function fail(platform: string, reason: string): never {
  throw attestationFailure(platform, reason);
}

function status(platform: string, value: string, what: string): TcbStatus {
  if (!STATUSES.has(value)) fail(platform, `${what}: unknown TCB status ${JSON.stringify(value)}`);
  return value as TcbStatus;
}

function sgxComponents(platform: string, level: TcbLevel): number[] {
  if (Array.isArray(level.tcb.sgxtcbcomponents)) return level.tcb.sgxtcbcomponents.map((component) => component.svn);
  // TCB info version 2.
  const svns: number[] = [];
  for (let index = 1; index <= 16; index++) {
    const svn = level.tcb[`sgxtcbcomp${String(index).padStart(2, '0')}svn`];
    if (typeof svn !== 'number') fail(platform, `TCB info: a level lacks sgxtcbcomp${String(index).padStart(2, '0')}svn`);
    svns.push(svn);
  }
  return svns;
}

/**
 * The platform TCB level: the first level whose SGX components and PCE SVN the PCK certificate
 * meets, and for a TD, from there on, the first whose TDX components TEE_TCB_SVN meets (the first
 * two are skipped when the TDX module version is not 0: the module identity rates those).
 */
export function matchPlatformTcb(platform: string, tcbInfo: TcbInfo, pck: PckExtensions, teeTcbSvn?: Uint8Array): TcbMatch {
  let sgxMatched = false;
  for (const level of tcbInfo.tcbLevels) {
    if (!sgxMatched) {
      const required = sgxComponents(platform, level);
      sgxMatched = required.length === 16 && required.every((svn, index) => (pck.componentSvns[index] ?? -1) >= svn) && pck.pceSvn >= level.tcb.pcesvn;
      if (sgxMatched && status(platform, level.tcbStatus, 'TCB info') === 'Revoked') {
        return { status: 'Revoked', tcbDate: level.tcbDate, advisoryIds: level.advisoryIDs ?? [] };
      }
    }
    if (!sgxMatched) continue;
    if (teeTcbSvn === undefined) return { status: status(platform, level.tcbStatus, 'TCB info'), tcbDate: level.tcbDate, advisoryIds: level.advisoryIDs ?? [] };
    const tdx = level.tcb.tdxtcbcomponents;
    if (!Array.isArray(tdx) || tdx.length !== 16) fail(platform, 'TCB info: a TDX level lacks 16 tdxtcbcomponents');
    const first = (teeTcbSvn[1] ?? 0) > 0 ? 2 : 0;
    if (tdx.every((component, index) => index < first || (teeTcbSvn[index] ?? 0) >= component.svn)) {
      return { status: status(platform, level.tcbStatus, 'TCB info'), tcbDate: level.tcbDate, advisoryIds: level.advisoryIDs ?? [] };
    }
  }
  fail(platform, `TCB info: no TCB level matches the platform (PCK SVNs ${pck.componentSvns.join(',')}, PCE SVN ${pck.pceSvn}${teeTcbSvn === undefined ? '' : `, TEE_TCB_SVN ${toHex(teeTcbSvn)}`}): TCB not supported`);
}

function hexMasked(platform: string, actual: Uint8Array, expectedHex: string, maskHex: string, what: string): void {
  const expected = Buffer.from(expectedHex, 'hex');
  const mask = Buffer.from(maskHex, 'hex');
  if (expected.byteLength !== actual.byteLength || mask.byteLength !== actual.byteLength) fail(platform, `${what}: identity value or mask has the wrong length`);
  for (let index = 0; index < actual.byteLength; index++) {
    if ((((actual[index] ?? 0) & (mask[index] ?? 0)) ^ ((expected[index] ?? 0) & (mask[index] ?? 0))) !== 0) {
      fail(platform, `${what} ${toHex(actual)} does not match ${expectedHex.toLowerCase()} under mask ${maskHex.toLowerCase()}`);
    }
  }
}

/** Checks the Quoting Enclave against its identity and returns its TCB level. */
export function matchQeIdentity(platform: string, identity: QeIdentity, qe: SgxReportBody, expectedId: 'QE' | 'TD_QE'): TcbMatch {
  if (identity.id !== expectedId) fail(platform, `QE identity is for ${JSON.stringify(identity.id)}, expected ${expectedId}`);
  if (identity.version !== 2) fail(platform, `QE identity version ${identity.version} is not 2`);
  const miscMask = Number.parseInt(identity.miscselectMask, 16);
  if ((qe.miscSelect & miscMask) >>> 0 !== (Number.parseInt(identity.miscselect, 16) & miscMask) >>> 0) {
    fail(platform, `Quoting Enclave MISCSELECT 0x${qe.miscSelect.toString(16)} does not match its identity`);
  }
  hexMasked(platform, qe.attributes, identity.attributes, identity.attributesMask, 'Quoting Enclave attributes');
  if (toHex(qe.mrSigner) !== identity.mrsigner.toLowerCase()) fail(platform, `Quoting Enclave MRSIGNER ${toHex(qe.mrSigner)} is not ${identity.mrsigner.toLowerCase()}`);
  if (qe.isvProdId !== identity.isvprodid) fail(platform, `Quoting Enclave ISVPRODID ${qe.isvProdId} is not ${identity.isvprodid}`);
  const level = identity.tcbLevels.find((candidate) => qe.isvSvn >= candidate.tcb.isvsvn);
  if (level === undefined) fail(platform, `Quoting Enclave ISVSVN ${qe.isvSvn} is below every level of its identity`);
  return { status: status(platform, level.tcbStatus, 'QE identity'), tcbDate: level.tcbDate, advisoryIds: level.advisoryIDs ?? [] };
}

/** Checks the TDX module (MRSIGNERSEAM, SEAM attributes) and returns its TCB level, if rated. */
export function matchTdxModule(platform: string, tcbInfo: TcbInfo, td: TdReportBody): TcbMatch | undefined {
  const version = td.teeTcbSvn[1] ?? 0;
  if (version === 0) {
    const module = tcbInfo.tdxModule;
    if (module === undefined) fail(platform, 'TCB info has no tdxModule');
    if (toHex(td.mrSignerSeam) !== module.mrsigner.toLowerCase()) fail(platform, `TDX module MRSIGNERSEAM ${toHex(td.mrSignerSeam)} is not ${module.mrsigner.toLowerCase()}`);
    hexMasked(platform, td.seamAttributes, module.attributes, module.attributesMask, 'TDX module SEAMATTRIBUTES');
    return undefined;
  }
  const id = `TDX_${version.toString(16).padStart(2, '0').toUpperCase()}`;
  const identity = tcbInfo.tdxModuleIdentities?.find((candidate) => candidate.id === id);
  if (identity === undefined) fail(platform, `TCB info has no identity for TDX module ${id}`);
  if (toHex(td.mrSignerSeam) !== identity.mrsigner.toLowerCase()) fail(platform, `TDX module MRSIGNERSEAM ${toHex(td.mrSignerSeam)} is not ${identity.mrsigner.toLowerCase()}`);
  hexMasked(platform, td.seamAttributes, identity.attributes, identity.attributesMask, 'TDX module SEAMATTRIBUTES');
  const svn = td.teeTcbSvn[0] ?? 0;
  const level = identity.tcbLevels.find((candidate) => svn >= candidate.tcb.isvsvn);
  if (level === undefined) fail(platform, `TDX module ${id} ISVSVN ${svn} is below every level of its identity`);
  return { status: status(platform, level.tcbStatus, 'TDX module identity'), tcbDate: level.tcbDate, advisoryIds: level.advisoryIDs ?? [] };
}

/** Folds a QE or TDX module status into the platform's, as the QVL does. */
export function convergeStatus(platformStatus: TcbStatus, other: TcbStatus): TcbStatus {
  if (other === 'Revoked' || platformStatus === 'Revoked') return 'Revoked';
  if (other === 'OutOfDate' || other === 'OutOfDateConfigurationNeeded') {
    if (platformStatus === 'UpToDate' || platformStatus === 'SWHardeningNeeded') return 'OutOfDate';
    if (platformStatus === 'ConfigurationNeeded' || platformStatus === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  return platformStatus;
}
