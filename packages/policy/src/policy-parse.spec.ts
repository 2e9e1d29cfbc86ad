import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VeracruzError } from '@veracruz-ts/core';
import { programLimits, runtimeHash } from './policy-lookup.ts';
import { parsePolicy } from './policy-parse.ts';
import { AT, dataOwner, examplePolicy, expired, parse, rejects, resultReader } from './test-fixture.ts';

test('parses a Veracruz policy (example shape) with real certificates', async () => {
  const policy = await parse(examplePolicy());
  assert.equal(policy.identities.length, 3);
  assert.equal(policy.identities[1]?.certificateInfo.commonName, 'result reader');
  assert.equal(policy.identities[1]?.certificateInfo.notAfter.toISOString(), '2027-01-01T00:00:00.000Z');
  assert.equal(policy.programs[0]?.program_file_name, '/program/detector.wasm');
  assert.equal(policy.pipelines[0]?.expr.kind, 'sequence');
  assert.equal(policy.runtime_manager_hash_nitro, 'f2ae0de7bec92bcdbd4a96e2ae08d85a575f1aa64acb797bc4afa6b1d3cc8798');
  assert.equal(policy.runtime_manager_hash_linux, null);
  assert.equal(policy.runtime_manager_hash_tdx, null);
  assert.equal(policy.execution_strategy, 'JIT');
  assert.deepEqual(policy.enclave_cert_expiry, { day: 11, hour: 16, minute: 46, month: 4, year: 2023 });
  assert.equal(policy.proxyServiceCertInfo.commonName, 'PAS CA');
  assert.deepEqual(policy.native_modules, [{ name: 'Counter mode AES Service', type: { Static: { special_file: '/services/aesctr.dat' } } }]);
});

test('keeps unknown and legacy fields, and loads older policies without pipelines or native_modules', async () => {
  const value = examplePolicy();
  value['identities'][0].note = 'Alice';
  value['future_field'] = { a: 1 };
  delete value['pipelines'];
  delete value['native_modules'];
  const policy = await parse(value);
  assert.deepEqual(policy.unknownFields, {
    'identities[0].note': 'Alice',
    runtime_manager_hash_sgx: '',
    runtime_manager_hash_tz: '',
    future_field: { a: 1 },
  });
  assert.deepEqual(policy.pipelines, []);
  assert.deepEqual(policy.native_modules, []);
});

test('accepts the new optional fields', async () => {
  const value = examplePolicy();
  value['runtime_manager_hash_tdx'] = 'a'.repeat(64);
  value['runtime_manager_hash_nitro'] = null;
  value['limits'] = { timeout_ms: 5000 };
  value['programs'][0].limits = { max_memory_mib: 64, fuel: '18446744073709551615' };
  const policy = await parse(value);
  assert.equal(policy.runtime_manager_hash_tdx, 'a'.repeat(64));
  assert.equal(runtimeHash(policy, 'tdx'), 'a'.repeat(64));
  assert.equal(runtimeHash(policy, 'nitro'), undefined);
  assert.deepEqual(programLimits(policy, '/program/detector.wasm'), { maxMemoryMib: 64, timeoutMs: 5000, fuel: 18446744073709551615n });
  assert.deepEqual(programLimits(policy, 'program/other.wasm'), { maxMemoryMib: 2000, timeoutMs: 5000 });
});

