// A fleet's controller on real processes: a PAS, `vc-server warm` hosts and their isolates on
// loopback. Members are killed with SIGKILL (isolate and host) and frozen with SIGSTOP, and the
// reconciler is watched healing the pool, marking the computations they served lost, and never
// putting anything in a lost isolate's place.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VeracruzClient } from '@veracruz-ts/client';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { type ComputationStatus, type Controller, type FleetStatus, type MemberStatus, startController } from '@veracruz-ts/fleet';
import { buildRuntimeBundle, callJsonApi, REPOSITORY_ROOT } from '@veracruz-ts/server';

const WASM = join(REPOSITORY_ROOT, 'examples/build/wasm');
const skip = existsSync(join(WASM, 'regression-map.wasm')) ? false : 'skipped: the example programs are not built (npm run build:examples)';

const RECORDS = 'x,y\n1,3\n2,5\n';

/** One mapper isolate for `party`, or a map-reduce of two. */
function soloTopology(party: string): unknown {
  return {
    parties: [party],
    isolates: {
      solo: {
        programs: { '/program/map.wasm': join(WASM, 'regression-map.wasm') },
        program_rights: { '/program/map.wasm': '/input/:r,/output/:rw' },
        rights: { [party]: '/input/records.csv:w,/program/map.wasm:x,/output/stats.dat:r' },
      },
    },
  };
}

