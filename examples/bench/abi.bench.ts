/**
 * Crypto ABI benchmark: the same operation done by the runtime through `veracruz_crypto_v1` (one call per
 * operation, node:crypto behind it) and by the program's own compiled C (examples/include/vc_own_crypto.h,
 * vc_sha256.h), both in examples/programs/crypto-bench run by the execution engine; node:crypto called
 * directly in this process is shown beside them as the floor the ABI cannot beat.
 *
 *   node --no-liftoff --expose-gc examples/bench/abi.bench.ts [--quick]      (npm run bench -- abi)
 *
 * Operations: SHA-256 of 64 MiB (one call), ChaCha20-Poly1305 encryption of 64 MiB in 64 KiB messages (one call
 * each), 2000 Ed25519 signatures of 64-byte messages (one call each); --quick: 8 MiB and 200 signatures. The figures are the
 * program's own timings of the operations (clock_gettime around the loop: no start-up, data generation or key
 * set-up), best of RUNS alternating runs after a warm-up; every run's digest of its outputs must be the same
 * for both variants (and node's), or the benchmark fails.
 */
import { createCipheriv, createHash, createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ExecutionEngine } from '@veracruz-ts/runtime';
import { cryptoBenchData } from '../generators/crypto-bench.ts';
import { buildExamples, wasmPath } from '../build.ts';
import { createFileSystem, PROGRAM_RIGHTS, testView } from '../tests/harness.ts';

const RUNS = 5;
const QUICK = process.argv.includes('--quick');
const MIB = 1 << 20;
const MESSAGE = 64 << 10;

interface BenchCase {
  op: 'hash' | 'aead' | 'sign';
  /** crypto-bench's count argument: MiB for hash and aead, signatures for sign. */
  count: number;
  /** How many operations a run makes, and what one is. */
  operations: number;
  unit: string;
  /** The same work with node:crypto in this process, on the same data; returns the digest of its outputs. */
  node: () => { seconds: number; digest: string };
}

/** The result line crypto-bench prints. */
interface ProgramResult {
  op: string;
  count: number;
  digest: string;
  setup_seconds: number;
  seconds: number;
}

/** crypto-bench's key, and Ed25519 seed: bytes 0..31. */
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

function timed<T>(work: () => T): { seconds: number; value: T } {
  const start = performance.now();
  const value = work();
  return { seconds: (performance.now() - start) / 1000, value };
}

function hashCase(mib: number): BenchCase {
  const data = cryptoBenchData(mib * MIB, 1);
  return {
    op: 'hash', count: mib, operations: mib, unit: 'MiB',
    node: () => {
      const { seconds, value } = timed(() => createHash('sha256').update(data).digest('hex'));
      return { seconds, digest: value };
    },
  };
}

function aeadCase(mib: number): BenchCase {
  const data = cryptoBenchData(mib * MIB, 2);
  const messages = (mib * MIB) / MESSAGE;
  return {
    op: 'aead', count: mib, operations: messages, unit: '64 KiB message',
    node: () => {
      const { seconds, value } = timed(() => Array.from({ length: messages }, (_, i) => {
        const nonce = Buffer.alloc(12);
        nonce.writeUInt32LE(i);
        const cipher = createCipheriv('chacha20-poly1305', KEY, nonce, { authTagLength: 16 });
        return Buffer.concat([cipher.update(data.subarray(i * MESSAGE, (i + 1) * MESSAGE)), cipher.final(), cipher.getAuthTag()]);
      }));
      return { seconds, digest: sha256(Buffer.concat(value)) };
    },
  };
}

function signCase(count: number): BenchCase {
  const messages = cryptoBenchData(count * 64, 3);
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), KEY]), format: 'der', type: 'pkcs8' });
  return {
    op: 'sign', count, operations: count, unit: 'signature',
    node: () => {
      const { seconds, value } = timed(() => Array.from({ length: count }, (_, i) => sign(null, messages.subarray(i * 64, (i + 1) * 64), key)));
      return { seconds, digest: sha256(Buffer.concat(value)) };
    },
  };
}

