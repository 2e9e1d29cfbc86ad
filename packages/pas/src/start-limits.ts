/**
 * How much an abusive client can make `POST /proxy/v1/Start` hold: each Start writes a session
 * (a nonce) to the database, so the number of open sessions is capped, and each client address
 * may only open sessions at a bounded rate. One set of names for `pas.json`, `vc-pas serve`
 * flags and the service's options.
 */
export interface StartLimits {
  /**
   * Most sessions open at once (issued, not yet used, not expired), over all clients. Start answers
   * 429 beyond it until a session is used or expires. @default 10000
   */
  maxOpenSessions: number;
  /** Sessions one client address may open per second, sustained (token bucket refill). @default 20 */
  startRatePerSecond: number;
  /** Sessions one client address may open at once after being idle (token bucket size). @default 40 */
  startBurst: number;
  /**
   * Most client addresses the rate limiter remembers; beyond it the least recently seen is
   * forgotten, so a flood from many addresses cannot grow memory. @default 10000
   */
  startRateMaxClients: number;
}

/**
 * The defaults. 10,000 open sessions is far more than honest launchers keep in flight (one per
 * isolate being attested, for the 5-minute TTL) yet a few MB of SQLite. 20 per second with a burst
 * of 40 lets one host start dozens of isolates at once and still bounds a single misbehaving one.
 * 10,000 tracked addresses take about 2 MB of memory.
 */
export const DEFAULT_START_LIMITS: Readonly<StartLimits> = Object.freeze({
  maxOpenSessions: 10_000,
  startRatePerSecond: 20,
  startBurst: 40,
  startRateMaxClients: 10_000,
});

/** The names of the Start limits, in a stable order (for parsing and tables). */
export const START_LIMIT_NAMES: readonly (keyof StartLimits)[] = ['maxOpenSessions', 'startRatePerSecond', 'startBurst', 'startRateMaxClients'];

/**
 * Why `value` is not a valid setting of limit `name` (a sentence naming it), or undefined when it
 * is. The rate may be fractional (one Start every few seconds); the others count things.
 */
export function startLimitProblem(name: keyof StartLimits, value: unknown): string | undefined {
  if (name === 'startRatePerSecond') {
    return typeof value === 'number' && Number.isFinite(value) && value > 0 ? undefined : `${name} must be a positive number`;
  }
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? undefined : `${name} must be a positive integer`;
}
