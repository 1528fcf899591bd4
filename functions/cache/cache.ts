/** What a cached answer says about itself; surfaces as `meta.cache`. */
export type CacheStatus = "hit" | "miss" | "stale" | "bypass";

export type CacheResult<T> = {
  value: T;
  status: CacheStatus;
  /** when the value was computed: the instant its numbers are exact for */
  asOf: Date;
  /** how long past `asOf` a cached copy of this value may be served as fresh */
  ttlSec: number;
};

export type FetchOptions = {
  /** seconds a value is served as fresh */
  freshSec: number;
  /** seconds past fresh it may still be served (marked stale) while a refresh runs */
  staleSec?: number;
  /** the instant the loader computes for; defaults to the clock's now */
  asOf?: Date;
};

export type NamespaceStats = { hits: number; misses: number; stale: number; loadErrors: number; hitRatio: number | null };
export type CacheStats = NamespaceStats & { namespaces: Record<string, NamespaceStats> };

/**
 * The shared cache as handlers see it. Keys are namespaced (`ns:org:version:params`) by the implementation.
 * Never throws into a handler: a failed read is a miss, a failed write is logged.
 */
export interface Cache {
  /** Answers the cached value for (namespace, key), or loads, stores and answers it. */
  fetch<T>(namespace: string, key: string, load: () => Promise<T>, options: FetchOptions): Promise<CacheResult<T>>;
  /** Removes a key everywhere (shared store and every instance's L1), awaited. */
  invalidate(namespace: string, key: string): Promise<void>;
  /** Marks every cached value of one organization as outdated (its data version moves on). */
  invalidateOrg(orgId: string): Promise<void>;
  stats(): CacheStats;
  close(): Promise<void>;
}
