// `npm run demo -- mapreduce`: a network of isolates. Four hospitals each hold a shard of patient
// records and an analyst wants the regression over all of them, but no record may leave its
// hospital's isolate. A topology (written to topology.json, which `vc-fleet up` takes as it is) gives
// each hospital a mapper isolate of its own (examples/programs/regression-map), which may only write
// its records and run the map program, and sends the sufficient statistics the program makes to a
// reducer isolate (examples/programs/regression-reduce) over mutual attested TLS. The reducer's policy
// names the four mappers by identity hash; its run waits for all four partials; the analyst may run
// it and read the coefficients, nothing else. startFleet (packages/fleet) brings it all up with a PAS
// of its own. The coefficients are checked against the regression computed here in the clear over
// every shard. Then the refusals: a hospital reading another's shard or its own partial, the analyst
// reading a partial, and a fifth, rogue mapper isolate (attested by the same PAS, running the same
// runtime and program, naming the reducer's real policy hash) that the reducer's policy does not name.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readPolicyBinding } from '@veracruz-ts/attestation/certificates';
import { VeracruzClient } from '@veracruz-ts/client';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { type Fleet, parseTopology, startFleet } from '@veracruz-ts/fleet';
import { parsePolicy } from '@veracruz-ts/policy';
import { buildRuntimeBundle, REPOSITORY_ROOT, type RunningServer, startServer } from '@veracruz-ts/server';
import { generatePatientRecords } from '../../examples/generators/patient-records.ts';
import { regressionFromCsv } from '../../examples/reference/regression.ts';
import { createParties, writeDemoPolicy } from './deployment.ts';
import { narrator, run } from './narration.ts';

const WASM = join(REPOSITORY_ROOT, 'examples/build/wasm');
const MAP = '/program/map.wasm';
const REDUCE = '/program/reduce.wasm';
const RECORDS = '/input/records.csv';
const PARTIAL = '/output/stats.dat';
const COEFFICIENTS = '/output/coefficients.dat';
const COEFFICIENTS_TEXT = '/output/coefficients.txt';
/** Each hospital's shard: records drawn with a seed of its own. */
const HOSPITALS = [
  { name: 'hospital-1', mapper: 'mapper-1', seed: 101, rows: 3000 },
  { name: 'hospital-2', mapper: 'mapper-2', seed: 102, rows: 4000 },
  { name: 'hospital-3', mapper: 'mapper-3', seed: 103, rows: 2500 },
  { name: 'hospital-4', mapper: 'mapper-4', seed: 104, rows: 3500 },
] as const;
const statsPath = (hospital: string): string => `/input/stats/${hospital}`;
/** Where the rogue mapper's output is to land in the reducer: a fifth partial, if the reducer took it. */
const ROGUE_PATH = statsPath('hospital-5');
/** How long the reduce run waits for its partials (await_inputs) before naming the missing ones. */
const AWAIT_DEADLINE_MS = 60_000;

const { bold, step, say, short } = narrator(8);

/** The topology as `vc-fleet up` reads it: program paths absolute, so the file works from anywhere. */
function topologyJson(): object {
  const mapProgram = join(WASM, 'regression-map.wasm');
  return {
    platform: 'linux',
    listen: '127.0.0.1',
    parties: [...HOSPITALS.map((hospital) => hospital.name), 'analyst'],
    isolates: {
      ...Object.fromEntries(HOSPITALS.map((hospital) => [hospital.mapper, {
        programs: { [MAP]: mapProgram },
        program_rights: { [MAP]: '/input/:r,/output/:w' },
        // Its records in, the map program run: not even the partial it makes comes back out.
        rights: { [hospital.name]: `${RECORDS}:w,${MAP}:x` },
        sends: [{ file: PARTIAL, to: 'reducer', path: statsPath(hospital.name) }],
      }])),
      reducer: {
        programs: { [REDUCE]: join(WASM, 'regression-reduce.wasm') },
        program_rights: { [REDUCE]: '/input/:r,/output/:w' },
        rights: { analyst: `${REDUCE}:x,${COEFFICIENTS_TEXT}:r,${COEFFICIENTS}:r` },
        await: { program: REDUCE, deadline_ms: AWAIT_DEADLINE_MS },
      },
    },
  };
}

