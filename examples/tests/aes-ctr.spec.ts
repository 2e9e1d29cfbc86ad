import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { assertExit, ExampleRunner } from './harness.ts';

// NIST SP 800-38A F.5.1, used only to check the files the program leaves, through node:crypto.
const KEY = Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex');
const COUNTER = Buffer.from('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', 'hex');

describe('aes-ctr', () => {
  const runner = new ExampleRunner();
  after(() => runner.close());

  it('encrypts and decrypts the NIST vector through the Counter mode AES Service', async () => {
    const run = await runner.run('aes-ctr', { services: true });
    assertExit(run, 0);
    assert.equal(run.text('/output/aesctr_pass.txt'), 'pass\n');
    const plaintext = run.read('/output/aesctr-plaintext.dat');
    const cipher = createCipheriv('aes-128-ctr', KEY, COUNTER);
    const expected = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    assert.deepEqual(Buffer.from(run.read('/output/aesctr-ciphertext.dat')), expected);
    assert.deepEqual(run.read('/output/aesctr-decrypted.dat'), plaintext);
  });

  it('exits 1 when no service is mounted', async () => {
    const run = await runner.run('aes-ctr');
    assertExit(run, 1);
    assert.equal(run.exists('/output/aesctr_pass.txt'), false);
  });
});
