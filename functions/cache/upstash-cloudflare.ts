import { Redis } from "@upstash/redis/cloudflare";
import type { CacheStore } from "./store";
import { upstashClientConfig, upstashStoreOver, type UpstashStoreOptions } from "./upstash-store";

/** The Upstash store for Cloudflare Workers (`@upstash/redis/cloudflare`: fetch only, no Node modules). */
export function upstashStore(options: UpstashStoreOptions): CacheStore {
  return upstashStoreOver(new Redis(upstashClientConfig(options)), options.timeoutMs);
}
