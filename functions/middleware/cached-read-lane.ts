import type { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { StatementCounter } from "../db/database";
import type { AppDeps } from "../deps";
import type { AppEnv } from "../hono/env";
import { sha256HexNow, timingSafeEqual } from "../lib/api-keys";
import { ifNoneMatchMatches } from "../lib/etag";
import { chosenEncoding, checkedAnswer, compressedTextIfMade, compressedTextOf, jsonTextOf } from "../lib/respond";
import { MAX_WINDOW_DAYS } from "../lib/windows";
import { requestMetricsOf } from "../ops/metrics";
import { logRequest } from "../ops/request-log";
import type { Cache, CacheResult } from "../cache/cache";
import type { OrgContext } from "../context";
import { findApiKeyGrant, peekApiKeyGrant } from "../services/api-key-lookup";
import { API_KEY_SHAPE, bearerToken } from "./auth";
import { API_CACHE_CONTROL } from "./http-caching";
import type { AdmittedLocally, AnonymousLimiter, keyRateLimits } from "./rate-limit";
import { serverTimingHeader } from "./server-timing";

/**
 * How recently the shared store must have confirmed a key's grant for the lane to answer with it and no round trip
 * (`AppDeps.cachedReadLease`): a key revoked through another instance is refused here within this; through this
 * instance, at once (its copy is dropped).
 */
export const GRANT_LEASE_MS = 250;

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
  const leased = deps.cachedReadLease === true;
  return (c, next) => {
    if (c.req.method !== "GET") return next();
    const route = byPath.get(c.req.path);
    if (!route) return next();
    const started = performance.now();
    const query = plainWindowQuery(c.req.url, route);
    const token = bearerToken(c.req.header("authorization"));
    if (!query || !token || !API_KEY_SHAPE.test(token)) return next();
    if (deps.adminKey && timingSafeEqual(token, deps.adminKey)) return next();
    const hash = sha256HexNow(token);
    c.set("keyHash", hash);
    if (!limits.anonymous.knows(hash)) return next();
    const requestId = requestIdOf(c);
    c.set("requestId", requestId);
    const request: LaneRequest = { route, query: { ...query, days: query.days ?? route.defaultDays }, token, hash, requestId, started };
    const answered = leased && answerLeased(c, deps, limits.key, request);
    return answered ? afterThisPoll(answered) : answerAfterRoundTrip(c, next, deps, limits.key, request);
  };
}

/**
 * A leased answer goes out after the event loop's current I/O phase, with the others of that phase, rather than
 * each as its request is parsed: paired on the bench (Node entry, 50 connections), writing each at once cost more
 * server CPU a hit than the round-trip path it replaces (the socket writes, interleaved with the reads, took twice
 * as long); deferred, ~10 % less than that path (BENCHMARKS.md). `setImmediate` where the runtime has it (Node).
 */
const afterThisPoll: (response: Response) => Promise<Response> =
  typeof setImmediate === "function" ? (response) => new Promise((resolve) => setImmediate(resolve, response)) : (response) => Promise.resolve(response);

type LaneRequest = {
  route: LaneRoute;
  query: { days: number; compare?: "previous" };
  token: string;
  hash: string;
  requestId: string;
  started: number;
};

/**
 * The answer with no round trip at all (`AppDeps.cachedReadLease`): the key's grant as the shared store confirmed it
 * less than `GRANT_LEASE_MS` ago, its count admitted in process (`rate-limit/lease.ts`) and the value fresh in process;
 * the compressed bytes too, when the client takes them. Anything short of that is undefined, having counted nothing:
 * the round-trip path then does as it always did.
 */
function answerLeased(c: Context<AppEnv>, deps: AppDeps, limits: ReturnType<typeof keyRateLimits>, request: LaneRequest): Response | undefined {
  const grant = peekApiKeyGrant(deps.cache, request.hash, GRANT_LEASE_MS);
  if (!grant?.org) return undefined;
  const result = request.route.peek(deps.cache, grant.org, request.query, deps.clock.now());
  if (!result) return undefined;
  const body = bodyOf(c, deps, request.route, result);
  if (body.encoding && !body.compressed) return undefined;
  const admitted = limits.admitLocally(request.token, request.hash);
  if (!admitted) return undefined;
  const cacheMs = performance.now() - request.started;
  return answer(deps, request, { ...body, bytes: body.compressed ?? body.bytes }, result, admitted, { cacheMs, statements: 0, leased: true });
}

