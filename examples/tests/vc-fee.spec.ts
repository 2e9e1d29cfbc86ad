import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { wasmPath } from '../build.ts';
import { decodeF64, writeGeneratedFiles } from '../generators/files.ts';
import { generateLinearRegression } from '../generators/linear-regression.ts';
import { linearRegression } from '../reference/linear-regression.ts';
import { assertClose, programBytes } from './harness.ts';

const VC_FEE = fileURLToPath(new URL('../../packages/tools/bin/vc-fee.ts', import.meta.url));

/** Runs `vc-fee run` as documented in the README; resolves with the exit code and stderr. */
function vcFee(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-liftoff', VC_FEE, 'run', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('examples through the vc-fee command line', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vc-examples-fee-'));
  before(() => programBytes('linear-regression'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('runs linear-regression over host directories', async () => {
    const files = generateLinearRegression({ seed: 17, size: 500 });
    writeGeneratedFiles(scratch, files);
    mkdirSync(join(scratch, 'output'), { recursive: true });
    const run = await vcFee(['--dir', `${scratch}/input::/input`, '--dir', `${scratch}/output::/output`, wasmPath('linear-regression')]);
    assert.equal(run.code, 0, run.stderr);
    const [gradient, intercept] = decodeF64(new Uint8Array(readFileSync(join(scratch, 'output', 'linear-regression.dat'))));
    const expected = linearRegression(decodeF64(files['/input/linear-regression.dat']!));
    assertClose(gradient!, expected.gradient, 'gradient');
    assertClose(intercept!, expected.intercept, 'intercept');
  });

  it('passes the program exit code through (2: missing input)', async () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty, { recursive: true });
    const run = await vcFee(['--dir', `${empty}::/input`, '--dir', `${scratch}/output::/output`, wasmPath('linear-regression')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /linear-regression\.dat/);
  });
});
