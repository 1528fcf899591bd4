import type { CacheResult, CacheStatus } from "../cache/cache";
import { namespace, orgKey } from "../cache/namespaces";
import type { ServiceContext } from "../context";

/** The configuration reads of SPEC §5 (services, inbound config, settings) share the registry's `config` namespace. */
const configCache = namespace<unknown>("config");

export type ConfigDocument = "services" | "inbound-config" | "settings";

const configKey = (orgId: string, document: ConfigDocument) => orgKey(orgId, document);

/**
 * One configuration document of the organization, from the cache or loaded. Strictly coherent (`kind: "config"`):
 * a write made through any instance is seen on the very next read.
 */
export function fetchConfig<T>(ctx: Pick<ServiceContext, "cache" | "org">, document: ConfigDocument, load: () => Promise<T>): Promise<CacheResult<T>> {
  return configCache.fetch(ctx.cache, configKey(ctx.org.id, document), load) as Promise<CacheResult<T>>;
}

/** Drops the cached copy of one configuration document; called after the write that changed it has committed. */
export function invalidateConfig(ctx: Pick<ServiceContext, "cache" | "org">, document: ConfigDocument): Promise<void> {
  return configCache.invalidate(ctx.cache, configKey(ctx.org.id, document));
}

/** `meta` of a configuration read: the same fields as an aggregate's (SPEC §4), typed for the route's schema. */
export function configMeta(result: CacheResult<unknown>): { asOf: string; cache: CacheStatus; ttlSec: number } {
  return { asOf: result.asOf.toISOString(), cache: result.status, ttlSec: result.ttlSec };
}
