import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { expectedFileHash, findIdentity, findIdentityByCertificate, findPipeline, findProgram, programLimits } from './policy-lookup.ts';
import { examplePolicy, expired, parse, resultReader } from './test-fixture.ts';

test('program limits default to the policy memory capped to wasm32, 60 s and unlimited fuel', async () => {
  const value = examplePolicy();
  value['max_memory_mib'] = 100_000;
  const policy = await parse(value);
  assert.deepEqual(programLimits(policy, '/program/detector.wasm'), { maxMemoryMib: 4096, timeoutMs: 60_000 });
  value['max_memory_mib'] = 256;
  value['limits'] = { fuel: 1000, max_memory_mib: 32 };
  value['programs'][0].limits = { timeout_ms: 10 };
  const limited = await parse(value);
  assert.deepEqual(programLimits(limited, '/program/detector.wasm'), { maxMemoryMib: 32, timeoutMs: 10, fuel: 1000 });
});

test('lookups: identity by certificate DER and id, program, pipeline, file hash', async () => {
  const policy = await parse(examplePolicy());
  const der = new Uint8Array(new X509Certificate(resultReader.certificatePem).raw);
  assert.equal(findIdentityByCertificate(policy, der)?.id, 1);
  assert.equal(findIdentityByCertificate(policy, new Uint8Array(new X509Certificate(expired.certificatePem).raw)), undefined);
  assert.equal(findIdentity(policy, 2)?.certificateInfo.commonName, 'program provider');
  assert.equal(findIdentity(policy, 9), undefined);
  assert.equal(findProgram(policy, 'program/./detector.wasm')?.id, 0);
  assert.equal(findProgram(policy, '/program/other.wasm'), undefined);
  assert.equal(findPipeline(policy, '0')?.name, '0');
  assert.equal(findPipeline(policy, 0)?.name, '0');
  assert.equal(findPipeline(policy, '1'), undefined);
  assert.equal(expectedFileHash(policy, '/program_data//coco.names'), '634a1132eb33f8091d60f2c346ababe8b905ae08387037aed883953b7329af84');
  assert.equal(expectedFileHash(policy, '/program_data/other'), undefined);
});
