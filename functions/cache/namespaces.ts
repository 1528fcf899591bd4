import type { Cache, CacheResult, FetchOptions, NamespaceKind, PeekLease } from "./cache";

/** Per-call options of a typed namespace: its policy is fixed where it is declared, `asOf` and the like are not. */
export type NamespaceFetchOptions = Omit<FetchOptions, "freshSec" | "staleSec" | "kind" | "staleIfErrorSec">;

/** A cache namespace as a cached read uses it: its name, value type, coherence and freshness. */
export type CacheNamespace<T> = {
  readonly name: string;
  readonly kind: NamespaceKind;
  readonly freshSec: number;
  readonly staleSec: number;
  readonly staleIfErrorSec: number;
  /** `cache.fetch` with this namespace's policy, typed by its value. */
  fetch(cache: Cache, key: string, load: () => Promise<T>, options?: NamespaceFetchOptions): Promise<CacheResult<T>>;
  /** `cache.peek` with this namespace's policy: a fresh in-process hit, or undefined (then `fetch`). */
  peek(cache: Cache, key: string, lease?: PeekLease): CacheResult<T> | undefined;
  invalidate(cache: Cache, key: string): Promise<void>;
};

/** Namespace names are one lowercase word or a few joined by dashes: they sit in store keys between colons. */
const NAMESPACE_NAME = /^[a-z][a-z0-9-]*$/;

/** A typed namespace from its name and policy; the app declares its namespaces in `CACHE_NAMESPACES` and takes handles with `namespace`. */
export function cacheNamespace<T>(definition: {
  name: string;
  kind?: NamespaceKind;
  freshSec: number;
  staleSec?: number;
  staleIfErrorSec?: number;
}): CacheNamespace<T> {
  if (!NAMESPACE_NAME.test(definition.name)) throw new TypeError(`cache namespace name ${JSON.stringify(definition.name)} is not ${NAMESPACE_NAME}`);
  const policy = {
    kind: definition.kind ?? "aggregate",
    freshSec: definition.freshSec,
    staleSec: definition.staleSec ?? 0,
    staleIfErrorSec: definition.staleIfErrorSec ?? 0,
  } as const;
  return {
    name: definition.name,
    ...policy,
    fetch: (cache, key, load, options) => cache.fetch(definition.name, key, load, { ...options, ...policy }),
    peek: (cache, key, lease) => cache.peek?.(definition.name, key, policy, lease),
    invalidate: (cache, key) => cache.invalidate(definition.name, key),
  };
}

/** A namespace's policy: how coherent it is and how long its values are served. */
export type NamespacePolicy = { readonly kind: NamespaceKind; readonly freshSec: number; readonly staleSec?: number; readonly staleIfErrorSec?: number };

/**
 * Dashboard aggregates are served fresh for 30 s and stale (while a refresh runs) for 5 more minutes; when a load fails
 * (statement timeout), the last value up to an hour old answers, marked stale (SPEC §4).
 */
export const AGGREGATE_POLICY = { kind: "aggregate", freshSec: 30, staleSec: 300, staleIfErrorSec: 3600 } as const satisfies NamespacePolicy;

/**
 * Every cache namespace of the app, with its policy: the one list a reader checks to see what is cached, and what
 * the tiered cache reads as strictly coherent. Each cached read declares its typed handle beside its SQL with
 * `namespace<T>(name)`; invalidations go through that handle (or `invalidateOrg`).
 */
export const CACHE_NAMESPACES = {
  "dashboard-overview": AGGREGATE_POLICY,
  "dashboard-analytics": AGGREGATE_POLICY,
  coverage: AGGREGATE_POLICY,
  agents: AGGREGATE_POLICY,
  "agent-variance": AGGREGATE_POLICY,
  /** one agent's performance (`read-models/agent-performance.ts`), keyed `<org>:<agent>:<zone>:<window>` */
  "agent-performance": AGGREGATE_POLICY,
  /**
   * The configuration documents of SPEC §5 (services, inbound config, settings), keyed `<org>:<document>`. They are
   * invalidated by every write that changes them (and by `invalidateOrg`), so a long fresh window costs no
   * correctness: it only bounds how long an unused entry lives.
   */
  config: { kind: "config", freshSec: 300, staleSec: 300 },
  /**
   * Key hash → grant (`services/api-key-lookup.ts`). Revocations and organization changes made through Tally
   * invalidate a grant at once; the 60 s bounds only what Tally cannot see (a key revoked by hand in SQL). No stale
   * window: a grant is never served past its fresh TTL.
   */
  "api-keys": { kind: "config", freshSec: 60 },
  /** the health probe's round trip through the cache (`ops/health.ts`), always a bypass */
  ops: { kind: "config", freshSec: 5 },
} as const satisfies Record<string, NamespacePolicy>;

export type NamespaceName = keyof typeof CACHE_NAMESPACES;

/** The namespaces read as strictly coherent (`kind: "config"`) when a fetch does not say its kind. */
export const CONFIG_NAMESPACES: readonly NamespaceName[] = (Object.keys(CACHE_NAMESPACES) as NamespaceName[]).filter(
  (name) => CACHE_NAMESPACES[name].kind === "config",
);

/** The typed handle of a registered namespace, e.g. `namespace<Overview>("dashboard-overview")`. */
export function namespace<T>(name: NamespaceName): CacheNamespace<T> {
  return cacheNamespace<T>({ name, ...CACHE_NAMESPACES[name] });
}

/** A cache key: the organization first (`<orgId>:<params...>`), as the cache's per-organization versions expect. */
export function orgKey(orgId: string, ...params: Array<string | number | boolean | null | undefined>): string {
  return [orgId, ...params.map((p) => (p === null || p === undefined ? "" : String(p)))].join(":");
}
