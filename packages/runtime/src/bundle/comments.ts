/**
 * Drops the comments that fill whole lines of esbuild's output (the sources' doc comments, and the
 * line comments inside functions, which esbuild keeps when it does not minify), keeping every line
 * of code as esbuild printed it and the `// path` line before each file. Comments that share a line
 * with code stay, except esbuild's `/* @__PURE__ *\/` marks, which only guide bundling and mean
 * nothing in its output. A `//` line is dropped only when indented: at the left margin, it may be a
 * file's path line. Blank lines go too: the path lines mark where each file starts.
 */
export function dropCommentLines(code: string): string {
  const kept: string[] = [];
  let comment: string[] | undefined;
  for (const line of code.split('\n')) {
    const trimmed = line.trim();
    if (comment === undefined) {
      if (trimmed.startsWith('//') && trimmed !== line) continue;
      if (!trimmed.startsWith('/*')) {
        kept.push(line);
        continue;
      }
      comment = [];
    }
    comment.push(line);
    const close = trimmed.indexOf('*/', comment.length === 1 ? 2 : 0);
    if (close === -1) continue;
    // Code after the comment on its last line: the comment is part of a line of code, and stays.
    if (close + 2 !== trimmed.length) kept.push(...comment);
    comment = undefined;
  }
  if (comment !== undefined) kept.push(...comment);
  return dropRepeatedPaths(kept).join('\n').replaceAll('/* @__PURE__ */ ', '');
}

/**
 * The lines without blank ones, and without a file's path line that repeats the one before it (esbuild
 * writes one above a file's imports and again above its code).
 */
function dropRepeatedPaths(lines: readonly string[]): string[] {
  let path: string | undefined;
  return lines.filter((line) => {
    if (line === '') return false;
    if (!line.startsWith('// ')) return true;
    const repeated = line === path;
    path = line;
    return !repeated;
  });
}
