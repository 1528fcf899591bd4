import type { Clock } from "../lib/clock";
import type { Logger } from "../lib/logger";
import { STORE_RETRY_MS } from "./breaker";
import type { Cache, CacheResult, CacheStats, CacheStatus, FetchOptions, PeekLease, WaitUntil } from "./cache";
import { encodeEnvelope, shouldRefreshEarly, type Envelope } from "./envelope";
import { KeyBudget, SHARED_BUDGET_SCRIPT } from "./key-budget";
import { MAX_ENTRY_TTL_MS, splitOrgKey } from "./keys";
import { CONFIG_NAMESPACES } from "./namespaces";
import { CacheCounters } from "./stats";
import type { CacheStore } from "./store";
import { loadFlightKey, Tiers, type Locator, type StoreState } from "./tiers";

/** Larger values are served but not cached: Upstash refuses requests over 1 MB, and one such value would crowd L1. */
export const MAX_VALUE_CHARS = 1_000_000;
/** `close()` waits this long at most for loads and refreshes still running. */
const CLOSE_GRACE_MS = 1_000;

export type TieredCacheOptions = {
  store: CacheStore;
  clock: Clock;
  logger: Logger;
  /** runs background refreshes (Workers: `ctx.waitUntil`); without it they run fire-and-forget */
  waitUntil?: WaitUntil;
  /** prefix of every key in the shared store (default `tally:`); tests use one of their own */
  keyPrefix?: string;
  /** the in-process tier in front of the store; `false` when the store already is in process */
  l1?: { maxEntries?: number; maxBytes?: number; ttlMs?: number } | false;
  /** namespaces read with `kind: "config"` unless a fetch says otherwise; default: the registry's config namespaces (`CONFIG_NAMESPACES`) */
  configNamespaces?: readonly string[];
  /** pause after a store failure before the store is tried again */
  storeRetryMs?: number;
  /** XFetch's β: 1 is the paper's optimum; 0 turns early refresh off */
  xfetchBeta?: number;
  /** the randomness of XFetch, in (0, 1]; tests pin it */
  random?: () => number;
};

type Request<T> = Locator & { strict: boolean; load: () => Promise<T>; options: FetchOptions };
type Loaded = { value: unknown; asOf: Date };

/**
 * The shared cache: a small per-instance L1 in front of a shared store (Redis, Upstash or in-process), with fresh and
 * stale windows, background refresh, single flight and XFetch early refresh. `index.ts` states the coherence rules.
 */
export function tieredCache(options: TieredCacheOptions): Cache {
  return new TieredCache(options);
}

class TieredCache implements Cache {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #counters = new CacheCounters();
  readonly #tiers: Tiers;
  readonly #configNamespaces: ReadonlySet<string>;
  readonly #loads = new Map<string, Promise<Loaded>>();
  readonly #keyBudget: KeyBudget;
  readonly #background = new Set<Promise<unknown>>();
  readonly #waitUntil: WaitUntil | undefined;
  readonly #beta: number;
  readonly #random: () => number;

