import type { Clock } from "../lib/clock";
import type { Logger } from "../lib/logger";
import { StoreBreaker } from "./breaker";
import { decodeEnvelope, type Envelope } from "./envelope";
import { INITIAL_VERSION, KeyLayout, newToken } from "./keys";
import { ExpiringLru } from "./lru";
import { PendingInvalidations } from "./pending";
import type { CacheCounters } from "./stats";
import type { CacheStore } from "./store";

/**
 * How long an instance serves its in-process (L1) copy of an `aggregate` value without asking the shared store: the
 * bound on how late it sees another instance's `invalidate`/`invalidateOrg`. One second absorbs a dashboard's burst
 * of identical requests and stays far inside any aggregate's fresh TTL.
 */
export const L1_TTL_MS = 1_000;
/** L1 entries per instance: the hot keys of the organizations one isolate or process serves at once. */
export const L1_MAX_ENTRIES = 1_000;
/**
 * L1 bytes per instance (issue #18): entries may be up to a megabyte each, so a count alone would let one key's
 * large answers hold a gigabyte; 32 MiB keeps a Workers isolate (128 MB) and a Node process comfortable.
 */
export const L1_MAX_BYTES = 32 * 1024 * 1024;
/** What an L1 entry weighs: its raw envelope and key as UTF-16 (two bytes a code unit), the envelope once more parsed. */
const l1Bytes = (key: string, entry: L1Entry) => 2 * (key.length + 2 * entry.raw.length);
const KNOWN_VERSIONS_MAX = 10_000;
const KNOWN_VERSION_TTL_MS = 10 * 60 * 1000;

/** Which value a request is about. */
export type Locator = { ns: string; key: string; org: string; params: string };

/** What one read of the shared store learned about a key: the guards a later write of it must still meet. */
export type StoreState = { available: false } | { available: true; versionRaw: string | null; version: string; gen: string | null; raw: string | null };

/** `version`: the org version the entry belongs to (unknown when it was loaded with the store down) */
/** `confirmedAt`: when the shared store last held this copy byte for byte (read back, or written by this instance); unset while it was down. */
export type L1Entry = { env: Envelope; raw: string; state: StoreState; version: string | undefined; confirmedAt?: number };

const OFFLINE: StoreState = { available: false };

export type TiersOptions = {
  store: CacheStore;
  clock: Clock;
  logger: Logger;
  counters: CacheCounters;
  keyPrefix: string;
  l1: { maxEntries?: number; maxBytes?: number; ttlMs?: number } | false;
  storeRetryMs: number;
};

/**
 * The two tiers under the cache and what keeps them coherent: the per-instance L1, the shared store behind its
 * breaker, the org versions last seen, guarded writes, and invalidations (replayed when they fail).
 */
export class Tiers {
  readonly breaker: StoreBreaker;
  readonly layout: KeyLayout;
  readonly #pending: PendingInvalidations;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #counters: CacheCounters;
  readonly #l1: ExpiringLru<L1Entry>;
  readonly #l1TtlMs: number;
  /** the last version seen per org: the guess for the one-round-trip read, and what L1 entries must match */
  readonly #knownVersions: ExpiringLru<string>;
  readonly #reads = new Map<string, Promise<StoreState>>();
  #epoch = 0;

  constructor(options: TiersOptions) {
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#counters = options.counters;
    this.layout = new KeyLayout(options.keyPrefix);
    this.breaker = new StoreBreaker(options.store, options.clock, options.logger, options.counters, options.storeRetryMs);
    this.#pending = new PendingInvalidations(this.breaker, this.layout, options.logger);
    const now = () => this.#clock.now().getTime();
    const l1: { maxEntries?: number; maxBytes?: number; ttlMs?: number } = options.l1 === false ? { maxEntries: 0 } : options.l1;
    this.#l1 = new ExpiringLru(l1.maxEntries ?? L1_MAX_ENTRIES, now, { maxBytes: l1.maxBytes ?? L1_MAX_BYTES, sizeOf: l1Bytes });
    this.#l1TtlMs = l1.ttlMs ?? L1_TTL_MS;
    this.#knownVersions = new ExpiringLru(KNOWN_VERSIONS_MAX, now);
  }

  /** Moves on with every local invalidation: work begun before it must not fill L1 or join work begun after it. */
  get epoch(): number {
    return this.#epoch;
  }

  get pendingInvalidations(): number {
    return this.#pending.size;
  }

  /** The L1 copy, if it still belongs to the org version this instance last saw. */
  local(at: Locator): L1Entry | undefined {
    const entry = this.#l1.get(l1Key(at));
    if (!entry) return undefined;
    const known = this.#knownVersions.get(at.org);
    return known === undefined || entry.version === undefined || entry.version === known ? entry : undefined;
  }

  /** Reads the shared store; concurrent reads of one key may share one round trip (never across a local invalidation). */
  read(at: Locator, share: boolean): Promise<StoreState> {
    if (!share) return this.#read(at);
    const flight = `${this.#epoch}|${l1Key(at)}`;
    const running = this.#reads.get(flight);
    if (running) return running;
    const reading = this.#read(at).finally(() => this.#reads.delete(flight));
    this.#reads.set(flight, reading);
    return reading;
  }

