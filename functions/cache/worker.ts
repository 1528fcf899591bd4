import type { Cache } from "./cache";
import { createCache, type CreateCacheOptions } from "./index";
import { upstashStore } from "./upstash-cloudflare";

export type WorkerCacheOptions = Omit<CreateCacheOptions, "store" | "maxEntries"> & {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  timeoutMs?: number;
};

/** The Workers entry's cache: Upstash over REST (fetch only), background refreshes through `ctx.waitUntil`. */
export function createWorkerCache(options: WorkerCacheOptions): Cache {
  const { url, token, timeoutMs, ...rest } = options;
  return createCache({ ...rest, store: upstashStore({ url, token, timeoutMs }) });
}
