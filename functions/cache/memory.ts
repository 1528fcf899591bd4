import type { Clock } from "../lib/clock";
import type { Cache, CacheResult, CacheStats, FetchOptions, NamespaceStats } from "./cache";

type Entry = { value: unknown; asOf: number; freshUntil: number; staleUntil: number; ttlSec: number };

/** Bound on entries kept in process: enough for every dashboard key of a few hundred active organizations. */
export const MEMORY_CACHE_MAX_ENTRIES = 10_000;

/** In-process LRU with fresh and stale windows: the embedded default when no Redis is configured. */
export function memoryCache(clock: Clock, maxEntries = MEMORY_CACHE_MAX_ENTRIES): Cache {
  const entries = new Map<string, Entry>();
  const orgVersions = new Map<string, number>();
  const counters = new Map<string, { hits: number; misses: number; stale: number; loadErrors: number }>();
  const inflight = new Map<string, Promise<unknown>>();

  const count = (ns: string, field: "hits" | "misses" | "stale" | "loadErrors") => {
    const c = counters.get(ns) ?? { hits: 0, misses: 0, stale: 0, loadErrors: 0 };
    c[field] += 1;
    counters.set(ns, c);
  };
  const fullKey = (ns: string, key: string) => {
    const org = key.split(":")[0] ?? "";
    return `${ns}:${key}:v${orgVersions.get(org) ?? 0}`;
  };
  const store = (k: string, e: Entry) => {
    entries.delete(k);
    entries.set(k, e);
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
  };

  async function load<T>(ns: string, k: string, loadFn: () => Promise<T>, options: FetchOptions): Promise<{ value: T; asOf: Date }> {
    const running = inflight.get(k) as Promise<{ value: T; asOf: Date }> | undefined;
    if (running) return running;
    const asOf = options.asOf ?? clock.now();
    const promise = (async () => {
      try {
        const value = await loadFn();
        const at = asOf.getTime();
        store(k, {
          value,
          asOf: at,
          freshUntil: clock.now().getTime() + options.freshSec * 1000,
          staleUntil: clock.now().getTime() + (options.freshSec + (options.staleSec ?? 0)) * 1000,
          ttlSec: options.freshSec,
        });
        return { value, asOf };
      } catch (error) {
        count(ns, "loadErrors");
        throw error;
      } finally {
        inflight.delete(k);
      }
    })();
    inflight.set(k, promise);
    return promise;
  }

  return {
    async fetch<T>(ns: string, key: string, loadFn: () => Promise<T>, options: FetchOptions): Promise<CacheResult<T>> {
      const k = fullKey(ns, key);
      const now = clock.now().getTime();
      const entry = entries.get(k);
      if (entry && now < entry.freshUntil) {
        count(ns, "hits");
        store(k, entry);
        return { value: entry.value as T, status: "hit", asOf: new Date(entry.asOf), ttlSec: entry.ttlSec };
      }
      if (entry && now < entry.staleUntil) {
        count(ns, "stale");
        void load(ns, k, loadFn, options).catch(() => {});
        return { value: entry.value as T, status: "stale", asOf: new Date(entry.asOf), ttlSec: entry.ttlSec };
      }
      count(ns, "misses");
      const loaded = await load(ns, k, loadFn, options);
      return { value: loaded.value, status: "miss", asOf: loaded.asOf, ttlSec: options.freshSec };
    },
    async invalidate(ns, key) {
      entries.delete(fullKey(ns, key));
    },
    async invalidateOrg(orgId) {
      orgVersions.set(orgId, (orgVersions.get(orgId) ?? 0) + 1);
    },
    stats(): CacheStats {
      const namespaces: Record<string, NamespaceStats> = {};
      const total = { hits: 0, misses: 0, stale: 0, loadErrors: 0 };
      for (const [ns, c] of counters) {
        namespaces[ns] = { ...c, hitRatio: ratio(c.hits + c.stale, c.hits + c.stale + c.misses) };
        total.hits += c.hits;
        total.misses += c.misses;
        total.stale += c.stale;
        total.loadErrors += c.loadErrors;
      }
      return { ...total, hitRatio: ratio(total.hits + total.stale, total.hits + total.stale + total.misses), namespaces };
    },
    async close() {
      entries.clear();
    },
  };
}

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);
