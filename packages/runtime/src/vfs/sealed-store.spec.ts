import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Errno, FsFailure } from './errno.ts';
import { SEAL_TAG_BYTES, SealedDataRejected, SealedStore } from './sealed-store.ts';

const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function store(maxBytes = 1 << 30): { store: SealedStore; directory: string } {
  const directory = mkdtempSync(join(tmpdir(), 'sealed-store-'));
  directories.push(directory);
  return { store: new SealedStore({ directory, maxBytes }), directory };
}

const CHUNK = 4096;

describe('SealedStore', () => {
  it('gives back what it sealed, and the host file holds none of it in the clear', () => {
    const { store: sealed, directory } = store();
    const data = new Uint8Array(CHUNK).fill(0x41);
    sealed.seal(1, 0, 0, 1, data);
    sealed.seal(1, 1, CHUNK, 1, randomBytes(100));
    assert.deepEqual(sealed.unseal(1, 0, 0, 1, CHUNK), Buffer.from(data));
    const host = readFileSync(join(directory, 'f1'));
    assert.equal(host.indexOf(Buffer.alloc(64, 0x41)), -1, 'plaintext on the host');
    assert.equal(sealed.used, CHUNK + 100 + 2 * SEAL_TAG_BYTES);
  });

  it('refuses a chunk the host altered', () => {
    const { store: sealed, directory } = store();
    sealed.seal(1, 0, 0, 1, randomBytes(CHUNK));
    const path = join(directory, 'f1');
    const host = readFileSync(path);
    host[10] = (host[10] as number) ^ 1;
    writeFileSync(path, host);
    assert.throws(() => sealed.unseal(1, 0, 0, 1, CHUNK), (error: unknown) => error instanceof SealedDataRejected && error.errno === Errno.IO);
  });

  it('refuses an older version of a chunk replayed by the host', () => {
    const { store: sealed, directory } = store();
    const path = join(directory, 'f1');
    sealed.seal(1, 0, 0, 1, randomBytes(CHUNK));
    const old = readFileSync(path);
    sealed.seal(1, 0, 0, 2, randomBytes(CHUNK));
    writeFileSync(path, old);
    assert.throws(() => sealed.unseal(1, 0, 0, 2, CHUNK), SealedDataRejected);
  });

  it('refuses two chunks of a file swapped by the host', () => {
    const { store: sealed, directory } = store();
    const path = join(directory, 'f1');
    sealed.seal(1, 0, 0, 1, randomBytes(CHUNK));
    sealed.seal(1, 1, CHUNK, 1, randomBytes(CHUNK));
    const host = readFileSync(path);
    const slot = CHUNK + SEAL_TAG_BYTES;
    writeFileSync(path, Buffer.concat([host.subarray(slot), host.subarray(0, slot)]));
    assert.throws(() => sealed.unseal(1, 0, 0, 1, CHUNK), SealedDataRejected);
    assert.throws(() => sealed.unseal(1, 1, CHUNK, 1, CHUNK), SealedDataRejected);
  });

  it("refuses another file's chunk put in place by the host", () => {
    const { store: sealed, directory } = store();
    sealed.seal(1, 0, 0, 1, randomBytes(CHUNK));
    sealed.seal(2, 0, 0, 1, randomBytes(CHUNK));
    writeFileSync(join(directory, 'f1'), readFileSync(join(directory, 'f2')));
    assert.throws(() => sealed.unseal(1, 0, 0, 1, CHUNK), SealedDataRejected);
  });

  it('refuses a chunk cut short, and one whose file the host deleted', () => {
    const { store: sealed, directory } = store();
    sealed.seal(1, 0, 0, 1, randomBytes(CHUNK));
    sealed.seal(2, 0, 0, 1, randomBytes(CHUNK));
    truncateSync(join(directory, 'f1'), CHUNK);
    assert.throws(() => sealed.unseal(1, 0, 0, 1, CHUNK), /cut short/);
    sealed.close();
    unlinkSync(join(directory, 'f2'));
    assert.throws(() => sealed.unseal(2, 0, 0, 1, CHUNK), /cut short/);
  });

  it('refuses a chunk asked for with another length than it was sealed with', () => {
    const { store: sealed } = store();
    sealed.seal(1, 0, 0, 1, randomBytes(CHUNK));
    assert.throws(() => sealed.unseal(1, 0, 0, 1, CHUNK - 1), SealedDataRejected);
  });

  it('refuses to hold more than its bound (ENOSPC), counting a resealed chunk once', () => {
    const { store: sealed } = store(2 * (CHUNK + SEAL_TAG_BYTES));
    sealed.seal(1, 0, 0, 1, randomBytes(CHUNK));
    sealed.seal(1, 0, 0, 2, randomBytes(CHUNK));
    sealed.seal(1, 1, CHUNK, 1, randomBytes(CHUNK));
    assert.throws(() => sealed.seal(1, 2, 2 * CHUNK, 1, randomBytes(CHUNK)), (error: unknown) => error instanceof FsFailure && error.errno === Errno.NOSPC);
    sealed.drop(1, 1);
    sealed.seal(1, 2, 2 * CHUNK, 1, randomBytes(CHUNK));
  });

  it('deletes a discarded file from the host and stops counting it', () => {
    const { store: sealed, directory } = store();
    sealed.seal(3, 0, 0, 1, randomBytes(CHUNK));
    sealed.seal(3, 1, CHUNK, 1, randomBytes(CHUNK));
    sealed.discard(3);
    assert.equal(sealed.used, 0);
    assert.deepEqual(readdirSync(directory), []);
  });

  it('keeps working with more files than it keeps open', () => {
    const { store: sealed, directory } = store();
    const chunks = Array.from({ length: 70 }, () => randomBytes(64));
    for (const [file, chunk] of chunks.entries()) sealed.seal(file + 1, 0, 0, 1, chunk);
    for (const [file, chunk] of chunks.entries()) assert.deepEqual(sealed.unseal(file + 1, 0, 0, 1, 64), chunk);
    assert.equal(statSync(join(directory, 'f70')).size, 64 + SEAL_TAG_BYTES);
  });
});
