/**
 * Verifier of AMD SEV-SNP attestation reports: ECDSA P-384 signature by the VCEK (or VLEK), whose
 * certificate chains through the family's ASK (or ASVK) to the AMD Root Key.
 */
import { verify as verifySignature } from 'node:crypto';
import { contextTag, decodeDer, DerReader, DerTag, readAlgorithmIdentifier } from '@veracruz-ts/core';
import { pemCertificates, parseCertificate, verifyCertificateChain, type ParsedCertificate } from '../chain.ts';
import { checkBoundReportData, splitReportData } from '../binding.ts';
import { AMD_ROOTS } from '../roots/amd.ts';
import { attestationFailure, bytesEqual, refuseDebug, refuseUnexpected, requireTime, toHex, type EvidenceClaims, type VerifyOptions } from '../platform.ts';
import { decodeTcb, familyFromCpuid, parseSnpReport, POLICY_DEBUG_BIT, POLICY_SMT_BIT, type SnpFamily, type SnpReport } from './report.ts';
import { readAmdKeyExtensions, type AmdKeyExtensions } from './vcek.ts';

const PLATFORM = 'sev-snp';
const FAMILIES: readonly SnpFamily[] = ['Milan', 'Genoa', 'Turin'];
/** SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384. */
const ECDSA_P384_SHA384 = 1;
/** FLAGS bit 1: the chip id was masked (zeroed) by the guest's request. */
const MASK_CHIP_KEY = 0x2;

function fail(reason: string, cause?: unknown): never {
  throw attestationFailure(PLATFORM, reason, cause);
}

function commonName(certificate: ParsedCertificate): string | undefined {
  return certificate.commonName === '' ? undefined : certificate.commonName;
}

const RSASSA_PSS = '1.2.840.113549.1.1.10';
const SHA384 = '2.16.840.1.101.3.4.2.2';
const SIGNATURE_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.10045.4.3.2': 'ECDSA/SHA-256',
  '1.2.840.10045.4.3.3': 'ECDSA/SHA-384',
  '1.2.840.113549.1.1.11': 'RSA/SHA-256',
  '1.2.840.113549.1.1.12': 'RSA/SHA-384',
};

/**
 * The hash OID of RSASSA-PSS-params (RFC 4055: SEQUENCE { hashAlgorithm [0] EXPLICIT
 * AlgorithmIdentifier DEFAULT sha1, ... }), or undefined for the SHA-1 default.
 */
function pssHash(parameters: Uint8Array): string | undefined {
  const params = decodeDer(parameters, 'RSASSA-PSS parameters');
  if (params.tag !== DerTag.Sequence) fail('RSASSA-PSS parameters are not a SEQUENCE');
  const hashField = new DerReader(params, 'RSASSA-PSS parameters').optional(contextTag(0), 'hashAlgorithm');
  if (hashField === undefined) return undefined;
  const inner = new DerReader(hashField, 'RSASSA-PSS parameters.hashAlgorithm');
  const algorithm = readAlgorithmIdentifier(inner.next(DerTag.Sequence, 'algorithm'), 'RSASSA-PSS parameters.hashAlgorithm');
  inner.end();
  return algorithm.oid;
}

/** "RSASSA-PSS/SHA-384", "ECDSA/SHA-384", ... or the OID when unknown. */
function describeSignatureAlgorithm(certificate: ParsedCertificate): string {
  const { oid, parameters } = certificate.signatureAlgorithm;
  if (oid !== RSASSA_PSS) return SIGNATURE_NAMES[oid] ?? oid;
  const hash = parameters === undefined ? undefined : pssHash(parameters);
  if (hash === undefined) return 'RSASSA-PSS/SHA-1';
  return `RSASSA-PSS/${hash === SHA384 ? 'SHA-384' : hash}`;
}

/** Every certificate in the endorsements (DER, PEM, or PEM bundles). */
function endorsementCertificates(endorsements: readonly Uint8Array[]): ParsedCertificate[] {
  const out: ParsedCertificate[] = [];
  endorsements.forEach((bytes, index) => {
    const text = Buffer.from(bytes).toString('latin1');
    const ders = text.startsWith('-----BEGIN') ? pemCertificates(text) : [bytes];
    if (ders.length === 0) fail(`endorsements[${index}] holds no certificate`);
    for (const der of ders) out.push(parseCertificate(der, `endorsements[${index}]`, `${PLATFORM}: endorsements`));
  });
  return out;
}

