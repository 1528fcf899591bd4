import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Cache, FetchOptions } from "../../functions/cache/cache";
import type { CacheStore } from "../../functions/cache/store";
import { tieredCache, type TieredCacheOptions } from "../../functions/cache/tiered";
import { L1_TTL_MS } from "../../functions/cache/tiers";
import { ManualClock } from "../../functions/lib/clock";
import { memoryLogger } from "../../functions/lib/logger";
import { deferred, deleteByPrefix, runPrefix, sleep, startBackend, STORE_KINDS, type StoreBackend } from "./support";

/** A stand-in for the database behind a loader: tests change it as a write would, and count the loads. */
function source<T>(initial: T) {
  let value = initial;
  let loads = 0;
  return {
    set(next: T) {
      value = next;
    },
    get loads() {
      return loads;
    },
    load: async () => {
      loads += 1;
      return value;
    },
  };
}

const AGGREGATE: FetchOptions = { freshSec: 60, staleSec: 300 };

describe.each(STORE_KINDS)("the cache over the %s store", (kind) => {
  const prefix = runPrefix(`cache-${kind}`);
  let backend: StoreBackend;
  const caches: Cache[] = [];

  beforeAll(async () => {
    backend = await startBackend(kind);
  });
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.close()));
  });
  afterAll(async () => {
    await backend.stop();
    if (kind !== "memory") await deleteByPrefix(prefix);
  });

  /** One app instance: a cache with its own L1 over the store every instance of the test shares. */
  function instance(clock: ManualClock, options: Partial<TieredCacheOptions> = {}) {
    const refreshes: Promise<unknown>[] = [];
    let handed = 0;
    const logger = memoryLogger();
    const cache = tieredCache({
      store: backend.open(clock),
      clock,
      logger,
      keyPrefix: prefix,
      waitUntil: (promise) => {
        handed += 1;
        refreshes.push(promise);
      },
      ...options,
    });
    caches.push(cache);
    // what the cache handed waitUntil, until none is left (a refresh's own store write is handed over as it ends)
    const settle = async () => {
      while (refreshes.length > 0) await Promise.all(refreshes.splice(0));
    };
    return { cache, logger, refreshes, settle, handed: () => handed };
  }

  const newClock = () => new ManualClock("2026-03-01T12:00:00Z");
  const orgKey = (params: string) => `${randomUUID()}:${params}`;

  describe("reads", () => {
    it("answers a miss from the loader, then hits with the same JSON value and asOf", async () => {
      const clock = newClock();
      const { cache, refreshes, settle } = instance(clock);
      const key = orgKey("days=30");
      const data = source({ calls: 3, since: new Date("2026-03-01T00:00:00Z") });

      const first = await cache.fetch("overview", key, data.load, AGGREGATE);
      expect(first).toMatchObject({ status: "miss", ttlSec: 60, value: { calls: 3, since: "2026-03-01T00:00:00.000Z" } });
      expect(first.asOf.toISOString()).toBe("2026-03-01T12:00:00.000Z");
      // an aggregate is answered before its store write ends; the write went to waitUntil
      expect(refreshes).toHaveLength(1);

      const fromL1 = await cache.fetch("overview", key, data.load, AGGREGATE);
      await settle();
      clock.advance(30_000);
      const fromStore = await cache.fetch("overview", key, data.load, AGGREGATE);
      expect(fromL1).toEqual({ ...first, status: "hit" });
      expect(fromStore).toEqual({ ...first, status: "hit" });
      expect(data.loads).toBe(1);
    });

    it("keeps entries under ns:org:version:params and moves the version on invalidateOrg", async () => {
      const clock = newClock();
      const { cache, settle } = instance(clock);
      const store = backend.open(clock);
      const org = randomUUID();
      await cache.fetch("overview", `${org}:days=30`, async () => ({ calls: 1 }), AGGREGATE);
      await settle();
      const [entry] = await store.get([`${prefix}overview:${org}:v0:days=30`]);
      expect(JSON.parse(entry ?? "null"), String(entry)).toMatchObject({ v: { calls: 1 }, t: 60 });

      await cache.invalidateOrg(org);
      await cache.fetch("overview", `${org}:days=30`, async () => ({ calls: 2 }), AGGREGATE);
      await settle();
      const [version] = await store.get([`${prefix}~version:${org}`]);
      expect(version).toMatch(/^[0-9a-f]{16}$/);
      const [moved] = await store.get([`${prefix}overview:${org}:v${version}:days=30`]);
      expect(JSON.parse(moved ?? "null"), String(moved)).toMatchObject({ v: { calls: 2 } });
    });

    it("serves a stale value past its fresh TTL and refreshes it in the background through waitUntil", async () => {
      const clock = newClock();
      const { cache, refreshes, settle, handed } = instance(clock);
      const key = orgKey("days=7");
      const data = source(1);
      await cache.fetch("analytics", key, data.load, AGGREGATE);
      await settle(); // the miss's store write
      data.set(2);
      clock.advance(61_000);

      const stale = await cache.fetch("analytics", key, data.load, AGGREGATE);
      expect(stale).toMatchObject({ status: "stale", value: 1, ttlSec: 60 });
      expect(refreshes.length).toBeGreaterThanOrEqual(1); // the refresh, handed over before the stale answer
      await settle();
      expect(handed()).toBe(3); // the miss's store write, the refresh, and the refresh's store write
      expect(data.loads).toBe(2);

      const refreshed = await cache.fetch("analytics", key, data.load, AGGREGATE);
      expect(refreshed).toMatchObject({ status: "hit", value: 2 });
      expect(refreshed.asOf.toISOString()).toBe("2026-03-01T12:01:01.000Z");
    });

    it("loads again once a value is past its stale window", async () => {
      const clock = newClock();
      const { cache } = instance(clock);
      const key = orgKey("days=7");
      const data = source("first");
      await cache.fetch("analytics", key, data.load, AGGREGATE);
      data.set("second");
      clock.advance(361_000);
      expect(await cache.fetch("analytics", key, data.load, AGGREGATE)).toMatchObject({ status: "miss", value: "second" });
    });

    it("runs one load for many concurrent fetches of one key", async () => {
      const clock = newClock();
      const { cache } = instance(clock);
      for (const ns of ["overview", "config"]) {
        const key = orgKey("all");
        const [started, gate] = [deferred<void>(), deferred<void>()];
        let loads = 0;
        const load = async () => {
          loads += 1;
          started.resolve();
          await gate.promise;
          return { ns };
        };
        const fetches = Array.from({ length: 25 }, () => cache.fetch(ns, key, load, AGGREGATE));
        // the load is held open well past every caller's store read (a config read is one per caller)
        await started.promise;
        await sleep(150);
        gate.resolve();
        const results = await Promise.all(fetches);
        expect(loads, ns).toBe(1);
        expect(results.every((r) => r.status === "miss" && (r.value as { ns: string }).ns === ns)).toBe(true);
      }
    });

    it("refreshes a hot key early with XFetch's probability, before it expires", async () => {
      const clock = newClock();
      let random = 1;
      const { cache, refreshes, settle, handed } = instance(clock, { random: () => random });
      const key = orgKey("days=30");
      let loads = 0;
      const slowToCompute = async () => {
        clock.advance(2_000); // a 2 s query
        return ++loads;
      };
      await cache.fetch("overview", key, slowToCompute, AGGREGATE);
      await settle(); // the miss's store write
      clock.advance(55_000); // 5 s of freshness left

      random = 0.9; // -ln(0.9) × 2 s ≈ 0.2 s < 5 s: not yet
      expect(await cache.fetch("overview", key, slowToCompute, AGGREGATE)).toMatchObject({ status: "hit", value: 1 });
      expect(refreshes).toHaveLength(0);

      clock.advance(L1_TTL_MS);
      random = 0.01; // -ln(0.01) × 2 s ≈ 9.2 s ≥ 4 s: refresh now, still answering the fresh value
      expect(await cache.fetch("overview", key, slowToCompute, AGGREGATE)).toMatchObject({ status: "hit", value: 1 });
      expect(refreshes.length).toBeGreaterThanOrEqual(1); // the refresh, handed over before the answer
      await settle();
      expect(handed()).toBe(3); // the miss's store write, the refresh, and the refresh's store write
      clock.advance(L1_TTL_MS);
      expect(await cache.fetch("overview", key, slowToCompute, AGGREGATE)).toMatchObject({ status: "hit", value: 2 });
    });

    it("answers bypass by loading and storing a fresh value", async () => {
      const clock = newClock();
      const { cache } = instance(clock);
      const key = orgKey("days=30");
      const data = source("old");
      await cache.fetch("overview", key, data.load, AGGREGATE);
      data.set("new");
      expect(await cache.fetch("overview", key, data.load, { ...AGGREGATE, bypass: true })).toMatchObject({ status: "bypass", value: "new" });
      clock.advance(L1_TTL_MS);
      expect(await cache.fetch("overview", key, data.load, AGGREGATE)).toMatchObject({ status: "hit", value: "new" });
    });

    it("serves a value that is not JSON data without caching it", async () => {
      const clock = newClock();
      const { cache, logger } = instance(clock);
      const key = orgKey("x");
      const result = await cache.fetch("overview", key, async () => ({ big: 1n }), AGGREGATE);
      expect(result).toMatchObject({ status: "miss", value: { big: 1n } });
      expect(cache.stats().store?.skippedWrites).toBe(1);
      expect(logger.lines.map((l) => l.msg)).toContain("cache value is not JSON data");
    });

    it("answers a miss the JSON data a hit answers: the loaded value itself when it is JSON data, else its round trip", async () => {
      const clock = newClock();
      const writer = instance(clock).cache;
      const reader = instance(clock).cache;
      // JSON data: the miss answers the very object (no parse-back), the other instance's hit an equal one, keys in order
      const data = { 2: "two", b: [1, 0.1, null, true, { c: "é\u2028" }], a: { z: 1, y: -2.5e-7 }, 1: "one" };
      const dataKey = orgKey("data");
      const miss = await writer.fetch("overview", dataKey, async () => data, AGGREGATE);
      expect(miss).toMatchObject({ status: "miss" });
      expect(miss.value).toBe(data);
      const hit = await reader.fetch("overview", dataKey, async () => ({ other: true }), AGGREGATE);
      expect(hit.status).toBe("hit");
      expect(hit.value).not.toBe(data);
      expect(JSON.stringify(hit.value)).toBe(JSON.stringify(miss.value));
      expect(hit.value).toStrictEqual(JSON.parse(JSON.stringify(data)));

      // not JSON data: the miss answers the round trip, as the hit does (a Date becomes its string, undefined goes, -0 is 0)
      const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
      const shapes: unknown[] = [{ at }, { gone: undefined, kept: 1 }, [1, undefined, 2], { zero: -0 }, { n: Number.NaN }, Object.assign([1], { extra: 2 })];
      for (const [i, shape] of shapes.entries()) {
        const key = orgKey(`shape-${i}`);
        const loaded = await writer.fetch("overview", key, async () => shape, AGGREGATE);
        expect(loaded.status).toBe("miss");
        expect(loaded.value, JSON.stringify(shape)).not.toBe(shape);
        expect(loaded.value, JSON.stringify(shape)).toStrictEqual(JSON.parse(JSON.stringify(shape)));
        expect((await reader.fetch("overview", key, async () => null, AGGREGATE)).value).toStrictEqual(loaded.value);
      }
    });
  });

  describe("errors and stats", () => {
    it("rethrows a loader's error and counts it, without caching anything", async () => {
      const clock = newClock();
      const { cache } = instance(clock);
      const key = orgKey("days=30");
      const failing = async (): Promise<number> => {
        throw new Error("statement timeout");
      };
      await expect(cache.fetch("overview", key, failing, AGGREGATE)).rejects.toThrow("statement timeout");
      expect(await cache.fetch("overview", key, async () => 7, AGGREGATE)).toMatchObject({ status: "miss", value: 7 });
      expect(cache.stats().namespaces.overview).toMatchObject({ misses: 2, loadErrors: 1 });
    });

    it("answers the kept value marked stale when the loader fails within staleIfErrorSec", async () => {
      const clock = newClock();
      const { cache, logger } = instance(clock);
      const key = orgKey("days=30");
      const options: FetchOptions = { freshSec: 60, staleSec: 0, staleIfErrorSec: 600 };
      await cache.fetch("overview", key, async () => "last good", options);
      clock.advance(120_000);
      const failing = async (): Promise<string> => {
        throw new Error("statement timeout");
      };
      const result = await cache.fetch("overview", key, failing, options);
      expect(result).toMatchObject({ status: "stale", value: "last good" });
      expect(logger.lines.map((l) => l.msg)).toContain("cache served a kept value: its load failed");
      clock.advance(600_000);
      await expect(cache.fetch("overview", key, failing, options)).rejects.toThrow("statement timeout");
    });

    it("counts hits, misses, stale serves and load errors per namespace", async () => {
      const clock = newClock();
      const { cache, settle } = instance(clock);
      const key = orgKey("days=30");
      await cache.fetch("overview", key, async () => 1, AGGREGATE); // miss
      await cache.fetch("overview", key, async () => 1, AGGREGATE); // hit
      clock.advance(61_000);
      await cache.fetch("overview", key, async () => 1, AGGREGATE); // stale
      await settle();
      await cache.fetch("analytics", key, () => Promise.reject(new Error("down")), AGGREGATE).catch(() => {}); // miss + error

      const stats = cache.stats();
      expect(stats).toMatchObject({
        hits: 1,
        misses: 2,
        stale: 1,
        loadErrors: 1,
        hitRatio: 0.5,
        namespaces: {
          overview: { hits: 1, misses: 1, stale: 1, loadErrors: 0, hitRatio: 2 / 3 },
          analytics: { hits: 0, misses: 1, stale: 0, loadErrors: 1, hitRatio: 0 },
        },
        store: { kind, available: true, errors: 0, writeErrors: 0, pendingInvalidations: 0 },
      });
    });

    it("answers a null hit ratio before any read", () => {
      const { cache } = instance(newClock());
      expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, stale: 0, loadErrors: 0, hitRatio: null, namespaces: {} });
    });
  });

  describe("invalidation within one instance", () => {
    it("invalidate drops one key for the next read", async () => {
      const clock = newClock();
      const { cache } = instance(clock);
      const org = randomUUID();
      const data = source("before");
      await cache.fetch("overview", `${org}:days=30`, data.load, AGGREGATE);
      await cache.fetch("overview", `${org}:days=7`, async () => "untouched", AGGREGATE);
      data.set("after");
      await cache.invalidate("overview", `${org}:days=30`);
      expect(await cache.fetch("overview", `${org}:days=30`, data.load, AGGREGATE)).toMatchObject({ status: "miss", value: "after" });
      expect(await cache.fetch("overview", `${org}:days=7`, data.load, AGGREGATE)).toMatchObject({ status: "hit", value: "untouched" });
    });

    it("invalidateOrg outdates every key of that organization and no other's", async () => {
      const clock = newClock();
      const { cache } = instance(clock);
      const [org, other] = [randomUUID(), randomUUID()];
      for (const key of [`${org}:days=30`, `${org}:days=7`, `${other}:days=30`]) {
        await cache.fetch("overview", key, async () => "before", AGGREGATE);
      }
      await cache.invalidateOrg(org);
      const after = async () => "after";
      expect(await cache.fetch("overview", `${org}:days=30`, after, AGGREGATE)).toMatchObject({ status: "miss", value: "after" });
      expect(await cache.fetch("overview", `${org}:days=7`, after, AGGREGATE)).toMatchObject({ status: "miss", value: "after" });
      expect(await cache.fetch("overview", `${other}:days=30`, after, AGGREGATE)).toMatchObject({ status: "hit", value: "before" });
    });
  });

  describe("coherence across two instances over one store", () => {
    it("shows a config write through one instance on the very next read from another", async () => {
      const clock = newClock();
      const [writer, reader] = [instance(clock), instance(clock)];
      const key = orgKey("settings");
      const settings = source({ timezone: "UTC" });
      const config: FetchOptions = { freshSec: 300 };
      await reader.cache.fetch("config", key, settings.load, config);
      expect(await reader.cache.fetch("config", key, settings.load, config)).toMatchObject({ status: "hit" });

      settings.set({ timezone: "Europe/Paris" });
      await writer.cache.invalidate("config", key);
      expect(await reader.cache.fetch("config", key, settings.load, config)).toMatchObject({
        status: "miss",
        value: { timezone: "Europe/Paris" },
      });
    });

    it("shows an organization invalidated through one instance on the very next config read from another", async () => {
      const clock = newClock();
      const [writer, reader] = [instance(clock), instance(clock)];
      const org = randomUUID();
      const rules = source(["+33"]);
      const config: FetchOptions = { freshSec: 300, kind: "config" };
      await reader.cache.fetch("routing-rules", `${org}:all`, rules.load, config);
      expect(await reader.cache.fetch("routing-rules", `${org}:all`, rules.load, config)).toMatchObject({ status: "hit" });

      rules.set(["+33", "+49"]);
      await writer.cache.invalidateOrg(org);
      expect(await reader.cache.fetch("routing-rules", `${org}:all`, rules.load, config)).toMatchObject({ status: "miss", value: ["+33", "+49"] });
    });

    it(`lets another instance's L1 hide an aggregate invalidation for at most L1_TTL_MS (${L1_TTL_MS} ms)`, async () => {
      const clock = newClock();
      const [writer, reader] = [instance(clock), instance(clock)];
      const org = randomUUID();
      const data = source("before");
      await reader.cache.fetch("overview", `${org}:days=30`, data.load, AGGREGATE);
      data.set("after");
      await writer.cache.invalidateOrg(org);

      clock.advance(L1_TTL_MS - 1);
      expect(await reader.cache.fetch("overview", `${org}:days=30`, data.load, AGGREGATE)).toMatchObject({ value: "before" });
      clock.advance(1);
      expect(await reader.cache.fetch("overview", `${org}:days=30`, data.load, AGGREGATE)).toMatchObject({ status: "miss", value: "after" });
      // the writer itself sees its invalidation at once
      expect(await writer.cache.fetch("overview", `${org}:days=30`, data.load, AGGREGATE)).toMatchObject({ value: "after" });
    });

    it("answers an aggregate before its store write ends, serves it from L1 meanwhile, drops that copy when the store refuses it, and answers a config value only once written", async () => {
      const clock = newClock();
      const inner = backend.open(clock);
      const gate = deferred<void>();
      const held: CacheStore = {
        kind: inner.kind,
        get: (keys) => inner.get(keys),
        set: (key, value, ttlMs) => inner.set(key, value, ttlMs),
        setIf: async (key, value, ttlMs, guards) => {
          await gate.promise;
          return inner.setIf(key, value, ttlMs, guards);
        },
        delete: (keys) => inner.delete(keys),
        ...(inner.eval && { eval: (script: string, keys: readonly string[], args: readonly string[]) => inner.eval!(script, keys, args) }),
        close: () => inner.close(),
      };
      const [loading, other] = [instance(clock, { store: held }), instance(clock)];
      const org = randomUUID();
      const data = source("old");

      // the store write is held: the miss is answered all the same, and the next read is an L1 hit, not a second load
      expect(await loading.cache.fetch("overview", `${org}:days=30`, data.load, AGGREGATE)).toMatchObject({ status: "miss", value: "old" });
      expect(await loading.cache.fetch("overview", `${org}:days=30`, data.load, AGGREGATE)).toMatchObject({ status: "hit", value: "old" });
      expect(data.loads).toBe(1);

      // a config value waits for its write: every read of it confirms against the store
      let configAnswered = false;
      const config = loading.cache
        .fetch("config", `${org}:settings`, async () => "utc", { freshSec: 300 })
        .then((r) => {
          configAnswered = true;
          return r;
        });
      await sleep(20);
      expect(configAnswered).toBe(false);

      // another instance invalidates the organization before the held writes reach the store: they are refused, and
      // the aggregate's L1 copy goes with its write (else this instance would answer "old" for up to L1_TTL_MS)
      data.set("new");
      await other.cache.invalidateOrg(org);
      gate.resolve();
      expect(await config).toMatchObject({ status: "miss", value: "utc" });
      await loading.settle();
      expect(await loading.cache.fetch("overview", `${org}:days=30`, data.load, AGGREGATE)).toMatchObject({ status: "miss", value: "new" });
    });

    for (const invalidation of ["invalidate", "invalidateOrg"] as const) {
      for (const where of ["another instance", "the loading instance"] as const) {
        it(`does not let a load begun before ${invalidation} on ${where} write its older value`, async () => {
          const clock = newClock();
          const [loading, other] = [instance(clock), instance(clock)];
          const writer = where === "another instance" ? other : loading;
          const org = randomUUID();
          const key = `${org}:settings`;
          let database = "old";
          const [started, gate] = [deferred<void>(), deferred<void>()];
          const slowLoad = async () => {
            const seen = database;
            started.resolve();
            await gate.promise;
            return seen;
          };
          const slow = loading.cache.fetch("config", key, slowLoad, { freshSec: 300 });
          await started.promise;
          database = "new";
          await (invalidation === "invalidate" ? writer.cache.invalidate("config", key) : writer.cache.invalidateOrg(org));
          gate.resolve();
          // it began before the write: answering its value is right, storing it would not be
          expect(await slow).toMatchObject({ status: "miss", value: "old" });

          const current = async () => database;
          for (const reader of [other, loading]) {
            expect(await reader.cache.fetch("config", key, current, { freshSec: 300 })).toMatchObject({ value: "new" });
          }
          clock.advance(L1_TTL_MS);
          const aggregateRead = await loading.cache.fetch("config", key, current, { freshSec: 300, kind: "aggregate" });
          expect(aggregateRead).toMatchObject({ value: "new" });
        });
      }
    }
  });
});
