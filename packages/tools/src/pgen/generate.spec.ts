import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { createIdentity, parsePolicy } from '@veracruz-ts/policy';
import { buildPolicy, collapseCertificate, generationWarnings, parseCapability, parseLimits, parseRenamablePaths, parseStream, withLeadingSlash, type PolicyInputs } from './generate.ts';
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
  assert.throws(
    () => buildPolicy(inputs(overrides)),
    (error: unknown) => {
      assert.ok(error instanceof VeracruzError);
      assert.equal(error.code, Code.InvalidPolicy);
      if (typeof message === 'string') assert.equal(error.rawMessage, message);
      else assert.match(error.rawMessage, message);
      return true;
    },
  );
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
