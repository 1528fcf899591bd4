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
import { ManualClock } from "../../functions/lib/clock";
import { memoryLogger, type Logger } from "../../functions/lib/logger";
import { deleteByPrefix, REDIS_URL, runPrefix, sleep } from "./support";
import { FaultProxy, refusedPort } from "./tcp-proxy";

/** The loader of these tests: a 30 ms query. */
const LOAD_MS = 30;
/** The store timeout of these tests. */
const STORE_TIMEOUT_MS = 100;
/** How long the cache leaves a failed store alone (on the cache's injected clock, which only the tests move). */
const STORE_RETRY_MS = 100;
/**
 * SPEC: with the store down or hanging, a fetch answers within the loader's time plus one store timeout. The tests
 * hold that by order and count (one store call, failed or timed out, then the load; none while the store is paused),
 * not by elapsed time, which a shared machine stretches. This guard only catches a fetch that hangs outright.
 */
const HANG_GUARD_MS = 5_000;

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

/** Each store call and its outcome (`get:ok`, `setIf:error`, …) and each load, in the order they happened. */
type Events = string[];

/** The store with every call recorded in `events`. */
function recorded(store: CacheStore, events: Events): CacheStore {
  const track =
    <A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        const answer = await call(...args);
        events.push(`${name}:ok`);
        return answer;
      } catch (error) {
        events.push(`${name}:error`);
        throw error;
      }
    };
  return {
    kind: store.kind,
    get: track("get", (keys) => store.get(keys)),
    set: track("set", (key, value, ttlMs) => store.set(key, value, ttlMs)),
    setIf: track("setIf", (key, value, ttlMs, guards) => store.setIf(key, value, ttlMs, guards)),
    delete: track("delete", (keys) => store.delete(keys)),
    ...(store.eval ? { eval: track("eval", (script: string, keys: readonly string[], args: readonly string[]) => store.eval!(script, keys, args)) } : {}),
    close: () => store.close(),
  };
}

/**
 * A cache over the store `open` builds; the store logs through the same logger as the cache. The cache runs on a
 * manual clock, so a failed store stays paused until the test moves the clock past `STORE_RETRY_MS`.
 */
function cacheOver(open: (logger: Logger) => CacheStore) {
  const logger = memoryLogger();
  const events: Events = [];
  const store = recorded(open(logger), events);
  const clock = new ManualClock(Date.now());
  // no L1: every fetch here must go to the store, so what the store does is what the test sees
  // an aggregate's store write ends after its answer: `written()` waits for what the cache handed waitUntil
  const background: Promise<unknown>[] = [];
  const cache = tieredCache({ store, clock, logger, keyPrefix: prefix, l1: false, storeRetryMs: STORE_RETRY_MS, waitUntil: (work) => background.push(work) });
  cleanups.push(() => cache.close());
  const written = async () => {
    while (background.length > 0) await Promise.all(background.splice(0));
  };
  return { cache, logger, clock, events, written, messages: () => logger.lines.map((line) => String(line.msg)) };
}

const slowLoad = (value: string, events?: Events) => async () => {
  events?.push("load");
  await sleep(LOAD_MS);
  return value;
};

