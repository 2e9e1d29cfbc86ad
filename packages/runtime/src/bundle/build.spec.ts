import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPOSITORY_ROOT, buildRuntimeBundle, sha256 } from './build.ts';

describe('buildRuntimeBundle', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vc-runtime-bundle-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is deterministic: two forced builds give the same bytes, free of this checkout path', async () => {
    const first = await buildRuntimeBundle({ outFile: join(dir, 'a.mjs'), force: true });
    const second = await buildRuntimeBundle({ outFile: join(dir, 'b.mjs'), force: true });
    assert.equal(first.rebuilt, true);
    assert.equal(first.measurement, second.measurement);
    const bytes = await readFile(first.path);
    assert.equal(sha256(bytes), first.measurement);
    assert.equal(bytes.indexOf(REPOSITORY_ROOT), -1, 'no absolute path of this checkout in the bundle');
    assert.match(first.measurement, /^[0-9a-f]{64}$/);
  });

  it('skips the build when no input changed, and rebuilds when an input or the bundle did', async () => {
    const outFile = join(dir, 'c.mjs');
    const built = await buildRuntimeBundle({ outFile });
    const kept = await buildRuntimeBundle({ outFile });
    assert.equal(kept.rebuilt, false);
    assert.equal(kept.measurement, built.measurement);

    // An input whose recorded hash no longer matches (as after an edit) triggers a rebuild.
    const stampFile = `${outFile}.inputs.json`;
    const stamp = JSON.parse(await readFile(stampFile, 'utf8')) as { inputs: Record<string, string> };
    const inputs = Object.keys(stamp.inputs);
    assert.ok(inputs.includes('packages/runtime/src/isolate/main.ts'), 'the entry is an input');
    assert.ok(inputs.some((input) => input.startsWith('packages/runtime/src/session/')), 'the session manager is bundled');
    assert.ok(inputs.some((input) => input.startsWith('node_modules/')), 'dependencies are bundled, not loaded at run time');
    assert.ok(inputs.includes('packages/runtime/package.json'), 'package manifests (exports, sideEffects) are inputs too');
    stamp.inputs['packages/runtime/src/isolate/main.ts'] = '0'.repeat(64);
    await writeFile(stampFile, JSON.stringify(stamp));
    assert.equal((await buildRuntimeBundle({ outFile })).rebuilt, true);

    // A bundle altered after the build is rebuilt, not trusted.
    await writeFile(outFile, 'tampered');
    const rebuilt = await buildRuntimeBundle({ outFile });
    assert.equal(rebuilt.rebuilt, true);
    assert.equal(rebuilt.measurement, built.measurement);
  });
});
