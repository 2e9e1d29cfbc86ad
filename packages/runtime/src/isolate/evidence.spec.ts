import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { EvidenceSource } from '@veracruz-ts/protocol/channel';
// The kernel-like configfs-tsm stand-in: test support of the attestation package.
import { TsmTestDouble } from '@veracruz-ts/attestation/testing';
import { produceEvidence } from './evidence.ts';

const csrHash = new Uint8Array(32).fill(0xc5);
const nonce = new Uint8Array(32).fill(0x0e);

describe('produceEvidence', () => {
  it('asks the launcher for linux evidence (no hardware in the isolate)', async () => {
    assert.deepEqual(await produceEvidence('linux', csrHash, nonce), { source: EvidenceSource.Launcher, evidence: new Uint8Array(0) });
  });

  it('reads a sev-snp guest report over configfs-tsm with report data = csrHash || nonce', async () => {
    const tsm = await TsmTestDouble.create({ provider: 'sev_guest' });
    try {
      const { source, evidence } = await produceEvidence('sev-snp', csrHash, nonce, { root: tsm.root, fileSystem: tsm });
      assert.equal(source, EvidenceSource.Isolate);
      const text = Buffer.from(evidence);
      assert.ok(text.includes(Buffer.from('sev_guest')));
      assert.ok(text.includes(Buffer.concat([csrHash, nonce])), 'the report binds the CSR hash and the nonce');
    } finally {
      await tsm.dispose();
    }
  });

  it('refuses to report as tdx on a sev-snp guest', async () => {
    const tsm = await TsmTestDouble.create({ provider: 'sev_guest' });
    try {
      await assert.rejects(produceEvidence('tdx', csrHash, nonce, { root: tsm.root, fileSystem: tsm }), (error: unknown) => error instanceof VeracruzError && error.code === Code.Unavailable && /needs tdx_guest/.test(error.message));
    } finally {
      await tsm.dispose();
    }
  });
});