function chipFamily(report: SnpReport, extensions: AmdKeyExtensions, keyName: string): SnpFamily {
  const productFamily = extensions.productName?.split('-')[0];
  const fromProduct = FAMILIES.find((family) => family === productFamily);
  const cpuid = report.cpuid;
  if (cpuid !== undefined && (cpuid.family !== 0 || cpuid.model !== 0)) {
    const fromCpuid = familyFromCpuid(cpuid);
    if (fromCpuid === undefined) fail(`CPUID family 0x${cpuid.family.toString(16)} model 0x${cpuid.model.toString(16)} is not a known SEV-SNP chip`);
    if (fromProduct !== undefined && fromProduct !== fromCpuid) fail(`the report's CPUID says ${fromCpuid} but the ${keyName} is for ${extensions.productName}`);
    return fromCpuid;
  }
  if (fromProduct === undefined) {
    fail(`cannot tell the chip family: the report (version ${report.version}) has no CPUID and the ${keyName} productName is ${JSON.stringify(extensions.productName)}`);
  }
  return fromProduct;
}

/** AMD's little-endian 72-byte r and s to a 96-byte big-endian r||s. */
function p1363Signature(report: SnpReport): Uint8Array {
  const out = new Uint8Array(96);
  for (const [index, component] of [report.signatureR, report.signatureS].entries()) {
    if (component.subarray(48).some((byte) => byte !== 0)) fail(`report: signature ${index === 0 ? 'r' : 's'} has non-zero bytes beyond 48`);
    out.set(component.slice(0, 48).reverse(), index * 48);
  }
  return out;
}

function checkTcb(report: SnpReport, family: SnpFamily, extensions: AmdKeyExtensions, keyName: string): void {
  const reported = decodeTcb(report.reportedTcbRaw, family);
  const pairs: [string, number | undefined, string, number | undefined][] = [
    ['blSPL', extensions.blSpl, 'bootloader', reported.bootloader],
    ['teeSPL', extensions.teeSpl, 'tee', reported.tee],
    ['snpSPL', extensions.snpSpl, 'snp', reported.snp],
    ['ucodeSPL', extensions.ucodeSpl, 'microcode', reported.microcode],
  ];
  if (family === 'Turin') pairs.push(['fmcSPL', extensions.fmcSpl, 'fmc', reported.fmc]);
  for (const [extension, certified, field, value] of pairs) {
    if (certified === undefined) fail(`${keyName} has no ${extension} extension`);
    if (certified !== value) fail(`${keyName} ${extension} ${certified} does not match the reported TCB ${field} ${String(value)}`);
  }
}

/**
 * Verifies an AMD SEV-SNP attestation report (1184 bytes, versions 2 to 5) at `options.at`.
 * `options.endorsements`: the VCEK or VLEK certificate (DER or PEM), optionally with the ASK/ASVK
 * (the pinned one of the family is used otherwise; an ARK among them is ignored: anchors come only
 * from `trustAnchors`, default the family's pinned AMD ARK). The family comes from the report's
 * CPUID (version 3+) or the key's productName (version 2). Checks: the chain (RSASSA-PSS links,
 * serial 0 accepted on the VCEK/VLEK only), the ECDSA P-384 signature over bytes [0, 0x2A0),
 * the key's TCB extensions equal the reported TCB, a VCEK's hwID equals the chip id, debug (policy
 * bit 19) refused unless `allowDebug`, report data = `expectedCsrHash || expectedNonce`.
 * Claims: measurement = MEASUREMENT; reportData = REPORT_DATA; csrHash and nonce = its halves.
 */
export function verifySevSnp(evidence: Uint8Array, options: VerifyOptions): Promise<EvidenceClaims> {
  return refuseUnexpected(PLATFORM, () => verifySevSnpUnguarded(evidence, options));
}

