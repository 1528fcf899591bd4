import type { Cache } from "./cache";
import { createCache, type CreateCacheOptions } from "./index";
import { redisStore } from "./redis";
import { upstashStore } from "./upstash";

export type NodeCacheOptions = Omit<CreateCacheOptions, "store"> & {
  store: "memory" | "redis" | "upstash";
  /** REDIS_URL for `redis`, UPSTASH_REDIS_REST_URL for `upstash` */
  url?: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token?: string;
  /** per-command store timeout (ms) */
  timeoutMs?: number;
};

/** A cache setting is missing or wrong: raised at startup, never while serving. */
export class CacheConfigError extends Error {
  override name = "CacheConfigError";
}

/** The Node entry's cache: `redis` when REDIS_URL is set, else `memory` (or `upstash` to try the edge's store). */
export function createNodeCache(options: NodeCacheOptions): Cache {
  const { store, url, token, timeoutMs, ...rest } = options;
  switch (store) {
    case "memory":
      return createCache({ ...rest, store: "memory" });
    case "redis":
      if (!url) throw new CacheConfigError("the redis cache store needs a url (REDIS_URL)");
      return createCache({ ...rest, store: redisStore({ url, timeoutMs, logger: options.logger }) });
    case "upstash":
      if (!url || !token) throw new CacheConfigError("the upstash cache store needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN");
      return createCache({ ...rest, store: upstashStore({ url, token, timeoutMs }) });
  }
}
