import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VeracruzError } from '@veracruz-ts/core';
import { verifyTdx, verifySgx } from './verify.ts';
import { rawJsonMember } from './collateral.ts';
import { toHex, type VerifyOptions, type EvidenceClaims } from '../platform.ts';
import { createTestCertificate } from '../roots/test-pki.ts';
import { MANIFEST, vectorBytes, vectorText, fromHex, type VectorEntry } from '../roots/test-vectors.ts';

function refusal(pattern: RegExp) {
  return (error: unknown) => error instanceof VeracruzError && error.code === 'attestation_failed' && pattern.test(error.rawMessage);
}

const verifierFor = (kind: string) => (kind === 'tdx' ? verifyTdx : verifySgx);
/** The collateral files a manifest entry needs (everything but the trust anchor). */
const collateralOf = (entry: VectorEntry) => entry.needs!.filter((need) => !/trust anchor/.test(need.role)).map((need) => vectorBytes(need.file));
const positives = MANIFEST.filter((entry) => (entry.kind === 'tdx' || entry.kind === 'sgx') && entry.role === 'positive');
const byId = (id: string) => positives.find((entry) => entry.id === id)!;

test('the manifest has four TDX quotes and one SGX quote', () => {
  assert.equal(positives.filter((entry) => entry.kind === 'tdx').length, 4);
  assert.equal(positives.filter((entry) => entry.kind === 'sgx').length, 1);
});

function assertTdFacts(claims: EvidenceClaims, facts: Record<string, any>): void {
  const details = claims.details as Record<string, any>;
  assert.equal(toHex(claims.measurement), facts.mrtd);
  assert.deepEqual(details.rtmrs, [facts.rtmr0, facts.rtmr1, facts.rtmr2, facts.rtmr3]);
  for (const [ours, theirs] of [['mrConfigId', 'mrconfigid'], ['mrOwner', 'mrowner'], ['mrOwnerConfig', 'mrownerconfig'], ['mrSeam', 'mrseam'], ['mrSignerSeam', 'mrsignerseam'], ['teeTcbSvn', 'tee_tcb_svn'], ['seamAttributes', 'seam_attributes'], ['tdAttributes', 'td_attributes'], ['xfam', 'xfam']]) {
    assert.equal(details[ours!], facts[theirs!], ours);
  }
  assert.equal(claims.debug, facts.td_attributes_debug);
  if (facts.v5_body_type !== undefined) assert.equal(details.bodyType, facts.v5_body_type);
  assert.equal(details.tdReport, facts.tee_tcb_svn2 === undefined ? '1.0' : '1.5');
  assert.equal(details.teeTcbSvn2, facts.tee_tcb_svn2);
  assert.equal(details.mrServiceTd, facts.mrservicetd);
}

function assertSgxFacts(claims: EvidenceClaims, facts: Record<string, any>): void {
  const details = claims.details as Record<string, any>;
  assert.equal(toHex(claims.measurement), facts.mrenclave);
  for (const [ours, theirs] of [['mrSigner', 'mrsigner'], ['isvProdId', 'isvprodid'], ['isvSvn', 'isvsvn'], ['cpuSvn', 'cpusvn'], ['miscSelect', 'miscselect'], ['attributes', 'attributes'], ['configId', 'configid'], ['configSvn', 'configsvn'], ['isvFamilyId', 'isvfamilyid']]) {
    assert.equal(details[ours!], facts[theirs!], ours);
  }
  assert.equal(claims.debug, facts.attributes_debug);
}

