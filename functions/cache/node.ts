import type { Cache } from "./cache";
import { createSharedCache, type CreateCacheOptions, type SharedCache } from "./index";
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
  return createNodeSharedCache(options).cache;
}

/** `createNodeCache`, also answering the shared store it built (the voice provider keeps its state there too). */
export function createNodeSharedCache(options: NodeCacheOptions): SharedCache {
  const { store, url, token, timeoutMs, ...rest } = options;
  switch (store) {
    case "memory":
      return createSharedCache({ ...rest, store: "memory" });
    case "redis":
      if (!url) throw new CacheConfigError("the redis cache store needs a url (REDIS_URL)");
      return createSharedCache({ ...rest, store: redisStore({ url, timeoutMs, logger: options.logger }) });
    case "upstash":
      if (!url || !token) throw new CacheConfigError("the upstash cache store needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN");
      return createSharedCache({ ...rest, store: upstashStore({ url, token, timeoutMs }) });
  }
}
