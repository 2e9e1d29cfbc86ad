import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parsePolicy } from './policy-parse.ts';
import { AT, examplePolicy, parse, pas, rejects } from './test-fixture.ts';

const PEER = 'ab'.repeat(32);
const RECEIVER = 'cd'.repeat(32);
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

test('a policy without isolate principals, dataflow or await_inputs loads and hashes as before', async () => {
  const text = JSON.stringify(examplePolicy(), null, 2);
  const policy = await parsePolicy(text, { at: AT });
  assert.deepEqual([policy.isolate_principals, policy.dataflow, policy.await_inputs], [[], [], []]);
  assert.equal(policy.hash, sha256(text));
  assert.equal(policy.identityHash, policy.hash);
});

test('reads an isolate principal, defaulting to the policy\'s own PAS CA and runtime hashes', async () => {
  const value = examplePolicy();
  value['identities'].push({ id: 9, isolate: { policy_hash: PEER }, file_rights: [{ file_name: '/input/stats/m1', rights: 4 }] });
  value['identities'].push({ id: 10, isolate: { policy_hash: PEER, proxy_service_cert: pas.certificatePem, runtime_manager_hash_linux: 'EF'.repeat(32) }, file_rights: [] });
  const policy = await parse(value);
  const [first, second] = policy.isolate_principals;
  assert.equal(policy.identities.length, value['identities'].length - 2);
  assert.deepEqual(first, {
    id: 9, index: value['identities'].length - 2, file_rights: [{ file_name: '/input/stats/m1', rights: 4 }],
    isolate: { policy_hash: PEER, proxy_service_cert: policy.proxy_service_cert, runtimeHashes: ([['linux', policy.runtime_manager_hash_linux], ['nitro', policy.runtime_manager_hash_nitro], ['sev-snp', policy.runtime_manager_hash_sevsnp], ['tdx', policy.runtime_manager_hash_tdx]] as const).flatMap(([platform, hash]) => (hash === null ? [] : [{ platform, hash }])) },
  });
  assert.deepEqual(second?.isolate, { policy_hash: PEER, proxy_service_cert: pas.certificatePem, runtimeHashes: [{ platform: 'linux', hash: 'ef'.repeat(32) }] });
});

test('reads dataflow and await_inputs with normalised paths; the identity hash blanks the receivers\' hashes', async () => {
  const value = examplePolicy();
  value['dataflow'] = [{ file: '/output//stats.dat', path: '/input/stats/./m1', address: '127.0.0.1:7010', isolate: { policy_hash: RECEIVER } }];
  value['await_inputs'] = [{ program: '/program/reduce.wasm', files: ['/input/stats/m1', '/input/stats/m2'], deadline_ms: 60_000 }];
  const text = JSON.stringify(value, null, 2);
  const policy = await parsePolicy(text, { at: AT });
  assert.deepEqual(policy.dataflow.map(({ file, path, address, isolate }) => [file, path, address, isolate.policy_hash]), [['/output/stats.dat', '/input/stats/m1', '127.0.0.1:7010', RECEIVER]]);
  assert.deepEqual(policy.await_inputs, [{ program: '/program/reduce.wasm', files: ['/input/stats/m1', '/input/stats/m2'], deadline_ms: 60_000 }]);
  assert.equal(policy.hash, sha256(text));
  assert.equal(policy.identityHash, sha256(text.replace(RECEIVER, '0'.repeat(64))));
  // The same sender pointed at another receiver keeps its identity; any other change does not.
  const elsewhere = await parsePolicy(text.replace(RECEIVER, 'ee'.repeat(32)), { at: AT });
  assert.notEqual(elsewhere.hash, policy.hash);
  assert.equal(elsewhere.identityHash, policy.identityHash);
  const otherFile = await parsePolicy(text.replace('/output//stats.dat', '/output/other.dat'), { at: AT });
  assert.notEqual(otherFile.identityHash, policy.identityHash);
  assert.deepEqual(Object.keys(policy.unknownFields).filter((key) => /dataflow|await/.test(key)), []);
});

test('refuses malformed network entries, naming the field', async () => {
  await rejects((p) => p['identities'].push({ id: 9, isolate: { policy_hash: 'AB' }, file_rights: [] }), /^identities\[\d+\]\.isolate\.policy_hash: expected 64 lowercase hex digits/);
  await rejects((p) => p['identities'].push({ id: 9, isolate: { policy_hash: PEER, runtime_manager_hash_linux: 'x' }, file_rights: [] }), /^identities\[\d+\]\.isolate\.runtime_manager_hash_linux: expected 64/);
  await rejects((p) => p['identities'].push({ id: 0, isolate: { policy_hash: PEER }, file_rights: [] }), /^identities\[\d+\]\.id: duplicate id 0/);
  // 0x80000000 and up name programs in the programs' ABI.
  await rejects((p) => p['identities'].push({ id: 0x80000000, isolate: { policy_hash: PEER }, file_rights: [] }), /^identities\[\d+\]\.id: 2147483648 is out of range \(0 to 2147483647\)/);
  await rejects((p) => p['identities'].push({ ...p['identities'][0], id: 9, isolate: { policy_hash: PEER } }), /^identities\[\d+\]\.isolate: an identity is a certificate or an isolate, not both/);
  await rejects((p) => (p['dataflow'] = [{ file: '/output/a', path: '/input/a', address: 'nowhere', isolate: { policy_hash: RECEIVER } }]), 'dataflow[0].address: expected host:port, got "nowhere"');
  await rejects((p) => (p['dataflow'] = [{ file: 'output/a', path: '/input/a', address: 'h:1', isolate: { policy_hash: RECEIVER } }]), 'dataflow[0].file: expected an absolute file path, got "output/a"');
  await rejects((p) => (p['dataflow'] = [{ file: '/output/a', path: '/input/a', address: 'h:1' }]), 'dataflow[0].isolate: missing');
  await rejects((p) => (p['await_inputs'] = [{ program: '/program/r.wasm', files: ['/input/'], deadline_ms: 1 }]), 'await_inputs[0].files[0]: expected an absolute file path, got "/input/"');
  await rejects((p) => (p['await_inputs'] = [{ program: '/program/r.wasm', files: [], deadline_ms: 0 }]), 'await_inputs[0].deadline_ms: 0 is out of range (1 to 2147483647)');
});
