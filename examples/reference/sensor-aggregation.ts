/**
 * The sensor-aggregation example's statistics computed directly: mean and population variance in two passes
 * over all readings (not Welford's running update the program uses), and the histogram by the documented rule.
 */

/** Number of histogram bins, and the range [low, high) they cover (as in the program). */
export const HISTOGRAM = { bins: 16, low: -20, high: 60 } as const;

/** What the program's final line reports; `mean` and `variance` are null without a finite reading. */
export interface SensorAggregate {
  count: number;
  invalid: number;
  mean: number | null;
  variance: number | null;
  under: number;
  histogram: number[];
  over: number;
}

/** Aggregates `readings` (in any order: every figure is order-independent up to rounding). */
export function aggregateReadings(readings: Iterable<number>): SensorAggregate {
  const finite: number[] = [];
  let invalid = 0;
  for (const x of readings) {
    if (Number.isFinite(x)) finite.push(x);
    else invalid++;
  }
  const histogram = new Array<number>(HISTOGRAM.bins).fill(0);
  const width = (HISTOGRAM.high - HISTOGRAM.low) / HISTOGRAM.bins;
  let under = 0;
  let over = 0;
  for (const x of finite) {
    if (x < HISTOGRAM.low) under++;
    else if (x >= HISTOGRAM.high) over++;
    else histogram[Math.min(Math.floor((x - HISTOGRAM.low) / width), HISTOGRAM.bins - 1)]!++;
  }
  if (finite.length === 0) return { count: 0, invalid, mean: null, variance: null, under, histogram, over };
  const mean = finite.reduce((sum, x) => sum + x, 0) / finite.length;
  const variance = finite.reduce((sum, x) => sum + (x - mean) ** 2, 0) / finite.length;
  return { count: finite.length, invalid, mean, variance, under, histogram, over };
}
