import { describe, expect, it } from "vitest";
import type { CacheStore } from "../../functions/cache/store";
import { memoryStore } from "../../functions/cache/memory";
import { tieredCache } from "../../functions/cache/tiered";
import { ExpiringLru } from "../../functions/cache/lru";
import { EXPLICIT_WINDOWS_PER_ORG } from "../../functions/read-models/windowed";
import { silentLogger } from "../../functions/lib/logger";
import { body, ManualClock } from "../support/app";
import { useTestApp } from "../support/use-test-app";
import { testTarget } from "../support/worker-target";

/**
 * Issue #18, item 2: what one key can make the caches hold is bounded, and no answer changes. Explicit windows off
 * the whole minute are not cached; distinct explicit windows cached per organization are capped; the in-process
 * tier is bounded in bytes. Every answer is the exact aggregate of the window asked.
 */

const T0 = Date.UTC(2026, 2, 10, 12, 0, 0);
const clock = new ManualClock(new Date(T0));

/** The store under the app's cache, recording what is written to it (its live keys and their bytes). */
function countingStore(inner: CacheStore) {
  const live = new Map<string, number>();
  let maxKeys = 0;
  let maxBytes = 0;
  const note = () => {
    maxKeys = Math.max(maxKeys, live.size);
    maxBytes = Math.max(
      maxBytes,
      [...live.values()].reduce((a, b) => a + b, 0),
    );
  };
  const store: CacheStore = {
    kind: inner.kind,
    get: (keys) => inner.get(keys),
    async set(key, value, ttlMs) {
      await inner.set(key, value, ttlMs);
      live.set(key, key.length + value.length);
      note();
    },
    async setIf(key, value, ttlMs, guards) {
      const wrote = await inner.setIf(key, value, ttlMs, guards);
      if (wrote) {
        live.set(key, key.length + value.length);
        note();
      }
      return wrote;
    },
    async delete(keys) {
      await inner.delete(keys);
      for (const key of keys) live.delete(key);
    },
    close: () => inner.close(),
  };
  return { store, stats: () => ({ keys: live.size, maxKeys, maxBytes, windowKeys: [...live.keys()].filter((k) => k.includes("from=")).length }) };
}

const counting = countingStore(memoryStore(clock));
// the app's cache over a store the test can count; the Worker's store is its Upstash binding, counted elsewhere
const onWorker = testTarget() === "worker";
const t = useTestApp(
  onWorker ? { clock } : { clock, rateLimit: false, cache: (c) => tieredCache({ store: counting.store, clock: c, logger: silentLogger, l1: false }) },
);

/** Distinct windows asked: half on the whole minute (cacheable, each new), half off it; the cacheable half is 8 times the cap, so it binds. */
const WINDOWS = 16 * EXPLICIT_WINDOWS_PER_ORG;
const CALL_OFFSETS_MS = [-30 * 60_000 + 1, -10 * 60_000, -5 * 60_000 + 123, -60_000, -1];

describe.skipIf(onWorker)("bounded caches, exact answers", () => {
  it("holds the store to a bounded key count and size over 1,024 distinct windows of one key (512 cacheable: 8 times the cap), every answer exact", async () => {
    const org = await t.createOrg();
    for (const offset of CALL_OFFSETS_MS) {
      const res = await t.request("POST", "/api/calls", {
        key: org.writeKey,
        body: { phoneNumber: "+14155550123", direction: "inbound", status: "completed", durationSec: 60, startedAt: new Date(T0 + offset).toISOString() },
      });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    const expected = (from: number, to: number) => CALL_OFFSETS_MS.filter((o) => T0 + o >= from && T0 + o < to).length;
    for (let i = 0; i < WINDOWS; i++) {
      // even: on the whole minute, a new one each time; odd: off the minute by a few milliseconds
      const from = i % 2 === 0 ? T0 - (40 + i / 2) * 60_000 : T0 - 40 * 60_000 + i;
      const to = i % 2 === 0 ? T0 + 60_000 : T0 - i;
      const url = `/api/dashboard/overview?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;
      const res = await t.request("GET", url, { key: org.readKey });
      const json = await body(res);
      expect(res.status, JSON.stringify(json)).toBe(200);
      expect(json.meta.from).toBe(new Date(from).toISOString());
      expect(json.meta.to).toBe(new Date(to).toISOString());
      expect(json.data.calls.total, `${url}: ${JSON.stringify(json.data.calls)}`).toBe(expected(from, to));
    }
    const stats = counting.stats();
    expect(stats.windowKeys, JSON.stringify(stats)).toBeLessThanOrEqual(EXPLICIT_WINDOWS_PER_ORG);
    expect(stats.maxKeys, JSON.stringify(stats)).toBeLessThanOrEqual(EXPLICIT_WINDOWS_PER_ORG + 20);
    expect(stats.maxBytes, JSON.stringify(stats)).toBeLessThan(2 * 1024 * 1024);
    // a window already cached is still served from the cache, and a repeated off-minute window is computed again
    const aligned = `/api/dashboard/overview?from=${new Date(T0 - 40 * 60_000).toISOString()}&to=${new Date(T0 + 60_000).toISOString()}`;
    expect((await body(await t.request("GET", aligned, { key: org.readKey }))).meta.cache).toBe("hit");
    const off = `/api/dashboard/overview?from=${new Date(T0 - 40 * 60_000 + 1).toISOString()}&to=${new Date(T0 - 1).toISOString()}`;
    expect((await body(await t.request("GET", off, { key: org.readKey }))).meta.cache).toBe("bypass");
  }, 300_000); // 1,024 exchanges, each an aggregate over the database

  it("bounds the in-process tier by bytes as well as entries", () => {
    const lru = new ExpiringLru<string>(1_000, () => T0, { maxBytes: 10_000, sizeOf: (key, value) => key.length + value.length });
    for (let i = 0; i < 1_000; i++) lru.set(`k${i}`, "x".repeat(900), 60_000);
    expect(lru.byteSize).toBeLessThanOrEqual(10_000);
    expect(lru.size).toBeLessThanOrEqual(11);
    expect(lru.get("k999")).toBe("x".repeat(900));
    lru.set("huge", "x".repeat(20_000), 60_000);
    expect(lru.get("huge"), "an entry larger than the bound is not kept").toBeUndefined();
    lru.delete("k999");
    expect(lru.byteSize).toBeLessThanOrEqual(10_000 - 904);
  });
});
