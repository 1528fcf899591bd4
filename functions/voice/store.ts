import { systemClock, type Clock } from "../lib/clock";

/**
 * Where the voice client keeps what must outlive one request: the circuit breaker's state (shared by every
 * instance) and cached agent configs. Small on purpose, so the shared cache (Redis `GET`/`MGET`/`SET PX`,
 * Upstash REST) can back it with a few lines. Implementations may throw; callers treat a failed read as a miss
 * and a failed write as logged, never as a failed request.
 */
export interface VoiceStore {
  get(key: string): Promise<string | null>;
  /** one round trip for many keys; answers in the order asked */
  getMany(keys: readonly string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
}

/** In-process store with expiry on the given clock: the default when nothing is shared, and the tests' store. */
export function memoryVoiceStore(clock: Clock = systemClock): VoiceStore & { readonly size: number } {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const read = (key: string): string | null => {
    const entry = entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= clock.now().getTime()) {
      entries.delete(key);
      return null;
    }
    return entry.value;
  };
  return {
    async get(key) {
      return read(key);
    },
    async getMany(keys) {
      return keys.map(read);
    },
    async set(key, value, ttlMs) {
      entries.set(key, { value, expiresAt: clock.now().getTime() + ttlMs });
    },
    get size() {
      return entries.size;
    },
  };
}
