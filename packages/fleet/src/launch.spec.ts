// Real processes: a PAS, vc-servers and their isolates on loopback, with the built runtime bundle and
// the example programs (npm run build:examples).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VeracruzClient } from '@veracruz-ts/client';
import { buildRuntimeBundle, REPOSITORY_ROOT, type RunningServer } from '@veracruz-ts/server';
import { type Fleet, startFleet } from './launch.ts';
import { fleetManifest } from './manifest.ts';
import { parseTopology } from './topology.ts';

const WASM = join(REPOSITORY_ROOT, 'examples/build/wasm');
const programsBuilt = existsSync(join(WASM, 'regression-map.wasm')) && existsSync(join(WASM, 'regression-reduce.wasm'));
const skip = programsBuilt ? false : 'skipped: the example programs are not built (npm run build:examples)';

const work = await mkdtemp(join(tmpdir(), 'vc-fleet-'));
test.after(() => rm(work, { recursive: true, force: true }));

/** A private copy of the runtime bundle: a rebuild while the test runs cannot change what the policies trust. */
async function runtimeCopy(): Promise<string> {
  const bundle = await buildRuntimeBundle();
  const path = join(work, 'veracruz-runtime.mjs');
  if (!existsSync(path)) await copyFile(bundle.path, path);
  return path;
}

async function connect(fleet: Fleet<RunningServer>, party: string, isolate: string): Promise<VeracruzClient> {
  const files = fleet.parties[party]!;
  const [certificatePem, privateKeyPem] = await Promise.all([readFile(files.certificatePath, 'utf8'), readFile(files.keyPath!, 'utf8')]);
  const target = fleet.isolates[isolate]!;
  return VeracruzClient.connect({ policy: target.policyText, certificatePem, privateKeyPem, address: target.address });
}

const RECORDS_1 = 'x,y\n1,3\n2,5\n';
const RECORDS_2 = 'x,y\n3,7\n4,9.5\n';

function mapper(hospital: string, name: string) {
  return {
    programs: { '/program/map.wasm': join(WASM, 'regression-map.wasm') },
    program_rights: { '/program/map.wasm': '/input/:r,/output/:rw' },
    rights: { [hospital]: '/input/records.csv:w,/program/map.wasm:x,/output/stats.dat:r' },
    sends: [{ file: '/output/stats.dat', to: 'reducer', path: `/input/stats/${name}` }],
  };
}

test('one isolate: identities, policy and programs in the fleet directory, a party computes, close stops it; a restart keeps the identities', { skip }, async () => {
  const topology = parseTopology(JSON.stringify({ parties: ['hospital-1'], isolates: { solo: { ...mapper('hospital-1', 'solo'), sends: [] } } }));
  const dir = join(work, 'solo');
  const runtimePath = await runtimeCopy();
  const lines: string[] = [];
  const fleet = await startFleet(topology, { dir, runtimePath, log: (line) => lines.push(line) });
  let certificate: string;
  try {
    const solo = fleet.isolates['solo']!;
    assert.match(solo.address, /^127\.0\.0\.1:\d+$/);
    assert.equal(solo.server.url, solo.address);
    assert.equal(await readFile(solo.policyPath, 'utf8'), solo.policyText);
    assert.equal(solo.identityHash, solo.policyHash);
    assert.equal((await stat(fleet.parties['hospital-1']!.keyPath!)).mode & 0o777, 0o600);
    assert.equal(fleet.devKeyPath, join(dir, 'host', 'dev-key.pem'), 'the development key the PAS trusts');
    certificate = await readFile(fleet.parties['hospital-1']!.certificatePath, 'utf8');
    assert.deepEqual(Object.keys(fleetManifest(fleet).isolates), ['solo']);
    assert.ok(lines.some((line) => line.startsWith('[solo] ')), 'vc-server lines carry the isolate name');

    // The fleet uploaded the program; the party only writes its data, runs and reads.
    const client = await connect(fleet, 'hospital-1', 'solo');
    try {
      await client.writeFile('/input/records.csv', new TextEncoder().encode(RECORDS_1));
      assert.equal(await client.execute('/program/map.wasm'), 0);
      const stats = await client.readFile('/output/stats.dat');
      assert.equal(new TextDecoder().decode(stats.subarray(0, 4)), 'VRS1');
      assert.equal(new DataView(stats.buffer, stats.byteOffset).getBigUint64(8, true), 2n, 'two rows');
    } finally {
      await client.close();
    }
  } finally {
    await fleet.close();
  }
  assert.equal((await fleet.isolates['solo']!.server.exited).code, 0);
  await fleet.close();

  const again = await startFleet(topology, { dir, runtimePath, log: () => {} });
  try {
    assert.equal(await readFile(again.parties['hospital-1']!.certificatePath, 'utf8'), certificate, 'a party keeps its identity across restarts');
  } finally {
    await again.close();
  }
});

// The isolate side of networks at work: dataflow pushed between isolates (their hosts relaying the
// connections), mutual attestation by policy and identity hashes, and await_inputs.
test('map-reduce: each mapper pushes its statistics to the reducer, whose run waits for both', { skip }, async () => {
  const topology = parseTopology(JSON.stringify({
    parties: ['hospital-1', 'hospital-2', 'analyst'],
    isolates: {
      'mapper-1': mapper('hospital-1', 'mapper-1'),
      'mapper-2': mapper('hospital-2', 'mapper-2'),
      reducer: {
        programs: { '/program/reduce.wasm': join(WASM, 'regression-reduce.wasm') },
        program_rights: { '/program/reduce.wasm': '/input/:r,/output/:rw' },
        rights: { analyst: '/program/reduce.wasm:x,/output/:r' },
        await: { program: '/program/reduce.wasm', deadline_ms: 60_000 },
      },
    },
  }));
  const fleet = await startFleet(topology, { dir: join(work, 'map-reduce'), runtimePath: await runtimeCopy(), log: () => {} });
  try {
    // The analyst asks first: the run waits until both statistics have arrived.
    const analyst = await connect(fleet, 'analyst', 'reducer');
    const reduced = analyst.execute('/program/reduce.wasm');
    for (const [hospital, name, records] of [['hospital-1', 'mapper-1', RECORDS_1], ['hospital-2', 'mapper-2', RECORDS_2]] as const) {
      const client = await connect(fleet, hospital, name);
      try {
        await client.writeFile('/input/records.csv', new TextEncoder().encode(records));
        assert.equal(await client.execute('/program/map.wasm'), 0);
      } finally {
        await client.close();
      }
    }
    try {
      assert.equal(await reduced, 0);
      const result = await analyst.readFile('/output/coefficients.dat');
      const view = new DataView(result.buffer, result.byteOffset, result.byteLength);
      assert.equal(view.getBigUint64(0, true), 4n, 'four rows in all');
      assert.equal(view.getUint32(8, true), 2, 'two partials');
    } finally {
      await analyst.close();
    }
  } finally {
    await fleet.close();
  }
});
