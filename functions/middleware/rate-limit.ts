import type { Context, MiddlewareHandler, Next } from "hono";
import { withDeadline } from "../cache/store";
import type { AppDeps } from "../deps";
import type { AppEnv, Auth } from "../hono/env";
import type { Clock } from "../lib/clock";
import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { decide, type RateLimitDecision } from "../rate-limit/algorithm";
import {
  DEFAULT_ANON_RATE_LIMIT_REQUESTS,
  DEFAULT_RATE_LIMIT_REQUESTS,
  DEFAULT_RATE_LIMIT_WINDOW_SEC,
  DEFAULT_WRITE_RATE_LIMIT_REQUESTS,
  KNOWN_KEYS_MAX,
  RATE_LIMIT_RETRY_MS,
  RATE_LIMIT_TIMEOUT_MS,
  type RateLimitConfig,
} from "../rate-limit/config";
import { LeasedCounts } from "../rate-limit/lease";
import { memoryRateLimitStore, type RateLimitStore } from "../rate-limit/stores";
import { sha256Hex } from "../lib/api-keys";
import { API_KEY_SHAPE, bearerToken } from "./auth";

/** The HTTP side of the rate limits; the algorithm, its script, stores and config are in `rate-limit/`. */

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

/** A request's per-key limit, begun before authentication and enforced after it (`keyRateLimits`). */
type PendingLimit = { limiter: SlidingLimit; decision: Promise<RateLimitDecision | null> };

declare module "hono" {
  interface ContextVariableMap {
    /** the per-key limit's store call, under way while the key's grant is read */
    pendingLimit?: PendingLimit;
  }
}

type LimiterDeps = Pick<AppDeps, "clock" | "logger">;

/**
 * One sliding-window limit over its store, failing open: when the store fails or is slow it answers null (let the
 * request through) and the outage is logged once. The limiter protects the service, it must never take it down.
 */
class SlidingLimit {
  readonly limit: number;
  readonly windowSec: number;
  readonly #windowMs: number;
  readonly #store: RateLimitStore;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #outage: FailOpen;
  readonly #lease: LeasedCounts | undefined;

  constructor(deps: LimiterDeps, config: RateLimitConfig | undefined, defaultRequests: number, options: { lease?: boolean } = {}) {
    this.limit = config?.requests ?? defaultRequests;
    this.windowSec = config?.windowSec ?? DEFAULT_RATE_LIMIT_WINDOW_SEC;
    if (!(Number.isInteger(this.limit) && this.limit >= 1 && this.windowSec > 0))
      throw new Error(`invalid rate limit: ${this.limit} requests per ${this.windowSec} s`);
    this.#windowMs = Math.round(this.windowSec * 1000);
    this.#store = config?.store ?? memoryRateLimitStore();
    this.#clock = config?.clock ?? deps.clock;
    this.#timeoutMs = config?.timeoutMs ?? RATE_LIMIT_TIMEOUT_MS;
    this.#outage = new FailOpen(deps.logger, this.#store.kind);
    const store = this.#store;
    if (options.lease && store.add)
      this.#lease = new LeasedCounts(
        store.add.bind(store),
        { limit: this.limit, windowMs: this.#windowMs },
        () => this.#clock.now().getTime(),
        (error) => this.#outage.failed(this.#clock, error, undefined),
      );
  }

