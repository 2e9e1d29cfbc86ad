import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as attestation from './index.ts';
import { vectorBytes } from './roots/test-vectors.ts';

test('the package exports the contract names', () => {
  for (const name of ['verifyNitro', 'verifyPsa', 'verifySevSnp', 'verifyTdx', 'verifySgx', 'signCoseSign1', 'decodeCoseSign1', 'verifyCoseSign1', 'verifyCertificateChain', 'bindReportData']) {
    assert.equal(typeof (attestation as Record<string, unknown>)[name], 'function', name);
  }
});

test('no verifier depends on the clock: results are the same under a clock set to 1980 or 2100', async () => {
  const RealDate = Date;
  // A Date whose "now" is a fake time: if a verifier used the clock, one of the two runs would fail.
  const fakeClock = (fake: number): DateConstructor =>
    class FakeDate extends RealDate {
      constructor(...args: unknown[]) {
        super(...((args.length === 0 ? [fake] : args) as [number]));
      }
      static override now(): number {
        return fake;
      }
    } as DateConstructor;
  const runs: [string, () => Promise<attestation.EvidenceClaims>][] = [
    ['nitro', () => attestation.verifyNitro(vectorBytes('nitro/yawn-nitro-attest.attestation.cose'), { at: new RealDate('2025-01-06T16:07:05.472Z') })],
    ['psa', () => attestation.verifyPsa(vectorBytes('psa/psatoken-tfm-psa-iot-1.sign1.cbor'), { at: new RealDate('2025-01-01T00:00:00Z'), endorsements: [vectorBytes('psa/tfm-iak-public.pem')] })],
    ['sev-snp', () => attestation.verifySevSnp(vectorBytes('sev-snp/trustee-test-vlek-report.bin'), { at: new RealDate('2025-06-01T00:00:00Z'), endorsements: [vectorBytes('sev-snp/trustee-test-vlek.der')] })],
    ['tdx', () => attestation.verifyTdx(vectorBytes('tdx/dcap-qvl-tdx-quote.bin'), { at: new RealDate('2025-07-01T00:00:00Z'), endorsements: [vectorBytes('tdx/dcap-qvl-tdx-quote.collateral.json')] })],
    ['sgx', () => attestation.verifySgx(vectorBytes('sgx/dcap-qvl-sgx-quote.bin'), { at: new RealDate('2025-07-01T00:00:00Z'), endorsements: [vectorBytes('sgx/dcap-qvl-sgx-quote.collateral.json')] })],
  ];
  for (const [name, run] of runs) {
    const results: string[] = [];
    for (const fake of [RealDate.parse('1980-01-01T00:00:00Z'), RealDate.parse('2100-01-01T00:00:00Z')]) {
      attestation.clearCertificateCache();
      globalThis.Date = fakeClock(fake);
      try {
        const claims = await run();
        results.push(JSON.stringify({ ...claims, measurement: Buffer.from(claims.measurement).toString('hex') }));
      } finally {
        globalThis.Date = RealDate;
      }
    }
    assert.equal(results[0], results[1], name);
  }
});

test('corrupted evidence is refused with AttestationFailed, never another error', async () => {
  const { VeracruzError } = await import('@veracruz-ts/core');
  const samples: [string, (evidence: Uint8Array) => Promise<unknown>, Uint8Array][] = [
    ['nitro', (e) => attestation.verifyNitro(e, { at: new Date('2025-01-06T16:07:05.472Z') }), vectorBytes('nitro/yawn-nitro-attest.attestation.cose')],
    ['psa', (e) => attestation.verifyPsa(e, { at: new Date('2025-01-01T00:00:00Z'), endorsements: [vectorBytes('psa/tfm-iak-public.pem')] }), vectorBytes('psa/psatoken-tfm-psa-2_0_0.sign1.cbor')],
    ['sev-snp', (e) => attestation.verifySevSnp(e, { at: new Date('2026-03-01T00:00:00Z'), endorsements: [vectorBytes('sev-snp/ms-milan_vcek.pem')] }), vectorBytes('sev-snp/ms-milan_attestation_report.bin')],
    ['tdx', (e) => attestation.verifyTdx(e, { at: new Date('2025-07-01T00:00:00Z'), endorsements: [vectorBytes('tdx/dcap-qvl-tdx-quote.collateral.json')] }), vectorBytes('tdx/dcap-qvl-tdx-quote.bin')],
    ['sgx', (e) => attestation.verifySgx(e, { at: new Date('2025-07-01T00:00:00Z'), endorsements: [vectorBytes('sgx/dcap-qvl-sgx-quote.collateral.json')] }), vectorBytes('sgx/dcap-qvl-sgx-quote.bin')],
  ];
  // A fixed pseudo-random sequence, so a failure reproduces.
  let seed = 0x2545f491;
  const next = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  for (const [name, verify, original] of samples) {
    let refused = 0;
    for (let round = 0; round < 60; round++) {
      const corrupted = new Uint8Array(original);
      const offset = Math.floor(next() * corrupted.length);
      corrupted[offset] = (corrupted[offset]! + 1 + Math.floor(next() * 255)) & 0xff;
      try {
        await verify(corrupted);
      } catch (error) {
        assert.ok(error instanceof VeracruzError && error.code === 'attestation_failed', `${name}, byte ${offset}: ${String(error)}`);
        assert.ok(error.rawMessage.startsWith(`${name}: `), `${name}, byte ${offset}: ${error.rawMessage}`);
        // The catch-all for library errors is a last resort: corruptions get precise reasons.
        assert.doesNotMatch(error.rawMessage, /malformed evidence/, `${name}, byte ${offset}`);
        refused++;
      }
    }
    assert.equal(refused, 60, `${name}: only ${refused} of 60 corruptions refused`);
  }
});
