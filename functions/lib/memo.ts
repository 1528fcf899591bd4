import type { Clock } from "./clock";

/**
 * A value computed at most once per `ttlMs` of the clock, shared by every caller meanwhile (one computation in flight
 * at a time): a burst of unauthenticated /health or /metrics requests costs the database one round of statements a
 * second, not one per request. A failed computation is not kept. `compute` gets the argument of the call that runs it
 * (the request's own database handle: on Workers each invocation has its own).
 */
export function memoizeFor<A, T>(clock: Clock, ttlMs: number, compute: (arg: A) => Promise<T>): (arg: A) => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return (arg) => {
    const now = clock.now().getTime();
    // a clock that went back (a test's) recomputes rather than serve a value from its future
    if (cached && now >= cached.at && now - cached.at < ttlMs) return cached.value;
    const value = compute(arg);
    const entry = { at: now, value };
    cached = entry;
    value.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return value;
  };
}
