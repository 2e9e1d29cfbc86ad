/**
 * VFS benchmark: writing and reading 1 GiB in 64 KiB chunks, through the host-side API and through a
 * WASI program (write()/read() system calls), with peak RSS. Baseline: copying the same chunks into
 * one fresh 1 GiB buffer in this thread; ratios are VFS MB/s over baseline MB/s.
 */
import { ALL_RIGHTS } from '@veracruz-ts/policy';
import { compileC } from '../src/engine/compile-c.ts';
import { ExecutionEngine } from '../src/engine/engine.ts';
import { VirtualFileSystem } from '../src/vfs/file-system.ts';

const CHUNK = 64 * 1024;
const TOTAL = 1024 * 1024 * 1024;
const CHUNKS = TOTAL / CHUNK;
const MB = 1e6;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

const PROGRAM = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static char buf[65536];
int main(int argc, char **argv) {
  if (argv[1][0] == 'w') {
    memset(buf, 7, sizeof buf);
    int fd = open("/output/big.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int i = 0; i < 16384; i++) if (write(fd, buf, sizeof buf) != sizeof buf) return 1;
    close(fd);
  } else {
    int fd = open("/output/big.bin", O_RDONLY);
    unsigned long long sum = 0; ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) sum += (unsigned char)buf[n - 1];
    close(fd);
    printf("%llu\n", sum);
  }
  return 0;
}`;

/** Current resident set size (each phase runs alone, so this is its peak after its writes). */
function rssMiB(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}

function rate(bytes: number, ms: number): number {
  return bytes / MB / (ms / 1000);
}

const source = new Uint8Array(CHUNK).fill(7);
let start = 0;

const rows: [string, number, number][] = [];
function hostPhase(): void {
  const vfs = new VirtualFileSystem();
  const view = vfs.view([{ file_name: '/', rights: ALL_RIGHTS }]);
  view.writeFile('/data/big.bin', new Uint8Array(0));
  start = performance.now();
  for (let index = 0; index < CHUNKS; index++) view.appendFile('/data/big.bin', source);
  rows.push(['host appendFile', rate(TOTAL, performance.now() - start), rssMiB()]);
  start = performance.now();
  let sum = 0;
  const range = new Uint8Array(CHUNK);
  for (let offset = 0; offset < TOTAL; offset += CHUNK) {
    view.readRangeInto('/data/big.bin', offset, range);
    sum += range[0] ?? 0;
  }
  rows.push(['host readRangeInto', rate(TOTAL, performance.now() - start), rssMiB()]);
  if (sum !== 7 * CHUNKS) throw new Error('read back wrong data');
}
async function programPhase(): Promise<void> {
  const program = await compileC(PROGRAM);
  const engine = new ExecutionEngine();
  const vfs = new VirtualFileSystem();
  const rights = [{ file_name: '/output', rights: ALL_RIGHTS }, { file_name: 'stdout', rights: ALL_RIGHTS }];
  start = performance.now();
  const written = await engine.execute({ vfs, program, args: ['w'], rights });
  rows.push(['program write()', rate(TOTAL, performance.now() - start), rssMiB()]);
  start = performance.now();
  const read = await engine.execute({ vfs, program, args: ['r'], rights });
  rows.push(['program read()', rate(TOTAL, performance.now() - start), rssMiB()]);
  if (written.kind !== 'exited' || read.kind !== 'exited' || written.exitCode !== 0) throw new Error(JSON.stringify([written, read]));
  await engine.close();
}
hostPhase();
gc();
await programPhase();

const peakMiB = process.resourceUsage().maxRSS / 1024;
gc();
// Baseline (after the measured paths, so its own 1 GiB does not count in their peak RSS): the same
// chunks copied into one preallocated 1 GiB buffer, i.e. the speed of filling fresh memory.
const whole = new Uint8Array(TOTAL);
start = performance.now();
for (let offset = 0; offset < TOTAL; offset += CHUNK) whole.set(source, offset);
const baseline = rate(TOTAL, performance.now() - start);
console.log(`1 GiB in 64 KiB chunks; baseline (filling one fresh 1 GiB buffer): ${baseline.toFixed(0)} MB/s`);
console.log('path             |     MB/s | ratio to baseline | RSS after, MiB');
for (const [name, mbps, rss] of rows) {
  console.log(`${name.padEnd(16)} | ${mbps.toFixed(0).padStart(8)} | ${(mbps / baseline).toFixed(3).padStart(17)} | ${rss.toFixed(0).padStart(12)}`);
}
console.log(`peak RSS of the measured phases (each holds one 1 GiB file at a time): ${peakMiB.toFixed(0)} MiB`);
