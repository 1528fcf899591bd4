import type { Clock } from "../lib/clock";
import type { Logger } from "../lib/logger";
import type { CacheCounters } from "./stats";
import type { CacheStore } from "./store";

/** A pause long enough that a down store costs one timeout a second, short enough to notice its return at once. */
export const STORE_RETRY_MS = 1_000;

export type StoreOperation = "read" | "write" | "invalidate";
export type Attempt<T> = { ok: true; value: T } | { ok: false };

/**
 * Turns the shared store's failures into answers. A failed or timed-out call is logged and counted, and opens a short
 * pause during which the cache does not call the store at all (a read is a miss, a write is skipped), so a hanging
 * Redis costs one store timeout, not one per call. The first call after the pause probes the store again.
 */
export class StoreBreaker {
  #available = true;
  #retryAt = 0;

  constructor(
    readonly store: CacheStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly counters: CacheCounters,
    private readonly retryMs = STORE_RETRY_MS,
  ) {}

  /** Whether the cache should call the store now. */
  get usable(): boolean {
    return this.#available || this.clock.now().getTime() >= this.#retryAt;
  }

  get available(): boolean {
    return this.#available;
  }

  async attempt<T>(op: StoreOperation, call: (store: CacheStore) => Promise<T>): Promise<Attempt<T>> {
    if (!this.usable) return { ok: false };
    try {
      const value = await call(this.store);
      if (!this.#available) {
        this.#available = true;
        this.logger.log("info", "cache store answers again", { store: this.store.kind });
      }
      return { ok: true, value };
    } catch (error) {
      this.counters.store.errors += 1;
      if (op === "write") this.counters.store.writeErrors += 1;
      this.#available = false;
      this.#retryAt = this.clock.now().getTime() + this.retryMs;
      this.logger.log("warn", `cache store ${op} failed`, {
        store: this.store.kind,
        op,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        retryInMs: this.retryMs,
      });
      return { ok: false };
    }
  }
}
