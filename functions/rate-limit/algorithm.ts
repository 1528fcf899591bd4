/**
 * Per-API-key rate limiting with a sliding window (the two-bucket weighted counter Cloudflare and Upstash use):
 * the window is cut into fixed buckets of `windowSec`, and a request at `elapsed` ms into bucket n sees
 * `count(n-1) × (window − elapsed) / window + count(n)` requests before it. It is admitted when that estimate plus one
 * fits the limit; a refused request is not counted, so a client that waits `Retry-After` is let in.
 *
 * Why not `@upstash/ratelimit`: its scripts start with `#!lua flags=allow-key-locking`, which Redis 7.0 refuses
 * ("Unexpected flag in script shebang"), so it cannot run over a self-hosted Redis; it reads `Date.now()`, not the
 * injected clock; and its sliding window's `reset` is the next bucket boundary, where the previous bucket still
 * weighs fully, so a client obeying it is refused again. One Lua script here serves Redis over TCP and Upstash over
 * REST alike (through the shared cache's store: `rateLimitStoreOver`), and the in-process store computes the same
 * formula.
 */

/** The counts of one key's two buckets as the store saw them, after counting this request if it was admitted. */
export type WindowCounts = { admitted: boolean; previous: number; current: number };

/** What the limiter answers for one request. Times are milliseconds from now. */
export type RateLimitDecision = {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** when a refused request would be admitted (0 when allowed) */
  retryAfterMs: number;
  /** when the whole quota is back if no further request comes */
  resetMs: number;
};

/** The estimate a request sees: the previous bucket weighted by the part of it still inside the window. */
export function windowEstimate(previous: number, current: number, elapsedMs: number, windowMs: number): number {
  return (previous * (windowMs - elapsedMs)) / windowMs + current;
}

/**
 * The decision for counts a store answered. Retry: the first instant the estimate plus one fits, assuming no other
 * request is admitted meanwhile — later in this bucket as the previous one fades, or in the next one as this one does.
 */
export function decide(counts: WindowCounts, elapsedMs: number, windowMs: number, limit: number): RateLimitDecision {
  const { previous, current } = counts;
  const estimate = windowEstimate(previous, current, elapsedMs, windowMs);
  const leftInBucket = windowMs - elapsedMs;
  let retryAfterMs = 0;
  if (!counts.admitted) {
    const room = limit - 1 - current;
    const inThisBucket = previous > 0 && room >= 0 ? Math.max(0, leftInBucket - (room * windowMs) / previous) : Infinity;
    retryAfterMs = inThisBucket < leftInBucket ? inThisBucket : leftInBucket + (current > 0 ? Math.max(0, windowMs - ((limit - 1) * windowMs) / current) : 0);
    retryAfterMs = Math.max(1, Math.ceil(retryAfterMs));
  }
  const resetMs = current > 0 ? leftInBucket + windowMs : previous > 0 ? leftInBucket : 0;
  return { allowed: counts.admitted, limit, remaining: Math.max(0, Math.floor(limit - estimate)), retryAfterMs, resetMs: Math.ceil(resetMs) };
}
