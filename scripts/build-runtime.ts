// Bundles the isolate (packages/runtime/src/isolate/main.ts) into build/runtime/veracruz-runtime.mjs and
// prints its SHA-256: the `linux` runtime measurement that `vc-pgen --css-file` puts in a policy.
// Skips the build when no input changed; `--force` rebuilds anyway; `--files` lists what is in the
// bundle, in the order it appears there (the order to audit it in).
import { buildRuntimeBundle, describeFigures } from '@veracruz-ts/runtime/bundle';

const force = process.argv.includes('--force');
try {
  const bundle = await buildRuntimeBundle({ force });
  console.log(`${bundle.rebuilt ? 'built' : 'unchanged'} ${bundle.path}`);
  console.log(`sha256 ${bundle.measurement}`);
  console.log(describeFigures(bundle.figures));
  if (process.argv.includes('--files')) {
    for (const file of bundle.figures.files) {
      console.log(`${String(file.bytes).padStart(8)}  ${String(file.sourceLines).padStart(5)}  ${file.thirdParty ? 'dep' : 'own'}  ${file.path}`);
    }
  }
} catch (error) {
  console.error(`build-runtime: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
