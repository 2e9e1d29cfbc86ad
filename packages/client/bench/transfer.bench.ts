// Transfer throughput of a principal's files through vc-server into the isolate and back, against
// two baselines measured in the same run: node:crypto AES-256-GCM on one core (the cipher TLS uses
// here) and raw TLS 1.3 between two Node processes on loopback (and the CPU its server spends per
// MiB, against the isolate's). Also: peak memory of the host (this process: client + vc-server) and
// of the isolate process, and connect-and-verify latency.
//
//   node --expose-gc packages/client/bench/transfer.bench.ts            # 1 GiB each way
//   BENCH_TRANSFER_MIB=256 node packages/client/bench/transfer.bench.ts  # smaller
//   BENCH_TRANSFER_RELAY=1 ...                                          # vc-server relays (as sev-snp/tdx do)
//   BENCH_ISOLATE_CPU_PROFILE=DIR ...   # the isolate WITHOUT its sandbox, writing a V8 CPU profile to DIR
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { devKeyId } from '@veracruz-ts/attestation/evidence';
import { VeracruzClient } from '@veracruz-ts/client';
import { startPas } from '@veracruz-ts/pas';
import { createIdentity, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { buildRuntimeBundle, countBufferMemoryInHeapLimit, loadOrCreateDevKey, startServer } from '@veracruz-ts/server';
import { startProfiledServer } from '@veracruz-ts/server/testing';
import { createTestPki, startInProcess, testPolicyText } from '@veracruz-ts/runtime/testing';

const MIB = 1024 * 1024;
const CHUNK = MIB;
const CIPHER = 'TLS_AES_256_GCM_SHA384';
const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ, the unit of /proc/<pid>/stat times

// ---- child process: the far end of the raw TLS baseline -------------------------------------
if (process.argv[2] === '--tls-peer') {
  const { key, cert, bytes } = JSON.parse(process.argv[3] ?? '{}') as { key: string; cert: string; bytes: number };
  const server = tls.createServer({ key, cert, minVersion: 'TLSv1.3', ciphers: CIPHER }, (socket) => {
    socket.once('data', (first: Buffer) => {
      if (first[0] === 0x44) { // 'D': download, send `bytes` bytes
        const block = randomBytes(CHUNK);
        let sent = 0;
        const pump = (): void => {
          while (sent < bytes) {
            sent += CHUNK;
            if (!socket.write(block)) return void socket.once('drain', pump);
          }
          socket.end();
        };
        pump();
        return;
      }
      let received = first.length - 1;
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= bytes) socket.end('k');
      });
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
  process.on('disconnect', () => process.exit(0));
} else if (process.argv[2] === '--principal') {
  // ---- child process: a principal on its own, as it would be on another machine -------------
  process.once('message', (message) => void principalProcess(message as PrincipalJob));
} else {
  // This process is the host (vc-server) and a client: as vc-server's and vc-client's entry points do.
  countBufferMemoryInHeapLimit();
  await main();
}

/** What the principal child process is told to do (over IPC). */
interface PrincipalJob {
  policy: string;
  certificatePem: string;
  privateKeyPem: string;
  address: string;
  bytes: number;
}

/** Phase reports of the principal child: the parent reads its own and the isolate's CPU at each. */
type PhaseReport = { phase: 'upload' | 'download'; mbps: number; cpuMsPerMib: number };
type PrincipalReport = PhaseReport | { phase: 'start' };

async function principalProcess(job: PrincipalJob): Promise<void> {
  countBufferMemoryInHeapLimit(); // as vc-client does
  const client = await VeracruzClient.connect({
    policy: job.policy, certificatePem: job.certificatePem, privateKeyPem: job.privateKeyPem, address: job.address, chunkBytes: CHUNK,
  });
  const report = (value: PrincipalReport): Promise<void> => new Promise((resolve) => process.send!(value, () => resolve()));
  const block = randomBytes(CHUNK);
  await report({ phase: 'start' });
  let cpu = process.cpuUsage();
  let started = performance.now();
  await client.writeFileStream('/data/big.bin', (function* () { for (let sent = 0; sent < job.bytes; sent += CHUNK) yield block; })());
  let used = process.cpuUsage(cpu);
  await report({ phase: 'upload', mbps: mbPerSecond(job.bytes, performance.now() - started), cpuMsPerMib: (used.user + used.system) / 1000 / (job.bytes / MIB) });
  cpu = process.cpuUsage();
  started = performance.now();
  let received = 0;
  for await (const part of client.readFileStream('/data/big.bin')) received += part.length;
  used = process.cpuUsage(cpu);
  if (received !== job.bytes) throw new Error(`principal: downloaded ${received} of ${job.bytes} bytes`);
  await report({ phase: 'download', mbps: mbPerSecond(received, performance.now() - started), cpuMsPerMib: (used.user + used.system) / 1000 / (received / MIB) });
  await client.close();
  process.disconnect();
}

/** Upload and download by a principal in its own process; this process is vc-server alone. */
async function separatePrincipal(job: PrincipalJob, isolatePid: number | undefined): Promise<{
  up: number; down: number; upCpu: { principal: number; host: number; isolate: number }; downCpu: { principal: number; host: number; isolate: number };
  hostPeakGrowth: number;
}> {
  globalThis.gc?.();
  const hostBaseline = process.memoryUsage().rss / MIB;
  let hostPeak = hostBaseline;
  const sampler = setInterval(() => (hostPeak = Math.max(hostPeak, process.memoryUsage().rss / MIB)), 20);
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--principal'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const reports: PrincipalReport[] = [];
  let cpu = cpuMeter(isolatePid);
  const measured: { host: number; isolate: number }[] = [];
  child.on('message', (message) => {
    const report = message as PrincipalReport;
    if (report.phase === 'start') cpu = cpuMeter(isolatePid);
    else measured.push(cpu(job.bytes));
    reports.push(report);
  });
  child.send(job);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(sampler);
  const upload = reports.find((report): report is PhaseReport => report.phase === 'upload');
  const download = reports.find((report): report is PhaseReport => report.phase === 'download');
  if (code !== 0 || upload === undefined || download === undefined || measured.length !== 2) throw new Error(`the principal process failed (exit ${code})`);
  return {
    up: upload.mbps, down: download.mbps,
    upCpu: { principal: upload.cpuMsPerMib, ...measured[0]! }, downCpu: { principal: download.cpuMsPerMib, ...measured[1]! },
    hostPeakGrowth: hostPeak - hostBaseline,
  };
}

function mbPerSecond(bytes: number, ms: number): number {
  return bytes / MIB / (ms / 1000);
}

// node:crypto AES-256-GCM on one core, `blockBytes` per encryption (16 KiB = one TLS record).
function aesGcmThroughput(totalBytes: number, blockBytes: number): number {
  const key = randomBytes(32);
  const iv = randomBytes(12); // a benchmark: the same IV for every block is fine here, never in use
  const block = randomBytes(blockBytes);
  const started = performance.now();
  for (let done = 0; done < totalBytes; done += block.length) {
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.update(block);
    cipher.final();
    cipher.getAuthTag();
  }
  return mbPerSecond(totalBytes, performance.now() - started);
}

/**
 * CPU per MiB (ms) to store data in memory this process has not touched before, 1 MiB arrays at a
 * time: what the isolate pays to hold an uploaded file, and raw TLS (which discards what it
 * receives) does not. On virtual machines it can cost as much as TLS itself.
 */
function freshMemoryCpuMsPerMib(mib: number): number {
  const block = randomBytes(MIB);
  const kept: Uint8Array[] = [];
  const cpu = process.cpuUsage();
  for (let index = 0; index < mib; index++) {
    const array = new Uint8Array(MIB);
    array.set(block);
    kept.push(array);
  }
  const used = process.cpuUsage(cpu);
  kept.length = 0;
  return (used.user + used.system) / 1000 / mib;
}

// `openssl speed -evp aes-256-gcm` for 16 KiB blocks, in MiB/s (undefined without openssl).
function opensslSpeed(): number | undefined {
  const run = spawnSync('openssl', ['speed', '-evp', 'aes-256-gcm', '-seconds', '2', '-bytes', '16384'], { encoding: 'utf8' });
  const line = run.stdout?.split('\n').find((text) => /^AES-256-GCM\s/.test(text));
  const thousands = line === undefined ? undefined : Number(/([\d.]+)k\s*$/.exec(line)?.[1]);
  return thousands === undefined || Number.isNaN(thousands) ? undefined : (thousands * 1000) / MIB;
}

/** Raw TLS 1.3 one way: MiB/s, and the CPU the server process spent per MiB (ms). */
async function rawTls(direction: 'upload' | 'download', bytes: number, identity: { certificatePem: string; privateKeyPem: string }): Promise<{ mbps: number; serverCpuMsPerMib: number }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--tls-peer',
    JSON.stringify({ key: identity.privateKeyPem, cert: identity.certificatePem, bytes })], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (data: Buffer) => resolve(Number(data.toString().trim()))));
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3', ciphers: CIPHER });
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  const serverCpu = processCpuMs(child.pid);
  const started = performance.now();
  if (direction === 'download') {
    socket.write('D');
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    await new Promise((resolve) => socket.once('end', resolve));
    if (received < bytes) throw new Error(`raw TLS download: ${received} of ${bytes} bytes`);
  } else {
    socket.write('U');
    const block = randomBytes(CHUNK);
    for (let sent = 0; sent < bytes; sent += CHUNK) {
      if (!socket.write(block)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    await new Promise((resolve) => socket.once('data', resolve));
  }
  const elapsed = performance.now() - started;
  const serverCpuMsPerMib = (processCpuMs(child.pid) - serverCpu) / (bytes / MIB);
  socket.destroy();
  child.kill();
  return { mbps: mbPerSecond(bytes, elapsed), serverCpuMsPerMib };
}

function isolateRssMib(pid: number | undefined): { rss: number; peak: number } {
  if (pid === undefined) return { rss: 0, peak: 0 };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number => Number(/(\d+) kB/.exec(status.split('\n').find((line) => line.startsWith(name)) ?? '')?.[1] ?? 0) / 1024;
    return { rss: field('VmRSS'), peak: field('VmHWM') };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

// CPU time (user + system, all threads) of a process so far, in ms, from /proc (0 when unavailable).
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}
// CPU spent per MiB moved by this process and by the isolate between two calls.
function cpuMeter(isolatePid: number | undefined): (bytes: number) => { host: number; isolate: number } {
  let host = process.cpuUsage();
  let isolate = processCpuMs(isolatePid);
  return (bytes) => {
    const hostUsed = process.cpuUsage(host);
    const isolateNow = processCpuMs(isolatePid);
    const result = { host: (hostUsed.user + hostUsed.system) / 1000 / (bytes / MIB), isolate: (isolateNow - isolate) / (bytes / MIB) };
    host = process.cpuUsage();
    isolate = isolateNow;
    return result;
  };
}

/** The isolate's memory budget in the benchmark's policies: it holds the whole transferred file. */
function budgetMib(bytes: number): number {
  return Math.max(256, Math.ceil((2 * bytes) / MIB));
}

async function sessionLayerThroughput(bytes: number): Promise<{ up: number; down: number }> {
  const pki = await createTestPki();
  const principal = { name: 'bench', rights: [{ file_name: '/data/', rights: RIGHTS_READ | RIGHTS_WRITE }], ...(await createIdentity('bench')) };
  const policy = testPolicyText({ principals: [principal], pasCertificatePem: pki.ca.certificatePem, runtimeHashLinux: pki.runtimeHash,
    ciphersuite: 'TLS1_3_AES_256_GCM_SHA384', maxMemoryMib: budgetMib(bytes) });
  const computation = await startInProcess(policy, pki);
  try {
    const client = await VeracruzClient.connect({ policy, certificatePem: principal.certificatePem, privateKeyPem: principal.privateKeyPem,
      transport: computation.openSession(), chunkBytes: CHUNK });
    const block = randomBytes(CHUNK);
    let started = performance.now();
    await client.writeFileStream('/data/big.bin', (function* () { for (let sent = 0; sent < bytes; sent += CHUNK) yield block; })());
    const up = mbPerSecond(bytes, performance.now() - started);
    started = performance.now();
    let received = 0;
    for await (const part of client.readFileStream('/data/big.bin')) received += part.length;
    const down = mbPerSecond(received, performance.now() - started);
    await client.close();
    return { up, down };
  } finally {
    await computation.close();
  }
}

async function main(): Promise<void> {
  const transferMib = Number(process.env['BENCH_TRANSFER_MIB'] ?? 1024);
  const bytes = transferMib * MIB;
  console.log(`transfer benchmark: ${transferMib} MiB each way, ${CIPHER}, chunks of ${CHUNK / MIB} MiB`);

  const aesRecordMbps = aesGcmThroughput(Math.min(bytes, 512 * MIB), 16 * 1024);
  const aesLargeMbps = aesGcmThroughput(Math.min(bytes, 512 * MIB), MIB);
  const opensslMbps = opensslSpeed();
  const freshMemory = freshMemoryCpuMsPerMib(Math.min(transferMib, 256));
  globalThis.gc?.();
  // The baseline: single-core AES-256-GCM as fast as this machine does it.
  const aesMbps = Math.max(aesRecordMbps, aesLargeMbps, opensslMbps ?? 0);
  const tlsIdentity = await createIdentity('bench-tls-peer');
  const rawUpload = await rawTls('upload', bytes, tlsIdentity);
  const rawDownload = await rawTls('download', bytes, tlsIdentity);
  const rawUp = rawUpload.mbps;
  const rawDown = rawDownload.mbps;

  // The session layer alone: SDK and SessionManager in this process over a duplex pair (no host,
  // no channel), to tell its cost from the relay's.
  const inProcess = await sessionLayerThroughput(bytes);

  const work = await mkdtemp(join(tmpdir(), 'veracruz-bench-'));
  const pas = await startPas({ dir: join(work, 'pas'), initialize: true, listen: '127.0.0.1:0' });
  const devKey = await loadOrCreateDevKey(join(work, 'host', 'dev-key.pem'));
  const publicKeyPem = await readFile(devKey.publicKeyPath, 'utf8');
  pas.store.enrollDevKey('bench', Buffer.from(await devKeyId(publicKeyPem)).toString('hex'), publicKeyPem, new Date());
  const bundle = await buildRuntimeBundle();
  const principal = { name: 'bench', rights: [{ file_name: '/data/', rights: RIGHTS_READ | RIGHTS_WRITE }], ...(await createIdentity('bench')) };
  const policy = testPolicyText({
    principals: [principal], pasCertificatePem: pas.caCertificatePem, runtimeHashLinux: bundle.measurement,
    pasAddress: pas.url.replace('http://', ''), ciphersuite: 'TLS1_3_AES_256_GCM_SHA384', maxMemoryMib: budgetMib(bytes),
  });
  const relay = process.env['BENCH_TRANSFER_RELAY'] === '1';
  const profileDirectory = process.env['BENCH_ISOLATE_CPU_PROFILE'];
  const serverOptions = {
    policyText: policy, platform: 'linux', runtimePath: bundle.path, devKeyPath: devKey.privateKeyPath,
    pasUrl: pas.url, listen: '127.0.0.1:0', log: () => {}, relay,
  } as const;
  const server = profileDirectory === undefined ? await startServer(serverOptions) : await startProfiledServer(serverOptions, profileDirectory);
  console.log(`vc-server ${server.relayed ? 'relays clients\' bytes' : 'hands connections to the isolate'}` +
    `${profileDirectory === undefined ? '' : `; isolate NOT sandboxed, CPU profile to ${profileDirectory}`}`);
  const connect = (): Promise<VeracruzClient> => VeracruzClient.connect({
    policy, certificatePem: principal.certificatePem, privateKeyPem: principal.privateKeyPem, address: server.url, chunkBytes: CHUNK,
  });
  try {
    // Connect-and-verify latency: TCP, TLS 1.3 with client certificate, chain + runtime hash + policy hash checks.
    const latencies: number[] = [];
    for (let i = 0; i < 21; i++) {
      const started = performance.now();
      const client = await connect();
      latencies.push(performance.now() - started);
      await client.close();
    }
    latencies.sort((a, b) => a - b);
    const medianLatency = latencies[Math.floor(latencies.length / 2)]!;

    globalThis.gc?.();
    const hostBaseline = process.memoryUsage().rss / MIB;
    let hostPeak = hostBaseline;
    let isolatePeakSampled = 0;
    const sampler = setInterval(() => {
      hostPeak = Math.max(hostPeak, process.memoryUsage().rss / MIB);
      isolatePeakSampled = Math.max(isolatePeakSampled, isolateRssMib(server.isolatePid).rss);
    }, 20);

    const client = await connect();
    const block = randomBytes(CHUNK);
    const chunks = function* (): Generator<Uint8Array> {
      for (let sent = 0; sent < bytes; sent += CHUNK) yield block;
    };
    const cpu = cpuMeter(server.isolatePid);
    let started = performance.now();
    await client.writeFileStream('/data/big.bin', chunks());
    const upMbps = mbPerSecond(bytes, performance.now() - started);
    const upCpu = cpu(bytes);
    const hostPeakUpload = hostPeak;

    started = performance.now();
    let received = 0;
    for await (const part of client.readFileStream('/data/big.bin')) received += part.length;
    const downMbps = mbPerSecond(received, performance.now() - started);
    const downCpu = cpu(received);
    if (received !== bytes) throw new Error(`downloaded ${received} of ${bytes} bytes`);
    clearInterval(sampler);
    await client.close();

    // The same with the principal in its own process (as on another machine): three processes,
    // principal, vc-server and isolate, on however many cores there are.
    const separate = await separatePrincipal({
      policy, certificatePem: principal.certificatePem, privateKeyPem: principal.privateKeyPem, address: server.url, bytes,
    }, server.isolatePid);
    const isolate = isolateRssMib(server.isolatePid);

    const row = (name: string, value: string, ratio = ''): string => `${name.padEnd(44)} ${value.padStart(14)}  ${ratio}`;
    console.log('');
    console.log(row('measure', 'value', 'ratio to the baseline'));
    console.log(row('openssl speed -evp aes-256-gcm, 16 KiB', opensslMbps === undefined ? 'n/a' : `${opensslMbps.toFixed(0)} MiB/s`,
      opensslMbps === aesMbps ? 'baseline (single-core AES-GCM)' : ''));
    console.log(row('node:crypto AES-256-GCM, one core, 16 KiB calls', `${aesRecordMbps.toFixed(0)} MiB/s`, `${(aesRecordMbps / aesMbps).toFixed(2)}`));
    console.log(row('node:crypto AES-256-GCM, one core, 1 MiB calls', `${aesLargeMbps.toFixed(0)} MiB/s`,
      aesLargeMbps === aesMbps ? 'baseline (single-core AES-GCM)' : `${(aesLargeMbps / aesMbps).toFixed(2)}`));
    console.log(row('raw TLS 1.3 upload, two processes, loopback', `${rawUp.toFixed(0)} MiB/s`, `${(rawUp / aesMbps).toFixed(2)} of AES-GCM`));
    console.log(row('raw TLS 1.3 download', `${rawDown.toFixed(0)} MiB/s`, `${(rawDown / aesMbps).toFixed(2)} of AES-GCM`));
    console.log(row('  raw TLS server CPU per MiB: up / down', `${rawUpload.serverCpuMsPerMib.toFixed(2)} / ${rawDownload.serverCpuMsPerMib.toFixed(2)} ms`,
      '(the baseline for the isolate\'s CPU per MiB)'));
    console.log(row('storing in fresh memory, CPU per MiB', `${freshMemory.toFixed(2)} ms`,
      '(what holding an uploaded file costs on this machine; raw TLS stores nothing)'));
    console.log(row('session layer alone upload (one process)', `${inProcess.up.toFixed(0)} MiB/s`, `${(inProcess.up / aesMbps).toFixed(2)} of AES-GCM`));
    console.log(row('session layer alone download', `${inProcess.down.toFixed(0)} MiB/s`, `${(inProcess.down / aesMbps).toFixed(2)} of AES-GCM`));
    console.log(row('upload via vc-server into the isolate', `${upMbps.toFixed(0)} MiB/s`,
      `${(upMbps / aesMbps).toFixed(2)} of AES-GCM, ${(upMbps / rawUp).toFixed(2)} of raw TLS`));
    console.log(row('download from the isolate via vc-server', `${downMbps.toFixed(0)} MiB/s`,
      `${(downMbps / aesMbps).toFixed(2)} of AES-GCM, ${(downMbps / rawDown).toFixed(2)} of raw TLS`));
    console.log(row('CPU per MiB uploaded: host / isolate', `${upCpu.host.toFixed(2)} / ${upCpu.isolate.toFixed(2)} ms`,
      `isolate ${(upCpu.isolate / rawUpload.serverCpuMsPerMib).toFixed(2)} x raw TLS server, ` +
      `${((upCpu.isolate - freshMemory) / rawUpload.serverCpuMsPerMib).toFixed(2)} x less storing (host = client + vc-server)`));
    console.log(row('CPU per MiB downloaded: host / isolate', `${downCpu.host.toFixed(2)} / ${downCpu.isolate.toFixed(2)} ms`,
      `isolate ${(downCpu.isolate / rawDownload.serverCpuMsPerMib).toFixed(2)} x raw TLS server`));
    console.log(row('principal in its own process: upload', `${separate.up.toFixed(0)} MiB/s`,
      `${(separate.up / aesMbps).toFixed(2)} of AES-GCM, ${(separate.up / rawUp).toFixed(2)} of raw TLS`));
    console.log(row('principal in its own process: download', `${separate.down.toFixed(0)} MiB/s`,
      `${(separate.down / aesMbps).toFixed(2)} of AES-GCM, ${(separate.down / rawDown).toFixed(2)} of raw TLS`));
    console.log(row('  CPU per MiB up: principal / vc-server / isolate',
      `${separate.upCpu.principal.toFixed(2)} / ${separate.upCpu.host.toFixed(2)} / ${separate.upCpu.isolate.toFixed(2)} ms`,
      `isolate ${(separate.upCpu.isolate / rawUpload.serverCpuMsPerMib).toFixed(2)} x raw TLS server, ` +
      `${((separate.upCpu.isolate - freshMemory) / rawUpload.serverCpuMsPerMib).toFixed(2)} x less storing`));
    console.log(row('  CPU per MiB down: principal / vc-server / isolate',
      `${separate.downCpu.principal.toFixed(2)} / ${separate.downCpu.host.toFixed(2)} / ${separate.downCpu.isolate.toFixed(2)} ms`,
      `isolate ${(separate.downCpu.isolate / rawDownload.serverCpuMsPerMib).toFixed(2)} x raw TLS server`));
    console.log(row('  vc-server peak RSS growth, both ways', `${separate.hostPeakGrowth.toFixed(0)} MiB`, `(vc-server alone in this process; ${transferMib} MiB each way)`));
    console.log(row('host peak RSS growth during upload', `${(hostPeakUpload - hostBaseline).toFixed(0)} MiB`,
      `(client + vc-server in this process; ${transferMib} MiB sent)`));
    console.log(row('host peak RSS growth, whole run', `${(hostPeak - hostBaseline).toFixed(0)} MiB`, `(peak ${hostPeak.toFixed(0)} MiB)`));
    console.log(row('isolate peak RSS (holds the file)', `${Math.max(isolate.peak, isolatePeakSampled).toFixed(0)} MiB`,
      `${(Math.max(isolate.peak, isolatePeakSampled) / transferMib).toFixed(2)} x file size`));
    console.log(row('connect-and-verify latency, median of 21', `${medianLatency.toFixed(1)} ms`, 'goal < 50 ms'));
    const met = (ok: boolean): string => (ok ? 'met' : 'not met');
    const cpuRatio = Math.max(upCpu.isolate / rawUpload.serverCpuMsPerMib, downCpu.isolate / rawDownload.serverCpuMsPerMib);
    const netCpuRatio = Math.max((upCpu.isolate - freshMemory) / rawUpload.serverCpuMsPerMib, downCpu.isolate / rawDownload.serverCpuMsPerMib);
    console.log(`\ngoals: upload and download >= 0.8 of raw TLS: ${met(upMbps >= 0.8 * rawUp && downMbps >= 0.8 * rawDown)}; ` +
      `isolate CPU per MiB <= 1.5 x raw TLS server's: ${met(cpuRatio <= 1.5)} (${cpuRatio.toFixed(2)}; less storing the upload: ${netCpuRatio.toFixed(2)}); ` +
      `upload >= 50% of AES-GCM: ${met(upMbps >= aesMbps / 2)}; connect-and-verify < 50 ms: ${met(medianLatency < 50)}`);
  } finally {
    await server.close();
    await pas.close();
    await rm(work, { recursive: true, force: true });
  }
}
