import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { createConfidentialVmEvidence, requestTsmReport } from './index.ts';
import { TsmTestDouble } from '../testing.ts';

const csrHash = new Uint8Array(32).fill(0xaa);
const nonce = new Uint8Array(32).fill(0xbb);

describe('configfs-tsm report generation', async () => {
  const doubles: TsmTestDouble[] = [];
  const double = async (provider?: string) => {
    const created = await TsmTestDouble.create(provider === undefined ? {} : { provider });
    doubles.push(created);
    return created;
  };
  after(async () => Promise.all(doubles.map((created) => created.dispose())));

  it('writes the report data, reads the report and removes its entry', async () => {
    const tsm = await double('sev_guest');
    const reportData = new Uint8Array(64).map((_, index) => index);
    const report = await requestTsmReport({ root: tsm.root, reportData, fileSystem: tsm });
    assert.equal(report.provider, 'sev_guest');
    assert.equal(report.generation, 1);
    assert.ok(Buffer.from(report.outblob).subarray(-64).equals(Buffer.from(reportData)));
    assert.deepEqual(await readdir(tsm.root), []);
  });

  it('binds CSR hash then nonce for SEV-SNP and TDX', async () => {
    for (const [platform, provider] of [['sev-snp', 'sev_guest'], ['tdx', 'tdx_guest']] as const) {
      const tsm = await double(provider);
      const evidence = await createConfidentialVmEvidence({ platform, csrHash, nonce, root: tsm.root, fileSystem: tsm });
      const tail = Buffer.from(evidence).subarray(-64);
      assert.ok(tail.subarray(0, 32).equals(Buffer.from(csrHash)));
      assert.ok(tail.subarray(32).equals(Buffer.from(nonce)));
    }
  });

  it('refuses a provider that is not the expected platform', async () => {
    const tsm = await double('tdx_guest');
    await assert.rejects(
      createConfidentialVmEvidence({ platform: 'sev-snp', csrHash, nonce, root: tsm.root, fileSystem: tsm }),
      (error: unknown) => error instanceof VeracruzError && error.code === Code.Unavailable && /provider is tdx_guest, but sev-snp evidence needs sev_guest/.test(error.rawMessage),
    );
  });

  it('retries with a fresh entry when another writer races, and cleans up every entry', async () => {
    const tsm = await double();
    tsm.interfere(2);
    const report = await requestTsmReport({ root: tsm.root, reportData: csrHash, fileSystem: tsm });
    assert.ok(Buffer.from(report.outblob).subarray(-32).equals(Buffer.from(csrHash)), 'the report holds our data, not the racer\'s');
    assert.equal(tsm.entriesCreated, 3);
    assert.deepEqual(await readdir(tsm.root), []);
  });

  it('fails when every attempt races', async () => {
    const tsm = await double();
    tsm.interfere(5);
    await assert.rejects(
      requestTsmReport({ root: tsm.root, reportData: csrHash, fileSystem: tsm, maxAttempts: 3 }),
      (error: unknown) => error instanceof VeracruzError && error.code === Code.Unavailable && /during each of 3 attempts/.test(error.rawMessage),
    );
    assert.deepEqual(await readdir(tsm.root), []);
  });

  it('says clearly when configfs-tsm is not there', async () => {
    const tsm = await double();
    await assert.rejects(
      requestTsmReport({ root: join(tsm.root, 'missing'), reportData: csrHash, fileSystem: tsm }),
      /does not exist \(not a confidential VM/,
    );
    await assert.rejects(
      requestTsmReport({ root: join(tsm.root, 'missing'), reportData: csrHash }),
      /does not exist \(not a confidential VM/,
    );
  });

  it('refuses report data that is empty or longer than 64 bytes', async () => {
    const tsm = await double();
    await assert.rejects(requestTsmReport({ root: tsm.root, reportData: new Uint8Array(65), fileSystem: tsm }), /65 bytes, expected 1 to 64/);
    await assert.rejects(requestTsmReport({ root: tsm.root, reportData: new Uint8Array(), fileSystem: tsm }), /0 bytes/);
  });

  it('the double enforces the kernel protocol: write-only inblob, read-only outblob, 64-byte limit', async () => {
    const tsm = await double();
    const entry = join(tsm.root, 'manual');
    await tsm.mkdir(entry);
    await assert.rejects(tsm.readFile(join(entry, 'inblob')), { code: 'EACCES' });
    await assert.rejects(tsm.writeFile(join(entry, 'outblob'), new Uint8Array(1)), { code: 'EACCES' });
    await assert.rejects(tsm.writeFile(join(entry, 'generation'), new Uint8Array(1)), { code: 'EACCES' });
    await assert.rejects(tsm.writeFile(join(entry, 'inblob'), new Uint8Array(65)), { code: 'EINVAL' });
    await assert.rejects(tsm.mkdir(entry), { code: 'EEXIST' });
    await tsm.writeFile(join(entry, 'inblob'), new Uint8Array(64));
    await tsm.writeFile(join(entry, 'inblob'), new Uint8Array(64));
    assert.equal(new TextDecoder().decode(await tsm.readFile(join(entry, 'generation'))), '2\n');
    await tsm.rmdir(entry);
    assert.deepEqual(await readdir(tsm.root), []);
  });
});
