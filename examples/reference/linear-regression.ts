/**
 * Least-squares line by the closed-form sums formula (a different route from the program's centred sums):
 * gradient = (n Σxy − Σx Σy) / (n Σx² − (Σx)²), intercept = (Σy − gradient Σx) / n.
 */
export function linearRegression(points: Float64Array): { gradient: number; intercept: number } {
  const n = points.length / 2;
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    const x = points[2 * i]!, y = points[2 * i + 1]!;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const gradient = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return { gradient, intercept: (sy - gradient * sx) / n };
}
