import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

test('the package bundles for a browser: no Node built-ins', async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./index.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  const code = result.outputFiles[0]?.text ?? '';
  assert.doesNotMatch(code, /from\s*["']node:|require\(["']node:/);
  assert.match(code, /function parsePolicy/);
});
