import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parsePolicy, type Policy, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { compileC } from '@veracruz-ts/runtime/testing';
import { runVerify } from './cli/verify.ts';
import { verifySignedResult } from './signed-result.ts';
import { streamComputationForSuite } from './test-fixture.ts';

/** Writes /output/r.txt, has the isolate sign it into /output/r.sig, and takes the reader's right on it away. */
const SIGNING_SOURCE = String.raw`
#include <stdio.h>
#include <stdint.h>
#define ABI(name) __attribute__((import_module("veracruz_v1"), import_name(name)))
ABI("result_sign") int32_t result_sign(const char *path, size_t length, const char *out, size_t out_length);
ABI("rights_narrow") int32_t rights_narrow(uint32_t subject, const char *path, size_t length, uint32_t rights);
int main(void) {
  FILE *file = fopen("/output/r.txt", "w");
  if (file == NULL) return 4;
  fputs("the answer is 42\n", file);
  if (fclose(file) != 0) return 4;
  if (result_sign("/output/r.txt", 13, "/output/r.sig", 13) != 0) return 1;
  return rights_narrow(1, "/output/r.txt", 13, 0) == 0 ? 0 : 1;
}
`;

let binary: Uint8Array;
const suite = streamComputationForSuite(async () => {
  binary = await compileC(SIGNING_SOURCE);
  return {
    principals: {
      owner: [{ file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE }, { file_name: '/output/', rights: RIGHTS_READ }],
      reader: [{ file_name: '/output/', rights: RIGHTS_READ }],
    },
    streams: [],
    programs: [{ path: '/program/sign.wasm', binary }],
  };
});

let policy: Policy;
let envelope: Uint8Array;
let data: Uint8Array;

describe('signed results and rights in force, through the client', () => {
  before(async () => {
    policy = await parsePolicy(suite.policyText);
    const owner = await suite.connect('owner');
    await owner.writeFile('/program/sign.wasm', binary);
    assert.equal(await owner.execute('/program/sign.wasm'), 0);
    data = await owner.readFile('/output/r.txt');
    envelope = await owner.readFile('/output/r.sig');
    await owner.close();
  });

  it('lists the rights in force and the narrowing, and refuses the narrowed reader', async () => {
    const reader = await suite.connect('reader');
    const rights = await reader.rights();
    assert.deepEqual(rights.narrowings.map(({ program, subject, path, before, after }) => ({ program, subject, path, before, after })),
      [{ program: '/program/sign.wasm', subject: 1, path: '/output/r.txt', before: RIGHTS_READ, after: 0 }]);
    await assert.rejects(reader.readFile('/output/r.txt'), /missing FD_READ/);
    assert.equal(new TextDecoder().decode(await reader.readFile('/output/r.sig')).includes('veracruz-ts/signed-result'), true);
    await reader.close();
  });

  it('verifies offline, with and without the file', async () => {
    const verified = await verifySignedResult({ policy, envelope, data });
    assert.equal(verified.path, '/output/r.txt');
    assert.equal(verified.program, '/program/sign.wasm');
    assert.equal(verified.platform, 'linux');
    assert.equal((await verifySignedResult({ policy, envelope })).size, data.length);
    // A field the signature does not cover is not passed on as verified.
    const padded = JSON.stringify({ ...JSON.parse(new TextDecoder().decode(envelope)), note: 'trust me', platform: 'sev-snp' });
    const checked = await verifySignedResult({ policy, envelope: padded });
    assert.equal('note' in checked, false);
    assert.equal(checked.platform, 'linux');
  });

  it('refuses a changed file, an altered envelope, a foreign certificate and another policy, naming what failed', async () => {
    const changed = Uint8Array.from(data);
    changed[4] = 0x41;
    await assert.rejects(verifySignedResult({ policy, envelope, data: changed }), /the file is not the one signed/);
    const fields = JSON.parse(new TextDecoder().decode(envelope)) as Record<string, unknown>;
    const altered = (change: Record<string, unknown>) => JSON.stringify({ ...fields, ...change });
    await assert.rejects(verifySignedResult({ policy, envelope: altered({ path: '/output/other.txt' }) }), /the signature does not verify/);
    await assert.rejects(verifySignedResult({ policy, envelope: altered({ program: '/program/evil.wasm' }) }), /the signature does not verify/);
    await assert.rejects(verifySignedResult({ policy, envelope: altered({ signed_at: '2001-01-01T00:00:00.000Z' }) }), /isolate certificate/);
    await assert.rejects(verifySignedResult({ policy, envelope: altered({ certificate: policy.proxy_service_cert }) }), /no runtime-hash extension/);
    await assert.rejects(verifySignedResult({ policy, envelope: altered({ type: 'other' }) }), /not a veracruz-ts\/signed-result version 1/);
    await assert.rejects(verifySignedResult({ policy, envelope: 'not json' }), /not JSON/);
    const other = await parsePolicy(suite.policyText.replace('"debug": false', '"debug": true'));
    await assert.rejects(verifySignedResult({ policy: other, envelope }), /it is about policy [0-9a-f]{64}, not this policy file/);
  });

  it('vc-client verify prints what it verified, and exits 1 with the reason for a changed file', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'vc-verify-'));
    const paths = { policy: join(directory, 'policy.json'), signature: join(directory, 'r.sig'), result: join(directory, 'r.txt') };
    writeFileSync(paths.policy, suite.policyText);
    writeFileSync(paths.signature, envelope);
    writeFileSync(paths.result, data);
    const output = { out: '', err: '' };
    const io = { stdout: { write: (text: string) => (output.out += text) }, stderr: { write: (text: string) => (output.err += text) } };
    assert.equal(await runVerify(['--policy', paths.policy, '--signature', paths.signature, paths.result], io), 0);
    assert.match(output.out, /^verified: \/output\/r\.txt \(17 bytes, SHA-256 [0-9a-f]{64}, file matches\)/);
    writeFileSync(paths.result, 'the answer is 43\n');
    assert.equal(await runVerify(['--policy', paths.policy, '--signature', paths.signature, '--json', paths.result], io), 1);
    assert.match(output.err, /vc-client verify: \[attestation_failed\] signed result: the file is not the one signed/);
    assert.equal(await runVerify(['--policy', join(directory, 'missing.json'), '--signature', paths.signature], io), 1);
    assert.match(output.err, /cannot read the policy .*missing\.json: ENOENT/);
    await assert.rejects(runVerify(['--signature', paths.signature], io), /verify needs --policy/);
  });
});
