import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { refusedAs } from '@veracruz-ts/core/testing';
import { createIdentity, parsePolicy, parseRights, policyHash } from '@veracruz-ts/policy';
import {
  buildPolicy,
  collapseCertificate,
  generationWarnings,
  parseAwaitFlag,
  parseCapability,
  parseDataflowFlag,
  parseIsolateFlag,
  parseLimits,
  parseRenamablePaths,
  parseStream,
  withLeadingSlash,
  type PolicyInputs,
} from './generate.ts';
import { stringifySorted } from './json.ts';

const [alice, bob, pas] = await Promise.all([createIdentity('alice'), createIdentity('bob'), createIdentity('pas')]);
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

function inputs(overrides: Partial<PolicyInputs> = {}): PolicyInputs {
  return {
    certificates: [
      { source: 'alice.pem', pem: alice.certificatePem },
      { source: 'bob.pem', pem: bob.certificatePem },
    ],
    capabilities: ['/input/:w,/program/:wx,stdin:w', 'output/:r,/program/:x,stdout:r', '/input/:r,/output/:rw,stdout:w'],
    programs: [{ policyPath: '/program/sum.wasm', source: 'build/sum.wasm', sha256: HASH_A }],
    pipelines: [],
    hashes: [],
    veracruzServer: '127.0.0.1:3011',
    proxyAttestationServer: '127.0.0.1:3010',
    proxyServiceCertPem: pas.certificatePem,
    runtimeHashes: { linux: HASH_B },
    certificateExpiry: new Date('2027-07-01T08:52:37Z'),
    debug: false,
    executionStrategy: 'Interpretation',
    enableClock: false,
    maxMemoryMib: 256,
    nativeModules: [],
    programLimits: [],
    ...overrides,
  };
}

function refuses(overrides: Partial<PolicyInputs>, message: string | RegExp): void {
  assert.throws(() => buildPolicy(inputs(overrides)), refusedAs(Code.InvalidPolicy, message));
}

test('parses capabilities with Veracruz shorthands and leading slashes', () => {
  assert.deepEqual(parseCapability('/input/:w,output/:r,stdin:rw,/program/:wx,/x:24582', 'c'), [
    { file_name: '/input/', rights: 534084 },
    { file_name: '/output/', rights: 24582 },
    { file_name: 'stdin', rights: 550470 },
    { file_name: '/program/', rights: 537404996 },
    { file_name: '/x', rights: 24582 },
  ]);
  assert.deepEqual(parseCapability('', 'c'), []);
  assert.deepEqual(parseCapability('/a:b:r', 'c'), [{ file_name: '/a:b', rights: 24582 }]);
  assert.throws(() => parseCapability('/input', 'cap 1'), /cap 1: "\/input": expected path:rights/);
  assert.throws(() => parseCapability('/input:rwq', 'cap 1'), /cap 1: "\/input:rwq": rights "rwq": expected a combination/);
});

test('parses [path=]file lists and limits', () => {
  assert.deepEqual(parseRenamablePaths('a/b.wasm,/program/c.wasm=c.wasm,d=x/d.wasm', (file) => `/program/${file.split('/').pop()}`), [
    { policyPath: '/program/b.wasm', file: 'a/b.wasm' },
    { policyPath: '/program/c.wasm', file: 'c.wasm' },
    { policyPath: '/d', file: 'x/d.wasm' },
  ]);
  assert.throws(() => parseRenamablePaths('=x', (file) => file), /"=x": expected \[path=\]file/);
  assert.deepEqual(parseLimits('timeout_ms=5000, fuel=10,max_memory_mib=64', 'l'), { timeout_ms: 5000, fuel: 10, max_memory_mib: 64 });
  assert.deepEqual(parseLimits('fuel=18446744073709551615', 'l'), { fuel: 18446744073709551615n });
  assert.throws(() => parseLimits('timeout=5', 'l'), /l: unknown limit "timeout"/);
  assert.throws(() => parseLimits('max_memory_mib=5000', 'l'), /above what wasm32 allows \(4096\)/);
  assert.throws(() => parseLimits('fuel=0', 'l'), /fuel must be at least 1/);
  assert.throws(() => parseLimits('fuel=-1', 'l'), /"fuel=-1": expected name=integer/);
});

