import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cache } from "../../functions/cache/cache";
import { tieredCache } from "../../functions/cache/tiered";
import { silentLogger } from "../../functions/lib/logger";
import { ManualClock } from "../support/app";
import { deleteByPrefix, runPrefix, startBackend, type StoreBackend } from "./support";

/**
 * Issue #18 item 2, across instances: the distinct keys of a namespace cached per organization (explicit windows)
 * are capped by a count the shared store holds, so more instances do not multiply what one key can make Redis hold.
 * Every answer is still the loader's, cached or not.
 */

const LIMIT = 16;
const OPTIONS = { freshSec: 60, staleSec: 300, maxKeysPerOrg: LIMIT };

describe.each(["redis", "upstash"] as const)("the per-organization key budget over the %s store", (kind) => {
  const prefix = runPrefix(`budget-${kind}`);
  let backend: StoreBackend;
  const caches: Cache[] = [];
  beforeAll(async () => {
    backend = await startBackend(kind);
  });
  afterAll(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.close()));
    await backend.stop();
    await deleteByPrefix(prefix);
  });

  it("holds across instances: four instances, 200 distinct keys of one organization, at most the limit cached", async () => {
    const clock = new ManualClock("2026-03-01T12:00:00Z");
    const instances = Array.from({ length: 4 }, () => {
      const cache = tieredCache({ store: backend.open(clock), clock, logger: silentLogger, keyPrefix: prefix, l1: false });
      caches.push(cache);
      return cache;
    });
    const org = randomUUID();
    const cached = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const key = `${org}:window=${i}`;
      const cache = instances[i % instances.length]!;
      const result = await cache.fetch("overview", key, async () => ({ window: i }), OPTIONS);
      expect(result.value).toEqual({ window: i });
      if (result.status !== "bypass") cached.add(key);
    }
    expect(cached.size).toBe(LIMIT);
    // an admitted key is served from the store by any instance; a refused one is computed again by every instance
    const admitted = [...cached][0]!;
    for (const cache of instances) expect((await cache.fetch("overview", admitted, async () => ({ window: -1 }), OPTIONS)).status).toBe("hit");
    const refused = `${org}:window=199`;
    expect(cached.has(refused)).toBe(false);
    for (const cache of instances) {
      const again = await cache.fetch("overview", refused, async () => ({ window: 199 }), OPTIONS);
      expect(again).toMatchObject({ status: "bypass", value: { window: 199 } });
    }
    // another organization has its own budget
    const other = await instances[0]!.fetch("overview", `${randomUUID()}:window=0`, async () => ({ window: 0 }), OPTIONS);
    expect(other.status).toBe("miss");
  });
});
