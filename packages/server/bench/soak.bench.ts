// Connection churn: what opening and dropping many connections leaves behind in the isolate and in
// vc-server. vc-server runs in this process (startServer, with the PAS of a test deployment beside it);
// the clients run in a child process (this file again, with --churn-client), so their own garbage is
// not counted against vc-server. The child opens and drops plain TCP connections (connect and drop;
// a few bytes that are not TLS, then drop; half a TLS record, then a graceful end) and full TLS
// sessions (handshake with a policy identity, the SDK's checks, request_policy_hash, close).
//
// Figures are resident memory (VmRSS) after a forced, memory-reducing full collection in each process
// (V8's gc({ flavor: 'last-resort' }): it also gives back the young generation V8 grew under load,
// which a plain gc() keeps). Here the bench calls it (bench.ts starts benchmarks with --expose-gc);
// the isolate runs the same collection itself once it has had no session for a second (vc-server
// starts it with --expose-gc), so the bench waits 3 s after the churn for that. The baseline is taken
// after a warm-up round, so code compiled and pools filled on first use are not counted as growth.
// Growth is reported after each half of the churn: a leak grows with every round, allocator slack
// does not. SOAK_TCP and SOAK_TLS change the counts.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { VeracruzClient } from '@veracruz-ts/client';
import { startServer } from '../src/server.ts';
import type { RunningServer } from '../src/server.ts';
import { createTestDeployment, fullCollector, pool, residentMiB, tcpChurn } from '../src/testing.ts';

const TCP_CONNECTIONS = Number(process.env.SOAK_TCP ?? 20_000);
const TLS_SESSIONS = Number(process.env.SOAK_TLS ?? 2_000);
const WARM_UP = { tcp: 500, tls: 50 };
/** Connections and sessions in flight at once. */
const TCP_PARALLEL = 32;
const TLS_PARALLEL = 4;
/** Goal: each process grows by less than this over the whole churn. */
const GOAL_MIB = 32;
/** The isolate collects once it has been idle this long (its IDLE_COLLECT_MS, plus a margin). */
const ISOLATE_IDLE_WAIT_MS = 3000;

/** What the parent sends the churn client. */
interface ChurnJob {
  host: string;
  port: number;
  policyText: string;
  certificatePem: string;
  privateKeyPem: string;
  tcp: number;
  tls: number;
}


/** The churn client's whole job (in the child process). */
async function churn(job: ChurnJob): Promise<{ failures: number; firstFailure: string }> {
  let failures = 0;
  let firstFailure = '';
  await pool(job.tcp, TCP_PARALLEL, (index) => tcpChurn(job.host, job.port, index));
  await pool(job.tls, TLS_PARALLEL, async () => {
    try {
      const client = await VeracruzClient.connect({
        policy: job.policyText, certificatePem: job.certificatePem, privateKeyPem: job.privateKeyPem, address: `${job.host}:${job.port}`,
      });
      await client.close();
    } catch (error) {
      failures++;
      firstFailure ||= String(error);
    }
  });
  return { failures, firstFailure };
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one round of churn in a fresh child process and waits until vc-server holds no session. */
async function round(server: RunningServer, job: Omit<ChurnJob, 'tcp' | 'tls'>, tcp: number, tls: number): Promise<number> {
  const started = performance.now();
  const child = fork(new URL(import.meta.url), ['--churn-client'], { execArgv: ['--no-warnings'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.send({ ...job, tcp, tls } satisfies ChurnJob);
  const [result] = (await once(child, 'message')) as [{ failures: number; firstFailure: string }];
  await once(child, 'exit');
  if (result.failures > 0) throw new Error(`${result.failures} TLS sessions failed, first: ${result.firstFailure}`);
  for (let waited = 0; server.stats().sessions > 0; waited += 50) {
    if (waited > 30_000) throw new Error(`vc-server still holds ${server.stats().sessions} sessions 30 s after the churn`);
    await delay(50);
  }
  return (performance.now() - started) / 1000;
}

/** Both processes' resident memory once idle and collected. */
async function settledMemory(server: RunningServer, gc: () => void): Promise<{ isolate: number; host: number }> {
  await delay(ISOLATE_IDLE_WAIT_MS);
  gc();
  return { isolate: await residentMiB(server.isolatePid!), host: await residentMiB(process.pid) };
}

async function bench(): Promise<void> {
  const gc = fullCollector();
  const deployment = await createTestDeployment();
  const server = await startServer({
    policyText: deployment.policyText,
    runtimePath: deployment.bundle.path,
    devKeyPath: deployment.devKey.privateKeyPath,
    pasUrl: deployment.pas.url,
    listen: '127.0.0.1:0',
    log: () => {},
  });
  try {
    if (server.isolatePid === undefined) throw new Error('the isolate has no process id to measure');
    const [host, port] = [server.url.slice(0, server.url.lastIndexOf(':')), Number(server.url.slice(server.url.lastIndexOf(':') + 1))];
    const job = { host, port, policyText: deployment.policyText, certificatePem: deployment.principal.certificatePem, privateKeyPem: deployment.principal.privateKeyPem };
    const boot = await settledMemory(server, gc);
    await round(server, job, WARM_UP.tcp, WARM_UP.tls);
    const base = await settledMemory(server, gc);
    const halfTcp = Math.floor(TCP_CONNECTIONS / 2);
    const halfTls = Math.floor(TLS_SESSIONS / 2);
    const firstSeconds = await round(server, job, halfTcp, halfTls);
    const half = await settledMemory(server, gc);
    const secondSeconds = await round(server, job, TCP_CONNECTIONS - halfTcp, TLS_SESSIONS - halfTls);
    const end = await settledMemory(server, gc);

    console.log(`connection churn: ${TCP_CONNECTIONS} plain TCP connections (dropped at once, after non-TLS bytes, or after half a TLS record) and ${TLS_SESSIONS} TLS sessions (handshake, checks, one request, close), loopback`);
    console.log(`churn took ${firstSeconds.toFixed(1)} s + ${secondSeconds.toFixed(1)} s; resident memory (VmRSS, MiB) after a forced full collection in each process`);
    console.log('| process | booted | after warm-up (baseline) | after half | after all | growth over baseline | goal |');
    console.log('|---|---:|---:|---:|---:|---:|---|');
    for (const [name, key] of [['isolate', 'isolate'], ['vc-server (with the idle PAS)', 'host']] as const) {
      const growth = end[key] - base[key];
      console.log(`| ${name} | ${boot[key].toFixed(1)} | ${base[key].toFixed(1)} | ${half[key].toFixed(1)} | ${end[key].toFixed(1)} | ${growth.toFixed(1)} | < ${GOAL_MIB} MiB: ${growth < GOAL_MIB ? 'met' : 'NOT met'} |`);
    }
  } finally {
    await server.close();
    await deployment.remove();
  }
}

if (process.argv[2] === '--churn-client') {
  const [job] = (await once(process, 'message')) as [ChurnJob];
  process.send!(await churn(job));
  process.disconnect();
} else {
  await bench();
}
