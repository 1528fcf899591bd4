import type { Redis } from "@upstash/redis";
import { GUARDED_SET_SCRIPT, guardedSetArguments, isNoScript, knownScriptSha, scriptSha, ttlArgument, withDeadline, type CacheStore } from "./store";

/**
 * Bound on every Upstash request. A REST round trip from an edge location to a same-region Upstash takes a few ms,
 * a cold TLS connection tens; past 250 ms the cache is better off loading than waiting.
 */
export const UPSTASH_TIMEOUT_MS = 250;

export type UpstashStoreOptions = { url: string; token: string; timeoutMs?: number };

/** The settings both runtimes' Upstash clients are built with: no retries, no JSON guessing, one deadline a request. */
export function upstashClientConfig(options: UpstashStoreOptions) {
  const timeoutMs = options.timeoutMs ?? UPSTASH_TIMEOUT_MS;
  return {
    url: options.url,
    token: options.token,
    // the cache answers from the loader rather than retry; a function gives each request its own deadline
    retry: { retries: 0 },
    signal: () => AbortSignal.timeout(timeoutMs),
    automaticDeserialization: false,
    enableTelemetry: false,
    latencyLogging: false,
  };
}

/** The commands the store uses, which both `@upstash/redis` and `@upstash/redis/cloudflare` clients have. */
export type UpstashClient = Pick<Redis, "mget" | "set" | "eval" | "evalsha" | "del">;

/**
 * The shared store over Upstash's REST API; the client decides the runtime (see `upstash.ts`, `upstash-cloudflare.ts`).
 * Each request carries its own abort deadline; `timeoutMs` also bounds the call as a whole, whatever the client does.
 */
export function upstashStoreOver(client: UpstashClient, timeoutMs = UPSTASH_TIMEOUT_MS): CacheStore {
  /** `EVALSHA` with the script's SHA-1; its text only when Upstash answers NOSCRIPT (then it holds it for later calls). */
  async function runScript(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const sha = knownScriptSha(script) ?? (await scriptSha(script));
    try {
      return await client.evalsha(sha, [...keys], [...args]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return client.eval(script, [...keys], [...args]);
    }
  }
  return {
    kind: "upstash",
    async get(keys) {
      if (keys.length === 0) return [];
      const values = await withDeadline(client.mget<(string | null)[]>(...keys), timeoutMs);
      return values.map((value) => (value === null ? null : String(value)));
    },
    async set(key, value, ttlMs) {
      await withDeadline(client.set(key, value, { px: ttlArgument(ttlMs) }), timeoutMs);
    },
    async setIf(key, value, ttlMs, guards) {
      const { keys, args } = guardedSetArguments(key, value, ttlArgument(ttlMs), guards);
      return Number(await withDeadline(runScript(GUARDED_SET_SCRIPT, keys, args), timeoutMs)) === 1;
    },
    async delete(keys) {
      if (keys.length > 0) await withDeadline(client.del(...keys), timeoutMs);
    },
    async eval(script, keys, args) {
      return withDeadline(runScript(script, keys, args), timeoutMs);
    },
    async close() {
      // REST: nothing held open
    },
  };
}
