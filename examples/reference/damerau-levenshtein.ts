/**
 * Unrestricted Damerau-Levenshtein distance over code points, with the full (n+2) x (m+2) matrix of the
 * Lowrance-Wagner algorithm (the program keeps only the rows it needs; this is the textbook form).
 */
export function damerauLevenshtein(first: string, second: string): number {
  const a = [...first], b = [...second];
  const n = a.length, m = b.length;
  const infinity = n + m;
  const width = m + 2;
  const d = new Int32Array((n + 2) * width);
  const at = (i: number, j: number) => (i + 1) * width + (j + 1);
  d[at(-1, -1)] = infinity;
  for (let i = 0; i <= n; i++) {
    d[at(i, -1)] = infinity;
    d[at(i, 0)] = i;
  }
  for (let j = 0; j <= m; j++) {
    d[at(-1, j)] = infinity;
    d[at(0, j)] = j;
  }
  const lastRow = new Map<string, number>();
  for (let i = 1; i <= n; i++) {
    let lastMatchColumn = 0;
    for (let j = 1; j <= m; j++) {
      const k = lastRow.get(b[j - 1]!) ?? 0;
      const l = lastMatchColumn;
      let cost = 1;
      if (a[i - 1] === b[j - 1]) {
        cost = 0;
        lastMatchColumn = j;
      }
      d[at(i, j)] = Math.min(
        d[at(i - 1, j - 1)]! + cost,
        d[at(i, j - 1)]! + 1,
        d[at(i - 1, j)]! + 1,
        d[at(k - 1, l - 1)]! + (i - k - 1) + 1 + (j - l - 1),
      );
    }
    lastRow.set(a[i - 1]!, i);
  }
  return d[at(n, m)]!;
}
