import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPemBlocks } from '@veracruz-ts/core';
import { createIdentity, parsePolicy, unknownTopLevelKeys } from '@veracruz-ts/policy';
import { explainPolicy } from './explain-analysis.ts';
import type { Explanation } from './explain-model.ts';
import { renderExplanation, renderExplanationJson } from './explain-render.ts';
import { DEFAULT_CIPHERSUITE, DEFAULT_MAX_MEMORY_MIB, buildPolicy } from './generate.ts';
import { stringifySorted } from './json.ts';

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
  assert.deepEqual(explanation.ciphersuite, { veracruz: 'TLS1_3_AES_128_GCM_SHA256', inUse: 'TLS1_3_AES_128_GCM_SHA256', openssl: 'TLS_AES_128_GCM_SHA256', tls12: false });
  assert.deepEqual(explanation.settings.defaultLimits, { maxMemoryMib: 256, timeoutMs: 60_000 });
  assert.equal(explanation.principals[0]?.validity, 'valid');
  // execution_strategy changes nothing here: it is a setting, not a finding.
  assert.deepEqual(messages(explanation, 'low'), []);
  assert.deepEqual(messages(explanation, 'info'), []);
});

test("flags no risk for vc-pgen's own defaults (JIT, no debug, no clock, its ciphersuite and memory)", async () => {
  const value = buildPolicy({
    certificates: [{ source: 'a.pem', pem: hospitalA!.certificatePem }],
    capabilities: ['/input/:w,/output/:r,/program/:wx', '/input/:r,/output/:rw'],
    programs: [{ policyPath: '/program/stats.wasm', source: 'stats.wasm', sha256: HASH }],
    pipelines: [],
    hashes: [],
    veracruzServer: '127.0.0.1:3011',
    proxyAttestationServer: '127.0.0.1:3010',
    proxyServiceCertPem: pas!.certificatePem,
    runtimeHashes: { sevsnp: 'd'.repeat(64) },
    certificateExpiry: new Date('2026-12-01T00:00:00Z'),
    debug: false,
    executionStrategy: 'JIT',
    enableClock: false,
    maxMemoryMib: DEFAULT_MAX_MEMORY_MIB,
    nativeModules: [],
    programLimits: [],
  });
  const policy = await parsePolicy(stringifySorted(value), { at: AT });
  assert.equal(policy.ciphersuite, DEFAULT_CIPHERSUITE);
  const explanation = explainPolicy(policy, { at: AT });
  assert.deepEqual(explanation.risks, []);
  assert.match(renderExplanation(explanation), /\nRisks \(0\)\n-+\n\(none found\)\n/);
});

