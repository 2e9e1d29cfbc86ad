/**
 * Test and benchmark support: the connection churn a hostile or careless client population causes
 * (plain TCP connections dropped in several ways), run in bounded pools, and the measurements that
 * show what it left behind. Loopback only; every loop is bounded.
 */
import { readFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Not TLS: a TLS server must refuse it. */
export const GARBAGE = Buffer.from('GET / HTTP/1.1\r\n\r\n');
/** A TLS handshake record header announcing 512 bytes, then only a few of them. */
export const PARTIAL_RECORD = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);

/** Runs `task(0..count-1)`, at most `parallel` at once. */
export async function pool(count: number, parallel: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next < count) await task(next++);
  }));
}

/**
 * One plain TCP connection, dropped in one of three ways by `index`: at once, after bytes that are not
 * TLS, or after half a TLS record with a graceful end. Resolves once it has closed (within 10 s).
 */
export function tcpChurn(host: string, port: number, index: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host, port });
    // A graceful end waits for the server's end: bounded, so a hang shows as slowness, not a stall.
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('error', () => {});
    socket.once('connect', () => {
      if (index % 3 === 0) socket.destroy();
      else if (index % 3 === 1) socket.end(GARBAGE, () => socket.destroy());
      else socket.end(PARTIAL_RECORD);
    });
    socket.resume();
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A process's resident memory now (VmRSS) and at its peak (VmHWM), in bytes. */
export async function residentMemory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** Resident memory (VmRSS) of a process, in MiB. */
export async function residentMiB(pid: number): Promise<number> {
  return (await residentMemory(pid)).rss / (1024 * 1024);
}

type Collector = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * A memory-reducing full collection in this process, the kind the isolate runs when idle (it also
 * gives back the young generation V8 grew under load, which a plain gc() keeps). The collector is
 * exposed here when the process was not started with --expose-gc.
 */
export function fullCollector(): () => void {
  let gc = (globalThis as { gc?: Collector }).gc;
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Collector;
  }
  return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