/** Polls `condition` over the controller's status until it holds (or 30 s pass, naming what was awaited). */
async function waitFor(controller: Controller, what: string, condition: (status: FleetStatus) => boolean): Promise<FleetStatus> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = controller.reconciler.status();
    if (condition(status)) return status;
    if (Date.now() > deadline) assert.fail(`waited 30 s for ${what}; status: ${JSON.stringify({ pool: status.pool, members: status.members, events: status.events.slice(-8) }, null, 1)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const warmCount = (status: FleetStatus): number => status.members.filter((member) => member.state === 'warm').length;

describe('a fleet on this host: warm pool, assignment, health, healing, scaling', { skip }, () => {
  let work: string;
  let controller: Controller;
  let dir: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'vc-fleet-e2e-'));
    dir = join(work, 'fleet');
    const runtimePath = join(work, 'veracruz-runtime.mjs');
    await copyFile((await buildRuntimeBundle()).path, runtimePath);
    controller = await startController({ dir, pool: 2, maxMembers: 6, memoryMib: 256, runtimePath, healthIntervalMs: 250, log: () => {} });
  });
  after(async () => {
    await controller?.close();
    await rm(work, { recursive: true, force: true });
  });

  const submit = (id: string, topology: unknown, token = controller.token) =>
    callJsonApi<ComputationStatus>(`${controller.url}/v1/computations`, { body: { id, topology, baseDir: work }, token });

  async function partyClient(computation: ComputationStatus, party: string, fleet?: string): Promise<VeracruzClient> {
    const files = computation.parties![party]!;
    const isolate = computation.isolates[0]!;
    const [policy, certificatePem, privateKeyPem] = await Promise.all([readFile(isolate.policyPath!, 'utf8'), readFile(files.certificate, 'utf8'), readFile(files.key!, 'utf8')]);
    return VeracruzClient.connect({ policy, certificatePem, privateKeyPem, address: isolate.address!, ...(fleet === undefined ? {} : { fleet }) });
  }

  it('keeps its pool warm, serves a submitted computation from it, and refuses what it must', async () => {
    const status = await waitFor(controller, 'two warm members', (current) => warmCount(current) === 2);
    for (const member of status.members) assert.match(member.measurement!, /^[0-9a-f]{64}$/);
    await assert.rejects(callJsonApi(`${controller.url}/v1/computations`, { body: { id: 'nope', topology: soloTopology('p'), baseDir: work } }), (error: unknown) => error instanceof VeracruzError && error.code === Code.PermissionDenied, 'no token, no submission');
    await assert.rejects(submit('bad', soloTopology('p'), 'x'.repeat(32)), /needs the control token/);
    await assert.rejects(submit('Bad_Id', soloTopology('p')), /computation id "Bad_Id"/);
    await assert.rejects(submit('port', { ...(soloTopology('p') as object), isolates: { solo: { ...(soloTopology('p') as { isolates: { solo: object } }).isolates.solo, port: 7000 } } }), /isolates\.solo\.port: a pool's members listen on ports of their own/);
    await assert.rejects(submit('typo', { parties: ['p'], isolates: { solo: { rigths: {} } } }), (error: unknown) => error instanceof VeracruzError && /isolates\.solo/.test(error.message));

    const submitted = await submit('first', soloTopology('alice'));
    assert.equal(submitted.state, 'pending');
    const ready = await controller.reconciler.settled('first');
    assert.equal(ready.state, 'ready', ready.reason);
    const member = ready.isolates[0]!.member!;
    assert.ok(status.members.some((warm) => warm.name === member), 'a member of the warm pool took it');
    const client = await partyClient(ready, 'alice');
    try {
      await client.writeFile('/input/records.csv', new TextEncoder().encode(RECORDS));
      assert.equal(await client.execute('/program/map.wasm'), 0);
      const stats = await client.readFile('/output/stats.dat');
      assert.equal(new DataView(stats.buffer, stats.byteOffset).getBigUint64(8, true), 2n, 'two rows');
    } finally {
      await client.close();
    }
    await assert.rejects(submit('first', soloTopology('alice')), (error: unknown) => error instanceof VeracruzError && error.code === Code.AlreadyExists);
    await waitFor(controller, 'the pool refilled to two', (current) => warmCount(current) === 2);
  });

  it('marks a computation lost when its isolate is killed (SIGKILL), refills the pool, and puts nothing in its place', async () => {
    await submit('killed-isolate', soloTopology('bob'));
    const ready = await controller.reconciler.settled('killed-isolate');
    assert.equal(ready.state, 'ready', ready.reason);
    const connected = await partyClient(ready, 'bob', controller.url);
    await connected.writeFile('/input/records.csv', new TextEncoder().encode(RECORDS));
    const pids = await memberPids(ready.isolates[0]!.member!);
    process.kill(pids.isolate, 'SIGKILL');
    // The party's next request fails, and the SDK quotes the fleet's report on why.
    await assert.rejects(connected.readFile('/input/records.csv'), (error: unknown) =>
      error instanceof VeracruzError && error.code === Code.Unavailable &&
      new RegExp(`^\\[unavailable\\] the fleet at ${controller.url} reports \\(unauthenticated\\) that computation killed-isolate lost its isolate solo at .*: the isolate exited unexpectedly \\(signal SIGKILL\\)`).test(error.message));
    await connected.close().catch(() => {});
    const lost = await waitFor(controller, 'the computation lost', (current) => current.computations.find((entry) => entry.id === 'killed-isolate')!.state === 'lost');
    const entry = lost.computations.find((computation) => computation.id === 'killed-isolate')!;
    assert.match(entry.reason!, /^isolate solo \(member m\d+-\w+, 127\.0\.0\.1:\d+\) died at .*: the isolate exited unexpectedly \(signal SIGKILL\)\. Everything it held is gone/);
    const policyStatus = await callJsonApi<{ state: string; ended: { code: number } }>(`${controller.url}/v1/policies/${ready.isolates[0]!.policyHash}`);
    assert.equal(policyStatus.state, 'lost');
    assert.equal(policyStatus.ended.code, 1);
    const healed = await waitFor(controller, 'two warm members again', (current) => warmCount(current) === 2);
    assert.ok(!healed.members.some((member) => member.computation === 'killed-isolate'), 'no member serves the lost computation');
    const after = controller.reconciler.computation('killed-isolate');
    assert.equal(after.isolates[0]!.member, ready.isolates[0]!.member, 'the computation still names the member that died, not a replacement');
    assert.equal(after.isolates[0]!.ended?.code, 1);
    // Its address is dead: a party connecting learns nothing from a replacement there.
    await assert.rejects(partyClient(ready, 'bob'), (error: unknown) => error instanceof VeracruzError && error.code === Code.Unavailable);
  });

  it('detects a killed host (SIGKILL): its isolate goes with it, its computation is lost, a warm host is replaced', async () => {
    await submit('killed-host', soloTopology('carol'));
    const ready = await controller.reconciler.settled('killed-host');
    assert.equal(ready.state, 'ready', ready.reason);
    const pids = await memberPids(ready.isolates[0]!.member!);
    process.kill(pids.host, 'SIGKILL');
    const lost = await waitFor(controller, 'the computation lost', (current) => current.computations.find((entry) => entry.id === 'killed-host')!.state === 'lost');
    assert.match(lost.computations.find((entry) => entry.id === 'killed-host')!.reason!, /its host \(vc-server warm, pid \d+\) ended: signal SIGKILL/);
    await waitFor(controller, 'the isolate of the killed host gone', () => !processAlive(pids.isolate));

    const warm = (await waitFor(controller, 'two warm members', (current) => warmCount(current) === 2)).members.find((member) => member.state === 'warm')!;
    process.kill((await memberPids(warm.name)).host, 'SIGKILL');
    const replaced = await waitFor(controller, 'the warm member replaced', (current) => !current.members.some((member) => member.name === warm.name) && warmCount(current) === 2);
    assert.ok(replaced.events.some((event) => event.message.startsWith(`member ${warm.name} died while warm`)));
  });

  it('takes a serving host stopped unasked (SIGTERM) for a loss, and a principal\'s shutdown for a completion', async () => {
    await submit('terminated', soloTopology('dave'));
    const terminated = await controller.reconciler.settled('terminated');
    assert.equal(terminated.state, 'ready', terminated.reason);
    process.kill((await memberPids(terminated.isolates[0]!.member!)).host, 'SIGTERM');
    const lost = await waitFor(controller, 'the terminated computation lost', (current) => current.computations.find((entry) => entry.id === 'terminated')!.state === 'lost');
    assert.match(lost.computations.find((entry) => entry.id === 'terminated')!.reason!, /its host stopped it unasked \(stopped by the operator\)\. Everything it held is gone/);

    await submit('finished', soloTopology('erin'));
    const finished = await controller.reconciler.settled('finished');
    assert.equal(finished.state, 'ready', finished.reason);
    const client = await partyClient(finished, 'erin');
    await client.shutdown();
    await client.close().catch(() => {});
    const done = await waitFor(controller, 'the computation completed', (current) => current.computations.find((entry) => entry.id === 'finished')!.state === 'completed');
    const entry = done.computations.find((computation) => computation.id === 'finished')!;
    assert.equal(entry.isolates[0]!.ended?.code, 0);
    assert.match(entry.isolates[0]!.ended!.reason, /the isolate shut down/);
    assert.ok(!done.events.some((event) => event.message.includes(`${finished.isolates[0]!.member} (finished/solo) ended unexpectedly`)));
  });

  it('fails a computation its members cannot take (an isolate larger than their memory), stops them, and refuses a second controller on the directory', async () => {
    const big = soloTopology('frank') as { isolates: { solo: Record<string, unknown> } };
    big.isolates.solo.max_memory_mib = 512;
    await submit('too-big', big);
    const failed = await controller.reconciler.settled('too-big');
    assert.equal(failed.state, 'failed');
    assert.match(failed.reason!, /^assignment failed: isolate solo: member \S+'s host \(http:\/\/127\.0\.0\.1:\d+\/v1\/assign\): the policy's max_memory_mib \(512\) is more than this isolate's memory budget \(256 MiB\)$/);
    await waitFor(controller, 'its member stopped and the pool refilled', (current) => !current.members.some((member) => member.computation === 'too-big') && warmCount(current) === 2);
    await assert.rejects(startController({ dir, pool: 0, log: () => {} }), (error: unknown) => error instanceof VeracruzError && error.code === Code.AlreadyExists && /a fleet controller runs in .* already \(pid \d+/.test(error.message));
  });

  it('stops a host that stops answering its health checks (SIGSTOP), as dead', async () => {
    const warm = (await waitFor(controller, 'two warm members', (current) => warmCount(current) === 2)).members.find((member) => member.state === 'warm')!;
    const pids = await memberPids(warm.name);
    process.kill(pids.host, 'SIGSTOP');
    try {
      const status = await waitFor(controller, 'the frozen member stopped and replaced', (current) => !current.members.some((member) => member.name === warm.name) && warmCount(current) === 2);
      assert.ok(status.events.some((event) => event.message.startsWith(`member ${warm.name}: its host did not answer 3 health checks`)));
      assert.ok(!processAlive(pids.host), 'the frozen host was killed');
    } finally {
      if (processAlive(pids.host)) process.kill(pids.host, 'SIGCONT');
    }
  });

  it('scales the pool up and down', async () => {
    await callJsonApi(`${controller.url}/v1/scale`, { body: { pool: 3 }, token: controller.token });
    await waitFor(controller, 'three warm members', (current) => warmCount(current) === 3 && current.pool.target === 3);
    await callJsonApi(`${controller.url}/v1/scale`, { body: { pool: 1 }, token: controller.token });
    const status = await waitFor(controller, 'one warm member', (current) => warmCount(current) === 1 && current.members.every((member: MemberStatus) => member.state !== 'stopping'));
    assert.equal(status.pool.target, 1);
    await assert.rejects(callJsonApi(`${controller.url}/v1/scale`, { body: { pool: 99 }, token: controller.token }), /pool 99 is more than the fleet's most members \(6\)/);
  });

  /** A member's host and isolate pids, as the fleet's status gives them. */
  async function memberPids(name: string): Promise<{ host: number; isolate: number }> {
    const pids = controller.reconciler.status().members.find((member) => member.name === name)?.pids;
    assert.ok(pids !== undefined, `member ${name} runs on this host`);
    return pids;
  }
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
