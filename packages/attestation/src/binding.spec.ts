import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VeracruzError } from '@veracruz-ts/core';
import { bindReportData, splitReportData, checkBoundReportData } from './binding.ts';

test('binds the CSR hash then the nonce into 64 bytes, and splits them back', () => {
  const csrHash = new Uint8Array(32).fill(0xaa);
  const nonce = new Uint8Array(32).fill(0x55);
  const bound = bindReportData(csrHash, nonce);
  assert.equal(bound.length, 64);
  assert.deepEqual(bound.subarray(0, 32), csrHash);
  assert.deepEqual(bound.subarray(32), nonce);
  assert.deepEqual(splitReportData(bound), { csrHash, nonce });
});

test('refuses halves that are not 32 bytes', () => {
  assert.throws(() => bindReportData(new Uint8Array(31), new Uint8Array(32)), (e: unknown) => e instanceof VeracruzError && /CSR hash must be 32 bytes, got 31/.test(e.message));
  assert.throws(() => bindReportData(new Uint8Array(32), new Uint8Array(33)), (e: unknown) => e instanceof VeracruzError && /nonce must be 32 bytes, got 33/.test(e.message));
  assert.throws(() => splitReportData(new Uint8Array(63)), (e: unknown) => e instanceof VeracruzError && e.code === 'attestation_failed');
});

test('checks bound report data half by half', () => {
  const csrHash = new Uint8Array(32).fill(0xaa);
  const nonce = new Uint8Array(32).fill(0x55);
  const bound = bindReportData(csrHash, nonce);
  checkBoundReportData('x', 'report data', bound, { expectedCsrHash: csrHash, expectedNonce: nonce });
  checkBoundReportData('x', 'report data', bound, {});
  checkBoundReportData('x', 'report data', bound, { expectedNonce: bound });
  const refused = (pattern: RegExp) => (e: unknown) => e instanceof VeracruzError && e.code === 'attestation_failed' && pattern.test(e.rawMessage);
  assert.throws(() => checkBoundReportData('x', 'report data', bound, { expectedCsrHash: nonce }), refused(/^x: report data binds CSR hash (aa){32} but (55){32} was expected$/));
  assert.throws(() => checkBoundReportData('x', 'report data', bound, { expectedNonce: csrHash }), refused(/^x: report data binds nonce (55){32} but (aa){32} was expected$/));
  assert.throws(() => checkBoundReportData('x', 'nonce claim', new Uint8Array(48), { expectedCsrHash: csrHash }), refused(/^x: nonce claim is 48 bytes, so it cannot bind a CSR hash and a nonce$/));
  assert.throws(() => checkBoundReportData('x', 'nonce claim', new Uint8Array(48), { expectedNonce: nonce }), refused(/^x: nonce claim binds nonce 0{96} but (55){32} was expected$/));
});
