import type { CacheStore } from "../cache/store";
import { windowEstimate, type WindowCounts } from "./algorithm";

/** Bound on the in-process store's entries (one per active key); past it, entries of finished windows are dropped. */
export const MEMORY_RATE_LIMIT_MAX_KEYS = 50_000;

/**
 * Where the buckets live. `hit` checks and counts in one atomic step (per key) and never counts a refused request;
 * with `count: false` it only checks (the anonymous limit asks whether an address is over before it counts a failure).
 */
export interface RateLimitStore {
  readonly kind: "memory" | "redis" | "upstash";
  hit(input: { key: string; bucket: number; elapsedMs: number; windowMs: number; limit: number; count?: boolean }): Promise<WindowCounts>;
  /**
   * Adds `n` requests already admitted (in process, `rate-limit/lease.ts`) to a key's bucket and answers its two counts
   * after. Only the shared stores have it: an instance's own memory has nothing to sync with.
   */
  add?(input: { key: string; bucket: number; n: number; windowMs: number }): Promise<{ previous: number; current: number }>;
}

/** The in-process store: one instance's own counts (the default; a Workers isolate or a single Node process). */
export function memoryRateLimitStore(maxKeys = MEMORY_RATE_LIMIT_MAX_KEYS): RateLimitStore {
  const buckets = new Map<string, { bucket: number; current: number; previous: number }>();
  return {
    kind: "memory",
    async hit({ key, bucket, elapsedMs, windowMs, limit, count = true }) {
      let entry = buckets.get(key);
      if (!entry || entry.bucket < bucket) {
        const previous = entry && entry.bucket === bucket - 1 ? entry.current : 0;
        entry = { bucket, current: 0, previous };
        buckets.set(key, entry);
      }
      // a clock that went back (another instance's, a test's) counts into the newest bucket seen
      const admitted = windowEstimate(entry.previous, entry.current, elapsedMs, windowMs) + 1 <= limit;
      if (admitted && count) entry.current += 1;
      if (buckets.size > maxKeys) {
        for (const [k, e] of buckets) if (e.bucket < bucket - 1) buckets.delete(k);
        if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);
      }
      return { admitted, previous: entry.previous, current: entry.current };
    },
  };
}

/**
 * The check-and-count step for Redis-speaking stores. KEYS[1] is the current bucket's counter, KEYS[2] the previous
 * one's; ARGV: limit, window ms, ms elapsed in the current bucket, "0" to check without counting. Answers
 * {admitted 0|1, previous, current}.
 * The same formula as `windowEstimate` (Lua numbers are doubles, as JS's are).
 */
export const SLIDING_WINDOW_SCRIPT = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * (window - elapsed) / window + current + 1 <= limit then
  if ARGV[4] == '0' then return {1, previous, current} end
  current = redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], window * 2 + 1000)
  return {1, previous, current}
end
return {0, previous, current}
`;

/** Adds admitted requests to KEYS[1] (the current bucket); ARGV: n, window ms. Answers {previous, current}. */
export const ADD_ADMITTED_SCRIPT = `
local current = redis.call('INCRBY', KEYS[1], tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2 + 1000)
return {tonumber(redis.call('GET', KEYS[2]) or '0'), current}
`;

/** Runs a Lua script atomically: a Redis-speaking `CacheStore`'s `eval`. */
export type ScriptRunner = (script: string, keys: string[], args: string[]) => Promise<unknown>;

/**
 * A store over Redis or Upstash through a script runner. Both buckets' keys carry the API key id in a hash tag, so a
 * Redis Cluster keeps them in one slot. The id is the API key's SHA-256 (what its grant is cached under), never the key.
 */
export function scriptRateLimitStore(kind: "redis" | "upstash", run: ScriptRunner, keyPrefix = "tally:ratelimit:"): RateLimitStore {
  const bucketKeys = (key: string, bucket: number) => [`${keyPrefix}{${key}}:${bucket}`, `${keyPrefix}{${key}}:${bucket - 1}`];
  return {
    kind,
    async add({ key, bucket, n, windowMs }) {
      const reply = await run(ADD_ADMITTED_SCRIPT, bucketKeys(key, bucket), [String(n), String(windowMs)]);
      if (!Array.isArray(reply) || reply.length !== 2) throw new Error(`unexpected rate-limit add reply: ${JSON.stringify(reply)}`);
      const [previous, current] = reply.map(Number) as [number, number];
      return { previous, current };
    },
    async hit({ key, bucket, elapsedMs, windowMs, limit, count = true }) {
      const keys = bucketKeys(key, bucket);
      const reply = await run(SLIDING_WINDOW_SCRIPT, keys, [String(limit), String(windowMs), String(elapsedMs), count ? "1" : "0"]);
      if (!Array.isArray(reply) || reply.length !== 3) throw new Error(`unexpected rate-limit script reply: ${JSON.stringify(reply)}`);
      const [admitted, previous, current] = reply.map(Number) as [number, number, number];
      return { admitted: admitted === 1, previous, current };
    },
  };
}

/**
 * The limiter's store over the shared cache's store (`SharedCache`): the same Redis or Upstash connection, counters
 * under `<cache prefix>~ratelimit:` (cache namespaces are lowercase words, so `~` keeps the two apart, as the voice
 * store does). A cache kept in process has nothing to share: the limiter then counts in this instance's memory.
 */
export function rateLimitStoreOver(shared: { store: CacheStore; keyPrefix?: string }): RateLimitStore {
  const { store } = shared;
  if (store.kind === "memory" || !store.eval) return memoryRateLimitStore();
  return scriptRateLimitStore(store.kind, (script, keys, args) => store.eval!(script, keys, args), `${shared.keyPrefix ?? "tally:"}~ratelimit:`);
}
