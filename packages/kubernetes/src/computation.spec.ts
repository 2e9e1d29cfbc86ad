import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { loadAllYaml } from '@kubernetes/client-node';
import { Code } from '@veracruz-ts/core';
import { refusedAs } from '@veracruz-ts/core/testing';
import { planFleet } from '@veracruz-ts/fleet';
import { createIdentity, parsePolicy } from '@veracruz-ts/policy';
import { computationRequest, type ConfigMapContent, programBytes, programFile, readComputationSpec } from './computation.ts';
import { memberServiceAddress, pasAddress } from './manifests.ts';

const analyst = await createIdentity('analyst');
const hospital = await createIdentity('hospital');

/** A two-isolate computation: a mapper sends its statistics to a reducer. */
function spec(): any {
  return {
    topology: {
      platform: 'linux',
      parties: { hospital: { certificate: hospital.certificatePem }, analyst: { certificate: analyst.certificatePem } },
      isolates: {
        mapper: {
          programs: { '/program/map.wasm': { configMap: 'programs', key: 'map.wasm' } },
          program_rights: { '/program/map.wasm': '/input/:r,/output/:rw' },
          rights: { hospital: '/input/records.csv:w,/program/map.wasm:x' },
          sends: [{ file: '/output/stats.dat', to: 'reducer', path: '/input/stats' }],
        },
        reducer: {
          programs: { '/program/reduce.wasm': { configMap: 'programs', key: 'reduce.wasm' }, '/program/notes.txt': { configMap: 'notes', key: 'notes.txt' } },
          program_rights: { '/program/reduce.wasm': '/input/:r,/output/:rw', '/program/notes.txt': '/output/:r' },
          rights: { analyst: '/program/reduce.wasm:x,/output/:r' },
          await: { program: '/program/reduce.wasm' },
          max_memory_mib: 128,
        },
      },
    },
  };
}

const MAP = new Uint8Array([0, 97, 115, 109, 1]);
const REDUCE = new Uint8Array([0, 97, 115, 109, 2]);
const CONFIG_MAPS: Record<string, ConfigMapContent> = {
  programs: { binaryData: { 'map.wasm': Buffer.from(MAP).toString('base64'), 'reduce.wasm': Buffer.from(REDUCE).toString('base64') } },
  notes: { data: { 'notes.txt': 'plain text\n' } },
};

test('a computation\'s spec becomes a topology vc-fleet accepts, its programs named by their ConfigMap keys, read once per ConfigMap', async () => {
  const reads: string[] = [];
  const request = await computationRequest('map-reduce', spec(), 'linux', async (name) => {
    reads.push(name);
    return CONFIG_MAPS[name];
  });
  assert.equal(request.id, 'map-reduce');
  assert.deepEqual(reads, ['programs', 'notes']);
  assert.deepEqual(request.topology.order, ['mapper', 'reducer']);
  assert.deepEqual(request.topology.parties, [{ name: 'hospital' }, { name: 'analyst' }]);
  assert.deepEqual(request.topology.isolates[0]!.programs, [{ path: '/program/map.wasm', file: 'configmap:programs/map.wasm', rights: '/input/:r,/output/:rw' }]);
  assert.deepEqual(request.topology.isolates[1]!.maxMemoryMib, 128);
  assert.deepEqual([...request.programs.keys()], ['configmap:programs/map.wasm', 'configmap:programs/reduce.wasm', 'configmap:notes/notes.txt']);
  assert.deepEqual(request.programs.get('configmap:programs/reduce.wasm'), REDUCE);
  assert.deepEqual(new TextDecoder().decode(request.programs.get('configmap:notes/notes.txt')), 'plain text\n');
  assert.deepEqual(request.partyCertificates, { hospital: hospital.certificatePem, analyst: analyst.certificatePem });

  // What the reconciler makes of it: policies that name the isolates' Services and the PAS's.
  const ca = await createIdentity('pas ca');
  const at = new Date();
  const plan = await planFleet({
    topology: request.topology, runtimeHash: 'ab'.repeat(32), pasCaPem: ca.certificatePem, pasAddress: pasAddress('veracruz'),
    partyCertificates: request.partyCertificates,
    addresses: { mapper: memberServiceAddress('map-reduce', 'mapper', 'veracruz'), reducer: memberServiceAddress('map-reduce', 'reducer', 'veracruz') },
    programHashes: Object.fromEntries([...request.programs.keys()].map((file) => [file, 'cd'.repeat(32)])),
    certificateExpiry: new Date(at.getTime() + 86_400_000), at,
  });
  const reducer = await parsePolicy(plan.isolates.find((isolate) => isolate.name === 'reducer')!.policyText, { at });
  assert.equal(reducer.veracruz_server_url, 'vc-map-reduce-reducer.veracruz.svc:3017');
  assert.equal(reducer.proxy_attestation_server_url, 'vc-pas.veracruz.svc:3010');
});

