// Time from vc-server start to ready (isolate process start, key pair and CSR, linux evidence, PAS
// certification, policy initialization, listening), median of several runs, against the baseline of
// starting a bare Node process and waiting for it to exit (the floor for any process-based isolate).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startServer } from '../src/server.ts';
import { createTestDeployment } from '../src/testing.ts';

const RUNS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function bareNodeProcess(): Promise<number> {
  const start = performance.now();
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore', env: {} });
  await once(child, 'exit');
  return performance.now() - start;
}

const deployment = await createTestDeployment();
try {
  const baseline: number[] = [];
  const ready: number[] = [];
  const steps: { launched: number[]; attested: number[]; certified: number[]; initialized: number[] } = { launched: [], attested: [], certified: [], initialized: [] };
  // One warm-up of each, so file-system caches do not colour the first run.
  await bareNodeProcess();
  const warm = await startServer({ policyText: deployment.policyText, devKeyPath: deployment.devKey.privateKeyPath, listen: '127.0.0.1:0', log: () => {} });
  await warm.close();
  for (let run = 0; run < RUNS; run++) {
    baseline.push(await bareNodeProcess());
    const start = performance.now();
    const server = await startServer({ policyText: deployment.policyText, devKeyPath: deployment.devKey.privateKeyPath, listen: '127.0.0.1:0', log: () => {} });
    ready.push(performance.now() - start);
    const timings = server.bootTimings;
    steps.launched.push(timings.launched);
    steps.attested.push(timings.attested - timings.launched);
    steps.certified.push(timings.certified - timings.attested);
    steps.initialized.push(timings.initialized - timings.certified);
    await server.close();
  }
  const base = median(baseline);
  const boot = median(ready);
  console.log(`vc-server start to ready, median of ${RUNS} runs (linux platform, PAS on loopback)`);
  console.log('| what | median ms | min ms | max ms | ratio to bare node |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| bare node process (baseline) | ${base.toFixed(1)} | ${Math.min(...baseline).toFixed(1)} | ${Math.max(...baseline).toFixed(1)} | 1.00 |`);
  console.log(`| vc-server ready | ${boot.toFixed(1)} | ${Math.min(...ready).toFixed(1)} | ${Math.max(...ready).toFixed(1)} | ${(boot / base).toFixed(2)} |`);
  console.log(`goal: under 1000 ms -> ${boot < 1000 ? 'met' : 'NOT met'}`);
  console.log('\nboot steps (median ms; ratio to bare node)');
  console.log('| step | median ms | ratio |');
  console.log('|---|---:|---:|');
  const rows: [string, number[]][] = [
    ['read policy, load dev key, measure and start the isolate process', steps.launched],
    ['isolate up: key pair, CSR; launcher signs linux evidence', steps.attested],
    ['PAS verifies evidence and issues the certificate', steps.certified],
    ['isolate checks certificate and policy, builds its session manager', steps.initialized],
  ];
  for (const [what, values] of rows) console.log(`| ${what} | ${median(values).toFixed(1)} | ${(median(values) / base).toFixed(2)} |`);
} finally {
  await deployment.remove();
}
