/** A condition of a guarded write: `key` must still hold `equals` (`null`: must be absent). */
export type StoreGuard = { key: string; equals: string | null };

/**
 * The shared store under the tiered cache: string keys and values with a TTL. Every call settles within the store's
 * own short timeout and rejects on any failure; the cache turns a rejection into a miss or a logged, counted write.
 */
export interface CacheStore {
  readonly kind: "memory" | "redis" | "upstash";
  /** Answers each key's value, or null when absent, in one round trip. */
  get(keys: readonly string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /**
   * Sets `key` only if every guard still holds, atomically with the check; answers whether it wrote. This is what
   * keeps a slow load that began before an invalidation from writing its older value over the newer state.
   */
  setIf(key: string, value: string, ttlMs: number, guards: readonly StoreGuard[]): Promise<boolean>;
  delete(keys: readonly string[]): Promise<void>;
  /**
   * Runs a Lua script atomically, within the store's own timeout (Redis-speaking stores; the in-process store has
   * none). Other users of the shared store with a read-modify-write step take it: the per-key rate limiter.
   */
  eval?(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * `setIf` for Redis-speaking stores. KEYS[1] is the target, KEYS[2..] the guarded keys; ARGV[1] the value, ARGV[2]
 * the TTL in ms, ARGV[3..] each guard's expectation: "" for absent, "=" followed by the value otherwise.
 */
export const GUARDED_SET_SCRIPT = `
for i = 2, #KEYS do
  local want = ARGV[i + 1]
  local have = redis.call('GET', KEYS[i])
  if want == '' then
    if have then return 0 end
  elseif have ~= string.sub(want, 2) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/** The KEYS and ARGV of `GUARDED_SET_SCRIPT`. */
export function guardedSetArguments(key: string, value: string, ttlMs: number, guards: readonly StoreGuard[]) {
  return {
    keys: [key, ...guards.map((g) => g.key)],
    args: [value, String(ttlMs), ...guards.map((g) => (g.equals === null ? "" : `=${g.equals}`))],
  };
}

/** The SHA-1 of each script run so far, once computed: `EVALSHA` sends 40 characters instead of the script's text. */
const scriptShas = new Map<string, string>();

/** The script's SHA-1 (hex), computed once per script and process (Web Crypto: Node and workerd alike). */
export async function scriptSha(script: string): Promise<string> {
  const known = scriptShas.get(script);
  if (known) return known;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(script)));
  const sha = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  scriptShas.set(script, sha);
  return sha;
}

/** The script's SHA-1 if already computed: a caller that has it sends its command in the same tick as others. */
export const knownScriptSha = (script: string) => scriptShas.get(script);

/** A server that does not hold the script (restarted, flushed, another node) answers NOSCRIPT: send its text once. */
export const isNoScript = (error: unknown) => /NOSCRIPT/i.test(error instanceof Error ? error.message : String(error));

/** Redis refuses a PX of 0 or below; the cache never asks for less than a millisecond. */
export const ttlArgument = (ttlMs: number) => Math.max(1, Math.ceil(ttlMs));

/** A store call that did not settle within its deadline. */
export class StoreTimeoutError extends Error {
  override name = "StoreTimeoutError";
  constructor(ms: number) {
    super(`the cache store did not answer within ${ms} ms`);
  }
}

/** Settles as `promise` does, or rejects with `StoreTimeoutError` once `ms` have passed. */
const afterIo: (fn: () => void) => void = typeof setImmediate === "function" ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0);

export async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // When the event loop is busy (a loaded instance), the timer and the reply come due in the same turn and timers run
  // before I/O callbacks: the reply already sitting in the socket would lose to its own deadline. Rejecting one turn
  // later (setImmediate runs after the I/O phase) lets it win; only a reply that has not arrived times out.
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => afterIo(() => reject(new StoreTimeoutError(ms))), ms)));
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
