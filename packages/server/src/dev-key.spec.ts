import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinuxEvidence, verifyLinuxEvidence } from '@veracruz-ts/attestation/evidence';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { defaultDevKeyPath, devPublicKeyPath, loadOrCreateDevKey } from './dev-key.ts';

describe('the host dev key', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vc-dev-key-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is created on first use with mode 0600 in a 0700 directory, its public key beside it', async () => {
    const path = join(dir, 'fresh', 'dev-key.pem');
    const created = await loadOrCreateDevKey(path);
    assert.equal(created.created, true);
    assert.equal(created.publicKeyPath, join(dir, 'fresh', 'dev-key.pub.pem'));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'fresh'))).mode & 0o777, 0o700);
    assert.match(await readFile(created.publicKeyPath, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);

    // Later uses load the same key: evidence it signs verifies under the public key written at creation.
    const loaded = await loadOrCreateDevKey(path);
    assert.equal(loaded.created, false);
    const nonce = new Uint8Array(32).fill(1);
    const measurement = new Uint8Array(32).fill(2);
    const csrHash = new Uint8Array(32).fill(3);
    const evidence = await createLinuxEvidence({ devKey: loaded.privateKey, nonce, measurement, csrHash });
    const claims = await verifyLinuxEvidence(evidence, { at: new Date(), enrolledKeys: [await readFile(created.publicKeyPath, 'utf8')], expectedNonce: nonce, expectedCsrHash: csrHash });
    assert.deepEqual(claims.measurement, measurement);
  });

  it('is refused when group or others can read it, with the fix', async () => {
    const path = join(dir, 'loose', 'dev-key.pem');
    await loadOrCreateDevKey(path);
    await chmod(path, 0o644);
    await assert.rejects(loadOrCreateDevKey(path), (error: unknown) => error instanceof VeracruzError && error.code === Code.PermissionDenied && error.message.includes(`chmod 600 ${path}`));
  });

  it('is one key when two servers create it at once', async () => {
    const path = join(dir, 'race', 'dev-key.pem');
    const [first, second] = await Promise.all([loadOrCreateDevKey(path), loadOrCreateDevKey(path)]);
    assert.equal([first.created, second.created].filter(Boolean).length, 1);
  });

  it('never lets a concurrent creator read a half-written key', async () => {
    for (let round = 0; round < 10; round++) {
      const path = join(dir, `race-${round}`, 'dev-key.pem');
      const loaded = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateDevKey(path)));
      assert.equal(loaded.filter((key) => key.created).length, 1);
    }
  });

  it('lives under the XDG config directory by default', () => {
    assert.match(defaultDevKeyPath(), /veracruz-ts\/dev-key\.pem$/);
    assert.equal(devPublicKeyPath('/x/key.pem'), '/x/key.pub.pem');
    assert.equal(devPublicKeyPath('/x/key'), '/x/key.pub.pem');
  });
});