for (const entry of positives) {
  const facts = entry.facts as Record<string, any>;
  const verify = verifierFor(entry.kind);
  const at = new Date(entry.verification_time!);
  const endorsements = collateralOf(entry);

  test(`${entry.id}: accepted at its verification time, reproducing the manifest facts`, async () => {
    const claims = await verify(vectorBytes(entry.file), { at, endorsements, allowDebug: true });
    const details = claims.details as Record<string, any>;
    assert.equal(claims.platform, entry.kind);
    assert.equal(claims.debug, entry.expected!.debug);
    assert.equal(toHex(claims.reportData!), facts.report_data);
    assert.equal(details.quoteVersion, facts.quote_version);
    assert.equal(`0x${details.teeType.toString(16)}`, facts.tee_type.split(' ')[0]);
    assert.equal(details.qeSvn, facts.qe_svn);
    assert.equal(details.pceSvn, facts.pce_svn);
    assert.equal(details.qeVendorId, facts.qe_vendor_id);
    assert.equal(details.headerUserData, facts.header_user_data);
    assert.equal(details.trailingZeros, facts.trailing_bytes_after_signature_data);
    if (entry.kind === 'tdx') assertTdFacts(claims, facts);
    else assertSgxFacts(claims, facts);
    for (const key of ['mrenclave', 'mrsigner', 'isvprodid', 'isvsvn', 'miscselect', 'attributes'] as const) {
      const ours = { mrenclave: 'mrEnclave', mrsigner: 'mrSigner', isvprodid: 'isvProdId', isvsvn: 'isvSvn', miscselect: 'miscSelect', attributes: 'attributes' }[key];
      assert.equal(details.qeReport[ours], facts.qe_report[key], `QE ${key}`);
    }
    assert.match(details.pckSubject, /CN=Intel SGX PCK Certificate/);
    const pckFacts = facts.pck_cert_sgx_extensions;
    assert.equal(details.pck.fmspc, pckFacts.fmspc);
    assert.equal(details.pck.pceId, pckFacts.pceid);
    assert.equal(details.pck.pceSvn, pckFacts.pcesvn);
    assert.deepEqual(details.pck.componentSvns, pckFacts.tcb_comp_svns);
    assert.equal(details.pck.cpuSvn, pckFacts.cpusvn);
    assert.equal(details.pck.ppid, pckFacts.ppid);
    assert.equal(details.pck.sgxType, pckFacts.sgx_type);
    assert.equal(details.tcbStatus ?? null, entry.expected!.tcb_status ?? null);
    if (entry.expected!.advisory_ids !== undefined) assert.deepEqual(details.advisoryIds, entry.expected!.advisory_ids);
    if (facts.tcb?.platform?.tcb_date !== undefined && details.collateral === true) assert.equal(details.platformTcb.tcbDate, facts.tcb.platform.tcb_date);
    if (facts.collateral?.crls !== undefined && typeof facts.collateral.crls === 'object') assert.deepEqual(details.crlsChecked, ['root CA CRL', 'PCK CRL']);
  });

  if (entry.expected!.debug === true) {
    test(`${entry.id}: debug TD refused without allowDebug`, async () => {
      await assert.rejects(verify(vectorBytes(entry.file), { at, endorsements }), refusal(/^tdx: debug evidence refused \(TD attributes bit 0 \(DEBUG\) is set\)/));
    });
  }

  for (const failure of entry.expected!.fails_at ?? []) {
    test(`${entry.id}: refused at ${failure.time} (${failure.reason})`, async () => {
      const pattern = /PCK leaf/.test(failure.reason)
        ? new RegExp(`^${entry.kind}: PCK certificate chain: PCK certificate expired at .* \\(verifying at ${failure.time}\\)$`)
        : /tcbInfo expired/.test(failure.reason)
          ? new RegExp(`^${entry.kind}: TCB info expired: nextUpdate 2025-11-26T13:07:17Z \\(verifying at ${failure.time}\\)$`)
          : new RegExp(`^${entry.kind}: (PCK CRL|root CA CRL|TCB info|QE identity) expired: nextUpdate .* \\(verifying at ${failure.time}\\)$`);
      await assert.rejects(verify(vectorBytes(entry.file), { at: new Date(failure.time), endorsements, allowDebug: true }), refusal(pattern));
    });
  }
}

for (const entry of MANIFEST.filter((candidate) => (candidate.kind === 'tdx' || candidate.kind === 'sgx') && candidate.role === 'negative-tampered')) {
  test(`${entry.id}: tampered copy refused (${entry.tamper!.what})`, async () => {
    const bytes = vectorBytes(entry.file);
    const original = vectorBytes(entry.derived_from!);
    assert.deepEqual([...bytes.keys()].filter((index) => bytes[index] !== original[index]), [entry.tamper!.offset_in_file]);
    await assert.rejects(
      verifierFor(entry.kind)(bytes, { at: new Date(entry.verification_time!), endorsements: collateralOf(entry) }),
      refusal(new RegExp(`^${entry.kind}: quote signature does not verify with the attestation key$`)),
    );
  });
}

const tdxSample = byId('tdx/dcap-qvl-tdx-quote');
const tdxOptions = (): VerifyOptions => ({ at: new Date(tdxSample.verification_time!), endorsements: collateralOf(tdxSample) });

