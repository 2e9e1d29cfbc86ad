/**
 * @veracruz-ts/sdk-assemblyscript: the build helper for AssemblyScript programs. The library programs import is
 * `@veracruz-ts/sdk-assemblyscript/assembly` (AssemblyScript, in this package's assembly/ directory).
 */
export {
  AssemblyScriptBuildError, BUILD_DIR, buildAssemblyScript, buildExample, EXAMPLES_DIR, exampleWasmPath, SDK_DIR,
} from './build.ts';
export type { AssemblyScriptBuild, AssemblyScriptBuildOptions } from './build.ts';
