// `npm run demo -- limits`: the isolate's memory budget at work. Three parties agree on a policy whose
// isolate may hold 64 MiB (max_memory_mib) and on three programs: one that writes to stdout without
// end, one that allocates memory without end (both buggy, not malicious), and a linear regression.
// The data owner provisions its points; the analyst runs the two floods, which are refused within the
// budget and end with limit_exceeded naming what they filled, while the isolate's memory stays under
// the budget plus the launcher's stated overhead; then runs the regression, whose result is checked
// against the same regression computed here in the clear. The owner's file is intact throughout.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { VeracruzClient } from '@veracruz-ts/client';
import type { PasHandle } from '@veracruz-ts/pas';
import { VeracruzError } from '@veracruz-ts/core';
import { buildRuntimeBundle, ISOLATE_MEMORY_OVERHEAD_BYTES, REPOSITORY_ROOT, type RunningServer } from '@veracruz-ts/server';
import { residentMiB } from '@veracruz-ts/server/testing';
import { linearRegression } from '../../examples/reference/linear-regression.ts';
import { generateLinearRegression } from '../../examples/generators/linear-regression.ts';
import { compileC } from '@veracruz-ts/runtime/testing';
import { createParties, shutDown, startDemoPas, startDemoServer, tearDown, writeDemoPolicy } from './deployment.ts';
import { narrator, run } from './narration.ts';

const BUDGET_MIB = 64;
const POINTS_PATH = '/input/linear-regression.dat';
const RESULT_PATH = '/output/linear-regression.dat';
const FLOODS = {
  'stdout-flood': 'writes 1 MiB to stdout for ever, ignoring errors',
  'memory-flood': 'allocates and touches 1 MiB at a time until malloc fails',
} as const;

const { bold, step, say } = narrator(7);

