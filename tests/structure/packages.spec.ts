// The packages' dependencies point one way, down the layers the README's table of pieces lists:
// tools on top, then server/client, runtime/pas, protocol/attestation, policy, and core at the bottom.
// Biome checks that every import is declared in its package.json and that no module cycle exists
// inside a package; this spec checks what joins the packages, so no cycle can run through them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from '@veracruz-ts/runtime/bundle';

const LAYERS: Record<string, number> = {
  core: 0,
  policy: 1,
  protocol: 2,
  attestation: 2,
  runtime: 3,
  pas: 3,
  server: 4,
  client: 4,
  embedded: 4,
  // The programs' SDKs: headers and bindings for programs, and the builds that check them against the runtime.
  'sdk-c': 4,
  'sdk-assemblyscript': 4,
  'sdk-rust': 4,
  tools: 5,
  fleet: 6,
  kubernetes: 7,
};

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  sideEffects?: boolean | string[];
}

const manifests = new Map<string, Manifest>();
for (const workspace of (JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces) {
  if (!workspace.startsWith('packages/')) continue;
  manifests.set(workspace.slice('packages/'.length), JSON.parse(readFileSync(join(REPOSITORY_ROOT, workspace, 'package.json'), 'utf8')) as Manifest);
}

const ownDependencies = (dependencies: Record<string, string> | undefined): string[] =>
  Object.keys(dependencies ?? {}).filter((name) => name.startsWith('@veracruz-ts/')).map((name) => name.slice('@veracruz-ts/'.length));

describe('package layering', () => {
  it('every package has a layer, and is named after its directory', () => {
    assert.deepEqual([...manifests.keys()].sort(), Object.keys(LAYERS).sort());
    for (const [directory, manifest] of manifests) assert.equal(manifest.name, `@veracruz-ts/${directory}`);
  });

  it('production dependencies (optional and peer ones too) only point to lower layers, so they cannot form a cycle', () => {
    for (const [name, manifest] of manifests) {
      for (const dependency of ownDependencies({ ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies })) {
        assert.ok((LAYERS[dependency] ?? Number.POSITIVE_INFINITY) < (LAYERS[name] ?? 0), `${name} (layer ${LAYERS[name]}) depends on ${dependency} (layer ${LAYERS[dependency]})`);
      }
    }
  });

  it('core depends on nothing, not even a third-party package', () => {
    const core = manifests.get('core');
    assert.deepEqual(Object.keys({ ...core?.dependencies, ...core?.optionalDependencies, ...core?.peerDependencies }), []);
  });

  it('the packages bundled into the isolate say which of their modules act when imported', () => {
    // A bundler drops unused modules only of packages that declare they have no side effects.
    for (const name of ['core', 'policy', 'protocol', 'attestation', 'runtime']) {
      const sideEffects = manifests.get(name)?.sideEffects;
      assert.ok(sideEffects === false || Array.isArray(sideEffects), `${name} declares "sideEffects"`);
    }
  });
});