test('collapses certificate bodies onto one line, as Veracruz does', () => {
  assert.equal(collapseCertificate('-----BEGIN CERTIFICATE-----\nAB\nCD\n-----END CERTIFICATE-----'), '-----BEGIN CERTIFICATE-----\nABCD\n-----END CERTIFICATE-----');
});

test('builds the Veracruz layout: sorted keys, ids by order, null for absent hashes, program hashes first', async () => {
  const value = buildPolicy(
    inputs({
      hashes: [{ policyPath: '/data/table.csv', source: 'table.csv', sha256: HASH_B }],
      pipelines: ['/program/sum.wasm ; if /output/x { /program/sum.wasm }'],
      capabilities: ['/input/:w', '/output/:r', '/input/:r,/output/:rw', '/input/:r,/output/:rw'],
      programLimits: ['/program/sum.wasm:timeout_ms=100'],
      nativeModules: [{ name: 'Counter mode AES Service', specialFile: 'services/aesctr.dat', entryPoint: '' }],
    }),
  );
  const text = stringifySorted(value);
  const keys = [...text.matchAll(/^ {2}"([a-z_]+)":/gm)].map((match) => match[1]);
  assert.deepEqual(keys, [...keys].sort());
  assert.ok(!keys.includes('runtime_manager_hash_tdx'), 'tdx is written only when given');
  assert.ok(!keys.includes('limits'));
  const policy = await parsePolicy(text);
  assert.equal(policy.runtime_manager_hash_nitro, null);
  assert.match(text, /"runtime_manager_hash_nitro": null/);
  assert.deepEqual(policy.identities.map((identity) => identity.id), [0, 1]);
  assert.equal(policy.identities[0]?.certificate.split('\n').length, 3);
  assert.deepEqual(policy.file_hashes, [
    { file_path: '/program/sum.wasm', hash: HASH_A },
    { file_path: '/data/table.csv', hash: HASH_B },
  ]);
  assert.deepEqual(policy.pipelines.map((pipeline) => [pipeline.name, pipeline.id]), [['0', 0]]);
  assert.deepEqual(policy.programs[0]?.limits, { timeout_ms: 100 });
  assert.deepEqual(policy.native_modules, [{ name: 'Counter mode AES Service', type: { Static: { special_file: '/services/aesctr.dat' } } }]);
  assert.deepEqual(policy.enclave_cert_expiry, { year: 2027, month: 7, day: 1, hour: 8, minute: 52 });
  assert.equal(policy.execution_strategy, 'Interpretation');
});

test('native modules: Static, Dynamic, Provisioned', async () => {
  const value = buildPolicy(
    inputs({
      nativeModules: [
        { name: 's', specialFile: '/services/s.dat', entryPoint: '' },
        { name: 'd', specialFile: '/services/d.dat', entryPoint: '/nm/d' },
        { name: 'p', specialFile: '', entryPoint: '/nm/p' },
      ],
    }),
  );
  const policy = await parsePolicy(stringifySorted(value));
  assert.deepEqual(
    policy.native_modules.map((module) => Object.keys(module.type)[0]),
    ['Static', 'Dynamic', 'Provisioned'],
  );
  refuses({ nativeModules: [{ name: 'x', specialFile: '', entryPoint: '' }] }, 'native module 1 ("x"): give --native-module-special-file, --native-module-entry-point or both');
});

