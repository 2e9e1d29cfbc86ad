/**
 * Engine benchmark: the cost of fuel metering (same program and input, with and without a fuel
 * budget) on three C kernels, and the cost of one system call round trip (worker → runtime thread)
 * against an in-thread JS call. Figures are ratios against the baseline measured in the same run.
 */
import { ALL_RIGHTS } from '@veracruz-ts/policy';
import { compileC } from '../src/engine/compile-c.ts';
import { ExecutionEngine } from '../src/engine/engine.ts';
import { VirtualFileSystem } from '../src/vfs/file-system.ts';

const KERNELS = String.raw`
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int cmp(const void *a, const void *b) { uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
  const char *k = argv[1];
  long n = atol(argv[2]);
  uint64_t out = 0;
  if (!strcmp(k, "hash")) {
    uint64_t h = 1469598103934665603ULL;
    for (long i = 0; i < n; i++) { h ^= (uint64_t)i; h *= 1099511628211ULL; }
    out = h;
  } else if (!strcmp(k, "sieve")) {
    char *composite = calloc(n + 1, 1);
    for (long i = 2; i * i <= n; i++) if (!composite[i]) for (long j = i * i; j <= n; j += i) composite[j] = 1;
    for (long i = 2; i <= n; i++) out += !composite[i];
  } else if (!strcmp(k, "sort")) {
    uint32_t *v = malloc(n * sizeof *v), x = 2463534242u;
    for (long i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; v[i] = x; }
    qsort(v, n, sizeof *v, cmp);
    out = v[n / 2];
  } else if (!strcmp(k, "syscalls")) {
    for (long i = 0; i < n; i++) out += (uint64_t)lseek(0, 0, SEEK_CUR);
  }
  printf("%llu\n", (unsigned long long)out);
  return 0;
}`;

const program = await compileC(KERNELS);
const engine = new ExecutionEngine();
const vfs = new VirtualFileSystem();
const rights = [{ file_name: 'stdout', rights: ALL_RIGHTS }, { file_name: 'stdin', rights: ALL_RIGHTS }];

async function timed(args: string[], fuel?: bigint): Promise<number> {
  const start = performance.now();
  const outcome = await engine.execute({ vfs, program, args, rights, ...(fuel === undefined ? {} : { limits: { fuel } }) });
  if (outcome.kind !== 'exited' || outcome.exitCode !== 0) throw new Error(`${args.join(' ')}: ${JSON.stringify(outcome)}`);
  return performance.now() - start;
}

async function best(args: string[], fuel?: bigint): Promise<number> {
  let fastest = Infinity;
  for (let round = 0; round < 5; round++) fastest = Math.min(fastest, await timed(args, fuel));
  return fastest;
}

console.log('fuel metering overhead (best of 7, runs interleaved; ratio = metered / unmetered, goal < 1.10)');
console.log('kernel   | unmetered ms | metered ms | ratio');
for (const [kernel, size] of [['hash', '300000000'], ['sieve', '30000000'], ['sort', '3000000']] as const) {
  // Interleaved, so that load from other processes on the machine affects both sides alike.
  let free = Infinity;
  let metered = Infinity;
  for (let round = 0; round < 7; round++) {
    free = Math.min(free, await timed([kernel, size]));
    metered = Math.min(metered, await timed([kernel, size], 10n ** 15n));
  }
  console.log(`${kernel.padEnd(8)} | ${free.toFixed(1).padStart(12)} | ${metered.toFixed(1).padStart(10)} | ${(metered / free).toFixed(3)}`);
}

const calls = 200_000;
const syscallMs = (await best(['syscalls', String(calls)])) - (await best(['syscalls', '0']));
let sink = 0;
const jsCall = (value: number): number => value + 1;
const jsStart = performance.now();
for (let index = 0; index < calls; index++) sink = jsCall(sink);
const jsMs = performance.now() - jsStart;
console.log('\nsystem call round trip (fd_seek via the runtime thread) vs an in-thread JS call');
console.log(`per call: ${((syscallMs * 1000) / calls).toFixed(2)} us vs ${((jsMs * 1000) / calls).toFixed(3)} us; ratio ${(syscallMs / Math.max(jsMs, 1e-6)).toFixed(0)}x (sink ${sink})`);
await engine.close();
