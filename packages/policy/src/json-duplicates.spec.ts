import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findDuplicateKey } from './json-duplicates.ts';

test('finds the first repeated key with its JSON path', () => {
  assert.deepEqual(findDuplicateKey('{"a": 1, "a": 2}'), { path: 'a', key: 'a' });
  assert.deepEqual(findDuplicateKey('{"x": [{"id": 0}, {"id": 1, "b": {"c": true}, "id": 2}]}'), { path: 'x[1].id', key: 'id' });
  assert.deepEqual(findDuplicateKey('[[], [1, {"k": "v\\"}", "k": null}]]'), { path: '[1][1].k', key: 'k' });
  // Escapes denote the same key.
  assert.deepEqual(findDuplicateKey('{"debug": false, "\\u0064ebug": true}'), { path: 'debug', key: 'debug' });
});

test('accepts distinct keys, the same key in different objects, and odd layouts', () => {
  for (const text of [
    '{}',
    '[]',
    '"a"',
    '12.5e3',
    'null',
    ' { "a" : { "a" : [ { "a" : 1 } , { "a" : 2 } ] } , "b" : [ ] , "c" : { } } ',
    '{"a":1,"A":2,"a ":3}',
    '{"s": "with , ] } characters", "t": "\\\\"}',
  ]) {
    assert.equal(findDuplicateKey(text), undefined, text);
  }
});

test('deep nesting does not overflow the stack', () => {
  const depth = 200_000;
  assert.equal(findDuplicateKey('['.repeat(depth) + ']'.repeat(depth)), undefined);
  assert.deepEqual(findDuplicateKey(`${'['.repeat(depth)}{"a":1,"a":2}${']'.repeat(depth)}`)?.key, 'a');
});
