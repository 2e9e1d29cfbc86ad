import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { policyHash } from './policy-hash.ts';
import { parsePolicy } from './policy-parse.ts';
import { AT, examplePolicy, parse } from './test-fixture.ts';

test('the hash is the SHA-256 of the exact bytes, as text or bytes, BOM included', async () => {
  const text = JSON.stringify(examplePolicy(), null, 2);
  const expected = createHash('sha256').update(text).digest('hex');
  assert.equal(await policyHash(text), expected);
  assert.equal((await parsePolicy(text, { at: AT })).hash, expected);
  assert.equal((await parsePolicy(text, { at: AT })).text, text);
  const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text)]);
  const fromBytes = await parsePolicy(withBom, { at: AT });
  assert.equal(fromBytes.hash, createHash('sha256').update(withBom).digest('hex'));
  assert.notEqual(fromBytes.hash, expected);
  // Reformatting changes the hash: there is no canonicalisation.
  assert.notEqual((await parse(JSON.parse(text))).hash, (await parsePolicy(JSON.stringify(JSON.parse(text)), { at: AT })).hash);
});
