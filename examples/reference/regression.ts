/**
 * Least-squares linear regression with an intercept over CSV records, computed in the clear: the rows of every
 * text together, solved by Householder QR of the design matrix (a different route from the programs' summed
 * normal equations and Cholesky).
 */

/** Records parsed from one CSV text: the header's column names and the rows of numbers. */
export interface Records {
  names: string[];
  rows: number[][];
}

/** The fitted model. */
export interface Regression {
  /** Rows in all texts. */
  n: number;
  /** Column names of the header (features, then the outcome). */
  names: string[];
  /** Intercept first, then one per feature. */
  coefficients: number[];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const trimBlanks = (field: string) => field.replace(/^[ \t]+|[ \t]+$/g, '');

/**
 * Parses records as regression-map reads them: a header line, then rows of as many decimal numbers;
 * `\n` or `\r\n` line ends, empty lines skipped, spaces and tabs around fields ignored. Throws naming the line.
 */
export function parseRecords(text: string): Records {
  let names: string[] | undefined;
  const rows: number[][] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') return;
    const fields = line.split(',').map(trimBlanks);
    if (names === undefined) {
      names = fields;
      return;
    }
    if (fields.length !== names.length) throw new Error(`line ${index + 1}: ${fields.length} fields, the header has ${names.length}`);
    rows.push(
      fields.map((field, column) => {
        const value = Number(field);
        if (!NUMBER.test(field) || !Number.isFinite(value)) throw new Error(`line ${index + 1}, field ${column + 1}: not a finite decimal number`);
        return value;
      }),
    );
  });
  if (names === undefined) throw new Error('no header line');
  return { names, rows };
}

/** Fits y (each row's last value) on an intercept and the other values of `rows`, by Householder QR. */
export function leastSquares(rows: readonly (readonly number[])[]): number[] {
  const n = rows.length;
  const k = rows[0]?.length ?? 1; // intercept + d features: as many as a row has values
  // Column-major design matrix [1 x1 .. xd] and the outcome.
  const a = Array.from({ length: k }, (_, j) => Float64Array.from(rows, (row) => (j === 0 ? 1 : row[j - 1]!)));
  const y = Float64Array.from(rows, (row) => row[k - 1]!);
  for (let j = 0; j < k; j++) {
    const column = a[j]!;
    let norm = 0;
    for (let i = j; i < n; i++) norm += column[i]! * column[i]!;
    norm = Math.sqrt(norm);
    if (norm === 0) throw new Error(`column ${j} is zero below the diagonal: the design is singular`);
    const alpha = column[j]! > 0 ? -norm : norm;
    // v = column[j..] - alpha e_j, kept in column[j..]; H = I - 2 v v' / v'v.
    column[j] = column[j]! - alpha;
    let vv = 0;
    for (let i = j; i < n; i++) vv += column[i]! * column[i]!;
    const reflect = (target: Float64Array) => {
      let dot = 0;
      for (let i = j; i < n; i++) dot += column[i]! * target[i]!;
      const scale = (2 * dot) / vv;
      for (let i = j; i < n; i++) target[i] = target[i]! - scale * column[i]!;
    };
    for (let other = j + 1; other < k; other++) reflect(a[other]!);
    reflect(y);
    column[j] = alpha; // R's diagonal entry; the rest of the column is no longer needed
  }
  const b = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    let value = y[i]!;
    for (let j = i + 1; j < k; j++) value -= a[j]![i]! * b[j]!;
    b[i] = value / a[i]![i]!;
  }
  return b;
}

/** The regression over the records of every text together (all must have the same header). */
export function regressionFromCsv(texts: readonly string[]): Regression {
  const parsed = texts.map(parseRecords);
  const names = parsed[0]?.names ?? [];
  for (const records of parsed) {
    if (records.names.join(',') !== names.join(',')) throw new Error('the texts have different headers');
  }
  const rows = parsed.flatMap((records) => records.rows);
  return { n: rows.length, names, coefficients: leastSquares(rows) };
}
