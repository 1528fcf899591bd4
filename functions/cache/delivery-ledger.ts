import { memoryStore } from "./memory";
import type { CacheStore } from "./store";
import type { Clock } from "../lib/clock";

/**
 * The webhook deliveries already accepted (SPEC §11 "Webhook replays"): a `(t, v1)` pair is claimed once, atomically,
 * and remembered until its timestamp leaves the tolerance window, after which the signature check refuses it anyway.
 * Kept in the cache's shared store (Redis, Upstash) under `<prefix>~webhook:`, so a delivery replayed to another
 * instance is recognised too.
 */
export interface DeliveryLedger {
  /** Claims the delivery; answers false when it was already claimed (a replay). */
  claim(id: string, ttlMs: number): Promise<boolean>;
  /** Gives a claim back: the delivery failed and wrote nothing, so the sender may retry it as it was. */
  release(id: string): Promise<void>;
}

/** A ledger over a cache store: the claim is one guarded write (set if absent), atomic on every store. */
export function deliveryLedgerOver(shared: { store: CacheStore; keyPrefix?: string }): DeliveryLedger {
  const prefix = `${shared.keyPrefix ?? "tally:"}~webhook:`;
  return {
    claim: (id, ttlMs) => shared.store.setIf(prefix + id, "1", Math.max(1, Math.ceil(ttlMs)), [{ key: prefix + id, equals: null }]),
    release: (id) => shared.store.delete([prefix + id]),
  };
}

/** The ledger of an app instance without a shared store: this process's memory. */
export const memoryDeliveryLedger = (clock: Clock): DeliveryLedger => deliveryLedgerOver({ store: memoryStore(clock) });
