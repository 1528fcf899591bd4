import type { MiddlewareHandler } from "hono";
import { withDeadline, type CacheStore } from "../cache/store";
import type { AppDeps, AppEnv, Auth } from "../deps";
import type { Clock } from "../lib/clock";
import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/logger";

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

/** SPEC-less default: generous enough for a dashboard polling every widget, small enough to stop a runaway client. */
export const DEFAULT_RATE_LIMIT_REQUESTS = 600;
export const DEFAULT_RATE_LIMIT_WINDOW_SEC = 60;
/** A limiter that cannot answer within this is skipped (fail open): a request never waits long on the limiter. */
export const RATE_LIMIT_TIMEOUT_MS = 250;
/** After a store failure, requests are let through without asking the store for this long (one log line an outage). */
export const RATE_LIMIT_RETRY_MS = 1_000;
/** Bound on the in-process store's entries (one per active key); past it, entries of finished windows are dropped. */
export const MEMORY_RATE_LIMIT_MAX_KEYS = 50_000;

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

/** Where the buckets live. `hit` checks and counts in one atomic step (per key) and never counts a refused request. */
export interface RateLimitStore {
  readonly kind: "memory" | "redis" | "upstash";
  hit(input: { key: string; bucket: number; elapsedMs: number; windowMs: number; limit: number }): Promise<WindowCounts>;
}

export type RateLimitConfig = {
  /** requests a key may make per window (default 600) */
  requests?: number;
  /** the window, in seconds (default 60) */
  windowSec?: number;
  /** shared store (Redis, Upstash); default: this instance's memory */
  store?: RateLimitStore;
  /** defaults to the app's clock */
  clock?: Clock;
  /** bound on one store call before the limiter fails open */
  timeoutMs?: number;
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
    retryAfterMs =
      inThisBucket < leftInBucket ? inThisBucket : leftInBucket + (current > 0 ? Math.max(0, windowMs - ((limit - 1) * windowMs) / current) : 0);
    retryAfterMs = Math.max(1, Math.ceil(retryAfterMs));
  }
  const resetMs = current > 0 ? leftInBucket + windowMs : previous > 0 ? leftInBucket : 0;
  return { allowed: counts.admitted, limit, remaining: Math.max(0, Math.floor(limit - estimate)), retryAfterMs, resetMs: Math.ceil(resetMs) };
}

/** The in-process store: one instance's own counts (the default; a Workers isolate or a single Node process). */
export function memoryRateLimitStore(maxKeys = MEMORY_RATE_LIMIT_MAX_KEYS): RateLimitStore {
  const buckets = new Map<string, { bucket: number; current: number; previous: number }>();
  return {
    kind: "memory",
    async hit({ key, bucket, elapsedMs, windowMs, limit }) {
      let entry = buckets.get(key);
      if (!entry || entry.bucket < bucket) {
        const previous = entry && entry.bucket === bucket - 1 ? entry.current : 0;
        entry = { bucket, current: 0, previous };
        buckets.set(key, entry);
      }
      // a clock that went back (another instance's, a test's) counts into the newest bucket seen
      const admitted = windowEstimate(entry.previous, entry.current, elapsedMs, windowMs) + 1 <= limit;
      if (admitted) entry.current += 1;
      if (buckets.size > maxKeys) {
        for (const [k, e] of buckets) if (e.bucket < bucket - 1) buckets.delete(k);
        if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);
      }
      return { admitted, previous: entry.previous, current: entry.current };
    },
  };
}

/**
 * The check-and-count step for Redis-speaking stores. KEYS[1] is the current bucket's counter, KEYS[2] the previous
 * one's; ARGV: limit, window ms, ms elapsed in the current bucket. Answers {admitted 0|1, previous, current}.
 * The same formula as `windowEstimate` (Lua numbers are doubles, as JS's are).
 */
export const SLIDING_WINDOW_SCRIPT = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * (window - elapsed) / window + current + 1 <= limit then
  current = redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], window * 2 + 1000)
  return {1, previous, current}
