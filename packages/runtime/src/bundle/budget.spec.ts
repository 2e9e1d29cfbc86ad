import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleOverBudget, describeFigures, parseBundleBudget } from './budget.ts';
import { REPOSITORY_ROOT } from './build.ts';
import { bundleFigures, packageName } from './figures.ts';

const encoder = new TextEncoder();

describe('bundle figures', () => {
  const bundle = encoder.encode('banner\n// node_modules/dep/index.js\nvar a=1;\n// packages/runtime/src/b.ts\nvar b=2;\n// packages/core/src/a.ts\nvar c=3;\n');
  const figures = bundleFigures(
    bundle,
    {
      'packages/core/src/a.ts': { bytesInOutput: 9 },
      'node_modules/dep/index.js': { bytesInOutput: 9 },
      'packages/runtime/src/b.ts': { bytesInOutput: 9 },
      'packages/runtime/src/types.ts': { bytesInOutput: 0 },
    },
    new Map([
      ['packages/core/src/a.ts', encoder.encode('one\ntwo\nthree\n')],
      ['packages/runtime/src/b.ts', encoder.encode('one\ntwo')],
      ['node_modules/dep/index.js', encoder.encode('x\n')],
    ]),
  );

  it('lists the files in bundle order, leaving out those that contribute nothing', () => {
    assert.deepEqual(figures.files.map((file) => file.path), ['node_modules/dep/index.js', 'packages/runtime/src/b.ts', 'packages/core/src/a.ts']);
  });

  it('counts third-party bytes, own files and their source lines', () => {
    assert.equal(figures.bytes, bundle.byteLength);
    assert.equal(figures.thirdPartyBytes, 9);
    assert.equal(figures.thirdPartyShare, 9 / bundle.byteLength);
    assert.equal(figures.ownFiles, 2);
    assert.equal(figures.ownSourceLines, 5);
    assert.deepEqual(figures.packages, [{ name: 'dep', bytes: 9 }]);
    assert.match(describeFigures(figures), /third-party \(dep 9\), 2 own files with 5 source lines$/);
  });

  it('names scoped and nested packages', () => {
    assert.equal(packageName('node_modules/@bufbuild/protobuf/dist/esm/wire.js'), '@bufbuild/protobuf');
    assert.equal(packageName('node_modules/a/node_modules/b/index.js'), 'b');
  });
});

describe('bundle budget', () => {
  const figures = { bytes: 300_000, thirdPartyBytes: 30_000, thirdPartyShare: 0.1, ownFiles: 10, ownSourceLines: 9_000, packages: [], files: [] };

  it('passes figures within every limit and names each limit exceeded', () => {
    assert.deepEqual(bundleOverBudget(figures, { maxBytes: 300_000, maxThirdPartyShare: 0.1, maxOwnSourceLines: 9_000 }), []);
    assert.deepEqual(bundleOverBudget(figures, { maxBytes: 299_999, maxThirdPartyShare: 0.05, maxOwnSourceLines: 8_000 }), [
      'the bundle is 300000 bytes; the budget is 299999',
      '10.0% of it is third-party code; the budget is 5.0%',
      'it draws on 9000 lines of own source; the budget is 8000',
    ]);
  });

  it('refuses a budget file with a missing, unknown or out-of-range field', () => {
    assert.throws(() => parseBundleBudget('{"maxBytes": 1, "maxThirdPartyShare": 0.4}'), /maxOwnSourceLines must be a number/);
    assert.throws(() => parseBundleBudget('{"maxBytes": 1, "maxThirdPartyShare": 0.4, "maxOwnSourceLines": 1, "maxByte": 2}'), /unknown field maxByte/);
    assert.throws(() => parseBundleBudget('{"maxBytes": 1, "maxThirdPartyShare": 1.5, "maxOwnSourceLines": 1}'), /maxThirdPartyShare must be a number in \(0, 1\]/);
    assert.throws(() => parseBundleBudget('[]'), /expected a JSON object/);
  });

  it('the committed budget keeps the bundle under 350 KB and under 40% third-party', () => {
    const budget = parseBundleBudget(readFileSync(join(REPOSITORY_ROOT, 'packages/runtime/bundle-budget.json'), 'utf8'));
    assert.ok(budget.maxBytes <= 350_000);
    assert.ok(budget.maxThirdPartyShare <= 0.4);
  });
});
