import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucketLimiter } from './rate-limit.ts';

describe('TokenBucketLimiter', () => {
  const t0 = 1_000_000;

  it('allows a burst, then refuses with the time until the next token', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 2, burst: 3, maxClients: 10 });
    for (let i = 0; i < 3; i++) assert.deepEqual(limiter.take('a', t0), { ok: true });
    assert.deepEqual(limiter.take('a', t0), { ok: false, retryAfterMs: 500, firstRefusal: true });
    assert.deepEqual(limiter.take('a', t0 + 200), { ok: false, retryAfterMs: 300, firstRefusal: false });
  });

  it('counts each client on its own', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, maxClients: 10 });
    assert.equal(limiter.take('a', t0).ok, true);
    assert.equal(limiter.take('a', t0).ok, false);
    assert.equal(limiter.take('b', t0).ok, true);
  });

  it('recovers as time passes, at the rate, never beyond the burst', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 10, burst: 5, maxClients: 10 });
    for (let i = 0; i < 5; i++) limiter.take('a', t0);
    assert.equal(limiter.take('a', t0).ok, false);
    assert.equal(limiter.take('a', t0 + 100).ok, true, 'one token back after 1/rate');
    assert.equal(limiter.take('a', t0 + 100).ok, false);
    // An hour idle refills to the burst, not to 36,000.
    const later = t0 + 3_600_000;
    for (let i = 0; i < 5; i++) assert.equal(limiter.take('a', later).ok, true);
    const refused = limiter.take('a', later);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.firstRefusal, true, 'a new episode after being allowed again');
  });

  it('handles fractional rates (one request every few seconds)', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 0.25, burst: 1, maxClients: 10 });
    assert.equal(limiter.take('a', t0).ok, true);
    assert.deepEqual(limiter.take('a', t0), { ok: false, retryAfterMs: 4000, firstRefusal: true });
    assert.equal(limiter.take('a', t0 + 3999).ok, false);
    assert.equal(limiter.take('a', t0 + 4000).ok, true);
  });

  it('refills nothing when the clock steps back', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, maxClients: 10 });
    assert.equal(limiter.take('a', t0).ok, true);
    assert.equal(limiter.take('a', t0 - 60_000).ok, false);
    assert.equal(limiter.take('a', t0 + 999).ok, false, 'the step back did not make the step forward count twice');
    assert.equal(limiter.take('a', t0 + 1000).ok, true);
  });

  it('stays bounded under a flood from many distinct addresses', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 20, burst: 40, maxClients: 1000 });
    // All in the same instant, so no bucket has refilled and only the cap can keep the table small.
    for (let i = 0; i < 100_000; i++) {
      limiter.take(`10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`, t0);
      assert.ok(limiter.size <= 1000);
    }
    assert.equal(limiter.size, 1000);
  });

  it('forgets the least recently seen client first, and only ever in its favour', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, maxClients: 3 });
    for (const client of ['a', 'b', 'c']) assert.equal(limiter.take(client, t0).ok, true);
    assert.equal(limiter.take('c', t0).ok, false, 'c is limited and now the most recently seen');
    assert.equal(limiter.take('d', t0).ok, true);
    assert.equal(limiter.size, 3);
    assert.equal(limiter.take('c', t0).ok, false, 'c is still tracked, still limited');
    assert.equal(limiter.take('a', t0).ok, true, 'a was forgotten: a fresh bucket');
  });

  it('drops buckets that have refilled, so an idle table empties', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 10, burst: 10, maxClients: 1000 });
    for (let i = 0; i < 100; i++) limiter.take(`client-${i}`, t0);
    assert.equal(limiter.size, 100);
    // One second later every bucket is full again; each request sweeps a few of the oldest.
    for (let i = 0; i < 30; i++) limiter.take('active', t0 + 1000 + i);
    assert.ok(limiter.size < 100, `size ${limiter.size}`);
    for (let i = 0; i < 30; i++) limiter.take('active', t0 + 2000 + i);
    assert.equal(limiter.size, 1, 'only the active client remains');
  });

  it('refuses limits that would lock clients out or track nobody', () => {
    assert.throws(() => new TokenBucketLimiter({ ratePerSecond: 0, burst: 1, maxClients: 1 }), RangeError);
    assert.throws(() => new TokenBucketLimiter({ ratePerSecond: 1, burst: 0.5, maxClients: 1 }), RangeError);
    assert.throws(() => new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, maxClients: 0 }), RangeError);
  });
});
