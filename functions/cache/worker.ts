import { createSharedCache, type CreateCacheOptions, type SharedCache } from "./index";
import { upstashStore } from "./upstash-cloudflare";

export type WorkerCacheOptions = Omit<CreateCacheOptions, "store" | "maxEntries"> & {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  timeoutMs?: number;
};

/**
 * The Workers entry's cache: Upstash over REST (fetch only), background refreshes through `ctx.waitUntil`; answered
 * with the Upstash store it built (the voice provider keeps its state there too).
 */
export function createWorkerSharedCache(options: WorkerCacheOptions): SharedCache {
  const { url, token, timeoutMs, ...rest } = options;
  return createSharedCache({ ...rest, store: upstashStore({ url, token, timeoutMs }) });
}
