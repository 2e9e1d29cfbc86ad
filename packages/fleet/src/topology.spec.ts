import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '@veracruz-ts/core';
import { refusedAs } from '@veracruz-ts/core/testing';
import { mapReduce } from './test-fixture.ts';
import { parseTopology } from './topology.ts';

function refuses(topology: unknown, message: string | RegExp): void {
  assert.throws(() => parseTopology(typeof topology === 'string' ? topology : JSON.stringify(topology)), refusedAs(Code.InvalidPolicy, message));
}

/** `mapReduce()` with `change` applied to a copy. */
function changed(change: (topology: any) => void): Record<string, unknown> {
  const topology = mapReduce();
  change(topology);
  return topology;
}

test('parses a map-reduce topology: parties, programs with their rights, sends, await, senders first', () => {
  const topology = parseTopology(JSON.stringify(mapReduce()));
  assert.equal(topology.platform, 'linux');
  assert.equal(topology.listen, '127.0.0.1');
  assert.deepEqual(topology.parties, [{ name: 'hospital-1' }, { name: 'hospital-2' }, { name: 'analyst' }]);
  assert.deepEqual(topology.order, ['mapper-1', 'mapper-2', 'reducer']);
  const [mapper, second, reducer] = topology.isolates;
  assert.deepEqual(mapper, {
    name: 'mapper-1',
    programs: [{ path: '/program/map.wasm', file: 'build/map.wasm', rights: '/input/:r,/output/:rw' }],
    rights: [{ party: 'hospital-1', capability: '/input/records.csv:w,/program/map.wasm:x' }],
    sends: [{ file: '/output/stats.dat', to: 'reducer', path: '/input/stats/mapper-1' }],
  });
  assert.equal(second?.maxMemoryMib, 128);
  assert.deepEqual(reducer?.await, { program: '/program/reduce.wasm', deadlineMs: 600000 });
  assert.equal(reducer?.port, 7010);
  assert.deepEqual(reducer?.sends, []);
});

test('defaults: linux on 127.0.0.1; parties given as an object, with or without a certificate', () => {
  const topology = parseTopology(JSON.stringify({
    parties: { alice: {}, bob: { certificate: 'certs/bob.pem' } },
    isolates: { solo: { rights: { alice: '/input/:w', bob: '/output/:r' } } },
  }));
  assert.equal(topology.platform, 'linux');
  assert.equal(topology.listen, '127.0.0.1');
  assert.deepEqual(topology.parties, [{ name: 'alice' }, { name: 'bob', certificate: 'certs/bob.pem' }]);
  assert.deepEqual(topology.isolates[0], { name: 'solo', programs: [], rights: [{ party: 'alice', capability: '/input/:w' }, { party: 'bob', capability: '/output/:r' }], sends: [] });
});

test('orders senders before receivers along a chain, whatever the order written', () => {
  const topology = parseTopology(JSON.stringify({
    parties: ['p'],
    isolates: {
      last: { rights: { p: '/output/:r' } },
      middle: { sends: [{ file: '/output/b', to: 'last', path: '/input/b' }] },
      first: { sends: [{ file: '/output/a', to: 'middle', path: '/input/a' }, { file: '/output/a', to: 'last', path: '/input/a' }] },
    },
  }));
  assert.deepEqual(topology.order, ['first', 'middle', 'last']);
});

test('refuses what is not a topology, naming the field', () => {
  refuses('{', /^\(topology\): not JSON: /);
  refuses([], '(topology): expected an object, got an array');
  refuses({ parties: ['p'] }, 'isolates: expected an object, got nothing');
  refuses({ isolates: {} }, 'isolates: no isolates');
  refuses(changed((t) => (t.platform = 'sev-snp')), 'platform: only "linux" is supported, got "sev-snp"');
  refuses(changed((t) => (t.listen = 'local host')), 'listen: expected a host name or IP address, got "local host"');
  refuses(changed((t) => (t.network = {})), 'network: unknown field (expected platform, listen, parties, isolates)');
  refuses(changed((t) => (t.parties = ['a', 'a'])), 'parties: a party is named twice');
  refuses(changed((t) => (t.parties = ['../a'])), /^parties\[0\]: "\.\.\/a": use letters, digits/);
  refuses(changed((t) => (t.parties = { a: { cert: 'a.pem' } })), 'parties.a.cert: unknown field (expected certificate)');
  refuses(changed((t) => (t.isolates['bad name'] = {})), /^isolates\.bad name: "bad name": use letters/);
  refuses(changed((t) => (t.isolates.reducer.sends_to = [])), 'isolates.reducer.sends_to: unknown field (expected programs, program_rights, rights, sends, await, max_memory_mib, port)');
  refuses(changed((t) => (t.isolates.reducer.max_memory_mib = 5000)), 'isolates.reducer.max_memory_mib: expected an integer from 1 to 4096, got 5000');
  refuses(changed((t) => (t.isolates['mapper-1'].port = 7010)), 'isolates.reducer.port: 7010 is already mapper-1\'s');
});

