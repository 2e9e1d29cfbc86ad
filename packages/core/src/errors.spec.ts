import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, VeracruzError, isCode } from './errors.ts';

test('shows the code in the message', () => {
  const error = new VeracruzError(Code.PermissionDenied, '/output/x: missing right FD_READ');
  assert.equal(error.message, '[permission_denied] /output/x: missing right FD_READ');
  assert.equal(error.rawMessage, '/output/x: missing right FD_READ');
  assert.equal(error.code, 'permission_denied');
});

test('from() keeps a VeracruzError and wraps anything else with the fallback code', () => {
  const original = new VeracruzError(Code.NotFound, 'no such file');
  assert.equal(VeracruzError.from(original), original);
  const wrapped = VeracruzError.from(new TypeError('boom'), Code.InvalidRequest);
  assert.equal(wrapped.code, Code.InvalidRequest);
  assert.equal(wrapped.rawMessage, 'boom');
});

test('isCode accepts only the closed set', () => {
  assert.ok(isCode('limit_exceeded'));
  assert.ok(!isCode('LIMIT_EXCEEDED'));
  assert.ok(!isCode(7));
});
