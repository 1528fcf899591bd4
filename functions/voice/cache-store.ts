import type { CacheStore } from "../cache/store";
import type { Clock } from "../lib/clock";
import { memoryVoiceStore, type VoiceStore } from "./store";

/**
 * A `VoiceStore` over the shared cache's store (Redis on TCP, Upstash over REST), so that every app instance reads the
 * configs another fetched and the circuit breaker another opened. Keys sit under the cache's own prefix followed by
 * `~`: cache namespaces are lowercase words, so `<prefix>~voice:...` never meets a cache entry (the cache's own
 * `~version:` keys use the same device). Failures pass through: the voice client and config service already take a
 * failed read for a miss and a failed write for a logged one, and the store bounds every call with its own timeout.
 */
export function voiceStoreFrom(store: CacheStore, options: { keyPrefix?: string } = {}): VoiceStore {
  const prefix = `${options.keyPrefix ?? "tally:"}~`;
  return {
    async get(key) {
      const [value = null] = await store.get([prefix + key]);
      return value;
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      return store.get(keys.map((key) => prefix + key));
    },
    async set(key, value, ttlMs) {
      await store.set(prefix + key, value, ttlMs);
    },
  };
}

/**
 * The voice store of an app instance: over the cache's shared store when it is Redis or Upstash, a private in-process
 * one when the cache itself is in process (nothing to share with; and voice entries then stay out of the cache's
 * bounded LRU rather than evict dashboard entries).
 */
export function voiceStoreOver(shared: { store: CacheStore; keyPrefix?: string }, clock: Clock): VoiceStore {
  if (shared.store.kind === "memory") return memoryVoiceStore(clock);
  return voiceStoreFrom(shared.store, shared.keyPrefix === undefined ? {} : { keyPrefix: shared.keyPrefix });
}
