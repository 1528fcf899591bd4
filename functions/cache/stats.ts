import type { CacheStats, NamespaceStats, StoreStats } from "./cache";

type Counts = { hits: number; misses: number; stale: number; loadErrors: number };
export type NamespaceCounter = keyof Counts;

/** The counters behind `stats()`: per namespace, plus the store's health. */
export class CacheCounters {
  readonly #namespaces = new Map<string, Counts>();
  readonly store = { errors: 0, writeErrors: 0, skippedWrites: 0 };

  count(ns: string, field: NamespaceCounter): void {
    let counts = this.#namespaces.get(ns);
    if (!counts) this.#namespaces.set(ns, (counts = { hits: 0, misses: 0, stale: 0, loadErrors: 0 }));
    counts[field] += 1;
  }

  snapshot(store?: Omit<StoreStats, "errors" | "writeErrors" | "skippedWrites">): CacheStats {
    const namespaces: Record<string, NamespaceStats> = {};
    const total: Counts = { hits: 0, misses: 0, stale: 0, loadErrors: 0 };
    for (const [ns, c] of this.#namespaces) {
      namespaces[ns] = withRatio(c);
      total.hits += c.hits;
      total.misses += c.misses;
      total.stale += c.stale;
      total.loadErrors += c.loadErrors;
    }
    return { ...withRatio(total), namespaces, ...(store ? { store: { ...store, ...this.store } } : {}) };
  }
}

/** Stale serves count as hits of the cache: the caller did not wait for a load. */
const withRatio = (c: Counts): NamespaceStats => {
  const served = c.hits + c.stale;
  return { ...c, hitRatio: served + c.misses === 0 ? null : served / (served + c.misses) };
};
