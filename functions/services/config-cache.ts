import type { CacheResult, CacheStatus } from "../cache/cache";
import type { ServiceContext } from "../context";

/** The configuration reads of SPEC §5 (services, inbound config, settings) share one cache namespace. */
export const CONFIG_NAMESPACE = "config";
/**
 * Configuration is invalidated by every write that changes it (and by `invalidateOrg`), so a long fresh window costs
 * no correctness: it only bounds how long an unused entry lives.
 */
export const CONFIG_FRESH_SEC = 300;
export const CONFIG_STALE_SEC = 300;

export type ConfigDocument = "services" | "inbound-config" | "settings";

const configKey = (orgId: string, document: ConfigDocument) => `${orgId}:${document}`;

/**
 * One configuration document of the organization, from the cache or loaded. Strictly coherent (`kind: "config"`):
 * a write made through any instance is seen on the very next read.
 */
export function fetchConfig<T>(ctx: Pick<ServiceContext, "cache" | "org">, document: ConfigDocument, load: () => Promise<T>): Promise<CacheResult<T>> {
  return ctx.cache.fetch(CONFIG_NAMESPACE, configKey(ctx.org.id, document), load, {
    freshSec: CONFIG_FRESH_SEC,
    staleSec: CONFIG_STALE_SEC,
    kind: "config",
  });
}

/** Drops the cached copy of one configuration document; called after the write that changed it has committed. */
export function invalidateConfig(ctx: Pick<ServiceContext, "cache" | "org">, document: ConfigDocument): Promise<void> {
  return ctx.cache.invalidate(CONFIG_NAMESPACE, configKey(ctx.org.id, document));
}

/** `meta` of a configuration read: the same fields as an aggregate's (SPEC §4), typed for the route's schema. */
export function configMeta(result: CacheResult<unknown>): { asOf: string; cache: CacheStatus; ttlSec: number } {
  return { asOf: result.asOf.toISOString(), cache: result.status, ttlSec: result.ttlSec };
}
