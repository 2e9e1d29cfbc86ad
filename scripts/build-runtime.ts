// Bundles the isolate (packages/runtime/src/isolate/main.ts) into build/runtime/veracruz-runtime.mjs and
// prints its SHA-256: the `linux` runtime measurement that `vc-pgen --css-file` puts in a policy.
// Skips the build when no input changed; `--force` rebuilds anyway.
import { buildRuntimeBundle } from '../packages/server/src/runtime-bundle.ts';

const force = process.argv.includes('--force');
try {
  const bundle = await buildRuntimeBundle({ force });
  console.log(`${bundle.rebuilt ? 'built' : 'unchanged'} ${bundle.path}`);
  console.log(`sha256 ${bundle.measurement}`);
} catch (error) {
  console.error(`build-runtime: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
