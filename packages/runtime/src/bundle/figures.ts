/** One input file of the bundle, as an auditor reads it. */
export interface BundleFile {
  /** Path relative to the repository root, as the `// path` line in the bundle names it. */
  path: string;
  /** Bytes of the bundle that came from this file (after tree shaking, doc comments dropped), its path line not counted. */
  bytes: number;
  /** Lines of the source file as written (comments included): what there is to read. */
  sourceLines: number;
  /** Whether the file is a dependency (under node_modules) rather than this project's own. */
  thirdParty: boolean;
}

/** What the runtime bundle is made of. */
export interface BundleFigures {
  /** Size of the bundle in bytes. */
  bytes: number;
  /** Bundle bytes from dependencies. */
  thirdPartyBytes: number;
  /** `thirdPartyBytes / bytes`. */
  thirdPartyShare: number;
  /** Number of this project's own source files in the bundle. */
  ownFiles: number;
  /** Lines of those own source files. */
  ownSourceLines: number;
  /** Bundle bytes per dependency package, largest first. */
  packages: { name: string; bytes: number }[];
  /** Every input that contributes bytes, in the order it appears in the bundle. */
  files: BundleFile[];
}

/**
 * The figures of a bundle from the inputs esbuild reports and their sources. Files are ordered as
 * they appear in the bundle (by esbuild's `// path` line before each file's code), which is the order
 * to read it in; a file's bytes are the lines after its path lines, up to the next file's (esbuild's
 * own count, for a file without one), so that they count what the bundle holds after its doc
 * comments are dropped.
 */
export function bundleFigures(
  bundle: Uint8Array,
  inputs: Record<string, { bytesInOutput: number }>,
  sources: ReadonlyMap<string, Uint8Array>,
): BundleFigures {
  const bytes = Buffer.from(bundle.buffer, bundle.byteOffset, bundle.byteLength);
  // Where each file starts in the bundle (a byte offset), found once per file rather than once per comparison.
  const starts = new Map<string, number>();
  const position = (path: string): number => {
    let at = starts.get(path);
    if (at === undefined) {
      at = bytes.indexOf(`\n// ${path}\n`);
      if (at < 0) at = Number.MAX_SAFE_INTEGER;
      starts.set(path, at);
    }
    return at;
  };
  const files: BundleFile[] = Object.entries(inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path, input]) => ({
      path,
      bytes: input.bytesInOutput,
      sourceLines: countLines(sources.get(path)),
      thirdParty: path.startsWith('node_modules/') || path.includes('/node_modules/'),
    }))
    .sort((a, b) => position(a.path) - position(b.path) || a.path.localeCompare(b.path));
  // A file's code is every line after one of its path lines (a file may have several) up to the next path line.
  const counted = new Map(files.map((file) => [file.path, 0]));
  let current: string | undefined;
  for (const line of bytes.toString('utf8').split('\n')) {
    const marked = line.startsWith('// ') ? line.slice(3) : undefined;
    if (marked !== undefined && counted.has(marked)) current = marked;
    else if (current !== undefined) counted.set(current, counted.get(current)! + Buffer.byteLength(line) + 1);
  }
  for (const file of files) if (position(file.path) !== Number.MAX_SAFE_INTEGER) file.bytes = counted.get(file.path)!;
  const packageBytes = new Map<string, number>();
  for (const file of files.filter((candidate) => candidate.thirdParty)) {
    const name = packageName(file.path);
    packageBytes.set(name, (packageBytes.get(name) ?? 0) + file.bytes);
  }
  const own = files.filter((file) => !file.thirdParty);
  const thirdPartyBytes = files.reduce((sum, file) => sum + (file.thirdParty ? file.bytes : 0), 0);
  return {
    bytes: bundle.byteLength,
    thirdPartyBytes,
    thirdPartyShare: bundle.byteLength === 0 ? 0 : thirdPartyBytes / bundle.byteLength,
    ownFiles: own.length,
    ownSourceLines: own.reduce((sum, file) => sum + file.sourceLines, 0),
    packages: [...packageBytes].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
    files,
  };
}

/** The npm package a node_modules path belongs to (`@scope/name` or `name`). */
export function packageName(path: string): string {
  const tail = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length).split('/');
  return tail[0]?.startsWith('@') === true ? `${tail[0]}/${tail[1] ?? ''}` : (tail[0] ?? path);
}

function countLines(source: Uint8Array | undefined): number {
  if (source === undefined || source.byteLength === 0) return 0;
  let lines = 0;
  for (const byte of source) if (byte === 0x0a) lines++;
  return source[source.byteLength - 1] === 0x0a ? lines : lines + 1;
}
