import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { PasStore, SCHEMA_VERSION } from './store.ts';
import { temporaryDirectory } from './testing.ts';

describe('PasStore', async () => {
  const workspace = await temporaryDirectory('pas-store-');
  after(() => workspace.remove());
  let count = 0;
  const fresh = () => new PasStore(join(workspace.dir, `store-${count++}.db`));
  const t0 = new Date('2026-06-01T00:00:00Z');
  const later = (ms: number) => new Date(t0.getTime() + ms);

  it('creates the versioned schema in WAL mode', () => {
    const path = join(workspace.dir, 'schema.db');
    new PasStore(path).close();
    const db = new DatabaseSync(path);
    assert.equal((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, SCHEMA_VERSION);
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    db.close();
  });

  it('refuses a database from a newer schema', () => {
    const path = join(workspace.dir, 'future.db');
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => new PasStore(path),
      (error: unknown) => error instanceof VeracruzError && error.code === Code.Unavailable && /schema version 2; this vc-pas supports up to 1/.test(error.rawMessage),
    );
  });

  it('uses a session once, and says whether a refusal is unknown, used or expired', () => {
    const store = fresh();
    const nonce = new Uint8Array(32).fill(9);
    store.createSession('a', nonce, t0, 1000);
    store.createSession('b', nonce, t0, 1000);
    assert.deepEqual(store.consumeSession('a', later(999)), { ok: true, nonce });
    assert.deepEqual(store.consumeSession('a', later(999)), { ok: false, reason: 'used' });
    assert.deepEqual(store.consumeSession('b', later(1000)), { ok: false, reason: 'expired' });
    assert.deepEqual(store.consumeSession('nope', t0), { ok: false, reason: 'unknown' });
    store.close();
  });

  it('shares sessions between two connections: only one consumer wins', () => {
    const path = join(workspace.dir, 'shared.db');
    const first = new PasStore(path);
    const second = new PasStore(path);
    first.createSession('s', new Uint8Array(32), t0, 1000);
    assert.equal(second.consumeSession('s', t0).ok, true);
    assert.deepEqual(first.consumeSession('s', t0), { ok: false, reason: 'used' });
    first.close();
    second.close();
  });

  it('forgets sessions a day after they expired', () => {
    const store = fresh();
    store.createSession('old', new Uint8Array(32), t0, 1000);
    store.createSession('new', new Uint8Array(32), later(25 * 60 * 60 * 1000), 1000);
    assert.deepEqual(store.consumeSession('old', later(25 * 60 * 60 * 1000)), { ok: false, reason: 'unknown' });
    store.close();
  });

  it('caps open sessions: a refused session is not stored, and the reply says when the oldest expires', () => {
    const store = fresh();
    assert.deepEqual(store.createSession('a', new Uint8Array(32), t0, 1000, 2), { ok: true });
    assert.deepEqual(store.createSession('b', new Uint8Array(32), later(300), 1000, 2), { ok: true });
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(store.createSession(`refused-${i}`, new Uint8Array(32), later(400), 1000, 2), { ok: false, openSessions: 2, oldestExpiresAt: later(1000) });
    }
    assert.equal(store.sessionRowCount(), 2);
    assert.deepEqual(store.consumeSession('refused-0', later(400)), { ok: false, reason: 'unknown' });
    store.close();
  });

  it('counts neither used nor expired sessions against the cap', () => {
    const store = fresh();
    store.createSession('used', new Uint8Array(32), t0, 1000, 2);
    store.createSession('expiring', new Uint8Array(32), t0, 1000, 2);
    assert.equal(store.createSession('c', new Uint8Array(32), t0, 1000, 2).ok, false);
    assert.equal(store.consumeSession('used', t0).ok, true);
    assert.equal(store.createSession('c', new Uint8Array(32), t0, 5000, 2).ok, true, 'a used session frees its place');
    assert.equal(store.createSession('d', new Uint8Array(32), later(999), 1000, 2).ok, false);
    assert.equal(store.openSessionCount(later(1000)), 1);
    assert.equal(store.createSession('d', new Uint8Array(32), later(1000), 1000, 2).ok, true, 'an expired session frees its place');
    assert.deepEqual(store.consumeSession('expiring', later(1000)), { ok: false, reason: 'expired' }, 'and is still known as expired');
    store.close();
  });

  it('deletes long-expired sessions a bounded batch per new session', () => {
    const store = fresh();
    for (let i = 0; i < 150; i++) store.createSession(`old-${i}`, new Uint8Array(32), t0, 1000);
    const dayLater = later(25 * 60 * 60 * 1000);
    store.createSession('new-1', new Uint8Array(32), dayLater, 1000);
    assert.equal(store.sessionRowCount(), 150 - 64 + 1, 'at most 64 deleted by one call');
    store.createSession('new-2', new Uint8Array(32), dayLater, 1000);
    store.createSession('new-3', new Uint8Array(32), dayLater, 1000);
    assert.equal(store.sessionRowCount(), 3, 'the backlog drains faster than sessions arrive');
    store.close();
  });

  it('keeps the audit trail in order and refuses a duplicate serial', () => {
    const store = fresh();
    const record = {
      serial: '41',
      issuedAt: t0,
      platform: 'linux' as const,
      measurement: 'aa'.repeat(32),
      csrHash: 'bb'.repeat(32),
      subject: 'CN=VeracruzCompute',
      sessionId: 's',
      notBefore: t0,
      notAfter: later(1000),
      insecure: true,
      debug: false,
      certificate: new Uint8Array([0x30, 0x00]),
    };
    store.recordIssued(record);
    store.recordIssued({ ...record, serial: '42', issuedAt: later(1), insecure: false });
    assert.deepEqual(store.listIssued().map((row) => [row.serial, row.insecure]), [['41', true], ['42', false]]);
    assert.deepEqual(store.listIssued()[0], record);
    assert.throws(() => store.recordIssued(record), /UNIQUE/);
    store.close();
  });

  it('enrolls development keys under unique names and keys', () => {
    const store = fresh();
    store.enrollDevKey('a', '01', 'PEM-A', t0);
    assert.throws(() => store.enrollDevKey('a', '02', 'PEM-B', t0), (error: unknown) => error instanceof VeracruzError && error.code === Code.AlreadyExists);
    assert.throws(() => store.enrollDevKey('b', '01', 'PEM-A', t0), /already enrolled as "a"/);
    assert.deepEqual(store.listDevKeys(), [{ name: 'a', keyId: '01', publicKeyPem: 'PEM-A', enrolledAt: t0 }]);
    assert.equal(store.removeDevKey('a'), true);
    assert.equal(store.removeDevKey('a'), false);
    store.close();
  });

  it('stores reference and deny values per platform', () => {
    const store = fresh();
    store.addReferenceValue('nitro', '11', 'accept', t0);
    store.addReferenceValue('nitro', '11', 'accept', t0);
    store.addReferenceValue('nitro', '11', 'deny', t0);
    store.addReferenceValue('linux', '22', 'accept', t0);
    assert.equal(store.listReferenceValues().length, 3);
    assert.deepEqual(store.listReferenceValues('nitro').map((value) => value.kind), ['accept', 'deny']);
    assert.equal(store.removeReferenceValue('nitro', '11', 'deny'), true);
    assert.equal(store.removeReferenceValue('nitro', '11', 'deny'), false);
    store.close();
  });
});
