// `npm run demo -- fleet`: a fleet on this machine, driven with the vc-fleet command line. A pool
// of three isolates comes up (each attested and certified before any computation exists); a
// regression over two hospitals' records (two mapper isolates and a reducer) is submitted and taken
// from the warm pool, each isolate re-attesting with its policy bound in its certificate, which every
// party checks; the coefficients are checked against the regression computed here in the clear.
// Then members die: the isolate of a second computation is killed with kill -9 (the computation is
// marked lost, its party's SDK says so precisely, and nothing takes its place), and a warm member's
// host is killed with kill -9 (it is replaced). The pool scales up and down, and `vc-fleet down`
// stops everything: no process of the fleet is left.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VeracruzClient } from '@veracruz-ts/client';
import { Code, VeracruzError } from '@veracruz-ts/core';
import type { ComputationStatus, FleetStatus } from '@veracruz-ts/fleet';
import { buildRuntimeBundle, callJsonApi, REPOSITORY_ROOT } from '@veracruz-ts/server';
import { generatePatientRecords } from '../../examples/generators/patient-records.ts';
import { regressionFromCsv } from '../../examples/reference/regression.ts';
import { narrator, run } from './narration.ts';

const WASM = join(REPOSITORY_ROOT, 'examples/build/wasm');
const VC_FLEET = join(REPOSITORY_ROOT, 'packages/fleet/bin/vc-fleet.ts');
const MAP = '/program/map.wasm';
const REDUCE = '/program/reduce.wasm';
const RECORDS = '/input/records.csv';
const COEFFICIENTS = '/output/coefficients.dat';
const HOSPITALS = [
  { name: 'hospital-1', mapper: 'mapper-1', seed: 201, rows: 2000 },
  { name: 'hospital-2', mapper: 'mapper-2', seed: 202, rows: 3000 },
] as const;

const { bold, step, say } = narrator(7);

/** Runs `vc-fleet ARGS` (without blocking this process's event loop); resolves with its stdout, throws with its output if it fails. */
function vcFleet(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VC_FLEET, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`vc-fleet ${args.join(' ')} failed (${code}):\n${stderr}${stdout}`))));
  });
}

/** The regression's topology: a mapper per hospital sending its statistics to the reducer. */
function regressionTopology(): object {
  return {
    parties: [...HOSPITALS.map((hospital) => hospital.name), 'analyst'],
    isolates: {
      ...Object.fromEntries(HOSPITALS.map((hospital) => [hospital.mapper, {
        programs: { [MAP]: join(WASM, 'regression-map.wasm') },
        program_rights: { [MAP]: '/input/:r,/output/:w' },
        rights: { [hospital.name]: `${RECORDS}:w,${MAP}:x` },
        sends: [{ file: '/output/stats.dat', to: 'reducer', path: `/input/stats/${hospital.name}` }],
      }])),
      reducer: {
        programs: { [REDUCE]: join(WASM, 'regression-reduce.wasm') },
        program_rights: { [REDUCE]: '/input/:r,/output/:w' },
        rights: { analyst: `${REDUCE}:x,${COEFFICIENTS}:r` },
        await: { program: REDUCE, deadline_ms: 60_000 },
      },
    },
  };
}

