import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sign as signData } from 'node:crypto';
import { VeracruzError } from '@veracruz-ts/core';
import { verifySevSnp } from './verify.ts';
import { bindReportData } from '../binding.ts';
import { toHex } from '../platform.ts';
import { AMD_ROOTS } from '../roots/amd.ts';
import { createTestCertificate, type TestCertificate } from '../roots/test-pki.ts';
import { vectorsOf, vectorBytes, fromHex, type VectorEntry } from '../roots/test-vectors.ts';

function refusal(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === 'attestation_failed' && pattern.test(error.rawMessage);
}

/** The VCEK/VLEK file a manifest entry needs. */
function keyFile(entry: VectorEntry): string {
  return entry.needs!.find((need) => /^(VCEK|VLEK) certificate/.test(need.role))!.file;
}

const positives = vectorsOf('sev-snp', 'positive');
const byId = (id: string) => positives.find((entry) => entry.id === id)!;

test('the manifest has the four SEV-SNP reports', () => assert.equal(positives.length, 4));

for (const entry of positives) {
  const facts = entry.facts as Record<string, any>;
  const at = new Date(entry.verification_time!);
  const endorsements = [vectorBytes(keyFile(entry))];

  test(`${entry.id}: accepted against the pinned AMD roots, reproducing the manifest facts`, async () => {
    const claims = await verifySevSnp(vectorBytes(entry.file), { at, endorsements });
    const details = claims.details as Record<string, any>;
    assert.equal(claims.platform, 'sev-snp');
    assert.equal(claims.debug, entry.expected!.debug);
    assert.equal(claims.debug, facts.policy_debug_allowed);
    assert.equal(toHex(claims.measurement), facts.measurement);
    assert.equal(toHex(claims.reportData!), facts.report_data);
    assert.equal(toHex(claims.csrHash!) + toHex(claims.nonce!), facts.report_data);
    assert.equal(details.version, facts.report_version);
    assert.equal(details.signingKey, facts.signing_key);
    assert.equal(details.signatureAlgo, facts.signature_algo);
    assert.equal(details.vmpl, facts.vmpl);
    assert.equal(details.guestSvn, facts.guest_svn);
    assert.equal(details.policy, facts.policy);
    assert.equal(details.policySmtAllowed, facts.policy_smt_allowed);
    for (const [ours, theirs] of [['hostData', 'host_data'], ['familyId', 'family_id'], ['imageId', 'image_id'], ['idKeyDigest', 'id_key_digest'], ['authorKeyDigest', 'author_key_digest'], ['reportId', 'report_id'], ['chipId', 'chip_id'], ['platformInfo', 'platform_info']]) {
      assert.equal(details[ours!], facts[theirs!], ours);
    }
    if (facts.cpuid === null) assert.equal(details.cpuid, undefined);
    else assert.deepEqual(details.cpuid, { family: Number(facts.cpuid.fam_id), model: Number(facts.cpuid.mod_id), stepping: facts.cpuid.step });
    assert.ok(facts.chip_family.startsWith(details.chipFamily), `${facts.chip_family} vs ${details.chipFamily}`);
    assert.equal(details.productName, facts.leaf_cert.amd_extensions.productName);
    assert.equal(details.cspId, facts.leaf_cert.amd_extensions.cspID);
    const amd = facts.leaf_cert.amd_extensions;
    assert.deepEqual(details.keyTcb, { blSpl: amd.blSPL, teeSpl: amd.teeSPL, snpSpl: amd.snpSPL, ucodeSpl: amd.ucodeSPL, fmcSpl: undefined });
    assert.equal(details.hwId, amd.hwID);
    assert.deepEqual(details.firmware, facts.firmware);
    for (const [ours, theirs] of [['currentTcb', 'current_tcb'], ['reportedTcb', 'reported_tcb'], ['committedTcb', 'committed_tcb'], ['launchTcb', 'launch_tcb']]) {
      assert.deepEqual(details[ours!], facts.tcb[theirs!], ours);
    }
  });

  test(`${entry.id}: accepted with the roots the manifest names as explicit anchors and intermediates`, async () => {
    const files = entry.needs!.map((need) => need.file);
    const anchors = files.filter((file) => /_ark\.pem$/.test(file)).map((file) => Buffer.from(vectorBytes(file)).toString());
    const intermediates = files.filter((file) => /_ask\.pem$|_ask_ark_asvk\.pem$/.test(file)).map(vectorBytes);
    const bundle = files.find((file) => /_ask_ark_asvk\.pem$/.test(file));
    // The bundle holds ASK, ARK, ASVK: its ARK is the anchor when no separate ARK file is named.
    const trustAnchors = anchors.length > 0 ? anchors : [Buffer.from(vectorBytes(bundle!)).toString().match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)![1]!];
    await verifySevSnp(vectorBytes(entry.file), { at, endorsements: [...endorsements, ...intermediates], trustAnchors });
  });

  for (const failure of entry.expected!.fails_at ?? []) {
    test(`${entry.id}: refused at ${failure.time} (${failure.reason})`, async () => {
      const key = facts.signing_key as string;
      const pattern = /expired/.test(failure.reason)
        ? new RegExp(`^sev-snp: certificate chain: ${key} expired at .* \\(verifying at ${failure.time}\\)$`)
        : new RegExp(`^sev-snp: certificate chain: ${key} is not valid before .* \\(verifying at ${failure.time}\\)$`);
      await assert.rejects(verifySevSnp(vectorBytes(entry.file), { at: new Date(failure.time), endorsements }), refusal(pattern));
    });
  }
}