test('refuses programs without rights, rights for unknown parties, and bad capabilities', () => {
  refuses(changed((t) => (t.isolates['mapper-1'].program_rights = {})), 'isolates.mapper-1.program_rights: no capability for the program /program/map.wasm');
  refuses(changed((t) => (t.isolates['mapper-1'].program_rights['/program/other.wasm'] = '/input/:r')), 'isolates.mapper-1.program_rights./program/other.wasm: unknown field (expected one capability per program in programs)');
  refuses(changed((t) => (t.isolates['mapper-1'].programs = { 'program/map.wasm': 'x' })), 'isolates.mapper-1.programs.program/map.wasm: expected an absolute file path inside the isolate, got "program/map.wasm"');
  refuses(changed((t) => (t.isolates.reducer.rights = { auditor: '/output/:r' })), 'isolates.reducer.rights.auditor: no party named "auditor" (parties: hospital-1, hospital-2, analyst)');
  refuses(changed((t) => (t.isolates.reducer.rights = { analyst: '/output/:rq' })), /^isolates\.reducer\.rights\.analyst: "\/output\/:rq": rights "rq"/);
  refuses(changed((t) => (t.isolates.reducer.rights = { analyst: 7 })), 'isolates.reducer.rights.analyst: expected a capability such as "/input/:r,/output/:w", got 7');
});

test('refuses sends to unknown isolates, a path sent to twice, and cycles, naming them', () => {
  refuses(changed((t) => (t.isolates['mapper-1'].sends[0].to = 'reduser')), 'isolates.mapper-1.sends[0].to: no isolate named "reduser" (isolates: mapper-1, mapper-2, reducer)');
  refuses(changed((t) => (t.isolates['mapper-2'].sends[0].path = '/input/stats//mapper-1')), 'isolates.mapper-2.sends[0].path: /input/stats/mapper-1 in reducer is already written by isolates.mapper-1.sends[0]: each sent file needs a path of its own');
  refuses(changed((t) => (t.isolates['mapper-1'].sends[0].file = 'stdout')), 'isolates.mapper-1.sends[0].file: expected an absolute file path inside the isolate, got "stdout"');
  refuses(changed((t) => (t.isolates['mapper-1'].sends[0].path = '/input/stats/')), 'isolates.mapper-1.sends[0].path: expected an absolute file path inside the isolate, got "/input/stats/"');
  refuses(changed((t) => (t.isolates['mapper-1'].sends[0].when = 'always')), 'isolates.mapper-1.sends[0].when: unknown field (expected file, to, path)');
  refuses(changed((t) => (t.isolates['mapper-1'].sends[0].to = 'mapper-1')), /^isolates: the sends form a cycle, mapper-1 -> mapper-1: /);
  refuses(
    changed((t) => (t.isolates.reducer.sends = [{ file: '/output/model.dat', to: 'mapper-2', path: '/input/model.dat' }])),
    "isolates: the sends form a cycle, mapper-2 -> reducer -> mapper-2: a sender's identity must be fixed before its receiver's policy, so outputs cannot flow in a circle",
  );
  refuses(
    { isolates: { a: { sends: [{ file: '/o', to: 'b', path: '/i' }] }, b: { sends: [{ file: '/o', to: 'c', path: '/i' }] }, c: { sends: [{ file: '/o', to: 'a', path: '/i' }] } } },
    /^isolates: the sends form a cycle, a -> b -> c -> a: /,
  );
});

test('refuses an await for a program the isolate lacks, or on an isolate nothing is sent to', () => {
  refuses(changed((t) => (t.isolates.reducer.await.program = '/program/map.wasm')), "isolates.reducer.await.program: /program/map.wasm is not one of this isolate's programs");
  refuses(changed((t) => (t.isolates.reducer.await.deadline_ms = 0)), 'isolates.reducer.await.deadline_ms: expected an integer from 1 to 2147483647, got 0');
  refuses(changed((t) => (t.isolates.reducer.await.files = ['/input/a'])), 'isolates.reducer.await.files: unknown field (expected program, deadline_ms)');
  refuses(changed((t) => (t.isolates['mapper-1'].await = { program: '/program/map.wasm' })), 'isolates.mapper-1.await: nothing is sent to mapper-1, so there is nothing to wait for');
});