/** Runs the demo; throws if a flood is not refused as it should be or the result differs from the clear. */
export async function limitsDemo(): Promise<void> {
  console.log(bold(`Veracruz-ts demo: programs that would exhaust the host, held to the isolate's memory budget (${BUDGET_MIB} MiB)`));
  const work = await mkdtemp(join(tmpdir(), 'veracruz-demo-'));
  let pas: PasHandle | undefined;
  let server: RunningServer | undefined;
  try {
    step('Building the runtime bundle and the programs (C to wasm32-wasip1)');
    const bundle = await buildRuntimeBundle();
    run(process.execPath, ['examples/build.ts'], 'building the examples');
    const regression = await readFile(join(REPOSITORY_ROOT, 'examples/build/wasm/linear-regression.wasm'));
    const floods = Object.fromEntries(await Promise.all(Object.keys(FLOODS).map(async (name) =>
      [name, await compileC(await readFile(join(REPOSITORY_ROOT, 'tests/e2e/programs', `${name}.c`), 'utf8'))] as const)));
    say(`runtime ${relative(REPOSITORY_ROOT, bundle.path)}; programs: linear-regression, ${Object.entries(FLOODS).map(([name, what]) => `${name} (${what})`).join(', ')}`);

    step('Identities, the proxy attestation service, and a policy with max_memory_mib 64 (vc-pgen)');
    const parties = await createParties(work, ['program-provider', 'data-owner', 'analyst'] as const);
    const deployed = await startDemoPas(work);
    pas = deployed.pas;
    const programFiles = { 'linear-regression': regression, ...floods };
    const programPaths = await Promise.all(Object.entries(programFiles).map(async ([name, bytes]) => {
      const path = join(work, `${name}.wasm`);
      await writeFile(path, bytes);
      return [name, path] as const;
    }));
    const { path: policyPath, text: policyText } = await writeDemoPolicy(work, deployed, bundle, [
      '-c', parties['program-provider'].certificatePath, '-p', '/program/:w',
      '-c', parties['data-owner'].certificatePath, '-p', '/input/:rw',
      '-c', parties.analyst.certificatePath, '-p', '/output/:r,/program/:x,stdout:r',
      ...programPaths.flatMap(([name, path]) => ['-w', `/program/${name}.wasm=${path}`, '-p', '/input/:r,/output/:w,stdout:w']),
      '-m', String(BUDGET_MIB), '--limits', 'timeout_ms=60000',
    ]);
    const explained = run(process.execPath, ['packages/tools/bin/vc-pgen.ts', 'explain', policyPath], 'vc-pgen explain');
    const budgetLines = explained.split('\n');
    const budgetAt = budgetLines.indexOf('Memory budget');
    for (const line of budgetLines.slice(budgetAt + 2, budgetAt + 13)) say(`explain | ${line}`);

    step('Starting vc-server: the isolate is launched under outer limits too');
    // The memory budget alone (no sealed storage to page file data out to).
    server = await startDemoServer(policyText, bundle, deployed.devKey, pas, { sealedStorage: false });
    const isolatePid = server.isolatePid!;
    const bound = BUDGET_MIB + ISOLATE_MEMORY_OVERHEAD_BYTES / (1024 * 1024);
    say(`isolate pid ${isolatePid}, resident ${(await residentMiB(isolatePid)).toFixed(0)} MiB; bound: budget ${BUDGET_MIB} MiB + overhead ${bound - BUDGET_MIB} MiB`);
    const connect = (name: keyof typeof parties): Promise<VeracruzClient> => VeracruzClient.connect({ policy: policyText, ...parties[name], address: server!.url });

    step('Provisioning: the program provider uploads the programs, the data owner its points');
    const provider = await connect('program-provider');
    for (const [name, bytes] of Object.entries(programFiles)) await provider.writeFile(`/program/${name}.wasm`, bytes);
    await provider.close();
    const points = generateLinearRegression({ seed: 7, size: 10_000 })[POINTS_PATH]!;
    const owner = await connect('data-owner');
    await owner.writeFile(POINTS_PATH, points);
    const pointsHash = createHash('sha256').update(points).digest('hex');
    say(`data-owner: uploaded ${points.length} bytes of points (sha256 ${pointsHash.slice(0, 16)}…)`);

    step('The analyst runs the two floods: each is refused within the budget');
    const analyst = await connect('analyst');
    for (const name of Object.keys(FLOODS)) {
      try {
        await analyst.execute(`/program/${name}.wasm`);
        throw new Error(`${name} was not stopped by the memory budget`);
      } catch (reason) {
        if (!(reason instanceof VeracruzError) || reason.code !== 'limit_exceeded') throw reason;
        say(`${name}: ${reason.message}`);
      }
      if (name === 'stdout-flood') {
        const stdout = await analyst.readFile('stdout');
        say(`        analyst: stdout holds what fitted: ${(stdout.length / (1024 * 1024)).toFixed(1)} MiB (the next run starts it afresh)`);
      }
      const resident = await residentMiB(isolatePid);
      say(`        isolate resident ${resident.toFixed(0)} MiB (bound ${bound} MiB)`);
      if (resident > bound) throw new Error(`the isolate holds ${resident} MiB, over its bound of ${bound} MiB`);
    }

    step('The data owner\'s file is intact; the analyst runs the regression');
    const back = await owner.readFile(POINTS_PATH);
    if (createHash('sha256').update(back).digest('hex') !== pointsHash) throw new Error('the data owner\'s file changed');
    say('data-owner: read back its points, same sha256');
    await owner.close();
    const exitCode = await analyst.execute('/program/linear-regression.wasm');
    const result = await analyst.readFile(RESULT_PATH);
    const view = new DataView(result.buffer, result.byteOffset, result.byteLength);
    const computed = { gradient: view.getFloat64(0, true), intercept: view.getFloat64(8, true) };
    const clear = linearRegression(new Float64Array(points.buffer.slice(points.byteOffset, points.byteOffset + points.byteLength)));
    say(`analyst: linear-regression exited ${exitCode}: gradient ${computed.gradient.toFixed(6)}, intercept ${computed.intercept.toFixed(6)}`);
    const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
    if (!close(computed.gradient, clear.gradient) || !close(computed.intercept, clear.intercept)) {
      throw new Error(`expected ${JSON.stringify(clear)}, the isolate computed ${JSON.stringify(computed)}`);
    }
    say(`matches the regression computed here in the clear: gradient ${clear.gradient.toFixed(6)}, intercept ${clear.intercept.toFixed(6)}`);

    step('Shutting down');
    const ended = await shutDown(analyst, server);
    await analyst.close();
    server = undefined;
    say(ended);
    console.log(`\n${bold('Done.')}`);
  } finally {
    await tearDown({ server, pas, work });
  }
}