  /**
   * Admits one request of `key` in process when this limit keeps a lease on its count (`rate-limit/lease.ts`): the
   * decision with no round trip, or undefined (ask the store with `hit`). Never while the store is failing.
   */
  admitLocally(key: string): RateLimitDecision | undefined {
    if (!this.#lease || !this.#outage.shouldAsk(this.#clock)) return undefined;
    const now = this.#clock.now().getTime();
    const bucket = Math.floor(now / this.#windowMs);
    const elapsedMs = now - bucket * this.#windowMs;
    const counts = this.#lease.admit(key, bucket, elapsedMs, now);
    return counts && decide(counts, elapsedMs, this.#windowMs, this.limit);
  }

  /** Checks (and with `count`, counts) one request of `key`; null when the store could not say. */
  async hit(key: string, count: boolean, requestId: string | undefined): Promise<RateLimitDecision | null> {
    if (!this.#outage.shouldAsk(this.#clock)) return null;
    const now = this.#clock.now().getTime();
    const bucket = Math.floor(now / this.#windowMs);
    const elapsedMs = now - bucket * this.#windowMs;
    try {
      // what this instance admitted of the key in process goes first, so the store's count holds it
      const pending = this.#lease?.flushKey(key);
      if (pending) await withDeadline(pending, this.#timeoutMs);
      const counts = await withDeadline(this.#store.hit({ key, bucket, elapsedMs, windowMs: this.#windowMs, limit: this.limit, count }), this.#timeoutMs);
      this.#outage.recovered();
      if (count) this.#lease?.synced(key, bucket, counts, now);
      return decide(counts, elapsedMs, this.#windowMs, this.limit);
    } catch (error) {
      this.#outage.failed(this.#clock, error, requestId);
      return null;
    }
  }

  headers(decision: RateLimitDecision) {
    return rateLimitHeaders(decision, this.windowSec);
  }
}

function setHeaders(res: Response, headers: Record<string, string>) {
  try {
    for (const [name, value] of Object.entries(headers)) res.headers.set(name, value);
  } catch {
    // a response with immutable headers (one passed through from a fetch) goes out without them
  }
}

/**
 * The per-API-key rate limit (SPEC §11): `rateLimit` (TALLY_RATE_LIMIT) per read key, `writeRateLimit`
 * (TALLY_WRITE_RATE_LIMIT) per write or admin key. Only authenticated requests are answered 429 here; the others meet
 * the anonymous limit (`anonymousLimiter`).
 *
 * One round trip with the key's grant (issue #15): `start` runs before authentication and sends the limiter's script
 * for a key of Tally's shape at once, in the same tick as the grant read that authentication sends next, so the
 * store gets both in one write (node-redis writes a tick's commands together; the Upstash client pipelines them) and
 * the request waits for one round trip, not two. The bucket is named by the key's SHA-256 (what its grant is cached
 * under; never the key), and the limit is chosen by the key's scope letter (`tly_r_`: read, else write), the scope it
 * was minted with. `enforce` runs after authentication and answers 429 from that decision; a key that fails
 * authentication answers 401 as before (its count lands in a bucket no valid key has). The bootstrap admin key, not
 * of Tally's shape, is counted after authentication.
 */
export function keyRateLimits(deps: LimiterDeps & Pick<AppDeps, "rateLimit" | "writeRateLimit" | "cachedReadLease">): {
  start: MiddlewareHandler<AppEnv>;
  enforce: MiddlewareHandler<AppEnv>;
  begin: (c: Context<AppEnv>) => Promise<void>;
  /** the cached-read lane's count with no round trip (`SlidingLimit.admitLocally`): a decision already made, or undefined */
  admitLocally: (token: string, hash: string) => AdmittedLocally | undefined;
} {
  const lease = { lease: deps.cachedReadLease === true };
  const read = deps.rateLimit === false ? null : new SlidingLimit(deps, deps.rateLimit, DEFAULT_RATE_LIMIT_REQUESTS, lease);
  const write = deps.writeRateLimit === false ? null : new SlidingLimit(deps, deps.writeRateLimit, DEFAULT_WRITE_RATE_LIMIT_REQUESTS, lease);
  if (!read && !write) return { start: (_c, next) => next(), enforce: (_c, next) => next(), begin: async () => {}, admitLocally: () => undefined };
  /** a key's limit by the scope letter it was minted with (`tly_r_`: read, else write) */
  const limiterOf = (token: string) => (token[4] === "r" ? read : write);

  const admitLocally = (token: string, hash: string): AdmittedLocally | undefined => {
    const limiter = limiterOf(token);
    const decision = limiter?.admitLocally(hash);
    return limiter && decision ? { limiter, decision } : undefined;
  };

  /** Sends the count of a key of Tally's shape (once a request: the cached-read lane may have begun it already). */
  const begin = async (c: Context<AppEnv>) => {
    if (c.get("pendingLimit")) return;
    const token = bearerToken(c.req.header("authorization"));
    if (!token || !API_KEY_SHAPE.test(token)) return;
    const limiter = limiterOf(token);
    if (!limiter) return;
    let hash = c.get("keyHash");
    if (!hash) c.set("keyHash", (hash = await sha256Hex(token)));
    c.set("pendingLimit", { limiter, decision: limiter.hit(hash, true, c.get("requestId")) });
  };

  const start: MiddlewareHandler<AppEnv> = async (c, next) => {
    await begin(c);
    await next();
  };

  const enforce: MiddlewareHandler<AppEnv> = async (c, next) => {
    const auth = c.get("auth") as Auth | undefined;
    if (!auth) return next();
    let pending = c.get("pendingLimit");
    if (!pending) {
      const limiter = auth.scope === "read" ? read : write;
      if (!limiter) return next();
      pending = { limiter, decision: limiter.hit(auth.keyId ?? "bootstrap-admin", true, c.get("requestId")) };
    }
    const { limiter } = pending;
    const decision = await pending.decision;
    if (!decision) return next();
    const headers = limiter.headers(decision);
    if (!decision.allowed)
      throw new ApiError(
        "rate_limited",
        `This API key sent more than ${limiter.limit} requests in ${limiter.windowSec} s; retry after ${headers["retry-after"]} s`,
        { headers },
      );
    await next();
    setHeaders(c.res, headers);
  };
  return { start, enforce, begin, admitLocally };
}

/** A request counted in process by the lane: its limit and the decision (always an admission). */
export type AdmittedLocally = { limiter: SlidingLimit; decision: RateLimitDecision };

/** A bounded set of the keys (their SHA-256) this instance saw authenticate; the oldest is forgotten first. */
class KnownKeys {
  readonly #hashes = new Set<string>();
  has(hash: string) {
    return this.#hashes.has(hash);
  }
  add(hash: string) {
    this.#hashes.delete(hash);
    this.#hashes.add(hash);
    if (this.#hashes.size > KNOWN_KEYS_MAX) this.#hashes.delete(this.#hashes.values().next().value as string);
  }
  delete(hash: string) {
    this.#hashes.delete(hash);
  }
}

/**
 * The anonymous limit (SPEC §11, `TALLY_ANON_RATE_LIMIT`): requests that fail authentication (401: no key, a
 * malformed, unknown or revoked key, a bad webhook signature) count per client address; once an address is over,
 * its requests are answered 429 here, before any key lookup or signature check, except those carrying a key this
 * instance already saw authenticate. Runs before authentication, on every /api route including the webhook.
 */
export function anonymousLimiter(deps: LimiterDeps & Pick<AppDeps, "anonRateLimit" | "clientAddress">): AnonymousLimiter {
  if (deps.anonRateLimit === false) return Object.assign((_c: Context<AppEnv>, next: Next) => next(), { knows: () => true });
  const limiter = new SlidingLimit(deps, deps.anonRateLimit, DEFAULT_ANON_RATE_LIMIT_REQUESTS);
  const known = new KnownKeys();
  const addressOf = (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => `anon:${deps.clientAddress?.(c) ?? "unknown"}`;

  const check: MiddlewareHandler<AppEnv> = async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    // only a key of Tally's shape (or the bootstrap key's length) is worth a hash: anything else cannot be known; the
    // cached-read lane, when it handed the request over, hashed it already
    const hash = token && token.length <= 256 ? (c.get("keyHash") ?? (await sha256Hex(token))) : undefined;
    if (hash) c.set("keyHash", hash);
    if (hash && known.has(hash)) {
      await next();
      if (c.res.status === 401) known.delete(hash); // revoked since: it meets the limit from now on
      if (c.res.status === 401) await limiter.hit(addressOf(c), true, c.get("requestId"));
      return;
    }
    const address = addressOf(c);
    const before = await limiter.hit(address, false, c.get("requestId"));
    if (before && !before.allowed) {
      const headers = limiter.headers(before);
      throw new ApiError(
        "rate_limited",
        `This address sent more than ${limiter.limit} requests that failed authentication in ${limiter.windowSec} s; retry after ${headers["retry-after"]} s`,
        { headers },
      );
    }
    await next();
    if (c.res.status === 401) {
      await limiter.hit(address, true, c.get("requestId"));
    } else if (hash && c.get("auth")) {
      known.add(hash);
    }
  };
  return Object.assign(check, { knows: (hash: string) => known.has(hash) });
}

/**
 * The anonymous limit's middleware, and whether a key (its SHA-256) is one this instance saw authenticate: such a key
 * is never held back by its address's limit (always true when the limit is off).
 */
export type AnonymousLimiter = MiddlewareHandler<AppEnv> & { knows(hash: string): boolean };

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
