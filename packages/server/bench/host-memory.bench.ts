// Host memory while a principal uploads through vc-server: the relay's flow control must keep the
// host's memory flat however much passes through it. vc-server runs as its own process (the CLI);
// its peak resident set (VmHWM) over an upload is compared with its resident set once ready, for an
// upload eight times larger than another: a pile-up would grow with the size, flow control does not.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { VeracruzClient } from '@veracruz-ts/client';
import { createTestDeployment } from '../src/testing.ts';
import type { TestDeployment } from '../src/testing.ts';

const SIZES_MIB = [128, 1024];
const CHUNK = new Uint8Array(1024 * 1024).fill(0x42);
const VC_SERVER = fileURLToPath(new URL('../bin/vc-server.ts', import.meta.url));

async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)![1]) / 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

async function upload(deployment: TestDeployment, mib: number): Promise<{ ready: number; peak: number; rate: number }> {
  const server = spawn(process.execPath, [VC_SERVER, deployment.policyPath, '--runtime', deployment.bundle.path, '--dev-key', deployment.devKey.privateKeyPath, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout! }).on('line', (line) => {
        const match = /^Veracruz server running on (.+)$/.exec(line);
        if (match) resolve(match[1]!);
      });
      server.once('exit', (code) => reject(new Error(`vc-server exited with ${code}`)));
    });
    const ready = await memoryOf(server.pid!);
    const client = await VeracruzClient.connect({ policy: deployment.policyText, ...deployment.principal, address: url });
    const start = performance.now();
    await client.writeFileStream('/input/big', (function* () {
      for (let sent = 0; sent < mib; sent++) yield CHUNK;
    })());
    const seconds = (performance.now() - start) / 1000;
    const after = await memoryOf(server.pid!);
    await client.close();
    return { ready: ready.rss, peak: after.peak, rate: (mib * 2 ** 20) / 1e6 / seconds };
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  }
}

// The isolate holds the whole upload: its memory budget must too.
const deployment = await createTestDeployment({ maxMemoryMib: 2048 });
try {
  console.log('vc-server (host process) memory over an upload, TLS end to end, isolate in its own process');
  console.log('| upload | MB/s | host resident once ready, MiB (baseline) | host peak, MiB | peak / ready |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const mib of SIZES_MIB) {
    const { ready, peak, rate } = await upload(deployment, mib);
    console.log(`| ${mib} MiB | ${rate.toFixed(0)} | ${ready.toFixed(1)} | ${peak.toFixed(1)} | ${(peak / ready).toFixed(2)} |`);
  }
} finally {
  await deployment.remove();
}
