import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIdentity, parsePolicy } from '@veracruz-ts/policy';
import { explainPolicy, renderExplanation, type Explanation } from './explain.ts';

const AT = new Date('2026-06-01T00:00:00Z');
const validity = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z') };
const [hospitalA, hospitalB, analyst, provider, pas] = await Promise.all(
  ['hospital A', 'hospital B', 'analyst', 'provider', 'pas'].map((name) => createIdentity(name, validity)),
);
const soon = await createIdentity('soon', { notBefore: validity.notBefore, notAfter: new Date('2026-06-10T00:00:00Z') });
const old = await createIdentity('old', { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') });
const HASH = 'c'.repeat(64);

const r = 24582;
const w = 534084;
const rw = 550470;
const x = 536879108;
const wx = 537404996;

function basePolicy(): Record<string, any> {
  return {
    identities: [
      { id: 0, certificate: hospitalA!.certificatePem, file_rights: [{ file_name: '/input/a/', rights: w }] },
      { id: 1, certificate: hospitalB!.certificatePem, file_rights: [{ file_name: '/input/b/', rights: w }] },
      { id: 2, certificate: analyst!.certificatePem, file_rights: [{ file_name: '/output/', rights: r }, { file_name: '/program/', rights: x }] },
      { id: 3, certificate: provider!.certificatePem, file_rights: [{ file_name: '/program/', rights: wx }] },
    ],
    programs: [
      {
        id: 0,
        program_file_name: '/program/stats.wasm',
        file_rights: [
          { file_name: '/input/', rights: r },
          { file_name: '/scratch/', rights: rw },
        ],
      },
      {
        id: 1,
        program_file_name: '/program/report.wasm',
        file_rights: [
          { file_name: '/scratch/', rights: r },
          { file_name: '/output/', rights: rw },
        ],
      },
    ],
    file_hashes: [
      { file_path: '/program/stats.wasm', hash: HASH },
      { file_path: '/program/report.wasm', hash: HASH },
    ],
    pipelines: [{ id: 0, name: '0', pipeline: '/program/stats.wasm;/program/report.wasm', file_rights: [{ file_name: '/output/', rights: rw }] }],
    native_modules: [],
    veracruz_server_url: '127.0.0.1:3011',
    proxy_attestation_server_url: '127.0.0.1:3010',
    proxy_service_cert: pas!.certificatePem,
    enclave_cert_expiry: { year: 2026, month: 12, day: 1, hour: 0, minute: 0 },
    ciphersuite: 'TLS1_3_AES_128_GCM_SHA256',
    runtime_manager_hash_sevsnp: 'd'.repeat(64),
    debug: false,
    execution_strategy: 'Interpretation',
    enable_clock: false,
    max_memory_mib: 256,
  };
}

async function explain(value: Record<string, any>): Promise<Explanation> {
  const policy = await parsePolicy(JSON.stringify(value), { at: AT, checkValidity: false, requireProgramHashes: false });
  return explainPolicy(policy, { at: AT });
}

function messages(explanation: Explanation, severity: string): string[] {
  return explanation.risks.filter((risk) => risk.severity === severity).map((risk) => risk.message);
}

test('a clean two-hospital policy: flows through two programs, no high risk', async () => {
  const explanation = await explain(basePolicy());
  assert.deepEqual(messages(explanation, 'high'), []);
  assert.deepEqual(
    explanation.flows.map((flow) => [flow.from, flow.route.join(' > '), flow.to]),
    [
      [0, '/input/a > /program/stats.wasm > /scratch > /program/report.wasm > /output', 2],
      [1, '/input/b > /program/stats.wasm > /scratch > /program/report.wasm > /output', 2],
    ],
  );
  const medium = messages(explanation, 'medium');
  assert.equal(medium.length, 2);
  assert.match(medium[0]!, /^Data written by #0 \(hospital A\) reaches #2 \(analyst\) through programs/);
  assert.deepEqual(explanation.programs.map((program) => [program.path, program.writableBy, program.runnableBy]), [
    ['/program/stats.wasm', [3], [2, 3]],
    ['/program/report.wasm', [3], [2, 3]],
  ]);
  assert.deepEqual(explanation.pipelines[0]?.runnableBy, [2, 3]);
  assert.deepEqual(explanation.runtimes, [{ platform: 'sev-snp', hash: 'd'.repeat(64) }]);
  assert.deepEqual(explanation.ciphersuite, { veracruz: 'TLS1_3_AES_128_GCM_SHA256', openssl: 'TLS_AES_128_GCM_SHA256' });
  assert.deepEqual(explanation.settings.defaultLimits, { maxMemoryMib: 256, timeoutMs: 60_000 });
  assert.equal(explanation.principals[0]?.validity, 'valid');
  assert.deepEqual(messages(explanation, 'info'), [
    'execution_strategy "Interpretation" is kept for Veracruz compatibility and changes nothing here: every program runs on V8 with the same limits either way.',
  ]);
});

test('flags direct disclosure, shared writes, missing hashes, rights on "/", certificates, debug, clock, linux and unknown fields', async () => {
  const value = basePolicy();
  value['identities'][2].file_rights.push({ file_name: '/input/', rights: r });
  value['identities'][1].file_rights.push({ file_name: '/input/a/', rights: w });
  value['identities'][1].certificate = old!.certificatePem;
  value['identities'][3].certificate = soon!.certificatePem;
  value['identities'].push({ id: 4, certificate: (await createIdentity('admin', validity)).certificatePem, file_rights: [{ file_name: '/', rights: rw }] });
  value['file_hashes'] = [{ file_path: '/program/report.wasm', hash: HASH }];
  value['debug'] = true;
  value['enable_clock'] = true;
  value['runtime_manager_hash_linux'] = 'e'.repeat(64);
  value['runtime_manager_hash_sgx'] = '';
  value['native_modules'] = [{ name: 'n', type: { Provisioned: { entry_point: '/nm/n' } } }];
  value['programs'][1].file_rights.push({ file_name: '/program/', rights: w });
  const explanation = await explain(value);
  const high = messages(explanation, 'high');
  const all = explanation.risks.map((risk) => `${risk.severity}: ${risk.message}`).join('\n');
  assert.ok(high.some((message) => message.startsWith('Identity #1 (old): certificate expired on 2021-01-01T00:00:00.000Z')), all);
  assert.ok(high.some((message) => message.startsWith('Identity #4 (admin) has rights on "/"')), all);
  assert.ok(high.some((message) => message.startsWith('Program /program/stats.wasm has no entry in file_hashes') && message.includes('#3 (soon), #4 (admin)')), all);
  assert.ok(high.some((message) => message.startsWith('Pipeline 0 runs /program/stats.wasm, which has no entry in file_hashes')), all);
  assert.ok(high.some((message) => message.startsWith('The policy trusts the linux software isolate')), all);
  assert.ok(high.includes('Program /program/report.wasm can write /program/stats.wasm: file_hashes pin what parties upload, but a running program could replace the binary that later runs.'), all);
  const medium = messages(explanation, 'medium');
  assert.ok(medium.includes('#2 (analyst) can read /input/a directly, which #0 (hospital A) can write: no program stands in between, so whatever #0 (hospital A) puts there is disclosed as is.'), all);
  assert.ok(medium.some((message) => message.startsWith('#0 (hospital A) and #1 (old) and #4 (admin) can all write /input/a')), all);
  assert.ok(medium.some((message) => message.startsWith('debug is true')), all);
  assert.ok(medium.some((message) => message.startsWith('Native module "n" is Provisioned')), all);
  const low = messages(explanation, 'low');
  assert.ok(low.includes('Identity #3 (soon): certificate expires in 9 days (2026-06-10T00:00:00.000Z).'), all);
  assert.ok(low.some((message) => message.startsWith('enable_clock is true')), all);
  assert.ok(low.includes("Fields this version ignores: runtime_manager_hash_sgx. Make sure every party's tools read the policy the same way."), all);
  // Most severe first.
  const order = explanation.risks.map((risk) => ['high', 'medium', 'low', 'info'].indexOf(risk.severity));
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
});

test('a single party computing on its own data has no cross-party flow', async () => {
  const value = basePolicy();
  value['identities'] = [{ id: 0, certificate: hospitalA!.certificatePem, file_rights: [{ file_name: '/input/', rights: w }, { file_name: '/output/', rights: r }, { file_name: '/program/', rights: wx }] }];
  const explanation = await explain(value);
  assert.deepEqual(explanation.flows, []);
  assert.deepEqual(messages(explanation, 'medium'), []);
});

test('renders every section as plain text without colour codes', async () => {
  const text = renderExplanation(await explain(basePolicy()), { source: 'policy.json' });
  for (const heading of ['Policy policy.json', 'Principals (4)', 'Programs (2)', 'Pipelines (1)', 'Trust', 'Settings', 'Data flows between parties (2)', 'Risks (3)']) {
    assert.ok(text.includes(`\n${heading}\n`) || text.startsWith(`${heading}\n`), heading);
  }
  assert.match(text, /SHA-256 {5}[0-9a-f]{64}/);
  assert.match(text, /#2 \(analyst\) {2}CN=analyst\n {4}certificate 2026-01-01 to 2027-01-01: valid\n {4}\/output {3}read {5}\[r\]\n {4}\/program {2}execute {2}\[x\]/);
  assert.match(text, /#0 \(hospital A\) writes \/input\/a\n {4}-> \/program\/stats\.wasm reads it and writes \/scratch\n {4}-> \/program\/report\.wasm reads it and writes \/output\n {4}-> #2 \(analyst\) reads \/output/);
  assert.match(text, / {4}sev-snp {2}d{64}/);
  assert.doesNotMatch(text, /\u001b\[/);
  assert.match(renderExplanation(await explain(basePolicy()), { color: true }), /\u001b\[/);
});

test("Veracruz's execute value without FD_SEEK is shown as ineffective and grants no run", async () => {
  const value = basePolicy();
  value['identities'][2].file_rights[1].rights = 536879104;
  value['identities'][3].file_rights[0].rights = w;
  const explanation = await explain(value);
  assert.equal(explanation.principals[2]?.rights[1]?.verbs, 'execute (ineffective: lacks FD_SEEK)');
  assert.deepEqual(explanation.programs[0]?.runnableBy, []);
  assert.ok(messages(explanation, 'info').includes('Program /program/stats.wasm: no identity can run it (needs FD_EXECUTE and FD_SEEK on its path).'));
  assert.ok(messages(explanation, 'info').includes('Pipeline 0: no identity can run all its programs.'));
});