test('report data binds the CSR hash and nonce', async () => {
  const reportData = fromHex((tdxSample.facts as Record<string, any>).report_data);
  const quote = vectorBytes(tdxSample.file);
  const claims = await verifyTdx(quote, { ...tdxOptions(), expectedCsrHash: reportData.slice(0, 32), expectedNonce: reportData.slice(32) });
  assert.deepEqual(claims.csrHash, reportData.slice(0, 32));
  await assert.rejects(verifyTdx(quote, { ...tdxOptions(), expectedNonce: new Uint8Array(32) }), refusal(/^tdx: report data binds nonce eca3efdb.* but 0{64} was expected$/));
  await assert.rejects(verifyTdx(quote, { ...tdxOptions(), expectedCsrHash: new Uint8Array(32) }), refusal(/^tdx: report data binds CSR hash 9a9d48e7.* but 0{64} was expected$/));
});

test('a self-made root is refused, and the platforms are not mixed up', async () => {
  const root = await createTestCertificate({ subject: 'CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US' });
  await assert.rejects(verifyTdx(vectorBytes(tdxSample.file), { ...tdxOptions(), trustAnchors: [root.pem] }), refusal(/^tdx: PCK certificate chain: root CA certificate signature does not verify with the trust anchor "CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US"$/));
  const other = await createTestCertificate({ subject: 'CN=Some Other Root' });
  await assert.rejects(verifyTdx(vectorBytes(tdxSample.file), { ...tdxOptions(), trustAnchors: [other.pem] }), refusal(/^tdx: PCK certificate chain: root CA certificate \("CN=Intel SGX Root CA, .*"\) is issued by "CN=Intel SGX Root CA, .*", which is not a trust anchor$/));
  const sgx = byId('sgx/dcap-qvl-sgx-quote');
  await assert.rejects(verifyTdx(vectorBytes(sgx.file), { at: new Date(sgx.verification_time!) }), refusal(/^tdx: quote: TEE type 0x0 is an SGX quote, not TDX$/));
  await assert.rejects(verifySgx(vectorBytes(tdxSample.file), tdxOptions()), refusal(/^sgx: quote: TEE type 0x81 is a TDX quote, not SGX$/));
});

test('truncated quotes are refused at every length tried', async () => {
  const quote = vectorBytes(tdxSample.file);
  for (const length of [0, 1, 47, 48, 200, 631, 632, 636, 700, 1200, 4000, 4935]) {
    await assert.rejects(verifyTdx(quote.subarray(0, length), tdxOptions()), refusal(/^tdx: quote: truncated: /), `length ${length}`);
  }
  const padded = new Uint8Array([...quote, 1]);
  await assert.rejects(verifyTdx(padded, tdxOptions()), refusal(/^tdx: quote: 71 bytes follow the signature data and they are not all zero$/));
  const v2 = new Uint8Array(quote);
  v2[0] = 2;
  await assert.rejects(verifyTdx(v2, tdxOptions()), refusal(/^tdx: quote: version 2 is not 3, 4 or 5$/));
});

