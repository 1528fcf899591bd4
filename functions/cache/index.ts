/**
 * The shared cache (SPEC §1, §4, §10).
 *
 * Tiers: a per-instance L1 (bounded LRU; an entry lives `L1_TTL_MS` = 1 s at most) in front of a shared store (Redis on
 * TCP, Upstash over REST, or in process). Store keys read `ns:org:version:params`.
 *
 * Coherence across instances:
 * - `invalidateOrg` writes a new random version for the organization. Every store read fetches the org's version with
 *   the entry (one MGET), so an instance sees the new version on its next store read. An `aggregate` value may be
 *   served from another instance's L1 for at most `L1_TTL_MS` (1 s) plus one store round trip after the invalidation;
 *   a `config` value is never served from L1 without the store confirming it byte for byte, so a config write is
 *   visible on the very next read from any instance. (`peek` under a lease answers a config value the store confirmed
 *   less than the lease ago: the cached-read lane's grants, `TALLY_READ_LEASE`.)
 * - `invalidate(ns, key)` moves the key's generation, deletes the entry, and drops the writer's L1 copy.
 * - A load writes its value only if the org's version and the key's generation are still those read before loading
 *   (one atomic guarded SET), so a slow load begun before an invalidation never writes its older value over it.
 * - An `aggregate` miss is answered as soon as its value is encoded; the guarded SET goes on in the background (through
 *   `waitUntil` on Workers; `close()` waits for it). Meanwhile this instance serves the value from L1 (and joins reads
 *   of the key to the load), and drops that copy if the store refuses the write. A `config` value is answered only once
 *   its write has ended.
 *
 * Faults: every store call has a short timeout; a failed read is a miss, a failed write is logged and counted, and a
 * failure pauses store calls for `STORE_RETRY_MS`, so with Redis down or hanging `fetch` answers within the loader's
 * time plus one store timeout. Invalidations that fail are replayed, before the next read, once the store answers.
 */
import type { Cache } from "./cache";
import { MEMORY_CACHE_MAX_ENTRIES, memoryStore } from "./memory";
import type { CacheStore } from "./store";
import { tracedStore } from "./traced-store";
import type { Tracer } from "../lib/tracing";
import { type TieredCacheOptions, tieredCache } from "./tiered";

export type CreateCacheOptions = Omit<TieredCacheOptions, "store"> & {
  /** `memory`: an in-process store of the cache's own (the embedded default); else a store built by the entry */
  store: "memory" | CacheStore;
  /** entries of the in-process store */
  maxEntries?: number;
  /** when tracing is on (the Node entry with OTEL_EXPORTER_OTLP_ENDPOINT): every store call becomes a span */
  tracer?: Tracer;
};

/**
 * Builds the cache an entry hands the app. Entries build the store from their environment: Node with `redisStore`
 * (`./redis`) or `upstashStore` (`./upstash`), Workers with `upstashStore` from `./upstash-cloudflare`, so that this
 * module pulls in neither node-redis nor a runtime-specific client. `createNodeCache` (`./node`) and
 * `createWorkerSharedCache` (`./worker`) do exactly that from a store name.
 * @internal tests build their caches through it; the entries use `createSharedCache`
 */
export function createCache(options: CreateCacheOptions): Cache {
  return createSharedCache(options).cache;
}

/**
 * A cache together with the shared store under it and the prefix of its keys there, so that other users of that store
 * (the voice provider's config cache and circuit breaker) share it across instances as the cache does. The cache owns
 * the store: `cache.close()` closes it.
 */
export type SharedCache = { cache: Cache; store: CacheStore; keyPrefix: string };

/** The prefix of the cache's keys in the shared store unless the options name another (tests use one of their own). */
export const DEFAULT_KEY_PREFIX = "tally:";

/** `createCache`, also answering the store it built (or was handed). */
export function createSharedCache(options: CreateCacheOptions): SharedCache {
  const { store, maxEntries, tracer, ...rest } = options;
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const traced = (built: CacheStore) => (tracer ? tracedStore(built, tracer) : built);
  if (store === "memory") {
    const memory = traced(memoryStore(options.clock, maxEntries ?? MEMORY_CACHE_MAX_ENTRIES));
    return { cache: tieredCache({ ...rest, keyPrefix, store: memory, l1: false }), store: memory, keyPrefix };
  }
  const shared = traced(store);
  return { cache: tieredCache({ ...rest, keyPrefix, store: shared }), store: shared, keyPrefix };
}
