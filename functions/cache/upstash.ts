import { Redis } from "@upstash/redis";
import type { CacheStore } from "./store";
import { upstashClientConfig, upstashStoreOver, type UpstashStoreOptions } from "./upstash-store";

/** The Upstash store for Node (`@upstash/redis`). Workers import `upstash-cloudflare.ts` instead. */
export function upstashStore(options: UpstashStoreOptions): CacheStore {
  return upstashStoreOver(new Redis(upstashClientConfig(options)), options.timeoutMs);
}