async function runProgram(engine: ExecutionEngine, program: Uint8Array, args: string[]): Promise<ProgramResult> {
  const vfs = createFileSystem();
  globalThis.gc?.();
  const outcome = await engine.execute({ vfs, program, rights: PROGRAM_RIGHTS, args, enableClock: true, limits: { maxMemoryMib: 1024, timeoutMs: 600_000 } });
  const view = testView(vfs);
  if (outcome.kind !== 'exited' || outcome.exitCode !== 0) {
    throw new Error(`crypto-bench ${args.join(' ')}: ${JSON.stringify(outcome)} ${new TextDecoder().decode(view.readFile('stderr'))}`);
  }
  return JSON.parse(new TextDecoder().decode(view.readFile('stdout'))) as ProgramResult;
}

/** Per-operation time in the unit that reads best. */
function perOperation(seconds: number, operations: number): string {
  const each = seconds / operations;
  return each >= 1e-3 ? `${(each * 1e3).toFixed(2)} ms` : `${(each * 1e6).toFixed(1)} µs`;
}

async function main(): Promise<void> {
  const report = await buildExamples({ target: 'wasm' });
  if (report.failed.length > 0) throw new Error(`build failed: ${report.failed.map((f) => f.name).join(', ')}`);
  const program = new Uint8Array(readFileSync(wasmPath('crypto-bench')));
  const cases = QUICK ? [hashCase(8), aeadCase(8), signCase(200)] : [hashCase(64), aeadCase(64), signCase(2000)];
  const engine = new ExecutionEngine();
  const rows: string[][] = [];
  let mismatch = false;
  try {
    for (const bench of cases) {
      const args = (variant: string) => [`${bench.op}-${variant}`, String(bench.count)];
      // Warm-up (module cache, workers, node:crypto's first use), then alternating runs keeping the best of each.
      const digests = new Set<string>();
      const best = { abi: Infinity, own: Infinity, node: Infinity, abiSetup: Infinity, ownSetup: Infinity };
      for (let run = 0; run <= RUNS; run++) {
        const abi = await runProgram(engine, program, args('abi'));
        const own = await runProgram(engine, program, args('own'));
        const node = bench.node();
        for (const digest of [abi.digest, own.digest, node.digest]) digests.add(digest);
        if (run === 0) continue;
        best.abi = Math.min(best.abi, abi.seconds);
        best.own = Math.min(best.own, own.seconds);
        best.node = Math.min(best.node, node.seconds);
        best.abiSetup = Math.min(best.abiSetup, abi.setup_seconds);
        best.ownSetup = Math.min(best.ownSetup, own.setup_seconds);
      }
      if (digests.size !== 1) mismatch = true;
      rows.push([
        bench.op, `${bench.operations} × ${bench.unit}`,
        perOperation(best.abi, bench.operations), perOperation(best.own, bench.operations), perOperation(best.node, bench.operations),
        (best.abi / best.own).toFixed(2), (best.abi / best.node).toFixed(2),
        `${(best.abiSetup * 1e3).toFixed(2)} / ${(best.ownSetup * 1e3).toFixed(2)}`, digests.size === 1 ? 'yes' : 'NO',
      ]);
    }
  } finally {
    await engine.close();
  }
  const header = ['op', 'size', 'ABI / op', 'own / op', 'node / op', 'ABI / own', 'ABI / node', 'key set-up ms (ABI / own)', 'same output'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log('\nABI / own below 1: the ABI is faster than the program\'s own compiled crypto; ABI / node: what a call costs over node:crypto itself.');
  if (mismatch) {
    console.error('the ABI, the own code and node:crypto gave different outputs');
    process.exitCode = 1;
  }
}

await main();
