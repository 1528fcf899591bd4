import type { Cache, CacheResult, FetchOptions, NamespaceKind } from "./cache";

/** Per-call options of a typed namespace: its policy is fixed where it is declared, `asOf` and the like are not. */
export type NamespaceFetchOptions = Omit<FetchOptions, "freshSec" | "staleSec" | "kind" | "staleIfErrorSec">;

/** A cache namespace declared once next to its read model: its name, value type, coherence and freshness. */
export type CacheNamespace<T> = {
  readonly name: string;
  readonly kind: NamespaceKind;
  readonly freshSec: number;
  readonly staleSec: number;
  readonly staleIfErrorSec: number;
  /** `cache.fetch` with this namespace's policy, typed by its value. */
  fetch(cache: Cache, key: string, load: () => Promise<T>, options?: NamespaceFetchOptions): Promise<CacheResult<T>>;
  invalidate(cache: Cache, key: string): Promise<void>;
};

/** Namespace names are one lowercase word or a few joined by dashes: they sit in store keys between colons. */
const NAMESPACE_NAME = /^[a-z][a-z0-9-]*$/;

/** Declares a typed namespace, e.g. `cacheNamespace<Overview>({ name: "overview", freshSec: 30, staleSec: 300 })`. */
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
    invalidate: (cache, key) => cache.invalidate(definition.name, key),
  };
}

/** A cache key: the organization first (`<orgId>:<params...>`), as the cache's per-organization versions expect. */
export function orgKey(orgId: string, ...params: Array<string | number | boolean | null | undefined>): string {
  return [orgId, ...params.map((p) => (p === null || p === undefined ? "" : String(p)))].join(":");
}