  constructor(options: TieredCacheOptions) {
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#tiers = new Tiers({
      store: options.store,
      clock: options.clock,
      logger: options.logger,
      counters: this.#counters,
      keyPrefix: options.keyPrefix ?? "tally:",
      l1: options.l1 ?? {},
      storeRetryMs: options.storeRetryMs ?? STORE_RETRY_MS,
    });
    const store = options.store;
    const budgetPrefix = `${options.keyPrefix ?? "tally:"}budget:`;
    this.#keyBudget = new KeyBudget(
      store.eval &&
        (async (ns, org, key, limit, periodMs) =>
          Number(await store.eval!(SHARED_BUDGET_SCRIPT, [`${budgetPrefix}${ns}:${org}`], [key, String(limit), String(Math.ceil(periodMs))])) === 1),
    );
    this.#configNamespaces = new Set(options.configNamespaces ?? CONFIG_NAMESPACES);
    this.#waitUntil = options.waitUntil;
    this.#beta = options.xfetchBeta ?? 1;
    this.#random = options.random ?? (() => 1 - Math.random());
  }

  async fetch<T>(ns: string, key: string, load: () => Promise<T>, options: FetchOptions): Promise<CacheResult<T>> {
    const strict = options.kind ? options.kind === "config" : this.#configNamespaces.has(ns);
    const request: Request<T> = { ns, key, ...splitOrgKey(key), strict, load, options };

    const lifetimeMs = (options.freshSec + (options.staleSec ?? 0) + (options.staleIfErrorSec ?? 0)) * 1000;
    const admitted = options.maxKeysPerOrg === undefined || this.#keyBudget.admit(ns, request.org, key, options.maxKeysPerOrg, lifetimeMs, this.#now());
    if (admitted === false || (admitted !== true && !(await admitted))) {
      // answered as a hit or a miss would be (the JSON round trip of the loader's value), stored nowhere
      const asOf = options.asOf ?? this.#clock.now();
      return { value: JSON.parse(JSON.stringify(await load())) as T, status: "bypass", asOf, ttlSec: 0 };
    }
    if (options.bypass) {
      const { loaded } = await this.#loadAndStore(request, await this.#tiers.read(request, false));
      return { value: loaded.value as T, status: "bypass", asOf: loaded.asOf, ttlSec: options.freshSec };
    }
    // a config value is never served from L1 without the store confirming it
    const local = strict ? undefined : this.#tiers.local(request);
    if (local && this.#now() < local.env.f) return this.#serve(request, local.env, local.state);

    const state = await this.#tiers.read(request, !strict);
    if (!state.available || state.raw === null) return this.#miss(request, state, null);
    const env = this.#tiers.decode(request, state, state.raw);
    return env ? this.#serve(request, env, state) : this.#miss(request, state, null);
  }

  peek<T>(ns: string, key: string, options: FetchOptions, lease?: PeekLease): CacheResult<T> | undefined {
    const strict = options.kind ? options.kind === "config" : this.#configNamespaces.has(ns);
    if ((strict && !lease) || options.bypass || options.maxKeysPerOrg !== undefined) return undefined;
    const local = this.#tiers.local({ ns, key, ...splitOrgKey(key) });
    const now = this.#now();
    if (strict) {
      // a config value under a lease: as the store last confirmed it, within the lease; no early refresh (fetch confirms)
      if (!local || local.confirmedAt === undefined || now - local.confirmedAt >= lease!.confirmedWithinMs || now >= local.env.f) return undefined;
      this.#counters.count(ns, "hits");
      return served(local.env, "hit");
    }
    // a value XFetch would refresh early goes to `fetch`, which draws again: an early refresh of a value read through
    // peek is a little less likely than through fetch alone (two draws must both come up), never skipped past its expiry
    if (!local || now >= local.env.f || shouldRefreshEarly(local.env, now, this.#beta, this.#random)) return undefined;
    this.#counters.count(ns, "hits");
    return served(local.env, "hit");
  }

  async invalidate(ns: string, key: string): Promise<void> {
    await this.#tiers.invalidate({ ns, key, ...splitOrgKey(key) });
  }

  async invalidateOrg(orgId: string): Promise<void> {
    await this.#tiers.invalidateOrg(orgId);
  }

  stats(): CacheStats {
    const breaker = this.#tiers.breaker;
    return this.#counters.snapshot({
      kind: breaker.store.kind,
      available: breaker.available,
      pendingInvalidations: this.#tiers.pendingInvalidations,
    });
  }

  async close(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
    await Promise.race([Promise.allSettled([...this.#loads.values(), ...this.#background]), grace]);
    clearTimeout(timer);
    await this.#tiers.close();
  }

  /** Answers a cached envelope by its windows: fresh (maybe refreshed early), stale (refreshed), or past both. */
  #serve<T>(request: Request<T>, env: Envelope, state: StoreState): Promise<CacheResult<T>> | CacheResult<T> {
    const now = this.#now();
    if (now < env.f) {
      this.#counters.count(request.ns, "hits");
      if (shouldRefreshEarly(env, now, this.#beta, this.#random)) this.#refreshInBackground(request, state);
      return served(env, "hit");
    }
    if (now < env.s) {
      this.#counters.count(request.ns, "stale");
      this.#refreshInBackground(request, state);
      return served(env, "stale");
    }
    return this.#miss(request, state, now < env.e ? env : null);
  }

  /** Loads; when the loader fails and a fallback is still kept (`staleIfErrorSec`), answers it as stale. */
  async #miss<T>(request: Request<T>, state: StoreState, fallback: Envelope | null): Promise<CacheResult<T>> {
    try {
      const loaded = await this.#load(request, state);
      this.#counters.count(request.ns, "misses");
      return { value: loaded.value as T, status: "miss", asOf: loaded.asOf, ttlSec: request.options.freshSec };
    } catch (error) {
      if (!fallback) {
        this.#counters.count(request.ns, "misses");
        throw error;
      }
      this.#counters.count(request.ns, "stale");
      this.#logger.log("warn", "cache served a kept value: its load failed", { ns: request.ns, key: request.key, error: String(error) });
      return served(fallback, "stale");
    }
  }

  /** One load per key at a time in this instance: callers that read the same state share one load. */
  #load(request: Request<unknown>, state: StoreState): Promise<Loaded> {
    const flight = loadFlightKey(this.#tiers, request, state);
    const running = this.#loads.get(flight);
    if (running) return running;
    const loading = this.#loadAndStore(request, state);
    const value = loading.then(({ loaded }) => loaded);
    this.#loads.set(flight, value);
    // the flight ends when the store holds the value (or refused it): a read of the key meanwhile joins it, not a new load
    void loading
      .then(({ stored }) => stored)
      .finally(() => this.#loads.delete(flight))
      .catch(() => {});
    return value;
  }

  /**
   * Loads and encodes the value, and starts its store write: answers `loaded` once the value is encoded, with `stored`,
   * which settles when the write ends. A config value is answered only after its write (every read of it confirms
   * against the store); an aggregate is answered at once, from L1 meanwhile, and its write finishes in the background
   * (`waitUntil` on Workers): the 90 KB agent variance's miss spent 1.8–3.5 ms p50 in the cache (read and write)
   * waiting for it, 0.8–1.1 ms without (BENCHMARKS.md, tenth round).
   */
  async #loadAndStore(request: Request<unknown>, state: StoreState): Promise<{ loaded: Loaded; stored: Promise<void> }> {
    const { options } = request;
    const epoch = this.#tiers.epoch;
    const startedAt = this.#now();
    const asOf = options.asOf ?? new Date(startedAt);
    let value: unknown;
    try {
      value = await request.load();
    } catch (error) {
      this.#counters.count(request.ns, "loadErrors");
      throw error;
    }
    const loadedAt = this.#now();
    const encoded = encodeEnvelope(value, {
      asOf: asOf.getTime(),
      loadedAt,
      loadMs: loadedAt - startedAt,
      freshSec: options.freshSec,
      staleSec: options.staleSec ?? 0,
      staleIfErrorSec: options.staleIfErrorSec ?? 0,
    });
    if (!encoded || encoded.raw.length > MAX_VALUE_CHARS) {
      this.#counters.store.skippedWrites += 1;
      this.#logger.log("warn", encoded ? "cache value too large to store" : "cache value is not JSON data", { ns: request.ns, key: request.key });
      return { loaded: { value: encoded ? encoded.env.v : value, asOf }, stored: Promise.resolve() };
    }
    const ttlMs = Math.min(MAX_ENTRY_TTL_MS, encoded.env.e - loadedAt);
    const loaded = { value: encoded.env.v, asOf };
    if (ttlMs <= 0) return { loaded, stored: Promise.resolve() };
    if (request.strict) {
      await this.#tiers.write(request, state, encoded, ttlMs, epoch);
      return { loaded, stored: Promise.resolve() };
    }
    const stored = this.#tiers.write(request, state, encoded, ttlMs, epoch, true).catch((error) => {
      this.#logger.log("warn", "cache write failed", { ns: request.ns, key: request.key, error: String(error) });
    });
    this.#inBackground(stored, request);
    return { loaded, stored };
  }

  #refreshInBackground(request: Request<unknown>, state: StoreState): void {
    const refresh = this.#load(request, state).catch((error) => {
      this.#logger.log("warn", "cache background refresh failed", { ns: request.ns, key: request.key, error: String(error) });
    });
    this.#inBackground(refresh, request);
  }

  /** Work that outlives the answer: `close()` waits for it, and on Workers the invocation's `waitUntil` keeps it running. */
  #inBackground(work: Promise<unknown>, request: Request<unknown>): void {
    this.#background.add(work);
    void work.finally(() => this.#background.delete(work));
    const waitUntil = request.options.waitUntil ?? this.#waitUntil;
    if (!waitUntil) return;
    try {
      waitUntil(work);
    } catch (error) {
      this.#logger.log("warn", "waitUntil refused background cache work", { error: String(error) });
    }
  }

  #now(): number {
    return this.#clock.now().getTime();
  }
}

const served = <T>(env: Envelope, status: CacheStatus): CacheResult<T> => ({
  value: env.v as T,
  status,
  asOf: new Date(env.a),
  ttlSec: env.t,
});
