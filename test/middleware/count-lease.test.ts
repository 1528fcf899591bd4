import { describe, expect, it } from "vitest";
import { LeasedCounts } from "../../functions/rate-limit/lease";

/**
 * The lease's bookkeeping (`rate-limit/lease.ts`) over an `add` that keeps counts per (key, bucket) as the Redis script
 * does: every request admitted in process is added once, to the bucket it was admitted in, whatever order the store's
 * answers come in. The HTTP and Redis sides are in cached-read-lease.test.ts and entries/read-lease.test.ts.
 */
describe("the count lease", () => {
  const WINDOW_MS = 60_000;
  function lease(limit = 100) {
    const store = new Map<string, number>();
    const adds: { key: string; bucket: number; n: number }[] = [];
    let now = 0;
    const counts = new LeasedCounts(
      async ({ key, bucket, n }) => {
        adds.push({ key, bucket, n });
        store.set(`${key}:${bucket}`, (store.get(`${key}:${bucket}`) ?? 0) + n);
        return { previous: store.get(`${key}:${bucket - 1}`) ?? 0, current: store.get(`${key}:${bucket}`)! };
      },
      { limit, windowMs: WINDOW_MS, leaseMs: 250, flushMs: 60_000 },
      () => now,
      (error) => {
        throw error;
      },
    );
    return { counts, store, adds, at: (ms: number) => (now = ms) };
  }

  it("admits nothing before the store answered a count, then counts each admission once into its own bucket", async () => {
    const { counts, store, adds } = lease();
    expect(counts.admit("k", 10, 0, 0)).toBeUndefined();
    counts.synced("k", 10, { admitted: true, previous: 0, current: 1 }, 0);
    for (let i = 2; i <= 4; i++) expect(counts.admit("k", 10, 0, 0)).toEqual({ admitted: true, previous: 0, current: i });
    // an answer about an older bucket arriving late changes nothing
    counts.synced("k", 9, { admitted: true, previous: 0, current: 7 }, 0);
    expect(counts.admit("k", 10, 0, 0)).toEqual({ admitted: true, previous: 0, current: 5 });
    // the next bucket: what was admitted in bucket 10 is sent there, once
    counts.synced("k", 11, { admitted: true, previous: 1, current: 1 }, 0);
    await counts.flush();
    await counts.flush();
    expect(adds).toEqual([{ key: "k", bucket: 10, n: 4 }]);
    expect(store.get("k:10")).toBe(4);
  });

  it("stops admitting when its lease runs out and within a tenth of the limit", () => {
    const { counts } = lease(20);
    counts.synced("k", 10, { admitted: true, previous: 0, current: 1 }, 0);
    expect(counts.admit("k", 10, 0, 249)).toBeDefined();
    expect(counts.admit("k", 10, 0, 250), "the lease ran out").toBeUndefined();
    counts.synced("k", 10, { admitted: true, previous: 0, current: 16 }, 300);
    expect(counts.admit("k", 10, 0, 300), "16 in the store + 1 admitted here + this one + a margin of 2: 20").toBeDefined();
    expect(counts.admit("k", 10, 0, 300), "one more would need 21: ask the store").toBeUndefined();
  });
});