test('enclave_cert_expiry: past is a high risk, near is a low one, and the summary says what it does', async () => {
  const value = basePolicy();
  value['enclave_cert_expiry'] = { year: 2026, month: 5, day: 31, hour: 23, minute: 59 };
  const past = await explain(value);
  assert.deepEqual(messages(past, 'high'), [
    'enclave_cert_expiry (2026-05-31 23:59 UTC) has passed: vc-server cannot start an isolate for this policy, and the certificate of an isolate started before it has expired, so every party refuses that isolate.',
  ]);
  assert.equal(past.enclaveCertExpiryValidity, 'expired');
  value['enclave_cert_expiry'] = { year: 2026, month: 6, day: 11, hour: 0, minute: 0 };
  const near = await explain(value);
  assert.deepEqual(messages(near, 'low'), [
    "enclave_cert_expiry (2026-06-11 00:00 UTC) expires in 10 days: after it, parties refuse the isolate's certificate and no isolate can be started for this policy.",
  ]);
  value['enclave_cert_expiry'] = { year: 4000000000, month: 1, day: 1, hour: 0, minute: 0 };
  assert.equal((await explain(value)).enclaveCertExpiryValidity, 'valid', 'a year past what Date holds is far in the future');
  const text = renderExplanation(await explain(basePolicy())).replace(/\n {20}/g, ' ');
  assert.match(text, /\nenclave_cert_expiry 2026-12-01 00:00 UTC: valid\. The isolate's certificate expires by then at the latest \(vc-server asks the PAS for that cap\)/);
  assert.doesNotMatch(text, /not enforced/);
});

test('a TLS 1.2 ciphersuite is accepted, with a warning naming the TLS 1.3 suite used instead', async () => {
  const value = basePolicy();
  value['ciphersuite'] = 'TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256';
  const explanation = await explain(value);
  assert.deepEqual(explanation.ciphersuite, {
    veracruz: 'TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', inUse: 'TLS1_3_CHACHA20_POLY1305_SHA256', openssl: 'TLS_CHACHA20_POLY1305_SHA256', tls12: true,
  });
  assert.deepEqual(messages(explanation, 'low'), [
    'ciphersuite "TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" is a TLS 1.2 suite, which Veracruz accepted: the isolate speaks TLS 1.3 only, so TLS1_3_CHACHA20_POLY1305_SHA256 (TLS_CHACHA20_POLY1305_SHA256, the same AEAD cipher) is used for every connection.',
  ]);
  assert.match(renderExplanation(explanation), /\nTLS {9}TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 is TLS 1\.2: TLS 1\.3 TLS1_3_CHACHA20_POLY1305_SHA256 \(TLS_CHACHA20_POLY1305_SHA256\) is used instead\n/);
  assert.match(renderExplanation(await explain(basePolicy())), /\nTLS {9}TLS 1\.3 TLS1_3_AES_128_GCM_SHA256 \(TLS_AES_128_GCM_SHA256\)\n/);
});

test('defines its terms once, before they are used', async () => {
  const text = renderExplanation(await explain(basePolicy()));
  const terms = text.indexOf('\nTerms\n');
  assert.ok(terms > 0 && terms < text.indexOf('\nPrincipals ('), 'Terms come first');
  for (const term of ['principal', 'isolate', 'runtime hash', 'PAS', 'data flow']) {
    assert.equal(text.split('\n').filter((line) => line.startsWith(`${term.padEnd(14)}`)).length, 1, `${term} is defined once`);
  }
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
  for (const heading of ['Policy policy.json', 'Principals (4)', 'Programs (2)', 'Pipelines (1)', 'Trust', 'Settings', 'Data flows between parties (2)', 'Risks (2)']) {
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

/** Anything a terminal would hide or reorder; none may reach the rendered text unescaped. */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

function assertNothingHidden(text: string): void {
  for (const line of text.split('\n')) assert.doesNotMatch(line, HIDDEN);
}

test('a path with a bidirectional override renders escaped and is flagged where it is written', async () => {
  const value = basePolicy();
  value['identities'][0].file_rights.push({ file_name: '/input/a/\u202Etxt.exe', rights: w });
  value['programs'][0].file_rights.push({ file_name: '/input/a/\u202Etxt.exe', rights: r });
  value['programs'][1].program_file_name = '/program/re\u2066port.wasm';
  value['file_hashes'][1].file_path = '/program/re\u2066port.wasm';
  value['pipelines'][0].pipeline = '/program/stats.wasm;/program/re\u2066port.wasm';
  const explanation = await explain(value);
  const high = messages(explanation, 'high');
  assert.ok(
    high.includes(
      '"/input/a/\\u{202E}txt.exe" (identities[0].file_rights[1].file_name, programs[0].file_rights[2].file_name) contains control or bidirectional characters that can make it display as something else. They are shown escaped here; an editor or another tool may draw them invisibly or reorder the text around them.',
    ),
    high.join('\n'),
  );
  assert.ok(high.some((message) => message.startsWith('"/program/re\\u{2066}port.wasm" (programs[1].program_file_name, file_hashes[1].file_path) contains control or bidirectional')), high.join('\n'));
  assert.ok(high.some((message) => message.startsWith('"/program/stats.wasm;/program/re\\u{2066}port.wasm" (pipelines[0].pipeline) contains')), high.join('\n'));
  // The structured summary keeps the policy's text as data; only what is shown is escaped.
  assert.equal(explanation.programs[1]?.path, '/program/re\u2066port.wasm');
  const text = renderExplanation(explanation, { source: 'policy.json' });
  assertNothingHidden(text);
  assert.match(text, /\n {4}\/input\/a\/\\u\{202E\}txt\.exe {2}write/);
  assert.match(text, /\n\/program\/re\\u\{2066\}port\.wasm {2}\(program id 1\)/);
  assert.match(text, /script {6}\/program\/stats\.wasm ; \/program\/re\\u\{2066\}port\.wasm\n/);
});

test('control characters from names, certificates, modules and the file name are escaped in the output', async () => {
  const value = basePolicy();
  value['identities'][1].certificate = (await createIdentity('hospital\u001b[2J B\u0007', validity)).certificatePem;
  value['pipelines'][0].name = 'nightly\r"run"\u0000';
  value['native_modules'] = [{ name: 'mod\u200B"x"', type: { Static: { special_file: '/services/\u0008ok' } } }];
  const explanation = await explain(value);
  const text = renderExplanation(explanation, { source: 'po\u001blicy.json' });
  assertNothingHidden(text);
  assert.ok(text.startsWith('Policy po\\u{1B}licy.json\n'), text.slice(0, 40));
  assert.match(text, /\n#1 \(hospital\\u\{1B\}\[2J B\\u\{7\}\) {2}CN=hospital\\u\{1B\}\[2J B\\u\{7\}\n/);
  assert.ok(text.includes('\n0: "nightly\\r\\"run\\"\\u{0}" (id 0)\n'), text);
  assert.ok(text.includes('\n"mod\\u{200B}\\"x\\""  Static  special file /services/\\u{8}ok\n'), text);
  const high = messages(explanation, 'high');
  for (const [shown, where] of [
    ['CN=hospital\\u{1B}[2J B\\u{7}', 'subject of identities[1].certificate'],
    ['nightly\\r\\"run\\"\\u{0}', 'pipelines[0].name'],
    ['mod\\u{200B}\\"x\\"', 'native_modules[0].name'],
    ['/services/\\u{8}ok', 'native_modules[0].type.Static.special_file'],
  ]) {
    assert.ok(high.some((message) => message.startsWith(`"${shown}" (${where}) contains control or bidirectional characters`)), `${shown}\n${high.join('\n')}`);
  }
  // Risk messages quote other parties' names too: escaped there as well.
  assert.ok(explanation.risks.every((risk) => !HIDDEN.test(risk.message)));
  assert.ok(messages(explanation, 'medium').some((message) => message.includes('#1 (hospital\\u{1B}[2J B\\u{7})')));
});

test('unknown top-level keys are listed as ignored, escaped', async () => {
  const value = basePolicy();
  value['foo'] = 1;
  value['evil\u202Ekey'] = 'x';
  value['identities[0].note'] = 'a top-level key spelled like a nested path';
  value['identities'][1].note = 'nested';
  const text = JSON.stringify(value).replace(/^\{/, '{"__proto__": {"debug": true},');
  const policy = await parsePolicy(text, { at: AT, checkValidity: false, requireProgramHashes: false });
  assert.deepEqual(unknownTopLevelKeys(policy), ['__proto__', 'foo', 'evil\u202Ekey', 'identities[0].note']);
  const explanation = explainPolicy(policy, { at: AT });
  assert.deepEqual(explanation.ignoredTopLevelKeys, ['__proto__', 'foo', 'evil\u202Ekey', 'identities[0].note']);
  const rendered = renderExplanation(explanation);
  assertNothingHidden(rendered);
  assert.ok(
    rendered.includes(
      [
        'Ignored by this version (5)',
        '---------------------------',
        "ignored: unknown top-level key '__proto__'",
        "ignored: unknown top-level key 'foo'",
        "ignored: unknown top-level key 'evil\\u{202E}key'",
        "ignored: unknown top-level key 'identities[0].note'",
        "ignored: unknown field 'identities[1].note'",
      ].join('\n'),
    ),
    rendered,
  );
  assert.ok(messages(explanation, 'low').some((message) => message.startsWith('Fields this version ignores: ') && message.includes('evil\\u{202E}key') && message.includes('__proto__')));
  assert.ok(messages(explanation, 'high').some((message) => message.startsWith('"evil\\u{202E}key" (the name of an ignored field) contains control or bidirectional')));
  // Without unknown fields the section says so.
  assert.match(renderExplanation(await explain(basePolicy())), /\nIgnored by this version \(0\)\n-+\n\(none: this version reads every field of the policy\)\n/);
});

test('shows the memory budget, what counts against it, and each program cap drawn from it', async () => {
  const value = basePolicy();
  value['programs'][1].limits = { max_memory_mib: 64 };
  value['pipelines'][0].pipeline = '/program/stats.wasm;/program/report.wasm;/program/extra.wasm';
  const explanation = await explain(value);
  assert.equal(explanation.memoryBudget.mib, 256);
  assert.equal(explanation.memoryBudget.servingReserveMib, 32);
  assert.deepEqual(explanation.memoryBudget.programs, [
    { path: '/program/stats.wasm', maxMemoryMib: 256 },
    { path: '/program/report.wasm', maxMemoryMib: 64 },
    { path: '/program/extra.wasm', maxMemoryMib: 256 },
  ]);
  const text = renderExplanation(explanation);
  assert.ok(
    text.includes(
      [
        'Memory budget',
        '-------------',
        '256 MiB (max_memory_mib) is all the memory the isolate holds for principals. It counts:',
        '    files: their contents plus 256 bytes and the name\'s length for each file or directory',
        '    input given to programs on stdin',
        '    captured stdout and stderr',
        '    per-session buffers',
        '    requests being received and responses pending',
        "    running programs' memory",
        "Files, streams and programs' memory together may use 224 MiB of it: the last 32 MiB",
        'are kept for sessions, requests and responses, so that results filling the rest can still be read.',
        'Whatever would not fit is refused before it is stored: a write gets limit_exceeded; a program',
        'gets ENOSPC or a failed allocation, and its run ends with limit_exceeded naming the resource.',
        'Where the host gives the isolate sealed storage (vc-server does, by default), file contents beyond',
        "the budget are sealed out to the host's disk instead, up to that storage's bound: encrypted, and",
        'any change caught; the host learns their sizes and the order they are used, never their contents.',
        "Each program's own memory cap, drawn from the same budget:",
        '    /program/stats.wasm   256 MiB (the whole budget, which it shares with everything above)',
        '    /program/report.wasm  64 MiB',
        '    /program/extra.wasm   256 MiB (the whole budget, which it shares with everything above)',
      ].join('\n'),
    ),
    text,
  );
  assert.match(text, /\nmax_memory_mib {6}256 \(the isolate's whole memory budget: see Memory budget\)\n/);

  // A program allowed more than the whole budget is told it will meet the budget first.
  value['max_memory_mib'] = 32;
  const small = await explain(value);
  assert.deepEqual(small.memoryBudget.programs.map((program) => program.maxMemoryMib), [32, 64, 32]);
  assert.match(renderExplanation(small), /\n {4}\/program\/report\.wasm {2}64 MiB \(more than the whole budget: the budget stops it first\)\n/);
  assert.ok(
    messages(small, 'info').includes(
      "Program /program/report.wasm may grow its memory to 64 MiB, more than the isolate's whole budget (max_memory_mib 32 MiB): it will be refused memory once the budget is used up, by it and by everything else the isolate holds.",
    ),
    messages(small, 'info').join('\n'),
  );
});

test('lists streams: input ones with their writers, output ones with the programs writing them, and their settings', async () => {
  const value = basePolicy();
  value['identities'][2].file_rights.push({ file_name: '/input/a/readings', rights: r });
  value['streams'] = [
    { path: '/input/a/readings', deadline_ms: 600000, on_writer_disconnect: 'wait' },
    { path: '/output/live', max_buffered_bytes: 1024 },
    { path: '/nowhere/feed', on_writer_disconnect: 'wait' },
  ];
  const explanation = await explain(value);
  assert.deepEqual(explanation.streams, [
    { path: '/input/a/readings', kind: 'input', writers: [0], writtenBy: [], followers: [2], deadlineMs: 600000, maxBufferedBytes: 8388608, onWriterDisconnect: 'wait' },
    { path: '/output/live', kind: 'output', writers: [], writtenBy: ['/program/report.wasm', 'pipeline 0'], followers: [2], deadlineMs: undefined, maxBufferedBytes: 1024, onWriterDisconnect: 'abort' },
    { path: '/nowhere/feed', kind: 'output', writers: [], writtenBy: [], followers: [], deadlineMs: undefined, maxBufferedBytes: 8388608, onWriterDisconnect: 'wait' },
  ]);
  assert.ok(messages(explanation, 'info').includes('Stream /nowhere/feed: no identity, program or pipeline can write it, so it stays empty and whoever follows it waits in vain.'));
  // A deadline bounds a writer that never comes back: no risk for the first stream.
  assert.deepEqual(messages(explanation, 'low').filter((message) => message.startsWith('Stream')), []);
  delete value['streams'][0].deadline_ms;
  assert.ok(messages(await explain(value), 'low').some((message) => message.startsWith('Stream /input/a/readings has no deadline and waits for a writer that leaves without closing it: if #0 (hospital A) never come back')));
  const text = renderExplanation(explanation);
  assert.match(
    text,
    /\nStreams \(3\)\n-+\n\/input\/a\/readings {2}\(input stream\)\n {4}appended by {5}#0 \(hospital A\); it ends when all of them have closed it\n {4}writer leaves {3}before closing it: nothing happens \(wait\)/,
  );
  assert.match(text, /\n\/output\/live {2}\(output stream\)\n {4}written by {6}\/program\/report\.wasm, pipeline 0; it ends when such a run finishes/);
  assert.match(text, /\n {4}deadline {8}600000 ms after it opens/);
  assert.match(text, /\n {4}buffered {8}appends are held while more than 1024 bytes wait unread by a running program/);
  // A policy without streams has no such section.
  assert.doesNotMatch(renderExplanation(await explain(basePolicy())), /Streams/);
});

test('reports an input stream the host can end early: on_writer_disconnect close, or a deadline; not the defaults', async () => {
  const value = basePolicy();
  value['streams'] = [
    { path: '/input/a/closing', on_writer_disconnect: 'close' },
    { path: '/input/a/timed', deadline_ms: 5000 },
    { path: '/input/a/default' },
    // An output stream is written by programs: no writer connection to cut, no deadline that applies.
    { path: '/output/live', on_writer_disconnect: 'close', deadline_ms: 5000 },
  ];
  const explanation = await explain(value);
  const early = 'the program then computes on what arrived, and nothing tells it, or whoever reads its results, that data is missing.';
  assert.deepEqual(messages(explanation, 'medium').filter((message) => message.startsWith('Stream')), [
    `Stream /input/a/closing: the host can end this stream early by cutting a writer's connection (on_writer_disconnect "close" counts a writer that leaves without closing it as done); ${early}`,
    `Stream /input/a/timed: the host can end this stream early by delaying a writer's data past its deadline (deadline_ms 5000); ${early}`,
  ]);
  assert.match(renderExplanation(explanation), /\nMEDIUM {2}Stream \/input\/a\/closing: the host can end this stream early/);
  // The defaults (abort, no deadline) leave the host no way to end a stream early unnoticed.
  assert.deepEqual(explanation.streams.find((stream) => stream.path === '/input/a/default')?.onWriterDisconnect, 'abort');
  assert.deepEqual(explanation.streams.find((stream) => stream.path === '/input/a/default')?.deadlineMs, undefined);
  assert.ok(explanation.risks.every((risk) => !risk.message.startsWith('Stream /input/a/default') && !risk.message.startsWith('Stream /output/live')));
});

/** basePolicy in a network of isolates: two isolates as principals, a result pushed to a third, a program waiting for inputs. */
function networkPolicy(otherPas: string): Record<string, any> {
  const value = basePolicy();
  value['identities'].push(
    { id: 4, isolate: { policy_hash: '1'.repeat(64) }, file_rights: [{ file_name: '/input/stats-1', rights: w }] },
    {
      id: 5,
      isolate: { policy_hash: '2'.repeat(64), proxy_service_cert: otherPas, runtime_manager_hash_linux: 'A'.repeat(64), runtime_manager_hash_tdx: '3'.repeat(64) },
      file_rights: [{ file_name: '/input/stats-2', rights: w }],
    },
  );
  value['dataflow'] = [{ file: '/output/stats', path: '/input/stats-9', address: '127.0.0.1:7010', isolate: { policy_hash: '9'.repeat(64) } }];
  value['await_inputs'] = [{ program: '/program/stats.wasm', files: ['/input/stats-1', '/input/stats-2', '/input/stats-3'], deadline_ms: 600000 }];
  return value;
}

test('a policy in a network of isolates: isolate principals, data leaving, inputs awaited and the identity hash', async () => {
  const otherPas = await createIdentity('other pas', { notBefore: validity.notBefore, notAfter: new Date('2026-06-20T00:00:00Z') });
  const policy = await parsePolicy(JSON.stringify(networkPolicy(otherPas.certificatePem)), { at: AT, checkValidity: false, requireProgramHashes: false });
  assert.notEqual(policy.identityHash, policy.hash);
  const explanation = explainPolicy(policy, { at: AT });
  const network = explanation.network!;
  const otherPasSha256 = createHash('sha256').update(readPemBlocks(otherPas.certificatePem)[0]!.der).digest('hex');
  assert.equal(network.identityHash, policy.identityHash);
  assert.deepEqual(network.isolatePrincipals, [
    {
      id: 4,
      identityHash: '1'.repeat(64),
      peer: { ownPas: true, ownRuntimes: true, runtimes: [{ platform: 'sev-snp', hash: 'd'.repeat(64) }] },
      rights: [{ path: '/input/stats-1', rights: w, verbs: 'write', short: 'w' }],
    },
    {
      id: 5,
      identityHash: '2'.repeat(64),
      peer: {
        ownPas: false,
        otherPas: {
          subject: 'CN=other pas',
          commonName: 'other pas',
          sha256: otherPasSha256,
          notBefore: validity.notBefore,
          notAfter: new Date('2026-06-20T00:00:00Z'),
          validity: 'expires in 19 days',
        },
        ownRuntimes: false,
        runtimes: [
          { platform: 'linux', hash: 'a'.repeat(64) },
          { platform: 'tdx', hash: '3'.repeat(64) },
        ],
      },
      rights: [{ path: '/input/stats-2', rights: w, verbs: 'write', short: 'w' }],
    },
  ]);
  assert.deepEqual(network.dataflow, [
    {
      file: '/output/stats',
      path: '/input/stats-9',
      address: '127.0.0.1:7010',
      policyHash: '9'.repeat(64),
      peer: { ownPas: true, ownRuntimes: true, runtimes: [{ platform: 'sev-snp', hash: 'd'.repeat(64) }] },
      writtenBy: ['/program/report.wasm', 'pipeline 0'],
      carries: [0, 1, 4, 5],
    },
  ]);
  assert.deepEqual(network.awaitInputs, [
    {
      program: '/program/stats.wasm',
      files: [
        { path: '/input/stats-1', writers: [4], writtenBy: [] },
        { path: '/input/stats-2', writers: [5], writtenBy: [] },
        { path: '/input/stats-3', writers: [], writtenBy: [] },
      ],
      deadlineMs: 600000,
    },
  ]);
  // The isolates' data flows to the analyst like the hospitals' does.
  assert.ok(explanation.flows.some((flow) => flow.from === 4 && flow.to === 2 && flow.route[0] === '/input/stats-1'));

  assert.ok(
    messages(explanation, 'medium').includes(
      `Data leaves this isolate: after every successful program run, /output/stats is pushed to /input/stats-9 on the isolate at 127.0.0.1:7010, whose policy (SHA-256 ${'9'.repeat(64)}), not this one, decides who can read it there. It can carry data written by #0 (hospital A), #1 (hospital B), #4 (isolate), #5 (isolate). Read that policy before agreeing.`,
    ),
  );
  assert.ok(
    messages(explanation, 'medium').includes(
      `Identity #5 (isolate) is verified by a PAS CA other than this policy's (CN=other pas, SHA-256 ${otherPasSha256}): whoever controls that PAS can certify an isolate that acts as #5 (isolate), with its rights here. Agree only if you trust that PAS as you trust this policy's.`,
    ),
  );
  assert.ok(messages(explanation, 'low').includes('Identity #5 (isolate): its PAS CA certificate expires in 19 days (2026-06-20T00:00:00.000Z).'));
  assert.ok(
    messages(explanation, 'high').includes(
      'Identity #5 (isolate) may be a linux software isolate (runtime_manager_hash_linux): it has no hardware protection, so whoever controls its host can read what that isolate reads here and choose what it writes.',
    ),
  );
  assert.ok(
    messages(explanation, 'info').includes(
      'Program /program/stats.wasm waits for /input/stats-3, which no principal, program or pipeline can write: each run of it fails after 600000 ms (unavailable).',
    ),
  );

  const text = renderExplanation(explanation);
  assert.match(text, new RegExp(`^Policy\\n=+\\nSHA-256 {5}${policy.hash}\\nIdentity {4}${policy.identityHash} {2}\\(how other isolates' policies name this one: see Terms\\)\\n`));
  assert.equal(text.split('\n').filter((line) => line.startsWith('identity hash ')).length, 1, 'the identity hash is a term');
  assert.match(text, /\nPrincipals \(6\)\n/);
  assert.ok(
    text.includes(
      [
        '#4 (isolate)  another isolate, known by the identity hash its certificate carries',
        `    identity hash   ${'1'.repeat(64)}`,
        "    PAS CA          this policy's own (see Trust)",
        "    runtime hash    one of this policy's own (see Trust)",
        '    /input/stats-1  write  [w]',
        '#5 (isolate)  another isolate, known by the identity hash its certificate carries',
        `    identity hash   ${'2'.repeat(64)}`,
        "    PAS CA          NOT this policy's: CN=other pas, 2026-01-01 to 2026-06-20: expires in 19 days",
        `                    SHA-256 ${otherPasSha256}`,
        '    runtime hash    one of its own:',
        `                    linux    ${'a'.repeat(64)}  (software isolate, not hardware-protected)`,
        `                    tdx      ${'3'.repeat(64)}`,
        '    /input/stats-2  write  [w]',
      ].join('\n'),
    ),
    text,
  );
  assert.ok(
    text.includes(
      [
        'Programs waiting for inputs (1)',
        '-------------------------------',
        '/program/stats.wasm  waits for these files, up to 600000 ms from the request to run it:',
        '    /input/stats-1  written by #4 (isolate)',
        '    /input/stats-2  written by #5 (isolate)',
        '    /input/stats-3  written by nobody',
        '    then, if any is still missing, the run fails (unavailable), naming the missing files',
      ].join('\n'),
    ),
    text,
  );
  assert.ok(
    text.includes(
      [
        'Data leaving this isolate (1)',
        '-----------------------------',
        '/output/stats  ->  /input/stats-9 on the isolate at 127.0.0.1:7010',
        `    policy hash     ${'9'.repeat(64)} (of the receiving isolate's policy: its certificate must carry it)`,
        "    PAS CA          this policy's own (see Trust)",
        "    runtime hash    one of this policy's own (see Trust)",
        '    written by      /program/report.wasm, pipeline 0',
        '    carries data of #0 (hospital A), #1 (hospital B), #4 (isolate), #5 (isolate)',
        '',
        'Each file is pushed whole after every successful program run here, and again until it is delivered.',
        "The receiving isolate's policy, not this one, decides who can read it there: read that policy too.",
      ].join('\n'),
    ),
    text,
  );
  assert.ok(text.indexOf('\nData leaving this isolate (1)\n') > text.indexOf('\nData flows between parties ('), 'after the data flows between parties');
  assert.match(text, /\nMEDIUM {2}Data leaves this isolate: after every successful program run, \/output\/stats is pushed to/);
  assert.equal(JSON.parse(renderExplanationJson(explanation)).network.dataflow[0].address, '127.0.0.1:7010');
});

test('a peer isolate: an unreadable or expired PAS CA, a file nothing writes, and hidden characters', async () => {
  const value = networkPolicy(old!.certificatePem);
  value['dataflow'][0].isolate.proxy_service_cert = 'not a certificate';
  value['dataflow'].push({ file: '/nothing/here', path: '/in\u202Ebox', address: 'peer.example:7011', isolate: { policy_hash: '8'.repeat(64) } });
  const explanation = await explain(value);
  const high = messages(explanation, 'high');
  assert.ok(high.includes('Identity #5 (isolate): its PAS CA certificate expired on 2021-01-01T00:00:00.000Z: no isolate can be verified as it, so #5 (isolate) cannot connect.'), high.join('\n'));
  assert.ok(
    high.includes(
      'The isolate receiving /output/stats at 127.0.0.1:7010: the PAS CA written for it (proxy_service_cert) is not a PEM certificate: no isolate can be verified as it, so /output/stats is never delivered.',
    ),
    high.join('\n'),
  );
  assert.ok(high.some((message) => message.startsWith('"/in\\u{202E}box" (dataflow[1].path) contains control or bidirectional characters')), high.join('\n'));
  assert.ok(
    messages(explanation, 'info').includes('Dataflow of /nothing/here: no principal, program or pipeline can write it here, so nothing is ever pushed to /in\\u{202E}box on the isolate at peer.example:7011.'),
  );
  // Nothing is pushed from a file nothing writes: no data leaves through it.
  assert.ok(explanation.risks.every((risk) => !risk.message.startsWith('Data leaves this isolate: after every successful program run, /nothing/here')));
  const text = renderExplanation(explanation);
  assertNothingHidden(text);
  assert.match(text, /\n {4}PAS CA {10}NOT A CERTIFICATE: not a PEM certificate\n/);
  assert.match(text, /\n {4}written by {6}no program or pipeline\n {4}carries data of nobody\n/);
});

test('a policy without isolate principals, dataflow or await_inputs shows none of it', async () => {
  const explanation = await explain(basePolicy());
  assert.equal(explanation.network, undefined);
  assert.ok(!('network' in JSON.parse(renderExplanationJson(explanation))));
  const text = renderExplanation(explanation);
  assert.match(text, /^Policy\n=+\nSHA-256 {5}[0-9a-f]{64}\nChecked at {2}/);
  assert.match(text, /\nPrincipals \(4\)\n/);
  for (const absent of [/\nIdentity /, /\nidentity hash/, /isolate\)/, /Programs waiting for inputs/, /Data leaving this isolate/, /Data leaves this isolate/]) assert.doesNotMatch(text, absent);
});
