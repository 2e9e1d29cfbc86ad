import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { createIdentity, parsePolicy, parseRights, type Policy } from '@veracruz-ts/policy';
import { type PlanInputs, planFleet, type PlannedIsolate } from './plan.ts';
import { mapReduce } from './test-fixture.ts';
import { parseTopology } from './topology.ts';

const [hospital1, hospital2, analyst, provisioner, pas] = await Promise.all([createIdentity('hospital-1'), createIdentity('hospital-2'), createIdentity('analyst'), createIdentity('provisioner'), createIdentity('pas')]);
const RUNTIME = 'a'.repeat(64);
const AT = new Date();

function inputs(topology: unknown, overrides: Partial<PlanInputs> = {}): PlanInputs {
  const parsed = parseTopology(JSON.stringify(topology));
  return {
    topology: parsed,
    runtimeHash: RUNTIME,
    pasCaPem: pas.certificatePem,
    pasAddress: '127.0.0.1:3010',
    partyCertificates: { 'hospital-1': hospital1.certificatePem, 'hospital-2': hospital2.certificatePem, analyst: analyst.certificatePem, p: analyst.certificatePem },
    addresses: Object.fromEntries(parsed.isolates.map((isolate, index) => [isolate.name, `127.0.0.1:${7001 + index}`])),
    programHashes: { 'build/map.wasm': 'b'.repeat(64), 'build/reduce.wasm': 'c'.repeat(64) },
    provisionerCertificate: provisioner.certificatePem,
    certificateExpiry: new Date(AT.getTime() + 86_400_000),
    at: AT,
    ...overrides,
  };
}

async function parsed(planned: PlannedIsolate): Promise<Policy> {
  const policy = await parsePolicy(planned.policyText, { at: AT });
  assert.equal(policy.hash, createHash('sha256').update(planned.policyText).digest('hex'), `${planned.name}: policyHash is the hash of the text`);
  assert.equal(planned.policyHash, policy.hash);
  assert.equal(planned.identityHash, policy.identityHash, `${planned.name}: identityHash is what the policy package computes`);
  return policy;
}

test('map-reduce: the reducer names each mapper by its identity hash, each mapper names the reducer by its policy hash', async () => {
  const plan = await planFleet(inputs(mapReduce()));
  assert.deepEqual(plan.isolates.map((isolate) => [isolate.name, isolate.address, isolate.senders, isolate.receivers]), [
    ['mapper-1', '127.0.0.1:7001', [], ['reducer']],
    ['mapper-2', '127.0.0.1:7002', [], ['reducer']],
    ['reducer', '127.0.0.1:7003', ['mapper-1', 'mapper-2'], []],
  ]);
  const [mapper1, mapper2, reducer] = plan.isolates as [PlannedIsolate, PlannedIsolate, PlannedIsolate];
  const [m1, m2, r] = await Promise.all([parsed(mapper1), parsed(mapper2), parsed(reducer)]);

  assert.deepEqual(r.isolate_principals.map((principal) => [principal.isolate.policy_hash, principal.file_rights]), [
    [mapper1.identityHash, [{ file_name: '/input/stats/mapper-1', rights: parseRights('w') }]],
    [mapper2.identityHash, [{ file_name: '/input/stats/mapper-2', rights: parseRights('w') }]],
  ]);
  // Isolate principals are certified by this fleet's PAS and run this fleet's runtime: the defaults.
  assert.deepEqual(r.isolate_principals[0]?.isolate.runtimeHashes, [{ platform: 'linux', hash: RUNTIME }]);
  assert.equal(reducer.policyText.split('runtime_manager_hash_linux').length, 2, 'no runtime hash is repeated inside an isolate entry');
  assert.equal(reducer.policyText.split('proxy_service_cert').length, 2, 'nor the PAS CA');
  assert.equal(reducer.identityHash, reducer.policyHash, 'a receiver that sends nothing is named by its policy hash');
  for (const [mapper, policy, name] of [[mapper1, m1, 'mapper-1'], [mapper2, m2, 'mapper-2']] as const) {
    assert.deepEqual(policy.dataflow.map((flow) => [flow.file, flow.path, flow.address, flow.isolate.policy_hash]), [['/output/stats.dat', `/input/stats/${name}`, '127.0.0.1:7003', reducer.policyHash]]);
    assert.notEqual(mapper.identityHash, mapper.policyHash);
  }
  assert.deepEqual(r.await_inputs, [{ program: '/program/reduce.wasm', files: ['/input/stats/mapper-1', '/input/stats/mapper-2'], deadline_ms: 600000 }]);
  assert.deepEqual(m1.await_inputs, []);
  assert.equal(m2.max_memory_mib, 128);
  assert.equal(m1.max_memory_mib, 256);
});

