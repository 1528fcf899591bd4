import type { Clock } from "../lib/clock";
import { silentLogger, type Logger } from "../lib/logger";
import type { Cache } from "./cache";
import { ExpiringLru } from "./lru";
import type { CacheStore, StoreGuard } from "./store";
import { tieredCache } from "./tiered";

/** Bound on entries kept in process: enough for every dashboard key of a few hundred active organizations. */
export const MEMORY_CACHE_MAX_ENTRIES = 10_000;
/** Bound on the in-process store's bytes (UTF-16 keys and values): entries may be up to a megabyte each (issue #18). */
export const MEMORY_CACHE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The in-process LRU store: the embedded default when no Redis is configured. Expiry follows the injected clock. Two
 * caches handed the same store share it as two app instances share a Redis, which is how tests exercise coherence.
 */
export function memoryStore(clock: Clock, maxEntries = MEMORY_CACHE_MAX_ENTRIES, maxBytes = MEMORY_CACHE_MAX_BYTES): CacheStore {
  const entries = new ExpiringLru<string>(maxEntries, () => clock.now().getTime(), { maxBytes, sizeOf: (key, value) => 2 * (key.length + value.length) });
  const holds = (guard: StoreGuard) => (entries.get(guard.key) ?? null) === guard.equals;
  return {
    kind: "memory",
    async get(keys) {
      return keys.map((key) => entries.get(key) ?? null);
    },
    async set(key, value, ttlMs) {
      entries.set(key, value, ttlMs);
    },
    async setIf(key, value, ttlMs, guards) {
      if (!guards.every(holds)) return false;
      entries.set(key, value, ttlMs);
      return true;
    },
    async delete(keys) {
      for (const key of keys) entries.delete(key);
    },
    async close() {
      entries.clear();
    },
  };
}

/** A cache over an in-process store of its own (no L1 in front: the store already is in process). */
export function memoryCache(clock: Clock, maxEntries = MEMORY_CACHE_MAX_ENTRIES, logger: Logger = silentLogger): Cache {
  return tieredCache({ store: memoryStore(clock, maxEntries), clock, logger, l1: false });
}
