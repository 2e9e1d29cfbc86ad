/**
 * Resolves with the name of the first SIGINT or SIGTERM, and stops listening for both: what a
 * long-running command waits for before it stops in order. Call it before starting anything, so a
 * signal during the start is a stop, not a kill that leaves children behind.
 */
export function waitForStopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
