import type { MiddlewareHandler } from "hono";
import { withDeadline } from "../cache/store";
import type { AppDeps } from "../deps";
import type { AppEnv, Auth } from "../hono/env";
import type { Clock } from "../lib/clock";
import { ApiError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { decide, type RateLimitDecision } from "../rate-limit/algorithm";
import {
  DEFAULT_RATE_LIMIT_REQUESTS,
  DEFAULT_RATE_LIMIT_WINDOW_SEC,
  RATE_LIMIT_RETRY_MS,
  RATE_LIMIT_TIMEOUT_MS,
  type RateLimitConfig,
} from "../rate-limit/config";
import { memoryRateLimitStore } from "../rate-limit/stores";

/** The HTTP side of the per-API-key rate limit; the algorithm, its script, stores and config are in `rate-limit/`. */

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
      throw new ApiError("rate_limited", `This API key sent more than ${limit} requests in ${windowSec} s; retry after ${headers["retry-after"]} s`, {
        headers,
      });
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
