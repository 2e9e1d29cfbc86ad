/** One MACD output record. */
export interface MacdPoint {
  macd: number;
  signal: number;
  histogram: number;
}

/** Exponential moving average with alpha = 2 / (period + 1), starting at the first value. */
export function exponentialMovingAverage(values: readonly number[], period: number): number[] {
  const alpha = 2 / (period + 1);
  const out: number[] = [];
  values.forEach((value, t) => {
    out.push(t === 0 ? value : out[t - 1]! + alpha * (value - out[t - 1]!));
  });
  return out;
}

/** MACD (EMA12 − EMA26), its signal line (EMA9 of MACD) and their difference, for every price. */
export function macd(prices: readonly number[]): MacdPoint[] {
  const fast = exponentialMovingAverage(prices, 12);
  const slow = exponentialMovingAverage(prices, 26);
  const line = fast.map((value, t) => value - slow[t]!);
  const signal = exponentialMovingAverage(line, 9);
  return line.map((value, t) => ({ macd: value, signal: signal[t]!, histogram: value - signal[t]! }));
}
