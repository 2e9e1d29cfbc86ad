import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringifySorted } from './json.ts';

test('writes sorted keys with two-space indentation, like serde_json to_string_pretty', () => {
  const text = stringifySorted({ b: [1, { d: null, c: 'x' }], a: true, e: [], f: {}, g: undefined });
  assert.equal(text, '{\n  "a": true,\n  "b": [\n    1,\n    {\n      "c": "x",\n      "d": null\n    }\n  ],\n  "e": [],\n  "f": {}\n}');
});

test('sorts keys by UTF-8 bytes and escapes strings as JSON does', () => {
  assert.equal(stringifySorted({ é: 1, z: 2, Z: 3, a: 4 }), '{\n  "Z": 3,\n  "a": 4,\n  "z": 2,\n  "é": 1\n}');
  assert.equal(stringifySorted('line\nbreak "quoted" /slash é \u0001'), '"line\\nbreak \\"quoted\\" /slash é \\u0001"');
});

test('writes bigints exactly and refuses non-finite numbers', () => {
  assert.equal(stringifySorted({ fuel: 18446744073709551615n }), '{\n  "fuel": 18446744073709551615\n}');
  assert.throws(() => stringifySorted(Number.NaN), TypeError);
  assert.equal(stringifySorted([]), '[]');
});
