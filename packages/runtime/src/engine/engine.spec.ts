import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { ALL_RIGHTS, RIGHTS_EXECUTE, RIGHTS_READ, parsePipeline } from '@veracruz-ts/policy';
import { PROBE_RIGHTS, SUPERUSER, probeFileSystem, runProbe } from '../wasi/probe-harness.ts';
import { WASI_PROBE_SOURCE } from '../wasi/wasi-probe.c.ts';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import { compileC } from './compile-c.ts';
import { ExecutionEngine } from './engine.ts';

/** Logs its own name (argv[0]) to /output/log.txt; `fail*` exits 3, `flag*` creates /output/flag. */
const STEP_SOURCE = String.raw`
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  const char *name = strrchr(argv[0], '/');
  name = name ? name + 1 : argv[0];
  FILE *f = fopen("/output/log.txt", "a");
  if (!f) return 10;
  fprintf(f, "%s\n", name);
  fclose(f);
  if (strstr(name, "fail")) return 3;
  if (strstr(name, "flag")) fclose(fopen("/output/flag", "w"));
  return 0;
}`;

let probe: Uint8Array;
let step: Uint8Array;
let engine: ExecutionEngine;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

before(async () => {
  [probe, step] = await Promise.all([compileC(WASI_PROBE_SOURCE), compileC(STEP_SOURCE)]);
  engine = new ExecutionEngine();
});
after(() => engine.close());

/** The VFS must still work after a run ended badly: old files intact, a new run succeeds. */
async function assertUsable(vfs: VirtualFileSystem): Promise<void> {
  const root = vfs.view(SUPERUSER);
  assert.equal(text(root.readFile('/input/data.txt')), 'secret-data');
  const run = await runProbe(engine, probe, vfs, ['args', 'again']);
  assert.deepEqual(run.outcome, { kind: 'exited', exitCode: 0 });
  assert.equal(run.stdout, 'arg again\nenv (none)\n');
}

describe('ExecutionEngine limits', () => {
  it('stops an infinite loop at the time limit and keeps the VFS', async () => {
    const { vfs } = probeFileSystem();
    const run = await runProbe(engine, probe, vfs, ['loop'], { limits: { timeoutMs: 300 } });
    assert.deepEqual(run.outcome, { kind: 'limit', limit: 'time', message: 'time limit of 300 ms reached' });
    await assertUsable(vfs);
  });

  it('stops an infinite loop by fuel, deterministically at the same point', async () => {
    const lengths: number[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const { vfs, root } = probeFileSystem();
      const run = await runProbe(engine, probe, vfs, ['progress'], { limits: { fuel: 300_000 } });
      assert.deepEqual(run.outcome, { kind: 'limit', limit: 'fuel', message: 'fuel exhausted after 300000 units' });
      lengths.push(root.fileSize('/output/progress.txt'));
      await assertUsable(vfs);
    }
    assert.ok((lengths[0] ?? 0) > 100, `progress ${lengths[0]}`);
    assert.equal(lengths[0], lengths[1]);
    const { vfs } = probeFileSystem();
    assert.deepEqual((await runProbe(engine, probe, vfs, ['loop'], { limits: { fuel: 1_000_000 } })).outcome.kind, 'limit');
  });

  it('lets a metered program with enough fuel finish with the same result', async () => {
    const { vfs } = probeFileSystem();
    const free = await runProbe(engine, probe, vfs, ['sum', '100000']);
    const metered = await runProbe(engine, probe, vfs, ['sum', '100000'], { limits: { fuel: 10_000_000 } });
    assert.deepEqual(metered.outcome, { kind: 'exited', exitCode: 0 });
    assert.equal(metered.stdout, free.stdout);
    assert.match(free.stdout, /^sum \d+\n$/);
  });

  it('refuses memory.grow beyond the cap: malloc fails, or a trap is reported as the memory limit', async () => {
    const { vfs } = probeFileSystem();
    const within = await runProbe(engine, probe, vfs, ['grow', '8'], { limits: { maxMemoryMib: 16 } });
    assert.equal(within.stdout, 'allocated 8 MiB\n');
    const beyond = await runProbe(engine, probe, vfs, ['grow', '64'], { limits: { maxMemoryMib: 16 } });
    assert.deepEqual(beyond.outcome, { kind: 'exited', exitCode: 9 });
    assert.match(beyond.stdout, /^malloc failed after 1[0-5] MiB\n$/);
    const trapped = await runProbe(engine, probe, vfs, ['growtrap'], { limits: { maxMemoryMib: 16 } });
    assert.equal(trapped.outcome.kind, 'limit');
    assert.match(trapped.outcome.kind === 'limit' ? `${trapped.outcome.limit}: ${trapped.outcome.message}` : '', /^memory: memory limit of 16 MiB reached/);
    await assertUsable(vfs);
  });

  it('reports a trap with its message and keeps every completed write', async () => {
    const { vfs, root } = probeFileSystem();
    assert.deepEqual((await runProbe(engine, probe, vfs, ['trap'])).outcome, { kind: 'trapped', message: 'unreachable' });
    assert.deepEqual((await runProbe(engine, probe, vfs, ['writetrap'])).outcome, { kind: 'trapped', message: 'unreachable' });
    assert.equal(text(root.readFile('/output/partial.txt')), 'complete line\n');
    await assertUsable(vfs);
  });

  it('reports unbounded recursion as a trap and keeps the VFS', async () => {
    const { vfs } = probeFileSystem();
    const run = await runProbe(engine, probe, vfs, ['recurse']);
    assert.equal(run.outcome.kind, 'trapped');
    assert.match(run.outcome.kind === 'trapped' ? run.outcome.message : '', /stack|memory access out of bounds/i);
    await assertUsable(vfs);
  });

  it('rejects a program with an unsupported import, naming it, and bytes that are not wasm', async () => {
    const { vfs } = probeFileSystem();
    const bad = await compileC('extern int host_magic(int); int main(void) { return host_magic(1); }', ['-O2', '-Wl,--allow-undefined']);
    const outcome = await engine.execute({ vfs, program: bad, rights: PROBE_RIGHTS });
    assert.deepEqual(outcome, { kind: 'rejected', message: 'program not runnable: env.host_magic' });
    const garbage = await engine.execute({ vfs, program: new TextEncoder().encode('#!/bin/sh'), rights: PROBE_RIGHTS });
    assert.equal(garbage.kind, 'rejected');
  });

  it('takes the exit code from a _start that returns an i32 (as Veracruz does)', async () => {
    const module = Uint8Array.of(
      0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
      1, 5, 1, 0x60, 0, 1, 0x7f, // type () -> i32
      3, 2, 1, 0, // one function
      5, 3, 1, 0, 1, // memory 1 page
      7, 0x13, 2, 6, ...new TextEncoder().encode('_start'), 0, 0, 6, ...new TextEncoder().encode('memory'), 2, 0,
      10, 6, 1, 4, 0, 0x41, 7, 0x0b, // return 7
    );
    const { vfs } = probeFileSystem();
    assert.deepEqual(await engine.execute({ vfs, program: module, rights: [] }), { kind: 'exited', exitCode: 7 });
  });

  it('runs programs concurrently, each in its own worker', async () => {
    const { vfs } = probeFileSystem();
    const [slow, quick] = await Promise.all([
      runProbe(engine, probe, vfs, ['loop'], { limits: { timeoutMs: 400 } }),
      engine.execute({ vfs, program: probe, args: ['exit', '5'], rights: PROBE_RIGHTS }),
    ]);
    assert.equal(slow.outcome.kind, 'limit');
    assert.deepEqual(quick, { kind: 'exited', exitCode: 5 });
  });
});