/** `/output/coefficients.dat`: rows in all, partials reduced, then the coefficients (intercept first). */
function decodeCoefficients(bytes: Uint8Array): { n: number; partials: number; coefficients: number[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const coefficients = Array.from({ length: (bytes.length - 12) / 8 }, (_, i) => view.getFloat64(12 + 8 * i, true));
  return { n: Number(view.getBigUint64(0, true)), partials: view.getUint32(8, true), coefficients };
}

/** Runs `attempt`, which must fail with `code`; returns the error. */
async function refusedWith(code: Code, what: string, attempt: () => Promise<unknown>): Promise<VeracruzError> {
  try {
    await attempt();
  } catch (reason) {
    if (reason instanceof VeracruzError && reason.code === code) return reason;
    throw reason;
  }
  throw new Error(`${what} was allowed: the policy was not enforced`);
}

/** Waits until a line of `lines` matches `pattern`; throws after `timeoutMs` naming what it waited for. */
async function lineMatching(lines: readonly string[], pattern: RegExp, what: string, timeoutMs = 15_000): Promise<string> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) {
    const found = lines.find((line) => pattern.test(line));
    if (found !== undefined) return found;
  }
  throw new Error(`no log line ${what} within ${timeoutMs / 1000} s:\n${lines.join('\n')}`);
}

