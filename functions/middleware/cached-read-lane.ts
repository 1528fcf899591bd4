import type { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { parseAccept } from "hono/utils/accept";
import { StatementCounter } from "../db/database";
import type { AppDeps } from "../deps";
import type { AppEnv } from "../hono/env";
import { sha256Hex, timingSafeEqual } from "../lib/api-keys";
import { ifNoneMatchMatches } from "../lib/etag";
import { checkedAnswer, compressedTextOf, jsonTextOf } from "../lib/respond";
import { MAX_WINDOW_DAYS } from "../lib/windows";
import { requestMetricsOf } from "../ops/metrics";
import { logRequest } from "../ops/request-log";
import type { Cache, CacheResult } from "../cache/cache";
import type { OrgContext } from "../context";
import { findApiKeyGrant } from "../services/api-key-lookup";
import { API_KEY_SHAPE, bearerToken } from "./auth";
import { API_CACHE_CONTROL } from "./http-caching";
import type { AnonymousLimiter, keyRateLimits } from "./rate-limit";
import { serverTimingHeader } from "./server-timing";

/** A read route the lane may answer: its path, its cached value's fresh in-process hit, its response schema and answer. */
export type LaneRoute = {
  path: string;
  /** the `days` a request without one reads */
  defaultDays: number;
  /** the route takes `compare=previous` */
  compare: boolean;
  /** the fresh in-process hit of the value the route would read for this request (`cache.peek`), or undefined */
  peek: (cache: Cache, org: OrgContext, query: { days: number; compare?: "previous" }, now: Date) => CacheResult<object> | undefined;
  schema: z.ZodType;
  /** the route's answer for a cached value, the very one its handler builds */
  // biome-ignore lint/suspicious/noExplicitAny: each route's own value
  answer: (result: CacheResult<any>) => object;
};

/**
 * The cached-read lane (issue #15): a `GET` of a cached aggregate that this instance holds fresh in process is
 * answered here, ahead of the middleware chain, with the answer the chain would give, for one store round trip (the
 * key's grant and its rate-limit count, sent together) and no other work: the chain's dozen middleware layers, the
 * route's query validation and Hono's `Headers` objects cost a cached overview more CPU than the rest of it (BENCHMARKS.md).
 *
 * It answers only the plainest request and hands everything else to the chain untouched, having done nothing the
 * chain would do again: `days=N` (or nothing) and, where the route takes it, `compare=previous`, and no other
 * parameter; a key of Tally's shape that this instance saw authenticate (so the anonymous limit cannot concern it); a
 * grant for one organization; a count the limit admits; a fresh in-process copy of the value (`cache.peek`). An answer
 * the client takes compressed is compressed as the chain's `compress` would, once per cached answer, not per request.
 * What it began before handing over goes with the request: the key's hash, its pending count (the chain's limiter
 * does not count it twice), its grant (the chain's `authenticate` does not read it twice) and the statement counter,
 * so a refusal (429), a revoked key (401) or a miss is the chain's answer as before (the chain names its own request id). Headers, ETag and 304, `Server-Timing`, the request log and the request metrics are
 * the chain's; `test/middleware/cached-read-lane.test.ts` compares both answers header by header.
 */
export function cachedReadLane(
  deps: AppDeps,
  routes: readonly LaneRoute[],
  limits: { anonymous: AnonymousLimiter; key: ReturnType<typeof keyRateLimits> },
): MiddlewareHandler<AppEnv> {
  const byPath = new Map(routes.map((route) => [route.path, route]));
  return async (c, next) => {
    if (c.req.method !== "GET") return next();
    const route = byPath.get(c.req.path);
    if (!route) return next();
    const started = performance.now();
    const query = plainWindowQuery(c.req.url, route);
    const token = bearerToken(c.req.header("authorization"));
    if (!query || !token || !API_KEY_SHAPE.test(token)) return next();
    if (deps.adminKey && timingSafeEqual(token, deps.adminKey)) return next();
    const hash = await sha256Hex(token);
    c.set("keyHash", hash);
    if (!limits.anonymous.knows(hash)) return next();

    const requestId = requestIdOf(c);
    c.set("requestId", requestId);
    await limits.key.begin(c);
    // the request's statement counter starts here: the chain counts on in it after a hand-over
    const counter = new StatementCounter();
    c.set("counter", counter);
    let grant: Awaited<ReturnType<typeof findApiKeyGrant>>;
    try {
      // the counted handle only if the grant is loaded (a cached grant sends no statement)
      grant = await findApiKeyGrant(
        {
          get db() {
            return deps.database.withCounter(counter);
          },
          cache: deps.cache,
        },
        hash,
      );
    } catch {
      return next();
    }
    const cacheMs = performance.now() - started;
    const pending = c.get("pendingLimit");
    const decision = pending && (await pending.decision);
    if (!grant?.org) return next();
    // the chain authenticates with the grant just read (as `authenticate` would resolve it), not with a second read
    c.set("auth", { kind: "org", keyId: grant.keyId, scope: grant.scope, org: grant.org });
    if (decision && !decision.allowed) return next();

    const result = route.peek(deps.cache, grant.org, { ...query, days: query.days ?? route.defaultDays }, deps.clock.now());
    if (!result) return next();
    const serialized = jsonTextOf(checkedAnswer(deps.validateResponses, route.schema, route.answer(result)));
    const { etag } = serialized;
    const notModified = ifNoneMatchMatches(c.req.header("if-none-match"), etag);
    // compressed as `hono/compress` would, once per answer rather than once a request
    const acceptEncoding = c.req.header("accept-encoding");
    const encoding = notModified || acceptEncoding === undefined ? undefined : chosenEncoding(acceptEncoding);
    let body: string | Uint8Array<ArrayBuffer> | null = notModified ? null : serialized.text;
    if (encoding) {
      try {
        body = await compressedTextOf(serialized, encoding);
      } catch {
        return next();
      }
    }
    const status = notModified ? 304 : 200;
    const durationMs = performance.now() - started;
    const headers: Record<string, string> = {
      "x-request-id": requestId,
      vary: "Accept-Encoding",
      ...(notModified ? {} : { "content-type": "application/json" }),
      ...(encoding && { "content-encoding": encoding }),
      etag,
      "cache-control": API_CACHE_CONTROL,
      ...(decision && pending.limiter.headers(decision)),
      "server-timing": serverTimingHeader({ dbMs: 0, cacheMs, totalMs: durationMs }),
      "timing-allow-origin": "*",
    };
    requestMetricsOf(deps).observe({ method: "GET", route: route.path, status: String(status) }, durationMs / 1000);
    logRequest(deps, {
      requestId,
      method: "GET",
      route: route.path,
      path: c.req.path,
      status,
      durationMs: Math.round(durationMs * 10) / 10,
      statements: counter.count,
      cache: result.status,
      lane: "cached-read",
    });
    return new Response(body, { status, headers });
  };
}

/** `x-request-id` as `hono/request-id` takes it: the client's, when it is 1–255 word characters, `-` or `=`; else a new UUID. */
function requestIdOf(c: Context<AppEnv>): string {
  const sent = c.req.header("x-request-id");
  return sent && sent.length <= 255 && !/[^\w\-=]/.test(sent) ? sent : crypto.randomUUID();
}

/** The encoding `hono/compress` (the chain's) picks for an `Accept-Encoding`: gzip or deflate by weight, gzip first. */
function chosenEncoding(acceptEncoding: string): "gzip" | "deflate" | undefined {
  const accepts = parseAccept(acceptEncoding);
  const wildcard = accepts.find((a) => a.type === "*")?.q;
  let best: { encoding: "gzip" | "deflate"; q: number } | undefined;
  for (const encoding of ["gzip", "deflate"] as const) {
    const q = accepts.find((a) => a.type.toLowerCase() === encoding)?.q ?? wildcard ?? 0;
    if (q === 1) return encoding;
    if (q > 0 && (!best || q > best.q)) best = { encoding, q };
  }
  return best?.encoding;
}

/**
 * The query when it is one the lane answers exactly as the route's schema reads it: `days` as 1–90 without a sign,
 * point or leading zero, `compare=previous` where the route takes it, each at most once, nothing else.
 */
function plainWindowQuery(url: string, route: LaneRoute): { days?: number; compare?: "previous" } | undefined {
  const at = url.indexOf("?");
  if (at === -1 || at === url.length - 1) return {};
  const query: { days?: number; compare?: "previous" } = {};
  for (const pair of url.slice(at + 1).split("&")) {
    if (pair.startsWith("days=") && query.days === undefined && /^[1-9][0-9]?$/.test(pair.slice(5))) {
      query.days = Number(pair.slice(5));
      if (query.days > MAX_WINDOW_DAYS) return undefined;
    } else if (pair === "compare=previous" && route.compare && query.compare === undefined) {
      query.compare = "previous";
    } else return undefined;
  }
  return query;
}