describe('ExecutionEngine lifecycle', () => {
  it('close() stops a running program and refuses new runs', async () => {
    const own = new ExecutionEngine();
    const { vfs } = probeFileSystem();
    const running = runProbe(own, probe, vfs, ['loop']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await own.close();
    assert.deepEqual((await running).outcome, { kind: 'trapped', message: 'execution engine closed' });
    await assert.rejects(own.execute({ vfs, program: probe, rights: PROBE_RIGHTS }), /execution engine closed/);
  });
});

describe('ExecutionEngine pipelines', () => {
  const callerRights = [{ file_name: '/program', rights: RIGHTS_EXECUTE }, { file_name: '/output', rights: RIGHTS_READ }];
  const pipelineRights = [{ file_name: '/output', rights: ALL_RIGHTS }];

  function setup(): { vfs: VirtualFileSystem; log: () => string } {
    const vfs = new VirtualFileSystem();
    const root = vfs.view(SUPERUSER);
    for (const name of ['a.wasm', 'b.wasm', 'fail.wasm', 'flag.wasm', 'then.wasm', 'else.wasm']) root.writeFile(`/program/${name}`, step);
    root.writeFile('/output/log.txt', new Uint8Array(0));
    return { vfs, log: () => text(root.readFile('/output/log.txt')) };
  }

  it('runs a sequence and stops at the first non-zero exit code', async () => {
    const { vfs, log } = setup();
    const pipeline = parsePipeline('/program/a.wasm ; /program/fail.wasm ; /program/b.wasm');
    assert.deepEqual(await engine.runPipeline({ vfs, pipeline, callerRights, pipelineRights }), { kind: 'exited', exitCode: 3 });
    assert.equal(log(), 'a.wasm\nfail.wasm\n');
  });

  it('branches on whether a file exists for the caller', async () => {
    const { vfs, log } = setup();
    const script = 'if /output/flag { /program/then.wasm } else { /program/else.wasm }';
    assert.deepEqual(await engine.runPipeline({ vfs, pipeline: parsePipeline(script), callerRights, pipelineRights }), { kind: 'exited', exitCode: 0 });
    await engine.runPipeline({ vfs, pipeline: parsePipeline(`/program/flag.wasm ; ${script}`), callerRights, pipelineRights });
    assert.equal(log(), 'else.wasm\nflag.wasm\nthen.wasm\n');
  });

  it('treats a condition the caller may not see as an error, not as false', async () => {
    const { vfs } = setup();
    const pipeline = parsePipeline('if /secret/x { /program/a.wasm }');
    await assert.rejects(engine.runPipeline({ vfs, pipeline, callerRights, pipelineRights }), (error: unknown) => {
      assert.ok(error instanceof VeracruzError);
      assert.equal(error.code, Code.PermissionDenied);
      return true;
    });
  });

  it('reads binaries with the caller\'s rights and runs them with the pipeline\'s', async () => {
    const { vfs, log } = setup();
    const pipeline = parsePipeline('/program/a.wasm');
    await assert.rejects(
      engine.runPipeline({ vfs, pipeline, callerRights: [{ file_name: '/program', rights: RIGHTS_READ }], pipelineRights }),
      /execute \/program\/a\.wasm: missing FD_EXECUTE/,
    );
    // Without write rights for the pipeline, the program cannot open its log (exit 10).
    assert.deepEqual(await engine.runPipeline({ vfs, pipeline, callerRights, pipelineRights: [{ file_name: '/output', rights: RIGHTS_READ }] }), { kind: 'exited', exitCode: 10 });
    assert.equal(log(), '');
  });
});