/** Runs the demo; throws if a step fails, a refusal does not happen, or the result differs from the clear. */
export async function mapreduceDemo(): Promise<void> {
  console.log(bold('Veracruz-ts demo: four hospitals\' records, one regression; a network of isolates where no record leaves its hospital\'s isolate'));
  const work = await mkdtemp(join(tmpdir(), 'veracruz-demo-'));
  let fleet: Fleet<RunningServer> | undefined;
  let rogue: RunningServer | undefined;
  const clients: VeracruzClient[] = [];
  try {
    step('Building the runtime bundle and the programs (C to wasm32-wasip1)');
    const bundle = await buildRuntimeBundle();
    run(process.execPath, ['examples/build.ts'], 'building the examples');
    const mapProgram = await readFile(join(WASM, 'regression-map.wasm'));
    say(`runtime ${relative(REPOSITORY_ROOT, bundle.path)}; regression-map (${mapProgram.length} bytes): a shard's least-squares sums; regression-reduce: the fit from the summed partials`);

    step('A topology of four mappers and a reducer; startFleet generates the policies and brings the isolates up');
    const topologyPath = join(work, 'topology.json');
    await writeFile(topologyPath, `${JSON.stringify(topologyJson(), null, 2)}\n`);
    const topology = parseTopology(await readFile(topologyPath, 'utf8'));
    say(`${topologyPath}: \`vc-fleet up topology.json\` brings up the same fleet (the file goes with the work directory at the end)`);
    const fleetLog: string[] = [];
    fleet = await startFleet(topology, { dir: join(work, 'fleet'), baseDir: work, runtimePath: bundle.path, log: (line) => fleetLog.push(line) });
    const { isolates } = fleet;
    say(`PAS ${fleet.pas.url} (the fleet's own, trusting this host's development key); policies in ${relative(work, join(fleet.dir, 'policies'))}/`);
    for (const hospital of HOSPITALS) {
      const mapper = isolates[hospital.mapper]!;
      say(`${hospital.mapper} at ${mapper.address}: policy ${short(mapper.policyHash)}, identity ${short(mapper.identityHash)}; ` +
        `${hospital.name} may write ${RECORDS} and run ${MAP}, nothing else; sends ${PARTIAL} to reducer ${statsPath(hospital.name)}`);
    }
    const reducer = isolates['reducer']!;
    const reducerPolicy = await parsePolicy(reducer.policyText);
    const named = new Set(reducerPolicy.isolate_principals.map((principal) => principal.isolate.policy_hash));
    for (const hospital of HOSPITALS) {
      if (!named.has(isolates[hospital.mapper]!.identityHash)) throw new Error(`the reducer's policy does not name ${hospital.mapper}`);
    }
    say(`reducer at ${reducer.address}: policy ${short(reducer.policyHash)}; names the four mappers by identity hash, each may write only its own /input/stats/ file; ` +
      `analyst may run ${REDUCE} and read ${COEFFICIENTS_TEXT} and ${COEFFICIENTS}; the run awaits all four partials`);
    const identity = async (party: string): Promise<{ certificatePem: string; privateKeyPem: string }> => {
      const files = fleet!.parties[party]!;
      return { certificatePem: await readFile(files.certificatePath, 'utf8'), privateKeyPem: await readFile(files.keyPath!, 'utf8') };
    };
    const connect = async (party: string, isolate: string): Promise<VeracruzClient> => {
      const target = isolates[isolate]!;
      const client = await VeracruzClient.connect({ policy: target.policyText, ...(await identity(party)), address: target.address });
      clients.push(client);
      return client;
    };
    /** What the SDK checked before it returned, read back from the isolate's certificate. */
    const verified = (client: VeracruzClient, isolate: string): string => {
      const binding = readPolicyBinding(client.attestation.certificate);
      const target = isolates[isolate]!;
      if (binding?.policyHash !== target.policyHash || binding.identityHash !== target.identityHash) {
        throw new Error(`${isolate}'s certificate binds ${JSON.stringify(binding)}, not its policy`);
      }
      return `verified ${isolate}: chain to the fleet's PAS CA, runtime hash ${short(client.attestation.runtimeHash)}, ` +
        `certificate binds policy ${short(binding.policyHash)} (${isolate}'s policy file) and identity ${short(binding.identityHash)}; ` +
        `it reports the same policy hash`;
    };

    step('Each hospital connects to its mapper, checks it, then provisions its shard');
    const shards = HOSPITALS.map((hospital) => generatePatientRecords({ seed: hospital.seed, size: hospital.rows })[RECORDS]!);
    const hospitals = await Promise.all(HOSPITALS.map((hospital) => connect(hospital.name, hospital.mapper)));
    for (const [index, hospital] of HOSPITALS.entries()) {
      say(`${hospital.name}: ${verified(hospitals[index]!, hospital.mapper)}`);
      await hospitals[index]!.writeFile(RECORDS, shards[index]!);
      say(`${hospital.name}: provisioned ${hospital.rows} records (${shards[index]!.length} bytes, seed ${hospital.seed})`);
    }

    step('The analyst runs the reduce, which waits; the hospitals run the map; each partial flows to the reducer');
    const analyst = await connect('analyst', 'reducer');
    say(`analyst: ${verified(analyst, 'reducer')}`);
    const reduced = analyst.execute(REDUCE);
    reduced.catch(() => {});
    say(`analyst: running ${REDUCE}; it waits until the four partials have arrived (await_inputs, at most ${AWAIT_DEADLINE_MS / 1000} s)`);
    await Promise.all(HOSPITALS.map(async (hospital, index) => {
      const exitCode = await hospitals[index]!.execute(MAP);
      if (exitCode !== 0) throw new Error(`${hospital.name}: ${MAP} exited ${exitCode}`);
      say(`${hospital.name}: ${MAP} exited 0 in ${hospital.mapper}`);
    }));
    const reduceExit = await reduced;
    if (reduceExit !== 0) throw new Error(`${REDUCE} exited ${reduceExit}`);
    for (const hospital of HOSPITALS) {
      const delivered = await lineMatching(fleetLog, new RegExp(`^\\[${hospital.mapper}\\] .*dataflow: delivered `), `of ${hospital.mapper}'s delivery`);
      say(`${hospital.mapper} log: ${delivered.slice(delivered.indexOf('dataflow:'))}`);
    }
    const result = decodeCoefficients(await analyst.readFile(COEFFICIENTS));
    const resultText = new TextDecoder().decode(await analyst.readFile(COEFFICIENTS_TEXT));
    say(`analyst: ${REDUCE} exited 0 over ${result.partials} partials, ${result.n} rows; ${COEFFICIENTS_TEXT}:`);
    for (const line of resultText.trimEnd().split('\n')) say(`  ${line}`);

    step('The coefficients, checked against the regression computed here in the clear over all four shards');
    const clear = regressionFromCsv(shards.map((shard) => new TextDecoder().decode(shard)));
    const rows = HOSPITALS.reduce((sum, hospital) => sum + hospital.rows, 0);
    if (result.partials !== HOSPITALS.length || result.n !== rows || clear.n !== rows) {
      throw new Error(`the reducer combined ${result.partials} partials of ${result.n} rows; expected ${HOSPITALS.length} of ${rows} (the clear: ${clear.n})`);
    }
    if (result.coefficients.length !== clear.coefficients.length) throw new Error(`${result.coefficients.length} coefficients, expected ${clear.coefficients.length}`);
    const names = ['intercept', ...clear.names.slice(0, -1)];
    const width = Math.max(...names.map((name) => name.length));
    names.forEach((name, i) => {
      const [isolate, expected] = [result.coefficients[i]!, clear.coefficients[i]!];
      if (Math.abs(isolate - expected) > 1e-9 * Math.max(1, Math.abs(expected))) throw new Error(`${name}: the isolates computed ${isolate}, the clear ${expected}`);
      say(`${name.padEnd(width)}  isolates ${isolate.toFixed(9).padStart(14)}   clear ${expected.toFixed(9).padStart(14)}`);
    });
    say(`matches the regression computed here in the clear over all ${rows} rows (Householder QR on the rows, not the isolates' summed normal equations)`);

    step('What the parties cannot do: read another hospital\'s shard, or any partial');
    const other = HOSPITALS[1];
    const crossed = await refusedWith(Code.PermissionDenied, `${HOSPITALS[0].name} connecting to ${other.mapper}`, () => connect(HOSPITALS[0].name, other.mapper));
    say(`${HOSPITALS[0].name} connects to ${other.mapper} (${other.name}'s shard): refused, ${crossed.message}`);
    const own = await refusedWith(Code.PermissionDenied, `${HOSPITALS[0].name} reading ${PARTIAL}`, () => hospitals[0]!.readFile(PARTIAL));
    say(`${HOSPITALS[0].name} reads its own mapper's partial ${PARTIAL}: refused, ${own.message}`);
    const partial = await refusedWith(Code.PermissionDenied, `the analyst reading ${statsPath(HOSPITALS[0].name)}`, () => analyst.readFile(statsPath(HOSPITALS[0].name)));
    say(`analyst reads ${statsPath(HOSPITALS[0].name)} on the reducer: refused, ${partial.message}`);

    step('A rogue mapper isolate, attested by the same PAS, sends to the reducer: its policy is not one the reducer names');
    const { intruder } = await createParties(work, ['intruder'] as const);
    const mapPath = join(work, 'regression-map.wasm');
    await writeFile(mapPath, mapProgram);
    const { text: roguePolicyText } = await writeDemoPolicy(work, fleet.pas, bundle, [
      '-c', intruder.certificatePath, '-p', `${RECORDS}:w,${MAP}:wx`,
      '-w', `${MAP}=${mapPath}`, '-p', '/input/:r,/output/:w',
      '--dataflow', `${PARTIAL}=${reducer.address}:${ROGUE_PATH}@${reducer.policyHash}`,
    ], 'rogue-mapper.json');
    const roguePolicy = await parsePolicy(roguePolicyText);
    if (named.has(roguePolicy.identityHash)) throw new Error('the reducer\'s policy names the rogue mapper');
    say(`rogue-mapper policy (vc-pgen): the map program, the same runtime and PAS, sends ${PARTIAL} to ${reducer.address} ${ROGUE_PATH}, ` +
      `naming the reducer's real policy hash ${short(reducer.policyHash)}; identity ${short(roguePolicy.identityHash)}, not among the four the reducer names`);
    const rogueLog: string[] = [];
    rogue = await startServer({
      policyText: roguePolicyText, platform: 'linux', runtimePath: bundle.path, devKeyPath: fleet.devKeyPath, pasUrl: fleet.pas.url,
      listen: '127.0.0.1:0', log: (line) => rogueLog.push(line),
    });
    say(`rogue-mapper at ${rogue.url}, certified by the fleet's PAS (this host's development key, runtime ${short(rogue.measurement)})`);
    const rogueClient = await VeracruzClient.connect({ policy: roguePolicyText, certificatePem: intruder.certificatePem, privateKeyPem: intruder.privateKeyPem, address: rogue.url });
    clients.push(rogueClient);
    await rogueClient.writeFile(MAP, mapProgram);
    await rogueClient.writeFile(RECORDS, generatePatientRecords({ seed: 666, size: 2000 })[RECORDS]!);
    const rogueExit = await rogueClient.execute(MAP);
    if (rogueExit !== 0) throw new Error(`the rogue's ${MAP} exited ${rogueExit}`);
    say(`intruder: ${MAP} exited 0 in rogue-mapper over 2000 made-up records; its isolate now pushes ${PARTIAL} to the reducer`);
    const refusal = await lineMatching(rogueLog, /dataflow: .* failed/, 'of the rogue\'s failed delivery');
    say(`rogue-mapper log: ${refusal.slice(refusal.indexOf('dataflow:'))}`);
    if (!/certificate unknown/i.test(refusal)) throw new Error(`the rogue's delivery failed, but not because the reducer refused its certificate: ${refusal}`);
    if (rogueLog.some((line) => line.includes('dataflow: delivered'))) throw new Error('the reducer accepted the rogue\'s partial');
    await rogue.close();
    rogue = undefined;
    const againExit = await analyst.execute(REDUCE);
    const again = decodeCoefficients(await analyst.readFile(COEFFICIENTS));
    say(`analyst: ${REDUCE} again exited ${againExit}: ${again.partials} partials, ${again.n} rows`);
    if (againExit !== 0 || again.partials !== HOSPITALS.length || again.n !== rows || again.coefficients.some((value, i) => value !== result.coefficients[i])) {
      throw new Error(`after the rogue's attempt the reducer combined ${again.partials} partials of ${again.n} rows`);
    }
    say(`the reducer's partial count stays ${HOSPITALS.length}, the coefficients the same: nothing of the rogue's arrived`);

    step('Shutting down');
    await Promise.allSettled(clients.splice(0).map((client) => client.close()));
    const stopping = fleet;
    fleet = undefined;
    await stopping.close();
    for (const [name, isolate] of Object.entries(stopping.isolates)) {
      const exit = await isolate.server.exited;
      say(`${name}: vc-server exited (${exit.code}: ${exit.reason})`);
    }
    say('the fleet\'s PAS stopped');
    console.log(`\n${bold('Done.')}`);
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
    await rogue?.close().catch(() => {});
    await fleet?.close().catch(() => {});
    await rm(work, { recursive: true, force: true });
  }
}
