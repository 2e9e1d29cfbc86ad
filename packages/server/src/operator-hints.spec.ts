import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devKeyId, generateDevKey } from '@veracruz-ts/attestation/evidence';
import { toHex } from '@veracruz-ts/core';
import { buildRuntimeCommand, devKeyName, enrollCommand, shellWord } from './operator-hints.ts';

test('shellWord leaves plain words alone and single-quotes the rest', () => {
  assert.equal(shellWord('/home/ana/.config/veracruz-ts/dev-key.pub.pem'), '/home/ana/.config/veracruz-ts/dev-key.pub.pem');
  assert.equal(shellWord('/tmp/my keys/dev-key.pub.pem'), "'/tmp/my keys/dev-key.pub.pem'");
  assert.equal(shellWord("it's"), "'it'\\''s'");
  assert.equal(shellWord('$HOME'), "'$HOME'");
});

test('the enroll command has --dir and --name as vc-pas needs them, and a name vc-pas accepts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'operator-hints-'));
  try {
    const pair = await generateDevKey();
    const path = join(dir, 'dev-key.pub.pem');
    await writeFile(path, pair.publicKeyPem);
    const id = toHex(await devKeyId(pair.publicKeyPem));
    assert.equal(await devKeyName(path, 'build box #3.example.org'), `build-box--3.example.org-${id.slice(0, 8)}`);
    assert.match(await devKeyName(path, 'x'.repeat(80)), /^x{55}-[0-9a-f]{8}$/);
    assert.equal(await devKeyName(join(dir, 'missing.pem'), 'host'), 'host');
    assert.equal(await devKeyName(join(dir, 'missing.pem'), '***'), '---');
    assert.equal(enrollCommand(path, 'host-1'), `npx vc-pas enroll --dir "$PAS_DIR" --name host-1 ${path}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the runtime is built from the repository with the Node that npm installs', () => {
  assert.equal(buildRuntimeCommand('/work/veracruz ts'), "npm run --prefix '/work/veracruz ts' build:runtime");
});