  /** The envelope a store read found; an L1 copy is reused only when the store holds it byte for byte. */
  decode(at: Locator, state: StoreState, raw: string): Envelope | null {
    const local = this.#l1.get(l1Key(at));
    if (local && local.raw === raw) {
      if (state.available) local.confirmedAt = this.#clock.now().getTime();
      return local.env;
    }
    const env = decodeEnvelope(raw);
    if (!env) {
      this.#logger.log("warn", "cache entry unreadable; treated as a miss", { ns: at.ns, key: at.key });
      return null;
    }
    this.#remember(at, env, raw, state, state.available);
    return env;
  }

  /**
   * Writes a loaded value only if neither the org's version nor the key's generation moved since `state` was read:
   * a load that began before an invalidation must not write its older value over the newer state. With the store down
   * the value still goes to L1, unless this instance invalidated the key meanwhile.
   */
  async write(at: Locator, state: StoreState, encoded: { raw: string; env: Envelope }, ttlMs: number, epoch: number, early = false): Promise<void> {
    const { ns, org, params } = at;
    let stored = false;
    // `early` (an aggregate answered before its store write ends): L1 holds it meanwhile, unconfirmed, and loses it
    // again if the store refuses it
    if (early && epoch === this.#epoch) this.#remember(at, encoded.env, encoded.raw, state, false);
    if (state.available) {
      const layout = this.layout;
      const write = await this.breaker.attempt("write", (store) =>
        store.setIf(layout.entry(ns, org, state.version, params), encoded.raw, ttlMs, [
          { key: layout.version(org), equals: state.versionRaw },
          { key: layout.generation(ns, org, params), equals: state.gen },
        ]),
      );
      if (write.ok && !write.value) {
        this.#logger.log("debug", "cache write refused: invalidated while loading", { ns, key: at.key });
        if (early && this.#l1.get(l1Key(at))?.env === encoded.env) this.#l1.delete(l1Key(at));
        return;
      }
      stored = write.ok;
    } else {
      this.#counters.store.skippedWrites += 1;
    }
    // an early copy is in L1 already (its `confirmedAt` would only serve config values, which are never early)
    if (!early && epoch === this.#epoch) this.#remember(at, encoded.env, encoded.raw, state, stored);
  }

  async invalidate(at: Locator): Promise<void> {
    this.#epoch += 1;
    this.#l1.delete(l1Key(at));
    await this.#pending.invalidateKey(at.ns, at.org, at.params);
  }

  async invalidateOrg(org: string): Promise<void> {
    this.#epoch += 1;
    const version = newToken();
    // this instance's L1 entries of the organization stop matching at once, whatever the store does
    this.#knownVersions.set(org, version, KNOWN_VERSION_TTL_MS);
    await this.#pending.invalidateOrg(org, version);
  }

  async close(): Promise<void> {
    this.#l1.clear();
    try {
      await this.breaker.store.close();
    } catch (error) {
      this.#logger.log("warn", "cache store close failed", { error: String(error) });
    }
  }

  /**
   * One round trip in the common case: the org's version, the entry under the version last seen, and the key's
   * generation, in one MGET. Only right after an `invalidateOrg` does the guess miss and cost a second GET.
   */
  async #read(at: Locator): Promise<StoreState> {
    await this.#pending.replay();
    const { ns, org, params } = at;
    const layout = this.layout;
    const epoch = this.#epoch;
    const guess = this.#knownVersions.get(org) ?? INITIAL_VERSION;
    const read = await this.breaker.attempt("read", async (store) => {
      const [versionRaw = null, guessed = null, gen = null] = await store.get([
        layout.version(org),
        layout.entry(ns, org, guess, params),
        layout.generation(ns, org, params),
      ]);
      const version = versionRaw ?? INITIAL_VERSION;
      const raw = version === guess ? guessed : ((await store.get([layout.entry(ns, org, version, params)]))[0] ?? null);
      return { available: true as const, versionRaw, version, gen, raw };
    });
    if (!read.ok) return OFFLINE;
    // a read that began before a local invalidation must not overwrite what that invalidation taught this instance
    if (epoch === this.#epoch) this.#knownVersions.set(org, read.value.version, KNOWN_VERSION_TTL_MS);
    return read.value;
  }

  #remember(at: Locator, env: Envelope, raw: string, state: StoreState, confirmed: boolean): void {
    const ttlMs = Math.min(this.#l1TtlMs, env.e - this.#clock.now().getTime());
    const now = this.#clock.now().getTime();
    const version = state.available ? state.version : this.#knownVersions.get(at.org);
    this.#l1.set(l1Key(at), { env, raw, state, version, ...(confirmed && { confirmedAt: now }) }, ttlMs);
  }
}

/** The single-flight key of a load: one per key and store state (or per local epoch while the store is down). */
export function loadFlightKey(tiers: Tiers, at: Locator, state: StoreState): string {
  return state.available ? `${tiers.layout.entry(at.ns, at.org, state.version, at.params)}|${state.gen ?? ""}` : `${tiers.epoch}|${l1Key(at)}`;
}

const l1Key = (at: Locator) => `${at.ns}\u0000${at.key}`;