/**
 * The answer for one store round trip (the key's grant and its rate-limit count, sent together), or the request handed
 * to the chain with what was begun (its count, its grant, its statement counter).
 */
async function answerAfterRoundTrip(
  c: Context<AppEnv>,
  next: () => Promise<void>,
  deps: AppDeps,
  limits: ReturnType<typeof keyRateLimits>,
  request: LaneRequest,
): ReturnType<MiddlewareHandler<AppEnv>> {
  await limits.begin(c);
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
      request.hash,
    );
  } catch {
    return next();
  }
  const cacheMs = performance.now() - request.started;
  const pending = c.get("pendingLimit");
  const decision = pending && (await pending.decision);
  if (!grant?.org) return next();
  // the chain authenticates with the grant just read (as `authenticate` would resolve it), not with a second read
  c.set("auth", { kind: "org", keyId: grant.keyId, scope: grant.scope, org: grant.org });
  if (decision && !decision.allowed) return next();

  const result = request.route.peek(deps.cache, grant.org, request.query, deps.clock.now());
  if (!result) return next();
  const body = bodyOf(c, deps, request.route, result);
  const bytes = body.encoding ? (body.compressed ?? compressedTextOf(body.serialized, body.encoding)) : body.bytes;
  return answer(deps, request, { ...body, bytes }, result, decision ? { limiter: pending.limiter, decision } : undefined, {
    cacheMs,
    statements: counter.count,
  });
}

/** What a cached value answers this request: 304 or 200, its ETag, and its bytes (compressed, if the client takes that and they are made). */
function bodyOf(c: Context<AppEnv>, deps: AppDeps, route: LaneRoute, result: CacheResult<object>) {
  const serialized = jsonTextOf(checkedAnswer(deps.validateResponses, route.schema, route.answer(result)));
  const notModified = ifNoneMatchMatches(c.req.header("if-none-match"), serialized.etag);
  // compressed as `hono/compress` would, once per answer rather than once a request
  const encoding = notModified ? undefined : chosenEncoding(c.req.header("accept-encoding"));
  return {
    serialized,
    notModified,
    encoding,
    bytes: notModified ? null : (serialized.text as string | Uint8Array<ArrayBuffer>),
    compressed: encoding && compressedTextIfMade(serialized, encoding),
  };
}

/** The answer with the chain's headers, its request log line and its metrics. */
function answer(
  deps: AppDeps,
  request: LaneRequest,
  body: { serialized: { etag: string }; notModified: boolean; encoding: "gzip" | "deflate" | undefined; bytes: string | Uint8Array<ArrayBuffer> | null },
  result: CacheResult<object>,
  counted: AdmittedLocally | undefined,
  measured: { cacheMs: number; statements: number; leased?: boolean },
): Response {
  const status = body.notModified ? 304 : 200;
  const durationMs = performance.now() - request.started;
  const headers: Record<string, string> = {
    "x-request-id": request.requestId,
    vary: "Accept-Encoding",
    ...(body.notModified ? {} : { "content-type": "application/json" }),
    ...(body.encoding && { "content-encoding": body.encoding }),
    etag: body.serialized.etag,
    "cache-control": API_CACHE_CONTROL,
    ...counted?.limiter.headers(counted.decision),
    "server-timing": serverTimingHeader({ dbMs: 0, cacheMs: measured.cacheMs, totalMs: durationMs }),
    "timing-allow-origin": "*",
  };
  const { route } = request;
  requestMetricsOf(deps).observe({ method: "GET", route: route.path, status: String(status) }, durationMs / 1000);
  logRequest(deps, {
    requestId: request.requestId,
    method: "GET",
    route: route.path,
    path: route.path,
    status,
    durationMs: Math.round(durationMs * 10) / 10,
    statements: measured.statements,
    cache: result.status,
    lane: "cached-read",
    ...(measured.leased && { lease: true }),
  });
  return new Response(body.bytes, { status, headers });
}

/** `x-request-id` as `hono/request-id` takes it: the client's, when it is 1–255 word characters, `-` or `=`; else a new UUID. */
function requestIdOf(c: Context<AppEnv>): string {
  const sent = c.req.header("x-request-id");
  return sent && sent.length <= 255 && !/[^\w\-=]/.test(sent) ? sent : crypto.randomUUID();
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
