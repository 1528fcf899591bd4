import type { SpanAttributes, Tracer } from "../lib/tracing";
import type { CacheStore } from "./store";

/**
 * `store` whose every call (get, set, setIf, delete, eval) runs in a child span of the active one, named
 * `cache <operation>` with the store's name (`tally.cache.store`: memory, redis, upstash) and how many keys it touched;
 * Redis-speaking stores also carry `db.system.name` redis. Only the Node entry wraps its store, and only with tracing on.
 */
export function tracedStore(store: CacheStore, tracer: Tracer): CacheStore {
  const system: SpanAttributes = store.kind === "memory" ? {} : { "db.system.name": "redis" };
  const call = <T>(operation: string, keys: number, work: () => Promise<T>) =>
    tracer.span(`cache ${operation}`, "client", { ...system, "db.operation.name": operation, "tally.cache.store": store.kind, "tally.cache.keys": keys }, work);
  const evaluate = store.eval?.bind(store);
  return {
    kind: store.kind,
    get: (keys) => call("get", keys.length, () => store.get(keys)),
    set: (key, value, ttlMs) => call("set", 1, () => store.set(key, value, ttlMs)),
    setIf: (key, value, ttlMs, guards) => call("setIf", 1 + guards.length, () => store.setIf(key, value, ttlMs, guards)),
    delete: (keys) => call("delete", keys.length, () => store.delete(keys)),
    ...(evaluate
      ? { eval: (script: string, keys: readonly string[], args: readonly string[]) => call("eval", keys.length, () => evaluate(script, keys, args)) }
      : {}),
    close: () => store.close(),
  };
}