test('a spec the fleet cannot take is refused naming the field', () => {
  const refuses = (name: string, change: (value: any) => void, message: string | RegExp, platform: 'linux' | 'sev-snp' = 'linux') => {
    const value = spec();
    change(value);
    assert.throws(() => readComputationSpec(name, value, platform), refusedAs(Code.InvalidPolicy, message));
  };
  refuses('Map-Reduce', () => {}, /^metadata\.name: "Map-Reduce": a computation's name must be lowercase letters/);
  refuses('a'.repeat(41), () => {}, /^metadata\.name: /);
  refuses('x', (value) => delete value.topology, 'spec.topology: expected an object');
  refuses('x', () => {}, 'spec.topology.platform: "linux", but this fleet\'s members run on sev-snp', 'sev-snp');
  refuses('x', (value) => (value.topology.platform = 'sev-snp'), 'spec.topology.platform: the fleet plans policies for linux isolates only, so its sev-snp members cannot be given a computation yet', 'sev-snp');
  refuses('x', (value) => (value.topology.parties.analyst.certificate = 'not PEM'), /^spec\.topology\.parties\.analyst\.certificate: not a certificate: /);
  refuses('x', (value) => (value.topology.parties.analyst = {}), 'spec.topology.parties.analyst.certificate: expected the party\'s certificate (PEM)');
  refuses('x', (value) => (value.topology.isolates.mapper.programs['/program/map.wasm'] = { configMap: 'programs' }), 'spec.topology.isolates.mapper.programs./program/map.wasm: expected {configMap, key}');
  // The topology's own checks, with the resource's path to the field.
  refuses('x', (value) => (value.topology.isolates.mapper.sends[0].to = 'nobody'), /^spec\.topology\.isolates\.mapper\.sends\[0\]\.to: no isolate named "nobody"/);
  refuses('x', (value) => (value.topology.isolates.reducer.rights = { stranger: '/output/:r' }), /^spec\.topology\.isolates\.reducer\.rights\.stranger: no party named "stranger"/);
  refuses('x', (value) => (value.topology.isolates.reducer.sends = [{ file: '/output/model', to: 'mapper', path: '/input/model' }]), /^spec\.topology\.isolates: the sends form a cycle, mapper -> reducer -> mapper/);
  refuses('x', (value) => (value.topology.isolates.mapper.port = 7010), 'spec.topology.isolates.mapper.port: a member listens on the client port behind a Service of its own, which the policies name; remove it');
  refuses('x', (value) => (value.topology.isolates.mapper.prots = 7010), /^spec\.topology\.isolates\.mapper\.prots: unknown field/);
});

test('a program\'s bytes: binaryData, else data; a missing ConfigMap or key is named', async () => {
  const reference = { configMap: 'programs', key: 'map.wasm' };
  assert.equal(programFile(reference), 'configmap:programs/map.wasm');
  assert.deepEqual(programBytes(reference, CONFIG_MAPS['programs']), MAP);
  assert.deepEqual(programBytes({ configMap: 'notes', key: 'notes.txt' }, CONFIG_MAPS['notes']), new TextEncoder().encode('plain text\n'));
  assert.throws(() => programBytes(reference, undefined), refusedAs(Code.NotFound, 'ConfigMap programs does not exist'));
  assert.throws(() => programBytes({ configMap: 'programs', key: 'other.wasm' }, CONFIG_MAPS['programs']), refusedAs(Code.NotFound, 'ConfigMap programs has no key "other.wasm" (it has map.wasm, reduce.wasm)'));
  await assert.rejects(computationRequest('map-reduce', spec(), 'linux', async () => undefined), refusedAs(Code.NotFound, 'ConfigMap programs does not exist'));
});

test('the sample computation reads as the operator will read it', async () => {
  const [sample] = loadAllYaml(await readFile(new URL('../samples/computation.yaml', import.meta.url), 'utf8'));
  const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
  const request = await computationRequest(sample.metadata.name, sample.spec, 'linux', async (name) =>
    name === 'vc-programs' ? { binaryData: { 'linear-regression.wasm': Buffer.from(wasm).toString('base64') } } : undefined);
  assert.equal(request.id, 'regression');
  assert.deepEqual(request.topology.isolates.map((isolate) => isolate.name), ['regression']);
  assert.deepEqual(request.programs.get('configmap:vc-programs/linear-regression.wasm'), wasm);
});
