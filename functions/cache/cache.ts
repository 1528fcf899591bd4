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

/**
 * How strictly a namespace follows writes made through another app instance.
 * - `aggregate`: another instance may keep serving its in-process copy for at most `L1_TTL_MS` after an invalidation
 *   (well inside the fresh TTL that aggregates already promise).
 * - `config`: every read checks the shared store, so a write is visible on the very next read from any instance.
 */
export type NamespaceKind = "aggregate" | "config";

/** Schedules work that must finish after the response (Workers' `ctx.waitUntil`). */
export type WaitUntil = (promise: Promise<unknown>) => void;

export type FetchOptions = {
  /** seconds a value is served as fresh */
  freshSec: number;
  /** seconds past fresh it may still be served (marked stale) while a refresh runs */
  staleSec?: number;
  /** the instant the loader computes for; defaults to the clock's now */
  asOf?: Date;
  /** defaults to `config` for the cache's config namespaces, else `aggregate` */
  kind?: NamespaceKind;
  /**
   * seconds past fresh a cached value is kept only as a fallback: when the loader throws, the caller gets that value
   * marked `stale` instead of the error (SPEC §4: a timed-out aggregate answers its last cached value). Default 0.
   */
  staleIfErrorSec?: number;
  /** skip the read, load, and store the result; answers `bypass` */
  bypass?: boolean;
  /**
   * at most this many distinct keys of the namespace are stored per organization on this instance while an entry
   * lives (keys a client chooses, issue #18); past it the value is loaded and answered as `bypass`, not stored
   */
  maxKeysPerOrg?: number;
  /** runs background refreshes for this call (overrides the cache's default) */
  waitUntil?: WaitUntil;
};

export type NamespaceStats = { hits: number; misses: number; stale: number; loadErrors: number; hitRatio: number | null };

/** Health of the shared store behind the cache: failures are counted here, never thrown. */
export type StoreStats = {
  kind: string;
  /** false while the cache skips a store that just failed (it retries after a short pause) */
  available: boolean;
  /** failed or timed-out store operations of any kind */
  errors: number;
  writeErrors: number;
  /** writes not attempted because the store was unavailable or the value was too large */
  skippedWrites: number;
  /** invalidations that failed and wait to be replayed when the store answers again */
  pendingInvalidations: number;
};

export type CacheStats = NamespaceStats & { namespaces: Record<string, NamespaceStats>; store?: StoreStats };

/**
 * The shared cache as handlers see it. Keys are namespaced (`ns:org:version:params`) by the implementation; the `key`
 * a caller passes starts with the organization id (`<orgId>:<params...>`). Values must be JSON data: hits and misses
 * both answer the JSON round trip of what the loader returned, so a handler sees one shape either way. A loaded value
 * that already is JSON data is its own round trip and is answered (and kept in process) as the very object: a loader
 * hands it over and never changes it afterwards, as handlers never change what the cache answers.
 * Never throws into a handler: a failed read is a miss, a failed write is logged. Only the loader's own error is
 * rethrown (after `staleIfErrorSec` had its chance).
 */
/** How recently the shared store must have confirmed a `config` value for `peek` to answer it from this instance. */
export type PeekLease = { confirmedWithinMs: number };

export interface Cache {
  /** Answers the cached value for (namespace, key), or loads, stores and answers it. */
  fetch<T>(namespace: string, key: string, load: () => Promise<T>, options: FetchOptions): Promise<CacheResult<T>>;
  /**
   * A fresh hit this instance can answer without any round trip (its in-process copy of an `aggregate` value, counted as a
   * hit), else undefined and nothing counted: the caller then fetches. A value due for an early refresh is undefined.
   * A `config` value, never served from L1 by `fetch`, is answered only under a `lease`: when the shared store confirmed
   * this instance's copy (or took it from this instance) less than `confirmedWithinMs` ago.
   */
  peek?<T>(namespace: string, key: string, options: FetchOptions, lease?: PeekLease): CacheResult<T> | undefined;
  /** Removes a key everywhere (shared store and every instance's L1), awaited. */
  invalidate(namespace: string, key: string): Promise<void>;
  /** Marks every cached value of one organization as outdated (its data version moves on). */
  invalidateOrg(orgId: string): Promise<void>;
  stats(): CacheStats;
  close(): Promise<void>;
}