end
return {0, previous, current}
`;

/** Runs a Lua script atomically: a Redis-speaking `CacheStore`'s `eval`. */
export type ScriptRunner = (script: string, keys: string[], args: string[]) => Promise<unknown>;

/**
 * A store over Redis or Upstash through a script runner. Both buckets' keys carry the API key id in a hash tag, so a
 * Redis Cluster keeps them in one slot. The id is the key's database id, never the key itself.
 */
export function scriptRateLimitStore(kind: "redis" | "upstash", run: ScriptRunner, keyPrefix = "tally:ratelimit:"): RateLimitStore {
  return {
    kind,
    async hit({ key, bucket, elapsedMs, windowMs, limit }) {
      const keys = [`${keyPrefix}{${key}}:${bucket}`, `${keyPrefix}{${key}}:${bucket - 1}`];
      const reply = await run(SLIDING_WINDOW_SCRIPT, keys, [String(limit), String(windowMs), String(elapsedMs)]);
      if (!Array.isArray(reply) || reply.length !== 3) throw new Error(`unexpected rate-limit script reply: ${JSON.stringify(reply)}`);
      const [admitted, previous, current] = reply.map(Number) as [number, number, number];
      return { admitted: admitted === 1, previous, current };
    },
  };
}

/**
 * The limiter's store over the shared cache's store (`SharedCache`): the same Redis or Upstash connection, counters
 * under `<cache prefix>~ratelimit:` (cache namespaces are lowercase words, so `~` keeps the two apart, as the voice
 * store does). A cache kept in process has nothing to share: the limiter then counts in this instance's memory.
 */
export function rateLimitStoreOver(shared: { store: CacheStore; keyPrefix?: string }): RateLimitStore {
  const { store } = shared;
  if (store.kind === "memory" || !store.eval) return memoryRateLimitStore();
  return scriptRateLimitStore(store.kind, (script, keys, args) => store.eval!(script, keys, args), `${shared.keyPrefix ?? "tally:"}~ratelimit:`);
}

/** The response headers of a decision (IETF draft `RateLimit-*` fields, plus `Retry-After` when refused). */
export function rateLimitHeaders(decision: RateLimitDecision, windowSec: number): Record<string, string> {
  const headers: Record<string, string> = {
    "ratelimit-limit": String(decision.limit),
    "ratelimit-remaining": String(decision.remaining),
    "ratelimit-reset": String(Math.ceil((decision.allowed ? decision.resetMs : decision.retryAfterMs) / 1000)),
    "ratelimit-policy": `${decision.limit};w=${windowSec}`,
  };
  if (!decision.allowed) headers["retry-after"] = String(Math.ceil(decision.retryAfterMs / 1000));
  return headers;
}

/** The identity a request is limited by: the API key's id (the bootstrap admin key has none). */
const limitKey = (auth: Auth) => auth.keyId ?? "bootstrap-admin";

/**
 * The rate-limit middleware of one app instance. Runs after authentication (only authenticated requests count, per
 * key); requests without an API key (the signed webhook) pass. When the store fails or is slow, requests are let
 * through and the outage is logged once: the limiter protects the service, it must never take it down.
 */
export function rateLimiter(deps: Pick<AppDeps, "clock" | "logger"> & { rateLimit?: RateLimitConfig | false }): MiddlewareHandler<AppEnv> {
  const config = deps.rateLimit;
  if (config === false) return (_c, next) => next();
  const limit = config?.requests ?? DEFAULT_RATE_LIMIT_REQUESTS;
  const windowSec = config?.windowSec ?? DEFAULT_RATE_LIMIT_WINDOW_SEC;
  if (!(Number.isInteger(limit) && limit >= 1 && windowSec > 0)) throw new Error(`invalid rate limit: ${limit} requests per ${windowSec} s`);
  const windowMs = Math.round(windowSec * 1000);
  const store = config?.store ?? memoryRateLimitStore();
  const clock = config?.clock ?? deps.clock;
  const timeoutMs = config?.timeoutMs ?? RATE_LIMIT_TIMEOUT_MS;
  const outage = new FailOpen(deps.logger, store.kind);

  return async (c, next) => {
    const auth = c.get("auth") as Auth | undefined;
    if (!auth || !outage.shouldAsk(clock)) return next();
    const now = clock.now().getTime();
    const bucket = Math.floor(now / windowMs);
    const elapsedMs = now - bucket * windowMs;
    let decision: RateLimitDecision;
    try {
      const counts = await withDeadline(store.hit({ key: limitKey(auth), bucket, elapsedMs, windowMs, limit }), timeoutMs);
      outage.recovered();
      decision = decide(counts, elapsedMs, windowMs, limit);
    } catch (error) {
      outage.failed(clock, error, c.var.requestId);
      return next();
    }
    const headers = rateLimitHeaders(decision, windowSec);
    if (!decision.allowed)
      throw new ApiError("rate_limited", `This API key sent more than ${limit} requests in ${windowSec} s; retry after ${headers["retry-after"]} s`, { headers });
    await next();
    try {
      for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
    } catch {
      // a response with immutable headers (one passed through from a fetch) goes out without them
    }
  };
}

/** Tracks a failing store: one warning when it starts failing, a pause before it is asked again, a note when it is back. */
class FailOpen {
  #down = false;
  #retryAt = 0;
  constructor(
    private readonly logger: Logger,
    private readonly kind: string,
  ) {}

  shouldAsk(clock: Clock): boolean {
    return !this.#down || clock.now().getTime() >= this.#retryAt;
  }

  failed(clock: Clock, error: unknown, requestId: string | undefined): void {
    this.#retryAt = clock.now().getTime() + RATE_LIMIT_RETRY_MS;
    if (this.#down) return;
    this.#down = true;
    this.logger.log("warn", "rate limiter store failed; letting requests through", {
      requestId,
      store: this.kind,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      retryInMs: RATE_LIMIT_RETRY_MS,
    });
  }

  recovered(): void {
    if (!this.#down) return;
    this.#down = false;
    this.logger.log("info", "rate limiter store answers again", { store: this.kind });
  }
}