test('collateral is checked: signatures over the exact text, FMSPC, issuers, completeness', async () => {
  const quote = vectorBytes(tdxSample.file);
  const collateral = JSON.parse(vectorText('tdx/dcap-qvl-tdx-quote.collateral.json')) as Record<string, string>;
  const withCollateral = (changes: Record<string, string>) => [new TextEncoder().encode(JSON.stringify({ ...collateral, ...changes }))];
  const at = new Date(tdxSample.verification_time!);
  // Re-serialising the signed text (here: adding a space) breaks the signature.
  await assert.rejects(verifyTdx(quote, { at, endorsements: withCollateral({ tcb_info: collateral.tcb_info!.replace('"id":"TDX"', '"id": "TDX"') }) }), refusal(/^tdx: TCB info signature does not verify with the TCB Signing certificate$/));
  await assert.rejects(verifyTdx(quote, { at, endorsements: withCollateral({ qe_identity: collateral.qe_identity!.replace('"isvprodid":2', '"isvprodid":3') }) }), refusal(/^tdx: QE identity signature does not verify/));
  // A signing "chain" that is only the PCK chain: no TCB Signing certificate.
  const pckChainOnly = collateral.pck_crl_issuer_chain!;
  await assert.rejects(verifyTdx(quote, { at, endorsements: withCollateral({ tcb_info_issuer_chain: pckChainOnly, qe_identity_issuer_chain: pckChainOnly }) }), refusal(/^tdx: TCB info: no Intel SGX TCB Signing certificate among the collateral$/));
  // The SGX sample's PCK CRL is issued by the Processor CA, not this quote's Platform CA.
  const sgxCollateral = JSON.parse(vectorText('sgx/dcap-qvl-sgx-quote.collateral.json')) as Record<string, string>;
  await assert.rejects(verifyTdx(quote, { at, endorsements: [fromHex(sgxCollateral.pck_crl!)] }), refusal(/^tdx: CRL issued by "CN=Intel SGX PCK Processor CA, .*" is neither the root CA's nor the PCK CA's$/));
  // CRLs alone are checked; no TCB status without TCB info.
  const crlsOnly = await verifyTdx(quote, { at, endorsements: [fromHex(collateral.root_ca_crl!), fromHex(collateral.pck_crl!)] });
  assert.deepEqual(crlsOnly.details.crlsChecked, ['root CA CRL', 'PCK CRL']);
  assert.equal(crlsOnly.details.tcbStatus, undefined);
  // The trustee TCB info is for another FMSPC.
  const trustee = byId('tdx/trustee-tdx-quote-6');
  await assert.rejects(
    verifyTdx(quote, { at: new Date(trustee.verification_time!), endorsements: collateralOf(trustee) }),
    refusal(/^tdx: TCB info is for FMSPC 00A06D080000 but the PCK certificate's is B0C06F000000$/),
  );
  // TCB info alone is not enough.
  await assert.rejects(verifyTdx(vectorBytes(trustee.file), { at: new Date(trustee.verification_time!), endorsements: [vectorBytes('tdx/trustee-tcbInfo.json'), vectorBytes('tdx/intel-tcb-signing-chain.pem')] }), refusal(/^tdx: collateral: TCB info was given without a QE identity$/));
  // The SGX collateral cannot rate a TD.
  await assert.rejects(verifyTdx(quote, { at, endorsements: withCollateral({ tcb_info: sgxCollateral.tcb_info!, tcb_info_signature: sgxCollateral.tcb_info_signature! }) }), refusal(/^tdx: TCB info is for "SGX", expected TDX$/));
});

test('rawJsonMember returns the exact text of a member', () => {
  const text = '{ "a" : [1, {"b": "}"}] , "tcbInfo":{"x": "y\\"z", "n": [1,2]},"signature":"00"}';
  assert.equal(rawJsonMember(text, 'tcbInfo'), '{"x": "y\\"z", "n": [1,2]}');
  assert.equal(rawJsonMember(text, 'a'), '[1, {"b": "}"}]');
  assert.equal(rawJsonMember(text, 'signature'), '"00"');
  assert.equal(rawJsonMember(text, 'missing'), undefined);
  const trustee = vectorText('tdx/trustee-tcbInfo.json');
  assert.deepEqual(JSON.parse(rawJsonMember(trustee, 'tcbInfo')!), JSON.parse(trustee).tcbInfo);
});

test('SGX: binding, a self-made root and truncation are refused like TDX', async () => {
  const sgx = byId('sgx/dcap-qvl-sgx-quote');
  const quote = vectorBytes(sgx.file);
  const options: VerifyOptions = { at: new Date(sgx.verification_time!), endorsements: collateralOf(sgx) };
  const reportData = fromHex((sgx.facts as Record<string, any>).report_data);
  await verifySgx(quote, { ...options, expectedCsrHash: reportData.slice(0, 32), expectedNonce: reportData.slice(32) });
  await assert.rejects(verifySgx(quote, { ...options, expectedCsrHash: new Uint8Array(32).fill(1) }), refusal(/^sgx: report data binds CSR hash 48656c6c6f2c20776f726c6421.* but (01){32} was expected$/));
  await assert.rejects(verifySgx(quote, { ...options, expectedNonce: new Uint8Array(32).fill(1) }), refusal(/^sgx: report data binds nonce 0{64} but (01){32} was expected$/));
  const root = await createTestCertificate({ subject: 'CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US' });
  await assert.rejects(verifySgx(quote, { ...options, trustAnchors: [root.pem] }), refusal(/^sgx: PCK certificate chain: root CA certificate signature does not verify with the trust anchor/));
  for (const length of [0, 47, 431, 432, 1000, quote.length - 1]) {
    await assert.rejects(verifySgx(quote.subarray(0, length), options), refusal(/^sgx: quote: truncated: /), `length ${length}`);
  }
  // After the PCK certificate expires, the quote is refused whatever the collateral says.
  await assert.rejects(verifySgx(quote, { at: new Date('2030-09-21T00:00:00Z') }), refusal(/^sgx: PCK certificate chain: PCK certificate expired at 2030-09-20T21:53:43Z/));
});
