// Issuance latency of the PAS on loopback: Start → linux evidence → certificate, measured by a client
// process against a real `vc-pas serve` process with its SQLite file, next to a baseline in the same
// run: a bare HTTP round trip to the trivial `GET /health` route of the same server.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createIsolateIdentity } from '@veracruz-ts/attestation/certificates';
import { createLinuxEvidence, generateDevKey, importDevPrivateKey } from '@veracruz-ts/attestation/evidence';
import { pasCertify, pasStart } from '../src/client.ts';

const WARMUP = 100;
const RUNS = 1000;
const GOAL_MS = 20;
const VC_PAS = fileURLToPath(new URL('../bin/vc-pas.ts', import.meta.url));

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VC_PAS, ...args], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vc-pas ${args[0]} exited with ${code}`))));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function measure(name: string, action: () => Promise<unknown>): Promise<{ name: string; median: number; p95: number }> {
  for (let i = 0; i < WARMUP; i++) await action();
  globalThis.gc?.();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await action();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { name, median: percentile(samples, 50), p95: percentile(samples, 95) };
}

const workspace = await mkdtemp(join(tmpdir(), 'pas-bench-'));
const dir = join(workspace, 'pas');
try {
  await run(['init', '--dir', dir]);
  const devKey = await generateDevKey();
  await writeFile(join(workspace, 'dev.pub.pem'), devKey.publicKeyPem);
  await run(['enroll', '--dir', dir, '--name', 'bench', join(workspace, 'dev.pub.pem')]);
  // The bench is one client opening sessions as fast as it can: exactly what the Start rate limit
  // refuses, so it is lifted here (the limiter's bookkeeping still runs and is measured).
  const limits = ['--start-rate-per-second', '1000000', '--start-burst', '1000000'];
  const pas = spawn(process.execPath, [VC_PAS, 'serve', '--dir', dir, '--listen', '127.0.0.1:0', ...limits], { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: pas.stdout }).once('line', (line) => {
      const match = /listening on (\S+)/.exec(line);
      if (match === null) reject(new Error(line));
      else resolve(match[1] as string);
    });
    pas.once('exit', (code) => reject(new Error(`vc-pas serve exited with ${code}`)));
  });
  try {
    const key = await importDevPrivateKey(devKey.privateKeyPem);
    const identity = await createIsolateIdentity();
    const measurement = new Uint8Array(32).fill(7);

    const results = [
      await measure('baseline: GET /health round trip', async () => {
        const response = await fetch(`${url}/health`);
        await response.arrayBuffer();
      }),
      await measure('POST /proxy/v1/Start', () => pasStart(url)),
      await measure('linux evidence signing (client side)', () =>
        createLinuxEvidence({ devKey: key, nonce: new Uint8Array(32), measurement, csrHash: identity.csrHash }),
      ),
      await measure('whole issuance: Start + evidence + certify', async () => {
        const session = await pasStart(url);
        const evidence = await createLinuxEvidence({ devKey: key, nonce: session.nonce, measurement, csrHash: identity.csrHash });
        await pasCertify(url, 'linux', session.sessionId, evidence, identity.csrDer);
      }),
      await measure('isolate identity at boot (P-256 key + CSR), for scale', () => createIsolateIdentity()),
    ];
    const baseline = results[0]?.median as number;
    const issuance = results[3] as { median: number; p95: number };
    console.log(`PAS issuance on loopback (${RUNS} runs after ${WARMUP} warm-up; vc-pas in its own process, SQLite WAL)`);
    console.log(`${'operation'.padEnd(52)} ${'median ms'.padStart(10)} ${'p95 ms'.padStart(8)} ${'x baseline'.padStart(11)}`);
    for (const result of results) {
      console.log(
        `${result.name.padEnd(52)} ${result.median.toFixed(3).padStart(10)} ${result.p95.toFixed(3).padStart(8)} ${(result.median / baseline).toFixed(1).padStart(11)}`,
      );
    }
    const verdict = issuance.p95 < GOAL_MS ? 'met' : 'NOT met';
    console.log(`goal: whole issuance under ${GOAL_MS} ms: ${verdict} (median ${issuance.median.toFixed(2)} ms, p95 ${issuance.p95.toFixed(2)} ms)`);
  } finally {
    pas.kill('SIGTERM');
    await new Promise((resolve) => pas.once('exit', resolve));
  }
} finally {
  await rm(workspace, { recursive: true, force: true });
}