/** Runs the demo; throws if a step fails, a death goes unnoticed, or the result differs from the clear. */
export async function fleetDemo(): Promise<void> {
  console.log(bold('Veracruz-ts demo: a fleet of attested isolates on this machine: warm pool, a computation served from it, members killed and healed, scaling'));
  const work = await mkdtemp(join(tmpdir(), 'veracruz-demo-'));
  const dir = join(work, 'fleet');
  let up: ChildProcess | undefined;
  const clients: VeracruzClient[] = [];
  try {
    step('Building the runtime bundle and the programs');
    const bundle = await buildRuntimeBundle();
    run(process.execPath, ['examples/build.ts'], 'building the examples');

    step('vc-fleet up --pool 3: a PAS of the fleet\'s own, three members started, attested and certified without a policy');
    const upLog: string[] = [];
    const child = spawn(process.execPath, [VC_FLEET, 'up', '--dir', dir, '--pool', '3', '--max-members', '8', '--memory-mib', '256', '--runtime', bundle.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    up = child;
    child.stderr!.on('data', (chunk: Buffer) => upLog.push(...chunk.toString().split('\n').filter((line) => line !== '')));
    const readiness = await new Promise<string>((resolve, reject) => {
      child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.once('exit', () => reject(new Error(`vc-fleet up ended:\n${upLog.join('\n')}`)));
    });
    say(readiness);
    const { url } = JSON.parse(await readFile(join(dir, 'controller.json'), 'utf8')) as { url: string };
    const status = (): Promise<FleetStatus> => callJsonApi<FleetStatus>(`${url}/v1/status`);
    const waitFor = async (what: string, condition: (current: FleetStatus) => boolean): Promise<FleetStatus> => {
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
        const current = await status();
        if (condition(current)) return current;
      }
      throw new Error(`the fleet did not reach "${what}" within 60 s`);
    };
    const warm = (current: FleetStatus) => current.members.filter((member) => member.state === 'warm');
    await waitFor('three warm members', (current) => warm(current).length === 3);
    for (const line of (await vcFleet(['status', '--dir', dir])).trimEnd().split('\n')) say(line);

    step('vc-fleet submit: a regression over two hospitals (two mappers, a reducer), assigned from the warm pool');
    const topologyFile = join(work, 'regression.json');
    await writeFile(topologyFile, `${JSON.stringify(regressionTopology(), null, 2)}\n`);
    const regression = JSON.parse(await vcFleet(['submit', topologyFile, '--dir', dir, '--wait', '--json'])) as ComputationStatus;
    if (regression.state !== 'ready') throw new Error(`the regression is ${regression.state}: ${regression.reason}`);
    say(`ready ${Date.parse(regression.readyAt!) - Date.parse(regression.submittedAt)} ms after it was submitted: each isolate re-attested with its policy bound, and the fleet uploaded the programs`);
    for (const isolate of regression.isolates) say(`${isolate.name} on ${isolate.address} (member ${isolate.member}), policy ${isolate.policyPath}`);
    const connect = async (computation: ComputationStatus, party: string, isolateName: string): Promise<VeracruzClient> => {
      const files = computation.parties![party]!;
      const isolate = computation.isolates.find((candidate) => candidate.name === isolateName)!;
      const client = await VeracruzClient.connect({
        policy: await readFile(isolate.policyPath!, 'utf8'), certificatePem: await readFile(files.certificate, 'utf8'), privateKeyPem: await readFile(files.key!, 'utf8'),
        address: isolate.address!, fleet: url,
      });
      clients.push(client);
      return client;
    };
    const shards = HOSPITALS.map((hospital) => generatePatientRecords({ seed: hospital.seed, size: hospital.rows })[RECORDS]!);
    const analyst = await connect(regression, 'analyst', 'reducer');
    const reduced = analyst.execute(REDUCE);
    reduced.catch(() => {});
    await Promise.all(HOSPITALS.map(async (hospital, index) => {
      const client = await connect(regression, hospital.name, hospital.mapper);
      await client.writeFile(RECORDS, shards[index]!);
      if (await client.execute(MAP) !== 0) throw new Error(`${hospital.name}: ${MAP} failed`);
      say(`${hospital.name}: checked ${hospital.mapper}'s certificate (PAS CA, runtime hash, policy binding), provisioned ${hospital.rows} records, ran the map`);
    }));
    if (await reduced !== 0) throw new Error(`${REDUCE} failed`);
    const bytes = await analyst.readFile(COEFFICIENTS);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const coefficients = Array.from({ length: (bytes.length - 12) / 8 }, (_, i) => view.getFloat64(12 + 8 * i, true));
    const clear = regressionFromCsv(shards.map((shard) => new TextDecoder().decode(shard)));
    const worst = Math.max(...coefficients.map((value, i) => Math.abs(value - clear.coefficients[i]!) / Math.max(1, Math.abs(clear.coefficients[i]!))));
    if (coefficients.length !== clear.coefficients.length || !(worst < 1e-8)) throw new Error(`the coefficients differ from the clear: ${coefficients} vs ${clear.coefficients}`);
    say(`analyst: ${coefficients.length} coefficients over ${Number(view.getBigUint64(0, true))} rows, equal to the regression computed here in the clear (largest relative difference ${worst.toExponential(1)})`);

    step('kill -9 of a serving isolate: its computation is marked lost, its party is told precisely, nothing takes its place');
    const auditFile = join(work, 'audit.json');
    await writeFile(auditFile, `${JSON.stringify({ parties: ['auditor'], isolates: { audit: { rights: { auditor: '/input/:rw' } } } }, null, 2)}\n`);
    const audit = JSON.parse(await vcFleet(['submit', auditFile, '--dir', dir, '--wait', '--json'])) as ComputationStatus;
    const auditor = await connect(audit, 'auditor', 'audit');
    await auditor.writeFile('/input/ledger.csv', new TextEncoder().encode('2026-12-01,1200\n'));
    const auditMember = (await status()).members.find((member) => member.computation === 'audit')!;
    process.kill(auditMember.pids!.isolate, 'SIGKILL');
    say(`kill -9 ${auditMember.pids!.isolate} (the isolate of member ${auditMember.name}, serving audit)`);
    const lost = await waitFor('audit lost', (current) => current.computations.find((computation) => computation.id === 'audit')?.state === 'lost');
    say(`vc-fleet status: audit lost: ${lost.computations.find((computation) => computation.id === 'audit')!.reason}`);
    try {
      await auditor.readFile('/input/ledger.csv');
      throw new Error('the auditor read from a dead isolate');
    } catch (error) {
      if (!(error instanceof VeracruzError) || error.code !== Code.Unavailable || !/lost its isolate audit/.test(error.message)) throw error;
      say(`auditor's SDK: ${error.message}`);
    }

    step('kill -9 of a warm member\'s host: detected and replaced');
    const victim = warm(await waitFor('three warm members', (current) => warm(current).length === 3))[0]!;
    process.kill(victim.pids!.host, 'SIGKILL');
    say(`kill -9 ${victim.pids!.host} (vc-server warm of member ${victim.name})`);
    const healed = await waitFor('the pool refilled', (current) => !current.members.some((member) => member.name === victim.name) && warm(current).length === 3);
    for (const event of healed.events.filter((entry) => entry.message.includes(victim.name) || /attested .* and warm/.test(entry.message)).slice(-3)) say(`event: ${event.message}`);

    step('vc-fleet scale --pool 5, then --pool 1');
    say((await vcFleet(['scale', '--pool', '5', '--dir', dir])).trim());
    await waitFor('five warm members', (current) => warm(current).length === 5);
    say('five warm members');
    say((await vcFleet(['scale', '--pool', '1', '--dir', dir])).trim());
    const scaled = await waitFor('one warm member', (current) => warm(current).length === 1 && current.members.every((member) => member.state !== 'stopping'));
    say(`one warm member; ${scaled.members.filter((member) => member.state === 'serving').length} serving the regression`);

    step('vc-fleet down: every member, the PAS and the controller stop');
    const pids = scaled.members.flatMap((member) => (member.pids === undefined ? [] : [member.pids.host, member.pids.isolate]));
    for (const client of clients.splice(0)) await client.close().catch(() => {});
    say((await vcFleet(['down', '--dir', dir])).trim());
    const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (status) => resolve([status])));
    up = undefined;
    if (code !== 0) throw new Error(`vc-fleet up exited ${code}`);
    await sleep(200);
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    if (alive.length > 0) throw new Error(`processes of the fleet still run: ${alive.join(', ')}`);
    say(`vc-fleet up exited 0; none of the ${pids.length} member processes is left`);
  } finally {
    for (const client of clients) await client.close().catch(() => {});
    up?.kill('SIGTERM');
    await rm(work, { recursive: true, force: true });
  }
}
