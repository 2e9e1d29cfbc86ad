/** Options of a {@link TokenBucketLimiter}. */
export interface TokenBucketOptions {
  /** Tokens a client regains per second: the rate it may keep up. */
  ratePerSecond: number;
  /** Tokens a bucket holds: how many requests a client may make at once after being idle. */
  burst: number;
  /** Most clients tracked at once; beyond it the least recently seen is forgotten. */
  maxClients: number;
}

/** The outcome of {@link TokenBucketLimiter.take}. */
export type RateDecision =
  | { ok: true }
  | {
      ok: false;
      /** How long until the client has a token again, in ms. */
      retryAfterMs: number;
      /** Whether this is the client's first refusal since it was last allowed (to log once, not per request). */
      firstRefusal: boolean;
    };

interface Bucket {
  tokens: number;
  /** When `tokens` was computed. */
  atMs: number;
  /** Refused since it was last allowed. */
  limited: boolean;
}

/** Idle buckets looked at per call: constant work per request, yet faster than clients arrive. */
const SWEEP_PER_TAKE = 4;

/**
 * A token bucket per client (keyed by address), in memory and bounded: at most `maxClients`
 * buckets, the least recently seen evicted first. A bucket that has refilled completely is
 * dropped as it ages out, since a fresh bucket behaves the same; so an idle table empties
 * itself. Forgetting a client can only give it a full bucket back, never refuse anyone.
 * Time is passed in, so tests move it without sleeping.
 */
export class TokenBucketLimiter {
  readonly #options: TokenBucketOptions;
  /** In order of last use, least recent first (a Map keeps insertion order; a use re-inserts). */
  readonly #buckets = new Map<string, Bucket>();

  /** Makes an empty limiter; refuses limits that are not positive (a zero rate would lock clients out for good). */
  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0 && Number.isFinite(options.ratePerSecond))) throw new RangeError('ratePerSecond must be a positive number');
    if (!(options.burst >= 1 && Number.isFinite(options.burst))) throw new RangeError('burst must be at least 1');
    if (!(Number.isSafeInteger(options.maxClients) && options.maxClients > 0)) throw new RangeError('maxClients must be a positive integer');
    this.#options = { ...options };
  }

  /** The number of clients tracked now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Spends one of `client`'s tokens at `nowMs`, or says how long until it may try again. */
  take(client: string, nowMs: number): RateDecision {
    const { ratePerSecond, burst, maxClients } = this.#options;
    const previous = this.#buckets.get(client);
    let bucket: Bucket;
    if (previous === undefined) {
      bucket = { tokens: burst, atMs: nowMs, limited: false };
    } else {
      this.#buckets.delete(client);
      bucket = previous;
      this.#refill(bucket, nowMs);
    }
    // Swept before this client's bucket goes back in, so the sweep never drops the bucket in use.
    this.#sweep(nowMs);
    this.#buckets.set(client, bucket);
    while (this.#buckets.size > maxClients) this.#buckets.delete(this.#buckets.keys().next().value as string);

    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.limited = false;
      return { ok: true };
    }
    const firstRefusal = !bucket.limited;
    bucket.limited = true;
    return { ok: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) * 1000) / ratePerSecond), firstRefusal };
  }

  #refill(bucket: Bucket, nowMs: number): void {
    // A clock that steps back refills nothing (and does not make the next step forward count twice).
    const elapsedMs = Math.max(0, nowMs - bucket.atMs);
    bucket.tokens = Math.min(this.#options.burst, bucket.tokens + (elapsedMs * this.#options.ratePerSecond) / 1000);
    bucket.atMs = Math.max(bucket.atMs, nowMs);
  }

  /** Drops the least recently seen buckets that have refilled completely, a few per call. */
  #sweep(nowMs: number): void {
    for (let i = 0; i < SWEEP_PER_TAKE; i++) {
      const oldest = this.#buckets.entries().next().value;
      if (oldest === undefined) return;
      const [client, bucket] = oldest;
      const elapsedMs = Math.max(0, nowMs - bucket.atMs);
      if (bucket.tokens + (elapsedMs * this.#options.ratePerSecond) / 1000 < this.#options.burst) return;
      this.#buckets.delete(client);
    }
  }
}
