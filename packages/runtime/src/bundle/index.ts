/**
 * `@veracruz-ts/runtime/bundle`: the recipe of the isolate's bundle (whose SHA-256 is the `linux`
 * runtime measurement), its figures, and the budget they are held to. Node-only build tooling; none
 * of it is in the bundle.
 */
export { buildRuntimeBundle, DEFAULT_RUNTIME_BUNDLE, REPOSITORY_ROOT, RUNTIME_ENTRY, sha256, type BuildRuntimeOptions, type BuiltRuntimeBundle, type RuntimeBundle } from './build.ts';
export { bundleFigures, packageName, type BundleFigures, type BundleFile } from './figures.ts';
export { bundleOverBudget, describeFigures, parseBundleBudget, type BundleBudget } from './budget.ts';