test('certificate faults name the path and the dates', async () => {
  await rejects((p) => (p['identities'][2].certificate = 'hello'), 'identities[2].certificate: not a PEM certificate');
  await rejects(
    (p) => (p['identities'][2].certificate = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'),
    /^identities\[2\]\.certificate: not an X\.509 certificate \(/,
  );
  await rejects(
    (p) => (p['identities'][2].certificate = '-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----'),
    'identities[2].certificate: not a PEM certificate (the body is not base64)',
  );
  await rejects(
    (p) => (p['identities'][0].certificate = dataOwner.certificatePem + resultReader.certificatePem),
    'identities[0].certificate: expected one certificate, found 2',
  );
  await rejects(
    (p) => (p['identities'][0].certificate = dataOwner.privateKeyPem),
    'identities[0].certificate: not a PEM certificate (found BEGIN PRIVATE KEY)',
  );
  await rejects(
    (p) => (p['identities'][1].certificate = expired.certificatePem),
    'identities[1].certificate: certificate CN=old expired on 2023-04-11T16:46:00.000Z (valid from 2020-01-01T00:00:00.000Z to 2023-04-11T16:46:00.000Z; checked at 2026-06-01T00:00:00.000Z)',
  );
  await rejects(() => {}, /^identities\[0\]\.certificate: certificate CN=data owner not valid until 2026-01-01T00:00:00\.000Z/, {
    at: new Date('2025-12-31T00:00:00Z'),
  });
  await rejects((p) => (p['proxy_service_cert'] = 42), 'proxy_service_cert: expected a string, got 42');
  await rejects((p) => (p['proxy_service_cert'] = expired.certificatePem), /^proxy_service_cert: certificate CN=old expired on 2023-04-11/);
  await rejects((p) => (p['identities'][1].certificate = p['identities'][0].certificate), 'identities[1].certificate: same certificate as identities[0]: a principal could not be told apart');
  // Inspecting a policy may skip validity.
  const value = examplePolicy();
  value['identities'][1].certificate = expired.certificatePem;
  const inspected = await parse(value, { checkValidity: false });
  assert.equal(inspected.identities[1]?.certificateInfo.commonName, 'old');
});

test('structure, id, rights and hash faults name the path and the reason', async () => {
  await assert.rejects(parsePolicy('{"identities": [', { at: AT }), /^VeracruzError: \[invalid_policy\] \(policy\): not JSON: /);
  await assert.rejects(parsePolicy('[]', { at: AT }), (error: unknown) => (error as VeracruzError).rawMessage === '(policy): expected an object, got an array');
  await assert.rejects(parsePolicy(new Uint8Array([0x7b, 0xff, 0x7d]), { at: AT }), (error: unknown) => (error as VeracruzError).rawMessage === '(policy): not UTF-8 text');
  await rejects((p) => delete p['identities'], 'identities: missing');
  const repeated = JSON.stringify(examplePolicy(), null, 2).replace('"debug": true,', '"debug": false, "debug": true,');
  await assert.rejects(parsePolicy(repeated, { at: AT }), (error: unknown) =>
    (error as VeracruzError).rawMessage === 'debug: duplicate key: JSON readers disagree on which value counts, so parties could read different policies');
  await rejects((p) => (p['identities'] = {}), 'identities: expected an array, got an object');
  await rejects((p) => (p['identities'][1] = 'x'), 'identities[1]: expected an object, got "x"');
  await rejects((p) => (p['identities'][2].id = 0), 'identities[2].id: duplicate id 0 (also identities[0].id)');
  await rejects((p) => (p['identities'][2].id = -1), 'identities[2].id: -1 is out of range (0 to 2147483647)');
  await rejects((p) => (p['identities'][2].id = '2'), 'identities[2].id: expected an integer, got "2"');
  await rejects((p) => (p['identities'][0].file_rights[0].rights = 2 ** 30), 'identities[0].file_rights[0].rights: unknown rights bits 0x40000000 in 1073741824 (known bits are 0 to 29)');
  await rejects((p) => (p['identities'][0].file_rights[0].rights = 0xffffffff), 'identities[0].file_rights[0].rights: unknown rights bits 0xc0000000 in 4294967295 (known bits are 0 to 29)');
  await rejects((p) => (p['identities'][0].file_rights[0].rights = 2 ** 40 + 3), 'identities[0].file_rights[0].rights: unknown rights bits 0x10000000000 in 1099511627779 (known bits are 0 to 29)');
  await rejects((p) => (p['identities'][0].file_rights[0].rights = 'rw'), 'identities[0].file_rights[0].rights: expected rights as an unsigned integer, got "rw"');
  await rejects((p) => (p['identities'][0].file_rights[0].file_name = ''), 'identities[0].file_rights[0].file_name: must not be empty');
  await rejects(
    (p) => p['identities'][1].file_rights.push({ file_name: 'output', rights: 0 }),
    'identities[1].file_rights[5].file_name: "output" names the same path as identities[1].file_rights[1] (/output)',
  );
  await rejects((p) => (p['programs'][0].id = 4.5), 'programs[0].id: expected an integer, got 4.5');
  await rejects((p) => delete p['programs'][0].file_rights, 'programs[0].file_rights: missing');
  await rejects((p) => (p['file_hashes'][0].hash = 'F'.repeat(64)), `file_hashes[0].hash: expected 64 lowercase hex digits (SHA-256), got "${'F'.repeat(64)}"`);
  await rejects((p) => (p['file_hashes'][1].file_path = 'program/detector.wasm'), 'file_hashes[1].file_path: /program/detector.wasm already has a hash in file_hashes[0]');
  await rejects(
    (p) => p['file_hashes'].shift(),
    'programs[0].program_file_name: no hash in file_hashes for /program/detector.wasm: anyone allowed to write it could replace the program',
  );
  await rejects((p) => p['programs'].push({ ...p['programs'][0], id: 1 }), 'programs[1].program_file_name: /program/detector.wasm is already listed in programs[0]');
  await rejects((p) => (p['programs'][0].program_file_name = 'stdout'), 'programs[0].program_file_name: stdout is a stream, not a program path');
  const unhashed = examplePolicy();
  unhashed['file_hashes'].shift();
  assert.equal((await parse(unhashed, { requireProgramHashes: false })).file_hashes.length, 1);
});

test('pipeline, module, url, expiry, ciphersuite, runtime hash and setting faults', async () => {
  await rejects((p) => (p['pipelines'][0].pipeline = 'a.wasm ; if /p { b.wasm ; c.wasm'), "pipelines[0].pipeline: expected '}' at 32 to close '{' at 15, found end of script");
  await rejects((p) => p['pipelines'].push({ ...p['pipelines'][0] }), 'pipelines[1].id: duplicate id 0 (also pipelines[0].id)');
  await rejects((p) => (p['native_modules'][0].type = { Static: {} }), 'native_modules[0].type.Static.special_file: missing');
  await rejects((p) => (p['native_modules'][0].type = 'Static'), 'native_modules[0].type: expected an object, got "Static"');
  await rejects(
    (p) => (p['native_modules'][0].type = { Static: { special_file: '/s' }, Provisioned: { entry_point: '/e' } }),
    /^native_modules\[0\]\.type: expected one of/,
  );
  await rejects(
    (p) => p['native_modules'].push({ name: 'AEAD Service', type: { Dynamic: { special_file: '/services//aesctr.dat', entry_point: '/e' } } }),
    'native_modules[1].type: special file /services/aesctr.dat is also used by native_modules[0]',
  );
  await rejects((p) => p['native_modules'].push({ ...p['native_modules'][0] }), 'native_modules[1].name: duplicate module name "Counter mode AES Service" (also native_modules[0])');
  await rejects((p) => (p['veracruz_server_url'] = 'http://host:3014'), 'veracruz_server_url: expected host:port (port 1 to 65535), got "http://host:3014"');
  await rejects((p) => (p['proxy_attestation_server_url'] = '127.0.0.1:70000'), 'proxy_attestation_server_url: expected host:port (port 1 to 65535), got "127.0.0.1:70000"');
  await rejects((p) => (p['proxy_attestation_server_url'] = 'host'), /^proxy_attestation_server_url: expected host:port/);
  await rejects((p) => (p['enclave_cert_expiry'].month = 13), 'enclave_cert_expiry.month: 13 is out of range (1 to 12)');
  await rejects((p) => (p['enclave_cert_expiry'].minute = 60), 'enclave_cert_expiry.minute: 60 is out of range (0 to 59)');
  await rejects((p) => Object.assign(p['enclave_cert_expiry'], { month: 2, day: 30 }), 'enclave_cert_expiry.day: 30 is out of range (month 2 of 2023 has 28 days)');
  await rejects((p) => (p['ciphersuite'] = 'TLS_AES_128_GCM_SHA256'), /^ciphersuite: unknown ciphersuite "TLS_AES_128_GCM_SHA256" \(known: TLS1_3_CHACHA20_POLY1305_SHA256, /);
  await rejects((p) => (p['runtime_manager_hash_nitro'] = null), /^runtime_manager_hash_\*: no runtime hash: at least one of/);
  await rejects((p) => (p['runtime_manager_hash_linux'] = 'abc'), 'runtime_manager_hash_linux: expected 64 lowercase hex digits (SHA-256) or null, got "abc"');
  await rejects((p) => (p['debug'] = 'false'), 'debug: expected true or false, got "false"');
  await rejects((p) => (p['execution_strategy'] = 'Jit'), 'execution_strategy: expected "Interpretation" or "JIT", got "Jit"');
  await rejects((p) => (p['max_memory_mib'] = 0), 'max_memory_mib: 0 is out of range (1 to 4294967295)');
  await rejects((p) => (p['limits'] = { timeout: 5 }), 'limits.timeout: unknown limit (expected max_memory_mib, timeout_ms or fuel)');
  await rejects((p) => (p['programs'][0].limits = { max_memory_mib: 5000 }), 'programs[0].limits.max_memory_mib: 5000 is out of range (1 to 4096)');
  await rejects((p) => (p['programs'][0].limits = { fuel: -3 }), 'programs[0].limits.fuel: expected a positive integer (or a decimal string above 2^53), got -3');
  await rejects((p) => (p['limits'] = []), 'limits: expected an object, got an array');
});

test('runtime hashes in uppercase are accepted and read in lowercase, for every platform', async () => {
  const value = examplePolicy();
  value['runtime_manager_hash_linux'] = 'AB'.repeat(32);
  value['runtime_manager_hash_nitro'] = 'F2AE0DE7BEC92BCDBD4A96E2AE08D85A575f1aa64acb797bc4afa6b1d3cc8798';
  value['runtime_manager_hash_sevsnp'] = 'CD'.repeat(48);
  value['runtime_manager_hash_tdx'] = 'Ef'.repeat(32);
  const policy = await parse(value);
  assert.equal(policy.runtime_manager_hash_linux, 'ab'.repeat(32));
  assert.equal(policy.runtime_manager_hash_nitro, 'f2ae0de7bec92bcdbd4a96e2ae08d85a575f1aa64acb797bc4afa6b1d3cc8798');
  assert.equal(policy.runtime_manager_hash_sevsnp, 'cd'.repeat(48));
  assert.equal(policy.runtime_manager_hash_tdx, 'ef'.repeat(32));
  assert.equal(runtimeHash(policy, 'sev-snp'), 'cd'.repeat(48));
});

test('runtime_manager_hash_sevsnp is the 96-digit SHA-384 launch measurement (64 digits from older policies); the others stay 64', async () => {
  const value = examplePolicy();
  value['runtime_manager_hash_sevsnp'] = 'a'.repeat(96);
  assert.equal((await parse(value)).runtime_manager_hash_sevsnp, 'a'.repeat(96));
  value['runtime_manager_hash_sevsnp'] = 'b'.repeat(64);
  assert.equal((await parse(value)).runtime_manager_hash_sevsnp, 'b'.repeat(64));
  const sevsnpError = 'expected 96 hex digits (the SHA-384 launch measurement; older policies give its first 64) or null';
  await rejects((p) => (p['runtime_manager_hash_sevsnp'] = 'a'.repeat(40)), `runtime_manager_hash_sevsnp: ${sevsnpError}, got "${'a'.repeat(40)}"`);
  await rejects((p) => (p['runtime_manager_hash_sevsnp'] = 'a'.repeat(80)), /^runtime_manager_hash_sevsnp: expected 96 hex digits/);
  await rejects((p) => (p['runtime_manager_hash_sevsnp'] = `${'a'.repeat(95)}g`), new RegExp(`^runtime_manager_hash_sevsnp: ${sevsnpError.replace(/[()]/g, '\\$&')}`));
  await rejects((p) => (p['runtime_manager_hash_sevsnp'] = 42), /^runtime_manager_hash_sevsnp: expected 96 hex digits/);
  for (const field of ['runtime_manager_hash_linux', 'runtime_manager_hash_nitro', 'runtime_manager_hash_tdx']) {
    await rejects((p) => (p[field] = 'a'.repeat(96)), new RegExp(`^${field}: expected 64 lowercase hex digits \\(SHA-256\\) or null, got "a{40}`));
  }
});