for (const entry of vectorsOf('sev-snp', 'negative-tampered')) {
  test(`${entry.id}: tampered copy refused (${entry.tamper!.what})`, async () => {
    const bytes = vectorBytes(entry.file);
    const original = vectorBytes(entry.derived_from!);
    assert.deepEqual([...bytes.keys()].filter((index) => bytes[index] !== original[index]), [entry.tamper!.offset_in_file]);
    const source = byId(entry.id.replace(/\.tampered$/, ''));
    await assert.rejects(
      verifySevSnp(bytes, { at: new Date(entry.verification_time!), endorsements: [vectorBytes(keyFile(source))] }),
      refusal(/^sev-snp: report signature does not verify with the VCEK key$/),
    );
  });
}

test('report data binds the CSR hash and nonce', async () => {
  const entry = byId('sev-snp/trustee-test-report');
  const facts = entry.facts as Record<string, any>;
  const options = { at: new Date(entry.verification_time!), endorsements: [vectorBytes(keyFile(entry))] };
  const report = vectorBytes(entry.file);
  const reportData = fromHex(facts.report_data);
  await verifySevSnp(report, { ...options, expectedCsrHash: reportData.slice(0, 32), expectedNonce: reportData.slice(32) });
  await assert.rejects(verifySevSnp(report, { ...options, expectedNonce: new Uint8Array(32).fill(9) }), refusal(/^sev-snp: report data binds nonce 0{64} but (09){32} was expected$/));
  await assert.rejects(verifySevSnp(report, { ...options, expectedCsrHash: new Uint8Array(32) }), refusal(/^sev-snp: report data binds CSR hash ec6c52d7.* but 0{64} was expected$/));
});