async function verifySevSnpUnguarded(evidence: Uint8Array, options: VerifyOptions): Promise<EvidenceClaims> {
  const at = requireTime(PLATFORM, options);
  const report = parseSnpReport(evidence);
  if (report.signatureAlgo !== ECDSA_P384_SHA384) fail(`report: signature algorithm ${report.signatureAlgo} is not 1 (ECDSA P-384 SHA-384)`);
  if (report.signingKey === 'none') fail('report: it is not signed (SIGNING_KEY = none)');
  const keyName = report.signingKey;

  const certificates = endorsementCertificates(options.endorsements ?? []);
  const leaves = certificates.filter((certificate) => commonName(certificate) === `SEV-${keyName}`);
  if (leaves.length !== 1) fail(`expected exactly one SEV-${keyName} certificate among the endorsements (the report is signed by a ${keyName}), found ${leaves.length}`);
  const leaf = leaves[0] as ParsedCertificate;
  const extensions = readAmdKeyExtensions(leaf);
  const family = chipFamily(report, extensions, keyName);

  const issuerName = keyName === 'VCEK' ? 'ASK' : 'ASVK';
  const issuerCn = keyName === 'VCEK' ? `SEV-${family}` : `SEV-VLEK-${family}`;
  const pinnedIssuer = keyName === 'VCEK' ? AMD_ROOTS[family].ask : AMD_ROOTS[family].asvk;
  const issuer = certificates.find((certificate) => commonName(certificate) === issuerCn) ?? parseCertificate(pinnedIssuer, issuerName);
  // AMD signs every link with RSASSA-PSS SHA-384; anything else is not an AMD certificate.
  for (const [name, certificate] of [[keyName, leaf], [issuerName, issuer]] as const) {
    const algorithm = describeSignatureAlgorithm(certificate);
    if (algorithm !== 'RSASSA-PSS/SHA-384') fail(`${name} is signed with ${algorithm}, not RSASSA-PSS SHA-384`);
  }
  await verifyCertificateChain([leaf.der, issuer.der], options.trustAnchors ?? [AMD_ROOTS[family].ark], at, {
    context: `${PLATFORM}: certificate chain`,
    names: [keyName, issuerName],
    allowZeroSerialLeaf: true,
  });

  const key = leaf.native.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') fail(`${keyName} key is not ECDSA P-384`);
  const signature = p1363Signature(report);
  let valid = false;
  try {
    valid = verifySignature('sha384', report.signed, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch (error) {
    fail(`report signature could not be checked with the ${keyName} key`, error);
  }
  if (!valid) fail(`report signature does not verify with the ${keyName} key`);

  checkTcb(report, family, extensions, keyName);
  const chipIdMasked = (report.flags & MASK_CHIP_KEY) !== 0;
  if (keyName === 'VCEK' && !chipIdMasked) {
    if (extensions.hwId === undefined) fail('VCEK has no hwID extension');
    const chipId = family === 'Turin' ? report.chipId.subarray(0, 8) : report.chipId;
    if (!bytesEqual(extensions.hwId, chipId)) fail(`VCEK hwID ${toHex(extensions.hwId)} does not match the report's chip id ${toHex(chipId)}`);
  }

  const debug = ((report.policy >> POLICY_DEBUG_BIT) & 1n) === 1n;
  refuseDebug(PLATFORM, debug, 'guest policy bit 19 (DEBUG) is set', options);
  checkBoundReportData(PLATFORM, 'report data', report.reportData, options);

  const halves = splitReportData(report.reportData);
  const tcb = (raw: Uint8Array) => decodeTcb(raw, family);
  return {
    platform: PLATFORM,
    measurement: report.measurement,
    reportData: report.reportData,
    csrHash: halves.csrHash,
    nonce: halves.nonce,
    debug,
    insecure: false,
    details: {
      version: report.version,
      chipFamily: family,
      signingKey: keyName,
      productName: extensions.productName,
      cspId: extensions.cspId,
      keyTcb: { blSpl: extensions.blSpl, teeSpl: extensions.teeSpl, snpSpl: extensions.snpSpl, ucodeSpl: extensions.ucodeSpl, fmcSpl: extensions.fmcSpl },
      hwId: extensions.hwId === undefined ? undefined : toHex(extensions.hwId),
      guestSvn: report.guestSvn,
      policy: `0x${report.policy.toString(16).padStart(16, '0')}`,
      policySmtAllowed: ((report.policy >> POLICY_SMT_BIT) & 1n) === 1n,
      vmpl: report.vmpl,
      signatureAlgo: report.signatureAlgo,
      platformInfo: `0x${report.platformInfo.toString(16)}`,
      familyId: toHex(report.familyId),
      imageId: toHex(report.imageId),
      hostData: toHex(report.hostData),
      idKeyDigest: toHex(report.idKeyDigest),
      authorKeyDigest: toHex(report.authorKeyDigest),
      reportId: toHex(report.reportId),
      reportIdMa: toHex(report.reportIdMa),
      chipId: toHex(report.chipId),
      chipIdMasked,
      cpuid: report.cpuid,
      firmware: { current: report.currentVersion, committed: report.committedVersion },
      currentTcb: tcb(report.currentTcbRaw),
      reportedTcb: tcb(report.reportedTcbRaw),
      committedTcb: tcb(report.committedTcbRaw),
      launchTcb: tcb(report.launchTcbRaw),
    },
  };
}
