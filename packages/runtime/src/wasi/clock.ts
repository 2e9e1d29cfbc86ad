/** The wall clock (WASI `realtime`) in nanoseconds since the epoch, at microsecond resolution. */
export function nowNanoseconds(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** Waits at least `milliseconds` by the monotonic clock (Node timers may fire up to 1 ms early). */
export async function sleep(milliseconds: number): Promise<void> {
  const deadline = process.hrtime.bigint() + BigInt(Math.max(0, Math.ceil(milliseconds * 1e6)));
  for (;;) {
    const left = Number(deadline - process.hrtime.bigint()) / 1e6;
    if (left <= 0) return;
    // Unreferenced: a sleep of a program that is stopped meanwhile must not keep the process alive
    // (a running program's worker keeps it alive while it sleeps).
    await new Promise((resolve) => setTimeout(resolve, Math.min(Math.ceil(left), 2 ** 31 - 1)).unref());
  }
}
