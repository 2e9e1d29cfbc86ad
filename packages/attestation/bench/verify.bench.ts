/**
 * Verification time per evidence kind, on the real samples of test-vectors/, as the median of many
 * runs after warm-up, against a baseline measured in the same run: one raw ECDSA P-384 verify with
 * node:crypto (the single signature check an SNP report needs). "warm" keeps the certificate parse
 * cache (a PAS sees the same intermediates and roots again and again); "cold" clears it before
 * every run, so every certificate is parsed again; "fresh leaf" forgets only the leaf certificate
 * (the realistic PAS case: a new Nitro document, VCEK or PCK certificate under known CAs).
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  clearCertificateCache,
  decodeCoseSign1,
  decodeNitroDocument,
  forgetCertificate,
  parseDcapQuote,
  pemCertificates,
  verifyNitro,
  verifyPsa,
  verifySevSnp,
  verifySgx,
  verifyTdx,
  type EvidenceClaims,
  type VerifyOptions,
} from '../src/index.ts';

const vectors = new URL('../test-vectors/', import.meta.url);
const read = (file: string): Uint8Array => new Uint8Array(readFileSync(new URL(file, vectors)));

interface Case {
  name: string;
  run: () => Promise<EvidenceClaims>;
  /** The evidence's leaf certificate (DER), if it has one. */
  leaf?: Uint8Array;
}

const nitroLeaf = decodeNitroDocument(decodeCoseSign1(read('nitro/yawn-nitro-attest.attestation.cose')).payload).certificate;
const pckLeaf = (file: string): Uint8Array => pemCertificates(parseDcapQuote(read(file), 'tdx').pckChainPem)[0]!;

function verifier(fn: (evidence: Uint8Array, options: VerifyOptions) => Promise<EvidenceClaims>, evidence: string, options: Omit<VerifyOptions, 'at'> & { at: string }): () => Promise<EvidenceClaims> {
  const bytes = read(evidence);
  const resolved: VerifyOptions = { ...options, at: new Date(options.at) };
  return () => fn(bytes, resolved);
}

const cases: Case[] = [
  { name: 'nitro (COSE ES384, 5-cert chain)', run: verifier(verifyNitro, 'nitro/yawn-nitro-attest.attestation.cose', { at: '2025-01-06T16:07:05.472Z' }), leaf: nitroLeaf },
  { name: 'psa (COSE ES256, bare key)', run: verifier(verifyPsa, 'psa/psatoken-tfm-psa-2_0_0.sign1.cbor', { at: '2025-01-01T00:00:00Z', endorsements: [read('psa/tfm-iak-public.pem')] }) },
  { name: 'sev-snp (VCEK, RSA-PSS chain)', run: verifier(verifySevSnp, 'sev-snp/ms-milan_attestation_report.bin', { at: '2026-03-01T00:00:00Z', endorsements: [read('sev-snp/ms-milan_vcek.pem')] }), leaf: pemCertificates(readFileSync(new URL('sev-snp/ms-milan_vcek.pem', vectors), 'utf8'))[0]! },
  { name: 'tdx (quote + PCK chain only)', run: verifier(verifyTdx, 'tdx/trustee-tdx-quote-5.dat', { at: '2026-03-01T00:00:00Z' }), leaf: pckLeaf('tdx/trustee-tdx-quote-5.dat') },
  { name: 'tdx (full collateral + CRLs)', run: verifier(verifyTdx, 'tdx/dcap-qvl-tdx-quote.bin', { at: '2025-07-01T00:00:00Z', endorsements: [read('tdx/dcap-qvl-tdx-quote.collateral.json')] }), leaf: pckLeaf('tdx/dcap-qvl-tdx-quote.bin') },
  { name: 'sgx (full collateral + CRLs)', run: verifier(verifySgx, 'sgx/dcap-qvl-sgx-quote.bin', { at: '2025-07-01T00:00:00Z', endorsements: [read('sgx/dcap-qvl-sgx-quote.collateral.json')] }), leaf: pckLeaf('sgx/dcap-qvl-sgx-quote.bin') },
];

const WARMUP = 50;
const RUNS = 400;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

async function measure(run: () => unknown | Promise<unknown>, before?: () => void): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) {
    before?.();
    await run();
  }
  globalThis.gc?.();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    before?.();
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times;
}

// Baseline: one raw ECDSA P-384/SHA-384 verify over 672 bytes (an SNP report's signed region).
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const message = new Uint8Array(672).fill(7);
const signature = sign('sha384', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
const baselineTimes = await measure(() => {
  if (!verify('sha384', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) throw new Error('baseline signature does not verify');
});
const baseline = median(baselineTimes);

const rows: string[][] = [['evidence', 'certificates', 'median ms', 'p90 ms', 'x baseline', '< 5 ms']];
rows.push(['baseline: ECDSA P-384 verify (node:crypto)', '-', baseline.toFixed(3), percentile(baselineTimes, 0.9).toFixed(3), '1.0', '-']);
for (const entry of cases) {
  await entry.run(); // must verify before it is timed
  const leaf = entry.leaf;
  const modes: [string, (() => void) | undefined][] = [['warm', undefined]];
  if (leaf !== undefined) modes.push(['fresh leaf', () => forgetCertificate(leaf)]);
  modes.push(['cold', clearCertificateCache]);
  for (const [mode, before] of modes) {
    const times = await measure(entry.run, before);
    const value = median(times);
    rows.push([entry.name, mode, value.toFixed(3), percentile(times, 0.9).toFixed(3), (value / baseline).toFixed(1), value < 5 ? 'yes' : 'NO']);
  }
}

const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
for (const [index, row] of rows.entries()) {
  console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '));
  if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '));
}
console.log(`\n${RUNS} runs after ${WARMUP} warm-up runs per row; Node ${process.version}.`);