test('wrong roots, keys and families are refused', async () => {
  const milan = byId('sev-snp/ms-milan_attestation_report');
  const at = new Date(milan.verification_time!);
  const report = vectorBytes(milan.file);
  const vcek = vectorBytes(keyFile(milan));
  const selfMade = await createTestCertificate({ subject: 'OU=Engineering, C=US, L=Santa Clara, ST=CA, O=Advanced Micro Devices, CN=ARK-Milan', curve: 'P-384' });
  await assert.rejects(verifySevSnp(report, { at, endorsements: [vcek], trustAnchors: [selfMade.pem] }), refusal(/^sev-snp: certificate chain: ASK signature does not verify with the trust anchor ".*CN=ARK-Milan"$/));
  await assert.rejects(verifySevSnp(report, { at, endorsements: [vcek], trustAnchors: [AMD_ROOTS.Genoa.ark] }), refusal(/^sev-snp: certificate chain: ASK \(".*CN=SEV-Milan"\) is issued by ".*CN=ARK-Milan", which is not a trust anchor$/));
  await assert.rejects(verifySevSnp(report, { at }), refusal(/^sev-snp: expected exactly one SEV-VCEK certificate among the endorsements \(the report is signed by a VCEK\), found 0$/));
  await assert.rejects(verifySevSnp(report, { at, endorsements: [vectorBytes('sev-snp/ms-genoa_vcek.pem')] }), refusal(/^sev-snp: the report's CPUID says Milan but the VCEK is for Genoa$/));
  // Another Milan chip's VCEK: the chain is fine, the signature is not.
  await assert.rejects(verifySevSnp(report, { at, endorsements: [vectorBytes('sev-snp/trustee-test-vcek.der')] }), refusal(/^sev-snp: report signature does not verify with the VCEK key$/));
  // A VLEK-signed report needs a VLEK.
  const vlekEntry = byId('sev-snp/trustee-test-vlek-report');
  await assert.rejects(verifySevSnp(vectorBytes(vlekEntry.file), { at: new Date(vlekEntry.verification_time!), endorsements: [vcek] }), refusal(/found 0$/));
});

test('truncated and malformed reports are refused', async () => {
  const milan = byId('sev-snp/ms-milan_attestation_report');
  const report = vectorBytes(milan.file);
  const options = { at: new Date(milan.verification_time!), endorsements: [vectorBytes(keyFile(milan))] };
  for (const length of [0, 1, 0x2a0, 1183]) {
    await assert.rejects(verifySevSnp(report.subarray(0, length), options), refusal(new RegExp(`^sev-snp: report: is ${length} bytes, expected 1184$`)));
  }
  await assert.rejects(verifySevSnp(new Uint8Array([...report, 0]), options), refusal(/^sev-snp: report: is 1185 bytes, expected 1184$/));
  const v1 = new Uint8Array(report);
  v1[0] = 1;
  await assert.rejects(verifySevSnp(v1, options), refusal(/^sev-snp: report: version 1 is not one of 2, 3, 4, 5$/));
  const unsigned = new Uint8Array(report);
  unsigned[0x48] = 7 << 2;
  await assert.rejects(verifySevSnp(unsigned, options), refusal(/^sev-snp: report: it is not signed \(SIGNING_KEY = none\)$/));
  const padded = new Uint8Array(report);
  padded[0x400] = 1;
  await assert.rejects(verifySevSnp(padded, options), refusal(/^sev-snp: report: the reserved bytes after the signature \(0x330\.\.0x4A0\) are not zero$/));
  const algo = new Uint8Array(report);
  algo[0x34] = 2;
  await assert.rejects(verifySevSnp(algo, options), refusal(/^sev-snp: report: signature algorithm 2 is not 1/));
  await assert.rejects(verifySevSnp(report, { ...options, at: new Date(Number.NaN) }), refusal(/options\.at/));
});

// A self-made AMD-like PKI lets the tests sign reports with chosen fields.
const amdOid = '1.3.6.1.4.1.3704.1';
const extension = (oid: string, value: Uint8Array) => ({ oid, critical: false, value });
const integer = (value: number) => new Uint8Array(value < 0x80 ? [2, 1, value] : [2, 2, 0, value]);
async function selfMadeVcek(family: 'Milan' | 'Turin', tcb: { bl: number; tee: number; snp: number; ucode: number; fmc?: number }, hwId: Uint8Array, keys: 'RSA-PSS' | 'P-384' = 'RSA-PSS') {
  const ark = await createTestCertificate({ subject: `CN=ARK-${family}`, curve: keys });
  const ask = await createTestCertificate({ subject: `CN=SEV-${family}`, issuer: ark, ca: true, curve: keys });
  const extensions = [
    extension(`${amdOid}.2`, new Uint8Array([0x16, family.length, ...Buffer.from(family)])),
    extension(`${amdOid}.3.1`, integer(tcb.bl)),
    extension(`${amdOid}.3.2`, integer(tcb.tee)),
    extension(`${amdOid}.3.3`, integer(tcb.snp)),
    extension(`${amdOid}.3.8`, integer(tcb.ucode)),
    extension(`${amdOid}.4`, hwId),
  ];
  if (tcb.fmc !== undefined) extensions.push(extension(`${amdOid}.3.9`, integer(tcb.fmc)));
  const vcek = await createTestCertificate({ subject: 'CN=SEV-VCEK', issuer: ask, curve: 'P-384', bare: true, extensions });
  return { ark, ask, vcek };
}

async function signReport(fields: (report: Uint8Array, view: DataView) => void, vcek: TestCertificate): Promise<Uint8Array> {
  const report = new Uint8Array(1184);
  const view = new DataView(report.buffer);
  view.setUint32(0, 3, true);
  view.setUint32(0x34, 1, true);
  view.setBigUint64(0x08, 0x30000n, true);
  report[0x188] = 0x19;
  report[0x189] = 0x01;
  fields(report, view);
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', vcek.keys.privateKey);
  const signature = signData('sha384', report.subarray(0, 0x2a0), { key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8', dsaEncoding: 'ieee-p1363' });
  report.set(signature.subarray(0, 48).reverse(), 0x2a0);
  report.set(signature.subarray(48).reverse(), 0x2e8);
  return report;
}

test('self-made reports: debug policy, TCB and chip-id binding, Turin layout, version 5', async () => {
  const chipId = crypto.getRandomValues(new Uint8Array(64));
  const { ark, ask, vcek } = await selfMadeVcek('Milan', { bl: 4, tee: 0, snp: 24, ucode: 219 }, chipId);
  const milanTcb = (report: Uint8Array, offset: number) => report.set([4, 0, 0, 0, 0, 0, 24, 219], offset);
  const base = (report: Uint8Array) => {
    milanTcb(report, 0x180);
    report.set(chipId, 0x1a0);
  };
  const options = { at: new Date('2030-01-01T00:00:00Z'), endorsements: [vcek.der, ask.der], trustAnchors: [ark.pem] };
  const csrHash = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(32));

  const good = await signReport((report) => { base(report); report.set(bindReportData(csrHash, nonce), 0x50); }, vcek);
  const claims = await verifySevSnp(good, { ...options, expectedCsrHash: csrHash, expectedNonce: nonce });
  assert.deepEqual(claims.csrHash, csrHash);
  assert.deepEqual(claims.nonce, nonce);
  // The same report is refused against the real AMD roots.
  await assert.rejects(verifySevSnp(good, { ...options, trustAnchors: undefined as unknown as string[] }), refusal(/certificate chain/));

  const debug = await signReport((report, view) => { base(report); view.setBigUint64(0x08, 0x30000n | (1n << 19n), true); }, vcek);
  await assert.rejects(verifySevSnp(debug, options), refusal(/^sev-snp: debug evidence refused \(guest policy bit 19 \(DEBUG\) is set\)/));
  assert.equal((await verifySevSnp(debug, { ...options, allowDebug: true })).debug, true);

  const staleTcb = await signReport((report) => { base(report); report[0x187] = 220; }, vcek);
  await assert.rejects(verifySevSnp(staleTcb, options), refusal(/^sev-snp: VCEK ucodeSPL 219 does not match the reported TCB microcode 220$/));

  const otherChip = await signReport((report) => { base(report); report[0x1a0]! ^= 1; }, vcek);
  await assert.rejects(verifySevSnp(otherChip, options), refusal(/^sev-snp: VCEK hwID [0-9a-f]{128} does not match the report's chip id [0-9a-f]{128}$/));

  const v5 = await signReport((report, view) => { base(report); view.setUint32(0, 5, true); }, vcek);
  assert.equal((await verifySevSnp(v5, options)).details.version, 5);

  const unknownChip = await signReport((report) => { base(report); report[0x188] = 0x17; }, vcek);
  await assert.rejects(verifySevSnp(unknownChip, options), refusal(/^sev-snp: CPUID family 0x17 model 0x1 is not a known SEV-SNP chip$/));

  const highS = await signReport((report) => base(report), vcek);
  highS[0x2e8 + 60] = 1;
  await assert.rejects(verifySevSnp(highS, options), refusal(/^sev-snp: report: signature s has non-zero bytes beyond 48$/));

  const turinChip = crypto.getRandomValues(new Uint8Array(8));
  const turin = await selfMadeVcek('Turin', { fmc: 1, bl: 2, tee: 3, snp: 4, ucode: 5 }, turinChip);
  const turinReport = await signReport((report) => {
    report[0x188] = 0x1a;
    report[0x189] = 0x02;
    report.set([1, 2, 3, 4, 0, 0, 0, 5], 0x180);
    report.set(turinChip, 0x1a0);
  }, turin.vcek);
  const turinClaims = await verifySevSnp(turinReport, { ...options, endorsements: [turin.vcek.der, turin.ask.der], trustAnchors: [turin.ark.pem] });
  assert.equal(turinClaims.details.chipFamily, 'Turin');
  assert.deepEqual(turinClaims.details.reportedTcb, { fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5, raw: '0500000004030201' });
});

test('a VCEK chain not signed with RSASSA-PSS SHA-384 is refused', async () => {
  const chipId = new Uint8Array(64).fill(3);
  const { ark, ask, vcek } = await selfMadeVcek('Milan', { bl: 1, tee: 0, snp: 2, ucode: 3 }, chipId, 'P-384');
  const report = await signReport((bytes) => {
    bytes.set([1, 0, 0, 0, 0, 0, 2, 3], 0x180);
    bytes.set(chipId, 0x1a0);
  }, vcek);
  await assert.rejects(
    verifySevSnp(report, { at: new Date('2030-01-01T00:00:00Z'), endorsements: [vcek.der, ask.der], trustAnchors: [ark.pem] }),
    refusal(/^sev-snp: VCEK is signed with ECDSA\/SHA-384, not RSASSA-PSS SHA-384$/),
  );
});