test('refuses bad input naming the flag and the value', () => {
  refuses({ capabilities: ['/input/:w'] }, 'expected 3 --capability values (2 certificates + 1 program + 0 pipelines, in that order), got 1');
  refuses(
    { capabilities: ['/input/:w', '/output/:r', '/output/:rwz'] },
    '--capability 3 of 3 (program /program/sum.wasm): "/output/:rwz": rights "rwz": expected a combination of r, w, x, a decimal number or right names joined by \'|\'',
  );
  refuses({ certificates: [{ source: 'a.pem', pem: 'junk' }, { source: 'bob.pem', pem: bob.certificatePem }] }, '--certificate a.pem: not a PEM certificate');
  refuses({ pipelines: ['a.wasm ; {'], capabilities: ['', '', '', ''] }, '--pipeline 1 ("a.wasm ; {"): expected \'}\' at 10 to close \'{\' at 9, found end of script');
  refuses(
    { programs: [{ policyPath: '/program/a.wasm', source: 'a.wasm', sha256: HASH_A }, { policyPath: '/program//a.wasm', source: 'b/a.wasm', sha256: HASH_B }], capabilities: ['', '', '', ''] },
    '--program-binary b/a.wasm: a program is already at /program/a.wasm',
  );
  refuses({ hashes: [{ policyPath: '/program/sum.wasm', source: 'other', sha256: HASH_B }] }, '--hashes other: /program/sum.wasm already has a hash (from build/sum.wasm)');
  refuses({ runtimeHashes: {} }, 'no runtime hash: give at least one of --css-file (linux), --pcr-file (nitro), --sevsnp-hash, --tdx-hash');
  refuses({ runtimeHashes: { tdx: 'XYZ' } }, 'runtime hash for tdx: expected 64 lowercase hex digits, got "XYZ"');
  refuses({ executionStrategy: 'jit' }, '--execution-strategy: expected Interpretation or JIT, got "jit"');
  refuses({ ciphersuite: 'TLS_AES_128_GCM_SHA256' }, /^--ciphersuite: unknown "TLS_AES_128_GCM_SHA256"/);
  refuses({ programLimits: ['/program/other.wasm:fuel=1'] }, '--program-limits "/program/other.wasm:fuel=1": no --program-binary is at /program/other.wasm');
  refuses({ programLimits: ['fuel=1'] }, '--program-limits "fuel=1": expected path:timeout_ms=..,fuel=..,max_memory_mib=..');
  refuses({ certificateExpiry: new Date('nope') }, '--certificate-expiry: not a date (expected RFC 2822 or ISO 8601)');
  refuses({ maxMemoryMib: 0 }, '--max-memory-mib: expected a positive integer, got 0');
});

test("places a program at the path as given, with a leading slash, as Veracruz's vc-pgen does", () => {
  assert.deepEqual(parseRenamablePaths('build/sum.wasm,/abs/b.wasm,/program/c.wasm=out/c.wasm', withLeadingSlash), [
    { policyPath: '/build/sum.wasm', file: 'build/sum.wasm' },
    { policyPath: '/abs/b.wasm', file: '/abs/b.wasm' },
    { policyPath: '/program/c.wasm', file: 'out/c.wasm' },
  ]);
});

