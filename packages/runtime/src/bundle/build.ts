import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';
import { dropCommentLines } from './comments.ts';
import { indentWithTabs } from './indentation.ts';
import { bundleFigures, type BundleFigures } from './figures.ts';

/** The repository root (this file is packages/runtime/src/bundle/build.ts). */
export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** Where the isolate bundle is built: its SHA-256 is the `linux` runtime measurement. */
export const DEFAULT_RUNTIME_BUNDLE = join(REPOSITORY_ROOT, 'build/runtime/veracruz-runtime.mjs');

/** The isolate's process entry point. */
export const RUNTIME_ENTRY = 'packages/runtime/src/isolate/main.ts';

/** Outcome of {@link buildRuntimeBundle}. */
export interface RuntimeBundle {
  /** Absolute path of the bundle. */
  path: string;
  /** Lowercase hex SHA-256 of the bundle: the `linux` measurement (`runtime_manager_hash_linux`). */
  measurement: string;
  /** False when the inputs were unchanged and the existing bundle was kept. */
  rebuilt: boolean;
}

/** A bundle {@link buildRuntimeBundle} built or found up to date, with what it is made of. */
export interface BuiltRuntimeBundle extends RuntimeBundle {
  /** Size, third-party share, own files and lines, in bundle order. */
  figures: BundleFigures;
}

/** Options of {@link buildRuntimeBundle}. */
export interface BuildRuntimeOptions {
  /** Where to write the bundle. @default DEFAULT_RUNTIME_BUNDLE */
  outFile?: string;
  /** Rebuild even if the inputs are unchanged. @default false */
  force?: boolean;
}

interface Stamp {
  recipe: string;
  inputs: Record<string, string>;
  output: string;
  figures: BundleFigures;
}

// Node built-ins stay external; CommonJS dependencies inside an ES module bundle need `require`.
const BANNER = "import { createRequire as __veracruzCreateRequire } from 'node:module';\nconst require = __veracruzCreateRequire(import.meta.url);";

/** esbuild's options for the bundle, besides where it runs and what it reports. */
const BUILD_OPTIONS: BuildOptions = {
  entryPoints: [RUNTIME_ENTRY],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  sourcemap: false,
  minify: false,
  legalComments: 'none',
  charset: 'utf8',
  banner: { js: BANNER },
};

/**
 * Bundles the isolate into one ES module with esbuild. The output depends only on the input files'
 * bytes and this recipe (paths are relative to the repository, no timestamps, no minification so the
 * trusted computing base stays readable: each file starts with a `// path` line), so every build of
 * the same sources has the same SHA-256. The doc comments, which the sources carry, are dropped
 * ({@link dropCommentLines}) and it is indented with tabs ({@link indentWithTabs}); the build checks
 * that this changed no code: minified, the bundle is the same either way. A stamp beside the bundle records each input's hash and the
 * bundle's figures; when no input changed, the build is skipped.
 */
export async function buildRuntimeBundle(options: BuildRuntimeOptions = {}): Promise<BuiltRuntimeBundle> {
  const outFile = resolve(options.outFile ?? DEFAULT_RUNTIME_BUNDLE);
  const stampFile = `${outFile}.inputs.json`;
  const { build, transform, version } = await import('esbuild');
  // The recipe is everything besides the inputs that shapes the output or its figures: esbuild's
  // version and options, and this file and the figures' code themselves.
  const recipe = JSON.stringify({
    esbuild: version,
    options: BUILD_OPTIONS,
    code: await Promise.all([import.meta.url, ...['./figures.ts', './comments.ts', './indentation.ts'].map((file) => new URL(file, import.meta.url).href)].map(async (url) => sha256(await readFile(fileURLToPath(url))))),
  });

  if (options.force !== true) {
    const kept = await unchangedBundle(outFile, stampFile, recipe);
    if (kept !== undefined) return { path: outFile, measurement: kept.output, rebuilt: false, figures: kept.figures };
  }

  const result = await build({ ...BUILD_OPTIONS, absWorkingDir: REPOSITORY_ROOT, write: false as const, metafile: true as const, logLevel: 'silent' });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error('esbuild produced no output');
  const code = indentWithTabs(dropCommentLines(output.text));
  const minified = (text: string): Promise<string> => transform(text, { minify: true, legalComments: 'none', format: 'esm', target: 'node24' }).then((done) => done.code);
  if ((await minified(code)) !== (await minified(output.text))) throw new Error('dropping the comment lines of the bundle or indenting it with tabs changed its code');
  const bytes = new TextEncoder().encode(code);
  const measurement = sha256(bytes);
  const inputs: Record<string, string> = {};
  const sources = new Map<string, Uint8Array>();
  for (const input of Object.keys(result.metafile.inputs).sort()) {
    const source = await readFile(join(REPOSITORY_ROOT, input));
    sources.set(input, source);
    inputs[input] = sha256(source);
  }
  // How the inputs were resolved and shaken (exports, sideEffects) is in their packages' manifests.
  for (const [manifest, bytes] of await packageManifests(Object.keys(result.metafile.inputs))) inputs[manifest] = sha256(bytes);
  const [outputMeta] = Object.values(result.metafile.outputs);
  if (outputMeta === undefined) throw new Error('esbuild produced no metadata');
  const figures = bundleFigures(bytes, outputMeta.inputs, sources);
  await mkdir(dirname(outFile), { recursive: true });
  // Write then rename, so a running isolate or a concurrent reader never sees half a bundle.
  await writeThenRename(outFile, bytes);
  const stamp: Stamp = { recipe, inputs, output: measurement, figures };
  await writeThenRename(stampFile, JSON.stringify(stamp, null, 1));
  return { path: outFile, measurement, rebuilt: true, figures };
}

async function writeThenRename(file: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, file);
}

/** The stamp of the existing bundle if it and all its recorded inputs are unchanged. */
async function unchangedBundle(outFile: string, stampFile: string, recipe: string): Promise<Stamp | undefined> {
  let stamp: Stamp;
  let bundle: Uint8Array;
  try {
    stamp = JSON.parse(await readFile(stampFile, 'utf8')) as Stamp;
    bundle = await readFile(outFile);
  } catch {
    return undefined;
  }
  if (stamp.recipe !== recipe || stamp.figures === undefined || sha256(bundle) !== stamp.output) return undefined;
  for (const [input, hash] of Object.entries(stamp.inputs)) {
    let current: Uint8Array;
    try {
      current = await readFile(join(REPOSITORY_ROOT, input));
    } catch {
      return undefined;
    }
    if (sha256(current) !== hash) return undefined;
  }
  return stamp;
}

/** The package.json nearest to each input (repository-relative, sorted, once each), with its bytes. */
async function packageManifests(inputs: readonly string[]): Promise<[string, Uint8Array][]> {
  const found = new Map<string, Uint8Array>();
  // Every directory looked at, with its manifest's bytes or undefined when it has none.
  const read = new Map<string, Uint8Array | undefined>();
  for (const input of inputs) {
    for (let directory = dirname(input); directory !== '.' && directory !== '/'; directory = dirname(directory)) {
      const manifest = join(directory, 'package.json');
      if (!read.has(manifest)) read.set(manifest, await readFile(join(REPOSITORY_ROOT, manifest)).catch(() => undefined));
      const bytes = read.get(manifest);
      if (bytes !== undefined) {
        found.set(manifest, bytes);
        break;
      }
    }
  }
  return [...found].sort(([a], [b]) => a.localeCompare(b));
}

/** Lowercase hex SHA-256. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
