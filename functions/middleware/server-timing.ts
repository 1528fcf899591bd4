import { createMiddleware } from "hono/factory";
import { setMetric } from "hono/timing";
import type { Cache, FetchOptions } from "../cache/cache";
import type { StatementCounter } from "../db/database";
import type { AppEnv, RequestVars } from "../hono/env";

/** Where one request's time went, as Server-Timing reports it next to `total` (SPEC §4). */
export type RequestTimings = {
  /** ms inside cache calls (store round trips, single-flight waits), loader time excluded */
  cacheMs: number;
  /** ms inside cache loaders: the read models' queries and config lookups */
  loadMs: number;
  /** statements sent from inside loaders */
  loadStatements: number;
  /** the request's timed view of the shared cache, made on first use */
  cache?: Cache;
};

declare module "hono" {
  interface ContextVariableMap {
    /** set by `serverTiming` for the request's whole life */
    serverTimings: RequestTimings;
  }
}

/**
 * The shared cache as one request should use it: each call's time counts as `cache`, except the loader's own time,
 * which counts as `db`. A load running in the background (a stale value's refresh) finishes after the response and
 * counts nowhere. Without the `serverTiming` middleware (a job, a test app without it) this is the cache itself.
 */
export function requestCache(c: RequestVars): Cache {
  const timings = c.get("serverTimings") as RequestTimings | undefined;
  if (!timings) return c.get("deps").cache;
  timings.cache ??= timedCache(c.get("deps").cache, timings, c.get("counter"));
  return timings.cache;
}

function timedCache(cache: Cache, timings: RequestTimings, counter: StatementCounter): Cache {
  const timeStore = async <T>(work: Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work;
    } finally {
      timings.cacheMs += performance.now() - started;
    }
  };
  return {
    async fetch<T>(namespace: string, key: string, load: () => Promise<T>, options: FetchOptions) {
      let loadMs = 0;
      const timedLoad = async () => {
        const started = performance.now();
        const statements = counter.count;
        try {
          return await load();
        } finally {
          loadMs += performance.now() - started;
          timings.loadStatements += counter.count - statements;
        }
      };
      const started = performance.now();
      try {
        return await cache.fetch(namespace, key, timedLoad, options);
      } finally {
        const elapsed = performance.now() - started;
        const loaded = Math.min(loadMs, elapsed);
        timings.loadMs += loaded;
        timings.cacheMs += elapsed - loaded;
      }
    },
    invalidate: (namespace, key) => timeStore(cache.invalidate(namespace, key)),
    invalidateOrg: (orgId) => timeStore(cache.invalidateOrg(orgId)),
    stats: () => cache.stats(),
    close: () => cache.close(),
  };
}

/** The Server-Timing value of a request as the chain writes it (`serverTiming`, then `hono/timing`'s `total`). */
export function serverTimingHeader(ms: { dbMs: number; cacheMs: number; totalMs: number }): string {
  return `db;dur=${ms.dbMs.toFixed(1)},cache;dur=${ms.cacheMs.toFixed(1)},total;dur=${ms.totalMs.toFixed(1)};desc="Total Response Time"`;
}

/**
 * Adds `db` and `cache` to the Server-Timing header that `hono/timing` opens with `total`, on every response (0 when
 * the request spent nothing there). Runs after the middleware that hands the request its deps and counted db handle;
 * auth, the read routes (`readContext`) and the service routes (`serviceContext`) reach the cache through
 * `requestCache(c)`.
 *
 * `cache` is the time inside the shared cache. `db` is the time inside cache loaders; a request that also sent
 * statements outside any loader (writes, the calls list, uncached lookups) adds the rest of its handling time outside
 * the cache, which is that service call: validation and JSON take microseconds next to a database round trip.
 */
export const serverTiming = createMiddleware<AppEnv>(async (c, next) => {
  const timings: RequestTimings = { cacheMs: 0, loadMs: 0, loadStatements: 0 };
  c.set("serverTimings", timings);
  const started = performance.now();
  try {
    await next();
  } finally {
    const handling = performance.now() - started;
    const ownStatements = c.get("counter").count > timings.loadStatements;
    const dbMs = timings.loadMs + (ownStatements ? Math.max(0, handling - timings.cacheMs - timings.loadMs) : 0);
    setMetric(c, "db", dbMs);
    setMetric(c, "cache", timings.cacheMs);
  }
});