test('refuses one address for vc-server and the PAS, and accepts a TLS 1.2 ciphersuite name', () => {
  refuses({ proxyAttestationServer: '127.0.0.1:3011' }, /^--veracruz-server-ip and --proxy-attestation-server-ip are both 127\.0\.0\.1:3011: vc-server and the PAS cannot listen on one address/);
  const value = buildPolicy(inputs({ ciphersuite: 'TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256' })) as Record<string, unknown>;
  assert.equal(value['ciphersuite'], 'TLS1_2_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256');
  refuses({ ciphersuite: 'TLS1_2_RSA_WITH_RC4_128_SHA' }, /^--ciphersuite: unknown "TLS1_2_RSA_WITH_RC4_128_SHA" \(known: TLS1_3_CHACHA20_POLY1305_SHA256, .*or a TLS 1\.2 AEAD suite/);
});

test('warns about an expiry already past (to the minute the policy keeps) and a TLS 1.2 suite; nothing for the defaults', () => {
  const now = new Date('2026-06-01T12:00:30Z');
  assert.deepEqual(generationWarnings({ certificateExpiry: new Date('2027-01-01T00:00:00Z') }, now), []);
  const [past] = generationWarnings({ certificateExpiry: new Date('2026-06-01T12:00:59Z') }, now);
  assert.match(past ?? '', /^--certificate-expiry 2026-06-01T12:00:00\.000Z is in the past: vc-server cannot start an isolate for this policy/);
  assert.deepEqual(generationWarnings({ certificateExpiry: new Date('2027-01-01T00:00:00Z'), ciphersuite: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' }, now), [
    '--ciphersuite TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 is a TLS 1.2 suite: the isolate speaks TLS 1.3 only, so TLS1_3_AES_256_GCM_SHA384 (the same cipher) is used',
  ]);
});

test('--sevsnp-hash takes the 96-digit SHA-384 launch measurement (64 digits from older policies); the other platforms 64', async () => {
  const policy = await parsePolicy(stringifySorted(buildPolicy(inputs({ runtimeHashes: { sevsnp: 'c'.repeat(96) } }))));
  assert.equal(policy.runtime_manager_hash_sevsnp, 'c'.repeat(96));
  assert.equal((await parsePolicy(stringifySorted(buildPolicy(inputs({ runtimeHashes: { sevsnp: 'c'.repeat(64) } }))))).runtime_manager_hash_sevsnp, 'c'.repeat(64));
  refuses({ runtimeHashes: { sevsnp: 'c'.repeat(80) } }, `runtime hash for sevsnp: expected 96 (or 64) lowercase hex digits, got "${'c'.repeat(80)}"`);
  refuses({ runtimeHashes: { tdx: 'c'.repeat(96) } }, `runtime hash for tdx: expected 64 lowercase hex digits, got "${'c'.repeat(96)}"`);
});

test('--stream: a path with a leading slash and any subset of its settings', () => {
  assert.deepEqual(parseStream('input/readings'), { path: '/input/readings' });
  assert.deepEqual(parseStream('/input/readings,deadline_ms=600000, max_buffered_bytes=1024,on_writer_disconnect=wait'), {
    path: '/input/readings', deadline_ms: 600_000, max_buffered_bytes: 1024, on_writer_disconnect: 'wait',
  });
  const refused = (text: string, message: string) =>
    assert.throws(() => parseStream(text), (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidPolicy && error.rawMessage === message);
  refused('', '--stream "": expected PATH[,deadline_ms=N][,max_buffered_bytes=N][,on_writer_disconnect=abort|close|wait]');
  refused('deadline_ms=5', '--stream "deadline_ms=5": expected PATH[,deadline_ms=N][,max_buffered_bytes=N][,on_writer_disconnect=abort|close|wait]');
  refused('stdin', '--stream "stdin": stdin is a standard stream; a policy stream is a file path');
  refused('/s,deadline_ms=0', '--stream "/s,deadline_ms=0": deadline_ms must be a positive integer, got "0"');
  refused('/s,max_buffered_bytes=1e6', '--stream "/s,max_buffered_bytes=1e6": max_buffered_bytes must be a positive integer, got "1e6"');
  refused('/s,deadline_ms=99999999999999999999', '--stream "/s,deadline_ms=99999999999999999999": deadline_ms must be a positive integer, got "99999999999999999999"');
  refused('/s,on_writer_disconnect=drop', '--stream "/s,on_writer_disconnect=drop": on_writer_disconnect must be abort, close or wait, got "drop"');
  refused('/s,deadline=5', '--stream "/s,deadline=5": unknown setting "deadline" (expected deadline_ms, max_buffered_bytes or on_writer_disconnect)');
  refused('/s,deadline_ms=5,deadline_ms=6', '--stream "/s,deadline_ms=5,deadline_ms=6": deadline_ms is given twice');
  refused('/s,path=/t', '--stream "/s,path=/t": path is given twice');
  refused('/s,5', '--stream "/s,5": "5": expected name=value');
});

test('streams are written only when given, and parse back with their defaults', async () => {
  const without = stringifySorted(buildPolicy(inputs()));
  assert.doesNotMatch(without, /"streams"/);
  const text = stringifySorted(buildPolicy(inputs({ streams: ['/input/readings,deadline_ms=60000', 'output/live,on_writer_disconnect=close'] })));
  assert.match(text, /\n {2}"streams": \[\n {4}\{\n {6}"deadline_ms": 60000,\n {6}"path": "\/input\/readings"\n {4}\}/);
  const policy = await parsePolicy(text);
  assert.deepEqual(policy.streams, [
    { path: '/input/readings', deadline_ms: 60_000, max_buffered_bytes: 8_388_608, on_writer_disconnect: 'abort' },
    { path: '/output/live', max_buffered_bytes: 8_388_608, on_writer_disconnect: 'close' },
  ]);
  refuses({ streams: ['/input/a', 'input//a'] }, '--stream "input//a": /input/a is already a stream (--stream "/input/a")');
});

const HASH_C = 'c'.repeat(64);
const HASH_D = 'd'.repeat(64);

test('isolate principals: ids after the certificates, capabilities after theirs, only the fields given', async () => {
  const value = buildPolicy(
    inputs({
      isolates: [{ policyHash: HASH_C }, { policyHash: HASH_D, proxyServiceCertPem: pas.certificatePem, runtimeHashes: { linux: HASH_A, sevsnp: 'e'.repeat(96) } }],
      capabilities: ['/input/a:w', '/output/:r', '/input/stats-1:w', '/input/stats-2:w', '/input/:r,/output/:rw'],
    }),
  ) as { identities: Record<string, unknown>[]; programs: Record<string, unknown>[] };
  assert.deepEqual(value.identities.map((identity) => identity['id']), [0, 1, 2, 3]);
  assert.deepEqual(value.identities[2], { id: 2, isolate: { policy_hash: HASH_C, proxy_service_cert: undefined, runtime_manager_hash_linux: undefined, runtime_manager_hash_nitro: undefined, runtime_manager_hash_sevsnp: undefined, runtime_manager_hash_tdx: undefined }, file_rights: [{ file_name: '/input/stats-1', rights: parseRights('w') }] });
  const text = stringifySorted(value as never);
  assert.match(text, new RegExp(`\\{\\n {8}"policy_hash": "${HASH_C}"\\n {6}\\}`), 'absent optional fields are left out');
  assert.match(text, new RegExp(`"policy_hash": "${HASH_D}",\\n {8}"proxy_service_cert": "-----BEGIN CERTIFICATE-----\\\\n`));
  assert.match(text, /"runtime_manager_hash_sevsnp": "e{96}"/);
  assert.deepEqual(value.programs[0]?.['file_rights'], [{ file_name: '/input/', rights: parseRights('r') }, { file_name: '/output/', rights: parseRights('rw') }]);
  const policy = await parsePolicy(text);
  assert.deepEqual(policy.isolate_principals.map((principal) => [principal.id, principal.isolate.policy_hash, principal.isolate.runtimeHashes]), [
    [2, HASH_C, [{ platform: 'linux', hash: HASH_B }]],
    [3, HASH_D, [{ platform: 'linux', hash: HASH_A }, { platform: 'sev-snp', hash: 'e'.repeat(96) }]],
  ]);
});

test('isolate principals: refusals name the flag and the value', () => {
  const two = ['', '', '', ''];
  refuses({ isolates: [{ policyHash: HASH_C }], capabilities: ['', '', ''] }, 'expected 4 --capability values (2 certificates + 1 isolate + 1 program + 0 pipelines, in that order), got 3');
  refuses({ isolates: [{ policyHash: 'C'.repeat(64) }], capabilities: two }, `--isolate 1: policy hash: expected 64 lowercase hex digits, got "${'C'.repeat(64)}"`);
  refuses({ isolates: [{ policyHash: HASH_C, source: 'mapper-1' }, { policyHash: HASH_C, source: 'mapper-2' }], capabilities: [...two, ''] }, `mapper-2: identity hash ${HASH_C} is already a principal (mapper-1): a principal could not be told apart`);
  refuses({ isolates: [{ policyHash: HASH_C, proxyServiceCertPem: 'junk' }], capabilities: two }, '--isolate 1: pas: not a PEM certificate');
  refuses({ isolates: [{ policyHash: HASH_C, runtimeHashes: { tdx: 'xyz' } }], capabilities: two }, '--isolate 1: runtime hash for tdx: expected 64 lowercase hex digits, got "xyz"');
  refuses(
    { isolates: [{ policyHash: HASH_C }], capabilities: ['', '', '/x:rq', ''] },
    /^--capability 3 of 4 \(isolate cccccccccccccccc\.\.\.\): "\/x:rq": rights "rq"/,
  );
});

test('dataflow and await_inputs are written only when given, and the policy still parses', async () => {
  assert.doesNotMatch(stringifySorted(buildPolicy(inputs())), /"dataflow"|"await_inputs"/);
  const text = stringifySorted(
    buildPolicy(
      inputs({
        dataflow: [
          { file: 'output/stats', path: '/input/stats-1', address: '127.0.0.1:7010', receiver: { policyHash: HASH_C } },
          { file: '/output/stats', path: 'input/copy', address: '[::1]:7011', receiver: { policyHash: HASH_D, runtimeHashes: { linux: HASH_A } } },
        ],
        awaitInputs: [{ program: 'program/sum.wasm', files: ['/input/a', 'input/b'], deadlineMs: 600_000 }],
      }),
    ),
  );
  const policy = await parsePolicy(text);
  assert.deepEqual(JSON.parse(text).dataflow, [
    { address: '127.0.0.1:7010', file: '/output/stats', isolate: { policy_hash: HASH_C }, path: '/input/stats-1' },
    { address: '[::1]:7011', file: '/output/stats', isolate: { policy_hash: HASH_D, runtime_manager_hash_linux: HASH_A }, path: '/input/copy' },
  ]);
  assert.deepEqual(JSON.parse(text).await_inputs, [{ deadline_ms: 600_000, files: ['/input/a', '/input/b'], program: '/program/sum.wasm' }]);
  assert.equal(policy.hash, await policyHash(text));
  const without = JSON.parse(stringifySorted(buildPolicy(inputs({ awaitInputs: [{ program: '/program/sum.wasm', files: ['/input/a'] }] }))));
  assert.deepEqual(without.await_inputs, [{ deadline_ms: 600_000, files: ['/input/a'], program: '/program/sum.wasm' }], 'deadline_ms: ten minutes unless given');
});

test('dataflow and await_inputs: refusals name the entry and the field', () => {
  const flow = { file: '/output/stats', path: '/input/s', address: '127.0.0.1:7010', receiver: { policyHash: HASH_C } };
  refuses({ dataflow: [{ ...flow, address: 'nowhere' }] }, '--dataflow 1: address "nowhere" is not host:port (or [v6]:port)');
  refuses({ dataflow: [{ ...flow, address: '127.0.0.1:0' }] }, '--dataflow 1: address 127.0.0.1:0: port 0 names no isolate');
  refuses({ dataflow: [{ ...flow, address: '127.0.0.1:3011' }] }, "--dataflow 1: address 127.0.0.1:3011 is this policy's own veracruz_server_url: an isolate does not send to itself");
  refuses({ dataflow: [{ ...flow, file: 'stdout' }] }, '--dataflow 1: file: stdout is a standard stream; a file path is expected');
  refuses({ dataflow: [{ ...flow, path: ' ' }] }, '--dataflow 1: path: an empty path');
  refuses({ dataflow: [flow, { ...flow, file: '/output/other', path: 'input//s', source: 'mapper-1' }] }, 'mapper-1: /input/s at 127.0.0.1:7010 is already written by --dataflow 1');
  refuses({ dataflow: [{ ...flow, receiver: { policyHash: 'abc' } }] }, '--dataflow 1: receiver: policy hash: expected 64 lowercase hex digits, got "abc"');
  const wait = { program: '/program/sum.wasm', files: ['/input/a'] };
  refuses({ awaitInputs: [{ ...wait, program: '/program/other.wasm' }] }, '--await 1: no --program-binary is at /program/other.wasm');
  refuses({ awaitInputs: [wait, { ...wait, source: 'reducer' }] }, 'reducer: /program/sum.wasm already waits for inputs (--await 1)');
  refuses({ awaitInputs: [{ ...wait, files: [] }] }, '--await 1: no files to wait for');
  refuses({ awaitInputs: [{ ...wait, files: ['/input/a', 'input/./a'] }] }, '--await 1: /input/a is listed twice');
  refuses({ awaitInputs: [{ ...wait, deadlineMs: 0 }] }, '--await 1: deadline_ms must be an integer from 1 to 2147483647, got 0');
  refuses({ awaitInputs: [{ ...wait, files: ['/input/'] }] }, "--await 1: files: /input/ ends with '/'; a file path is expected");
});

test('--isolate, --dataflow and --await values', () => {
  assert.deepEqual(parseIsolateFlag(HASH_C.toUpperCase()), { policyHash: HASH_C });
  assert.deepEqual(parseIsolateFlag(`${HASH_C},pas=ca/pas.pem, linux=${HASH_A.toUpperCase()},tdx=${HASH_B}`), { policyHash: HASH_C, pasFile: 'ca/pas.pem', runtimeHashes: { linux: HASH_A, tdx: HASH_B } });
  assert.deepEqual(parseDataflowFlag(`/output/stats=127.0.0.1:7010:/input/stats-1@${HASH_C}`), {
    file: '/output/stats', address: '127.0.0.1:7010', path: '/input/stats-1', receiver: { policyHash: HASH_C },
  });
  assert.deepEqual(parseDataflowFlag(`/output/s=[::1]:7010:/input/a@b/c@${HASH_C},pas=x@y.pem,linux=${HASH_A}`), {
    file: '/output/s', address: '[::1]:7010', path: '/input/a@b/c', receiver: { policyHash: HASH_C, pasFile: 'x@y.pem', runtimeHashes: { linux: HASH_A } },
  });
  assert.deepEqual(parseAwaitFlag('/program/reduce.wasm=/input/a,/input/b,deadline_ms=600000'), { program: '/program/reduce.wasm', files: ['/input/a', '/input/b'], deadlineMs: 600_000 });
  assert.deepEqual(parseAwaitFlag('/program/reduce.wasm=/input/a'), { program: '/program/reduce.wasm', files: ['/input/a'] });
  const refused = (parse: (text: string) => unknown, text: string, message: string) =>
    assert.throws(() => parse(text), (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidPolicy && error.rawMessage === message);
  refused(parseIsolateFlag, 'pas=x', '--isolate "pas=x": expected HASH[,pas=FILE][,linux=HEX][,sevsnp=HEX][,tdx=HEX][,nitro=HEX]');
  refused(parseIsolateFlag, `${HASH_C},sgx=${HASH_A}`, `--isolate "${HASH_C},sgx=${HASH_A}": unknown setting "sgx" (expected pas, linux, sevsnp, tdx or nitro)`);
  refused(parseIsolateFlag, `${HASH_C},pas=a,pas=b`, `--isolate "${HASH_C},pas=a,pas=b": pas is given twice`);
  refused(parseIsolateFlag, `${HASH_C},linux`, `--isolate "${HASH_C},linux": "linux": expected name=value`);
  const dataflowUsage = (text: string) => `--dataflow ${JSON.stringify(text)}: expected FILE=HOST:PORT:PATH@HASH[,pas=FILE][,linux=HEX][,sevsnp=HEX][,tdx=HEX][,nitro=HEX]`;
  for (const text of ['/output/s', `/output/s=127.0.0.1:/input/a@${HASH_C}`, '/output/s=127.0.0.1:7010:/input/a', `=127.0.0.1:7010:/input/a@${HASH_C}`, `/output/s=127.0.0.1:7010:@${HASH_C}`]) {
    refused(parseDataflowFlag, text, dataflowUsage(text));
  }
  refused(parseAwaitFlag, '/program/reduce.wasm', '--await "/program/reduce.wasm": expected PROGRAM=FILE[,FILE...][,deadline_ms=N]');
  refused(parseAwaitFlag, '/p=/input/a,,/input/b', '--await "/p=/input/a,,/input/b": an empty file name');
  refused(parseAwaitFlag, '/p=/input/a,timeout=5', '--await "/p=/input/a,timeout=5": unknown setting "timeout" (expected deadline_ms)');
  refused(parseAwaitFlag, '/p=/input/a,deadline_ms=soon', '--await "/p=/input/a,deadline_ms=soon": deadline_ms must be an integer from 1 to 2147483647, got "soon"');
  refused(parseAwaitFlag, '/p=/input/a,deadline_ms=2147483648', '--await "/p=/input/a,deadline_ms=2147483648": deadline_ms must be an integer from 1 to 2147483647, got "2147483648"');
  refused(parseAwaitFlag, '/p=/input/a,deadline_ms=1,deadline_ms=2', '--await "/p=/input/a,deadline_ms=1,deadline_ms=2": deadline_ms is given twice');
});

test("a sender generated with a zero placeholder for its receiver's hash has, as its policy hash, the final sender's identity hash", async () => {
  const plain = await parsePolicy(stringifySorted(buildPolicy(inputs())));
  assert.equal(plain.identityHash, plain.hash);
  const sender = (receiver: string) =>
    stringifySorted(buildPolicy(inputs({ dataflow: [{ file: '/output/s', path: '/input/s', address: '127.0.0.1:7010', receiver: { policyHash: receiver } }] })));
  const placeholder = await parsePolicy(sender('0'.repeat(64)));
  const [first, second] = await Promise.all([parsePolicy(sender(HASH_C)), parsePolicy(sender(HASH_D))]);
  assert.equal(first.identityHash, placeholder.hash);
  assert.equal(second.identityHash, placeholder.hash, "the receiver's hash does not change it");
  assert.notEqual(first.hash, placeholder.hash);
});