/** One fetch, which must not throw, and the store calls and loads it made, in order. */
async function recordedFetch(over: { cache: Cache; events: Events }, key: string, value: string) {
  const from = over.events.length;
  const started = performance.now();
  const result = await over.cache.fetch("overview", key, slowLoad(value, over.events), { freshSec: 60 });
  return { result, ms: performance.now() - started, events: over.events.slice(from) };
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
  it("answers from the loader after one failed store read when Redis refuses connections, and recovers when it returns", async () => {
    const port = await refusedPort();
    const over = cacheOver((logger) => redisStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: STORE_TIMEOUT_MS, reconnectMaxMs: 100, logger }));
    const { cache, clock, messages } = over;
    const org = randomUUID();

    const first = await recordedFetch(over, `${org}:days=30`, "from the database");
    expect(first.result).toMatchObject({ status: "miss", value: "from the database" });
    expect(first.events, "one store read, failed, then the load; no write while the store is paused").toEqual(["get:error", "load"]);
    expect(first.ms).toBeLessThan(HANG_GUARD_MS);
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
      clock.advance(STORE_RETRY_MS);
      await cache.fetch("overview", `${other}:days=30`, slowLoad("back"), { freshSec: 60 });
      return (await storedEntry(other)) !== null;
    }, "the cache writes to Redis again");
    expect(cache.stats().store).toMatchObject({ available: true, pendingInvalidations: 0 });
    expect(await redis.get(`${prefix}~version:${org}`)).toMatch(/^[0-9a-f]{16}$/);
    expect(await redis.get(`${prefix}config:${org}:g:settings`)).toMatch(/^[0-9a-f]{16}$/);
    expect(messages()).toContain("cache store answers again");
  });

  it("answers after one timed-out store read when Redis accepts connections but never answers, and recovers when it does", async () => {
    const proxy = await FaultProxy.start(REDIS_URL, { mode: "hang" });
    cleanups.push(() => proxy.stop());
    const over = cacheOver((logger) => redisStore({ url: proxy.url, timeoutMs: STORE_TIMEOUT_MS, reconnectMaxMs: 100, logger }));
    const { cache, clock, messages } = over;
    const org = randomUUID();

    const first = await recordedFetch(over, `${org}:days=30`, "from the database");
    expect(first.result).toMatchObject({ status: "miss", value: "from the database" });
    expect(first.events, "one store read, timed out, then the load").toEqual(["get:error", "load"]);
    expect(first.ms).toBeLessThan(HANG_GUARD_MS);
    expect(messages()).toContain("cache store read failed");

    // while the store is paused, a fetch does not call it at all
    const second = await recordedFetch(over, `${org}:days=30`, "again");
    expect(second.result).toMatchObject({ status: "miss", value: "again" });
    expect(second.events, "no store call while the store is paused").toEqual(["load"]);
    expect(cache.stats().store?.skippedWrites).toBeGreaterThanOrEqual(1);

    // Redis answers again; the wedged connection is replaced after a few timeouts
    proxy.mode = "forward";
    await eventually(async () => {
      clock.advance(STORE_RETRY_MS);
      await cache.fetch("overview", `${org}:days=30`, slowLoad("back"), { freshSec: 60 });
      return (await storedEntry(org)) !== null;
    }, "the cache writes to Redis again");
    expect(messages()).toContain("redis connection unresponsive; reconnecting");
    expect(await cache.fetch("overview", `${org}:days=30`, slowLoad("unused"), { freshSec: 60 })).toMatchObject({ status: "hit", value: "back" });
  });

  it("logs and counts a write that fails, and still answers the loaded value", async () => {
    const proxy = await FaultProxy.start(REDIS_URL);
    cleanups.push(() => proxy.stop());
    const { cache, messages, written } = cacheOver((logger) => redisStore({ url: proxy.url, timeoutMs: 1_000, logger }));
    const org = randomUUID();

    const loadThenLoseRedis = async () => {
      await proxy.stop(); // Redis goes away while the query runs
      return "computed";
    };
    const result = await cache.fetch("overview", `${org}:days=30`, loadThenLoseRedis, { freshSec: 60 });
    expect(result).toMatchObject({ status: "miss", value: "computed" });
    await written();
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

  it("answers from the loader after one failed store read when the REST endpoint refuses connections", async () => {
    const port = await refusedPort();
    const over = cacheOver(() => upstashStore({ url: `http://127.0.0.1:${port}`, token: "t", timeoutMs: STORE_TIMEOUT_MS }));
    const { messages } = over;
    const { result, ms, events } = await recordedFetch(over, `${randomUUID()}:days=30`, "from the database");
    expect(result).toMatchObject({ status: "miss", value: "from the database" });
    expect(events).toEqual(["get:error", "load"]);
    expect(ms).toBeLessThan(HANG_GUARD_MS);
    expect(messages()).toContain("cache store read failed");
  });

  it("answers from the loader after one timed-out store read when the REST endpoint never answers", async () => {
    const over = cacheOver(() => upstashStore({ url: hangingUrl, token: "t", timeoutMs: STORE_TIMEOUT_MS }));
    const { cache, messages } = over;
    const { result, ms, events } = await recordedFetch(over, `${randomUUID()}:days=30`, "from the database");
    expect(result).toMatchObject({ status: "miss", value: "from the database" });
    expect(events).toEqual(["get:error", "load"]);
    expect(ms).toBeLessThan(HANG_GUARD_MS);
    expect(messages()).toContain("cache store read failed");
    await expect(cache.invalidateOrg(randomUUID())).resolves.toBeUndefined();
  });
});
