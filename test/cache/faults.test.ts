import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Cache } from "../../functions/cache/cache";
import { redisStore } from "../../functions/cache/redis";
import type { CacheStore } from "../../functions/cache/store";
import { tieredCache } from "../../functions/cache/tiered";
import { upstashStore } from "../../functions/cache/upstash";
import { systemClock } from "../../functions/lib/clock";
import { memoryLogger, type Logger } from "../../functions/lib/logger";
import { deleteByPrefix, REDIS_URL, runPrefix, sleep } from "./support";
import { FaultProxy, refusedPort } from "./tcp-proxy";

/** The loader of these tests: a 30 ms query. */
const LOAD_MS = 30;
/** The store timeout of these tests. */
const STORE_TIMEOUT_MS = 100;
/** Scheduling noise allowed on a loaded machine (other suites run beside this one). */
const SLACK_MS = 200;
/** SPEC: with the store down or hanging, a fetch answers within the loader's time plus one store timeout. */
const BOUND_MS = LOAD_MS + STORE_TIMEOUT_MS + SLACK_MS;

const prefix = runPrefix("faults");
const redis = createClient({ url: REDIS_URL, RESP: 2, disableClientInfo: true });
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  redis.on("error", () => {});
  await redis.connect();
  // Node loads its fetch implementation on first use: pay that here, not inside a timed fetch
  await fetch("http://127.0.0.1:1/").catch(() => {});
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  redis.destroy();
  await deleteByPrefix(prefix);
});

/** A cache over the store `open` builds; the store logs through the same logger as the cache. */
function cacheOver(open: (logger: Logger) => CacheStore) {
  const logger = memoryLogger();
  const store = open(logger);
  // no L1: every fetch here must go to the store, so what the store does is what the test sees
  const cache = tieredCache({ store, clock: systemClock, logger, keyPrefix: prefix, l1: false, storeRetryMs: 100 });
  cleanups.push(() => cache.close());
  return { cache, logger, messages: () => logger.lines.map((line) => String(line.msg)) };
}

const slowLoad = (value: string) => async () => {
  await sleep(LOAD_MS);
  return value;
};

/** Times one fetch; it must not throw. */
async function timedFetch(cache: Cache, key: string, value: string) {
  const started = performance.now();
  const result = await cache.fetch("overview", key, slowLoad(value), { freshSec: 60 });
  return { result, ms: performance.now() - started };
}

async function eventually(check: () => Promise<boolean>, what: string, withinMs = 8_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`${what}: not within ${withinMs} ms`);
}

/** What the real Redis holds for an overview key of this suite at the initial org version. */
const storedEntry = (org: string) => redis.get(`${prefix}overview:${org}:v0:days=30`);