test('each policy names only its own parties, then the provisioner with the write right on exactly its programs', async () => {
  const plan = await planFleet(inputs(mapReduce()));
  const [m1, , r] = await Promise.all(plan.isolates.map(parsed));
  assert.deepEqual(m1!.identities.map((identity) => [identity.id, identity.certificateInfo.commonName, identity.file_rights]), [
    [0, 'hospital-1', [{ file_name: '/input/records.csv', rights: parseRights('w') }, { file_name: '/program/map.wasm', rights: parseRights('x') }]],
    [1, 'provisioner', [{ file_name: '/program/map.wasm', rights: parseRights('w') }]],
  ]);
  assert.deepEqual(r!.identities.map((identity) => identity.certificateInfo.commonName), ['analyst', 'provisioner']);
  assert.deepEqual(r!.isolate_principals.map((principal) => principal.id), [2, 3]);
  assert.deepEqual(m1!.file_hashes, [{ file_path: '/program/map.wasm', hash: 'b'.repeat(64) }]);
  assert.deepEqual(m1!.programs.map((program) => [program.program_file_name, program.file_rights]), [
    ['/program/map.wasm', [{ file_name: '/input/', rights: parseRights('r') }, { file_name: '/output/', rights: parseRights('rw') }]],
  ]);
  assert.equal(m1!.veracruz_server_url, '127.0.0.1:7001');
  assert.equal(m1!.proxy_attestation_server_url, '127.0.0.1:3010');
  assert.equal(m1!.runtime_manager_hash_linux, RUNTIME);
  const withoutProvisioner = inputs(mapReduce());
  delete withoutProvisioner.provisionerCertificate;
  const without = await planFleet(withoutProvisioner);
  assert.deepEqual((await parsePolicy(without.isolates[0]!.policyText, { at: AT })).identities.map((identity) => identity.certificateInfo.commonName), ['hospital-1']);
});

test('a chain: the middle isolate is named by its identity hash downstream and names its receiver\'s final policy hash', async () => {
  const plan = await planFleet(inputs({
    parties: ['p'],
    isolates: {
      last: { rights: { p: '/output/:r' } },
      middle: { rights: { p: '/output/:r' }, sends: [{ file: '/output/b', to: 'last', path: '/input/b' }] },
      first: { rights: { p: '/input/:w' }, sends: [{ file: '/output/a', to: 'middle', path: '/input/a' }, { file: '/output/a', to: 'last', path: '/input/a' }] },
    },
  }));
  const byName = Object.fromEntries(plan.isolates.map((isolate) => [isolate.name, isolate]));
  const [first, middle, last] = [byName['first']!, byName['middle']!, byName['last']!];
  const [f, m, l] = await Promise.all([parsed(first), parsed(middle), parsed(last)]);
  assert.deepEqual(m.isolate_principals.map((principal) => principal.isolate.policy_hash), [first.identityHash]);
  assert.deepEqual(l.isolate_principals.map((principal) => [principal.isolate.policy_hash, principal.file_rights[0]?.file_name]), [
    [middle.identityHash, '/input/b'],
    [first.identityHash, '/input/a'],
  ]);
  assert.deepEqual(f.dataflow.map((flow) => [flow.address, flow.isolate.policy_hash]), [[middle.address, middle.policyHash], [last.address, last.policyHash]]);
  assert.deepEqual(m.dataflow.map((flow) => flow.isolate.policy_hash), [last.policyHash]);
  // The middle isolate's identity hash covers its own principals (first's identity), not its receiver's hash.
  assert.notEqual(middle.identityHash, middle.policyHash);
  assert.equal(last.identityHash, last.policyHash);
});

test('refusals name the isolate and what is missing', async () => {
  const refused = async (promise: Promise<unknown>, code: Code, message: RegExp) =>
    assert.rejects(promise, (error: unknown) => error instanceof VeracruzError && error.code === code && message.test(error.rawMessage));
  await refused(planFleet(inputs(mapReduce(), { partyCertificates: {} })), Code.InvalidRequest, /^planFleet: no certificate for the party hospital-1$/);
  await refused(planFleet(inputs(mapReduce(), { programHashes: {} })), Code.InvalidRequest, /^planFleet: no hash for the program file build\/map\.wasm$/);
  await refused(planFleet(inputs(mapReduce(), { addresses: {} })), Code.InvalidRequest, /^planFleet: no address for the isolate /);
  await refused(
    planFleet(inputs(mapReduce(), { pasAddress: '127.0.0.1:7001' })),
    Code.InvalidPolicy,
    /^isolates\.mapper-1: --veracruz-server-ip and --proxy-attestation-server-ip are both 127\.0\.0\.1:7001/,
  );
  const expired = await createIdentity('hospital-1', { notBefore: new Date(AT.getTime() - 2 * 86_400_000), notAfter: new Date(AT.getTime() - 86_400_000) });
  await refused(
    planFleet(inputs(mapReduce(), { partyCertificates: { 'hospital-1': expired.certificatePem } })),
    Code.InvalidPolicy,
    /^isolates\.mapper-1: the generated policy does not parse: identities\[0\]\.certificate: /,
  );
});