describe("the cache over Redis when Redis fails", () => {
  it(`answers from the loader within ${BOUND_MS} ms when Redis refuses connections, and recovers when it returns`, async () => {
    const port = await refusedPort();
    const { cache, messages } = cacheOver((logger) =>
      redisStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: STORE_TIMEOUT_MS, reconnectMaxMs: 100, logger }),
    );
    const org = randomUUID();

    const first = await timedFetch(cache, `${org}:days=30`, "from the database");
    expect(first.result).toMatchObject({ status: "miss", value: "from the database" });
    expect(first.ms).toBeLessThan(BOUND_MS);
    expect(messages()).toContain("cache store read failed");
    expect(cache.stats().store).toMatchObject({ kind: "redis", available: false });
    expect(cache.stats().store?.errors).toBeGreaterThanOrEqual(1);

    // an invalidation made meanwhile is kept and replayed once Redis answers
    await expect(cache.invalidate("config", `${org}:settings`)).resolves.toBeUndefined();
    await expect(cache.invalidateOrg(org)).resolves.toBeUndefined();
    expect(cache.stats().store?.pendingInvalidations).toBe(2);

    const proxy = await FaultProxy.start(REDIS_URL, { port });
    cleanups.push(() => proxy.stop());
    const other = randomUUID();
    await eventually(async () => {
      await cache.fetch("overview", `${other}:days=30`, slowLoad("back"), { freshSec: 60 });
      return (await storedEntry(other)) !== null;
    }, "the cache writes to Redis again");
    expect(cache.stats().store).toMatchObject({ available: true, pendingInvalidations: 0 });
    expect(await redis.get(`${prefix}~version:${org}`)).toMatch(/^[0-9a-f]{16}$/);
    expect(await redis.get(`${prefix}settings:${org}:g:settings`)).toMatch(/^[0-9a-f]{16}$/);
    expect(messages()).toContain("cache store answers again");
  });

  it(`answers within ${BOUND_MS} ms when Redis accepts connections but never answers, and recovers when it does`, async () => {
    const proxy = await FaultProxy.start(REDIS_URL, { mode: "hang" });
    cleanups.push(() => proxy.stop());
    const { cache, messages } = cacheOver((logger) => redisStore({ url: proxy.url, timeoutMs: STORE_TIMEOUT_MS, reconnectMaxMs: 100, logger }));
    const org = randomUUID();

    const first = await timedFetch(cache, `${org}:days=30`, "from the database");
    expect(first.result).toMatchObject({ status: "miss", value: "from the database" });
    expect(first.ms).toBeLessThan(BOUND_MS);
    expect(messages()).toContain("cache store read failed");

    // while the store is paused, a fetch does not wait on it at all
    const second = await timedFetch(cache, `${org}:days=30`, "again");
    expect(second.ms).toBeLessThan(LOAD_MS + SLACK_MS);
    expect(cache.stats().store?.skippedWrites).toBeGreaterThanOrEqual(1);

    // Redis answers again; the wedged connection is replaced after a few timeouts
    proxy.mode = "forward";
    await eventually(async () => {
      await cache.fetch("overview", `${org}:days=30`, slowLoad("back"), { freshSec: 60 });
      return (await storedEntry(org)) !== null;
    }, "the cache writes to Redis again");
    expect(messages()).toContain("redis connection unresponsive; reconnecting");
    expect(await cache.fetch("overview", `${org}:days=30`, slowLoad("unused"), { freshSec: 60 })).toMatchObject({ status: "hit", value: "back" });
  });

  it("logs and counts a write that fails, and still answers the loaded value", async () => {
    const proxy = await FaultProxy.start(REDIS_URL);
    cleanups.push(() => proxy.stop());
    const { cache, messages } = cacheOver((logger) => redisStore({ url: proxy.url, timeoutMs: 1_000, logger }));
    const org = randomUUID();

    const loadThenLoseRedis = async () => {
      await proxy.stop(); // Redis goes away while the query runs
      return "computed";
    };
    const result = await cache.fetch("overview", `${org}:days=30`, loadThenLoseRedis, { freshSec: 60 });
    expect(result).toMatchObject({ status: "miss", value: "computed" });
    expect(messages()).toContain("cache store write failed");
    expect(cache.stats().store).toMatchObject({ writeErrors: 1, available: false });
    expect(await storedEntry(org)).toBeNull();
  });
});

describe("the cache over Upstash when Upstash fails", () => {
  let hanging: Server;
  let hangingUrl: string;

  beforeAll(async () => {
    hanging = createServer(() => {}); // takes every request, answers none
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    hanging.closeAllConnections();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
  });

  it(`answers from the loader within ${BOUND_MS} ms when the REST endpoint refuses connections`, async () => {
    const port = await refusedPort();
    const { cache, messages } = cacheOver(() => upstashStore({ url: `http://127.0.0.1:${port}`, token: "t", timeoutMs: STORE_TIMEOUT_MS }));
    const { result, ms } = await timedFetch(cache, `${randomUUID()}:days=30`, "from the database");
    expect(result).toMatchObject({ status: "miss", value: "from the database" });
    expect(ms).toBeLessThan(BOUND_MS);
    expect(messages()).toContain("cache store read failed");
  });

  it(`answers from the loader within ${BOUND_MS} ms when the REST endpoint never answers`, async () => {
    const { cache, messages } = cacheOver(() => upstashStore({ url: hangingUrl, token: "t", timeoutMs: STORE_TIMEOUT_MS }));
    const { result, ms } = await timedFetch(cache, `${randomUUID()}:days=30`, "from the database");
    expect(result).toMatchObject({ status: "miss", value: "from the database" });
    expect(ms).toBeLessThan(BOUND_MS);
    expect(messages()).toContain("cache store read failed");
    await expect(cache.invalidateOrg(randomUUID())).resolves.toBeUndefined();
  });
});
