import fc from "fast-check";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryStore } from "../../functions/cache/memory";
import { redisStore } from "../../functions/cache/redis";
import { upstashStore } from "../../functions/cache/upstash";
import { REDIS_URL, deleteByPrefix, runPrefix } from "../cache/support";
import { FaultProxy, refusedPort } from "../cache/tcp-proxy";
import { startUpstashRest, type UpstashRestFixture } from "../fixtures/upstash-rest";
import { testTarget } from "../support/worker-target";
import { ADMIN_KEY, createTestApp, ManualClock, type TestApp } from "../support/app";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { installWriteCounter, writeCount } from "../support/security/fingerprint";
import { bearer, describeAnswer, expectProblem, send, type Sent } from "../support/security/http";
import { signWebhook } from "../support/security/world";
import { decide } from "../../functions/rate-limit/algorithm";
import { memoryRateLimitStore, rateLimitStoreOver, type RateLimitStore } from "../../functions/rate-limit/stores";
import { RATE_LIMIT_RETRY_MS, type RateLimitConfig } from "../../functions/rate-limit/config";

/**
 * Per-API-key rate limiting (functions/middleware/rate-limit.ts): a sliding window over the in-process store, Redis
 * on TCP and Upstash over REST (the REST fixture over the same local Redis), the same decisions on all three; 429
 * problem+json with Retry-After and RateLimit-* headers; only authenticated requests count; a failing store lets
 * requests through (fail open) and never answers 5xx.
 */

type Kind = "memory" | "redis" | "upstash";
/**
 * On the worker target (the Worker entry in workerd, test/support/worker-target.ts) the limiter counts in the Worker's
 * own store, Upstash over REST, as deployed: that one kind runs there, with the requests and window the test asks for
 * (TALLY_RATE_LIMIT). The tests that hand the app a store of their own (a failing one, a prefix to inspect) and the
 * model comparison (store calls without an app) run in process only: the Worker's store is its binding.
 */
const onWorker = testTarget() === "worker";
const KINDS: Kind[] = onWorker ? ["upstash"] : ["memory", "redis", "upstash"];
const WINDOW_SEC = 10;
/** A window start on the manual clock: tests place requests at known offsets into a bucket. */
const T0 = Date.UTC(2026, 2, 10, 12, 0, 0);

let database: TestDatabase;
/** creates the organizations and keys the limited apps are tried with (over the same database), unlimited itself */
let setup: TestApp;
let upstash: UpstashRestFixture;
const prefixes: string[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  await installWriteCounter(database.db);
  setup = await createTestApp({ database, rateLimit: false });
  upstash = await startUpstashRest({ redisUrl: REDIS_URL });
});
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
  await setup?.close();
  await upstash?.close();
  for (const prefix of prefixes) await deleteByPrefix(prefix);
  await database?.drop();
});

/**
 * A limiter store of `kind`, built as the entries build it: over the shared cache's store (`rateLimitStoreOver`), under
 * a key prefix of this run alone (deleted afterwards).
 */
function openStore(kind: Kind, url = REDIS_URL, timeoutMs = 1_000): RateLimitStore {
  const keyPrefix = runPrefix(`ratelimit-${kind}`);
  prefixes.push(keyPrefix);
  if (kind === "memory") return memoryRateLimitStore();
  const store = kind === "redis" ? redisStore({ url, timeoutMs }) : upstashStore({ url: upstash.url, token: upstash.token, timeoutMs });
  closers.push(() => store.close());
  const limiterStore = rateLimitStoreOver({ store, keyPrefix });
  expect(limiterStore.kind).toBe(kind);
  return limiterStore;
}

/** An app over this file's database with its own limiter; `close` leaves the database. */
async function appWith(rateLimit: RateLimitConfig | undefined, clock = new ManualClock(T0 + 1_000)) {
  const limit = onWorker && rateLimit ? { requests: rateLimit.requests, windowSec: rateLimit.windowSec } : rateLimit;
  const t = await createTestApp({ database, clock, ...(limit ? { rateLimit: { clock, ...limit } } : {}) });
  closers.push(() => t.close());
  return { t, clock };
}

const get = (t: TestApp, key: string | null, path = "/api/settings") => send(t.app, "GET", path, { authorization: key === null ? null : bearer(key) });
const post = (t: TestApp, key: string, name = "Svc") =>
  send(t.app, "POST", "/api/services", { authorization: bearer(key), body: JSON.stringify({ name, priceCents: 100 }) });

function expectLimited(res: Sent, what: string) {
  expect(res.status, describeAnswer(what, res)).toBe(429);
  const problem = expectProblem(res, what);
  expect(problem.type).toBe("urn:tally:problem:rate-limited");
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${res.headers.get("retry-after")}`).toBe(true);
  expect(res.headers.get("ratelimit-remaining")).toBe("0");
  expect(res.headers.get("ratelimit-reset")).toBe(String(retryAfter));
  return retryAfter;
}

describe.each(KINDS)("the rate limit over the %s store", (kind) => {
  it("admits `requests` a window per key, then answers 429 problem+json with Retry-After and RateLimit-* headers, writing nothing", async () => {
    const { t } = await appWith({ requests: 3, windowSec: WINDOW_SEC, store: openStore(kind) });
    const org = await setup.createOrg();
    for (const remaining of [2, 1, 0]) {
      const res = await post(t, org.writeKey);
      expect(res.status, describeAnswer("a request within the limit", res)).toBe(201);
      expect(res.headers.get("ratelimit-limit")).toBe("3");
      expect(res.headers.get("ratelimit-remaining")).toBe(String(remaining));
      expect(res.headers.get("ratelimit-policy")).toBe(`3;w=${WINDOW_SEC}`);
      expect(Number(res.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
    }
    const before = await writeCount(database.db);
    expectLimited(await post(t, org.writeKey), "the fourth write in the window");
    expect(await writeCount(database.db), "a rate-limited write reached the database").toBe(before);
  });

  it("says when to retry, truthfully: refused until Retry-After, admitted at it; refused requests are not counted", async () => {
    const { t, clock } = await appWith({ requests: 3, windowSec: WINDOW_SEC, store: openStore(kind) });
    const org = await setup.createOrg();
    for (let i = 0; i < 3; i++) expect((await get(t, org.readKey)).status).toBe(200);
    let retryAfter = expectLimited(await get(t, org.readKey), "over the limit");
    for (let i = 0; i < 5; i++) retryAfter = expectLimited(await get(t, org.readKey), "still over the limit");
    if (retryAfter > 1) {
      clock.advance((retryAfter - 1) * 1000);
      const early = expectLimited(await get(t, org.readKey), "one second before Retry-After");
      expect(early).toBeLessThanOrEqual(retryAfter);
      clock.advance(1000);
    } else clock.advance(retryAfter * 1000);
    const res = await get(t, org.readKey);
    expect(res.status, describeAnswer("at Retry-After", res)).toBe(200);
  });

  it("slides: the previous window's requests fade out as the window moves on", async () => {
    const { t, clock } = await appWith({ requests: 4, windowSec: WINDOW_SEC, store: openStore(kind) });
    const org = await setup.createOrg();
    clock.set(T0 + 9_000); // late in a bucket
    for (let i = 0; i < 4; i++) expect((await get(t, org.readKey)).status).toBe(200);
    clock.set(T0 + 10_000); // the next bucket begins: the last 4 still weigh fully
    expectLimited(await get(t, org.readKey), "right after the bucket boundary");
    clock.set(T0 + 15_000); // half way: they weigh 2, so 2 fit (estimate + 1 ≤ 4)
    expect((await get(t, org.readKey)).status).toBe(200);
    expect((await get(t, org.readKey)).status).toBe(200);
    expectLimited(await get(t, org.readKey), "half a window later, after two more");
  });

  it("counts per key: another key of the organization and another organization's key keep their own quota", async () => {
    const { t } = await appWith({ requests: 2, windowSec: WINDOW_SEC, store: openStore(kind) });
    const a = await setup.createOrg();
    const b = await setup.createOrg();
    for (let i = 0; i < 2; i++) expect((await get(t, a.readKey)).status).toBe(200);
    expectLimited(await get(t, a.readKey), "a's read key over its limit");
    expect((await get(t, a.writeKey)).status).toBe(200);
    expect((await get(t, b.readKey)).status).toBe(200);
    expect((await get(t, ADMIN_KEY, "/api/admin/organizations")).status).toBe(200);
  });

  it("never limits or counts requests without a key (401) nor the signed webhook (no key)", async () => {
    const { t } = await appWith({ requests: 2, windowSec: WINDOW_SEC, store: openStore(kind) });
    const org = await setup.createOrg();
    for (let i = 0; i < 10; i++) expect((await get(t, null)).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await get(t, `tly_r_${"Z".repeat(32)}`)).status).toBe(401);
    const secret = `whsec_${crypto.randomUUID().replaceAll("-", "")}`;
    expect((await send(t.app, "PATCH", "/api/settings", { authorization: bearer(org.writeKey), body: JSON.stringify({ webhookSecret: secret }) })).status).toBe(
      200,
    );
    for (let i = 0; i < 5; i++) {
      const raw = JSON.stringify({ externalId: `rl-${i}`, phoneNumber: "+14155550142", direction: "inbound", status: "queued" });
      const nowSec = Math.floor(t.deps.clock.now().getTime() / 1000);
      const res = await send(t.app, "POST", `/api/webhooks/voice/${org.orgId}`, {
        body: raw,
        headers: { "tally-signature": signWebhook(secret, raw, nowSec) },
      });
      expect(res.status, describeAnswer("a signed delivery", res)).toBe(201);
      expect(res.headers.get("ratelimit-limit")).toBeNull();
    }
    // the write key spent one request on the settings above: one left
    expect((await get(t, org.writeKey)).status).toBe(200);
    expectLimited(await get(t, org.writeKey), "the write key's third request");
  });

  it("admits exactly `requests` of a concurrent burst (the check and the count are one atomic step)", async () => {
    // a generous deadline: twenty calls at once through the REST fixture on a busy machine must not fail open
    const { t } = await appWith({ requests: 5, windowSec: WINDOW_SEC, store: openStore(kind), timeoutMs: 5_000 });
    const org = await setup.createOrg();
    await get(t, org.writeKey); // the key's grant is cached: the burst races on the limiter, not on the lookup
    const statuses = await Promise.all(Array.from({ length: 20 }, () => get(t, org.writeKey).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
    expect(statuses.filter((s) => s === 429)).toHaveLength(16);
  });
});

/**
 * The sliding window's admission rule, written here on its own (not with the production estimate), in exact integer
 * arithmetic: the previous bucket counts for the share of it still inside the window, `(window − elapsed) / window`,
 * so a request fits when `previous × (window − elapsed) + (current + 1) × window ≤ limit × window`.
 */
function modelAdmits(previous: number, current: number, elapsedMs: number, windowMs: number, limit: number): boolean {
  return previous * (windowMs - elapsedMs) + (current + 1) * windowMs <= limit * windowMs;
}

describe("the sliding window", () => {
  /** The decision model in plain numbers (what the stores must all answer). */
  function modelRun(limit: number, windowMs: number, events: { key: number; at: number }[]) {
    const buckets = new Map<string, number>();
    return events.map(({ key, at }) => {
      const bucket = Math.floor(at / windowMs);
      const current = buckets.get(`${key}:${bucket}`) ?? 0;
      const previous = buckets.get(`${key}:${bucket - 1}`) ?? 0;
      const admitted = modelAdmits(previous, current, at - bucket * windowMs, windowMs, limit);
      if (admitted) buckets.set(`${key}:${bucket}`, current + 1);
      return admitted;
    });
  }

  const scenario = fc.record({
    limit: fc.integer({ min: 1, max: 6 }),
    events: fc.array(fc.record({ key: fc.integer({ min: 0, max: 2 }), gap: fc.integer({ min: 0, max: 1_500 }) }), { minLength: 1, maxLength: 60 }),
  });

  it.skipIf(onWorker)("decides the same on the memory, Redis and Upstash stores as the model, and bounds every window", async () => {
    const windowMs = 2_000;
    const stores = KINDS.map((kind) => [kind, openStore(kind)] as const);
    await fc.assert(
      fc.asyncProperty(scenario, async ({ limit, events }) => {
        let at = T0;
        const timed = events.map((e) => ({ key: e.key, at: (at += e.gap) }));
        const expected = modelRun(limit, windowMs, timed);
        for (const [kind, store] of stores) {
          const run = crypto.randomUUID();
          const got: boolean[] = [];
          for (const { key, at: now } of timed) {
            const bucket = Math.floor(now / windowMs);
            const elapsedMs = now - bucket * windowMs;
            const counts = await store.hit({ key: `${run}-${key}`, bucket, elapsedMs, windowMs, limit });
            const decision = decide(counts, elapsedMs, windowMs, limit);
            expect(decision.remaining).toBeGreaterThanOrEqual(0);
            if (!decision.allowed) expect(decision.retryAfterMs).toBeGreaterThan(0);
            got.push(decision.allowed);
          }
          expect(got, `${kind} store`).toEqual(expected);
        }
        // at most `limit` in a bucket; at most 2 × limit in any window-long interval (the approximation's bound)
        const admitted = timed.filter((_, i) => expected[i]);
        for (const key of [0, 1, 2]) {
          const times = admitted.filter((e) => e.key === key).map((e) => e.at);
          const perBucket = new Map<number, number>();
          for (const x of times) perBucket.set(Math.floor(x / windowMs), (perBucket.get(Math.floor(x / windowMs)) ?? 0) + 1);
          for (const n of perBucket.values()) expect(n).toBeLessThanOrEqual(limit);
          for (const start of times) expect(times.filter((x) => x >= start && x < start + windowMs).length).toBeLessThanOrEqual(2 * limit);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("answers a Retry-After after which the next request is admitted, and not a moment before", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 9_999 }),
        (limit, previous, current, elapsedMs) => {
          const windowMs = 10_000;
          const admitted = modelAdmits(previous, current, elapsedMs, windowMs, limit);
          fc.pre(!admitted && current <= limit);
          const { retryAfterMs } = decide({ admitted, previous, current }, elapsedMs, windowMs, limit);
          const fits = (after: number) => {
            const at = elapsedMs + after;
            const [p, c, e] = at < windowMs ? [previous, current, at] : at < 2 * windowMs ? [current, 0, at - windowMs] : [0, 0, 0];
            return modelAdmits(p, c, e, windowMs, limit);
          };
          expect(fits(retryAfterMs), `limit ${limit}, counts ${previous}/${current} at ${elapsedMs} ms: retry after ${retryAfterMs} ms`).toBe(true);
          if (retryAfterMs > 1) expect(fits(retryAfterMs - 2)).toBe(false);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("the rate limit's defaults and faults", () => {
  it("is on by default: 600 requests a minute per key", async () => {
    const { t } = await appWith(undefined);
    const org = await setup.createOrg();
    const res = await get(t, org.readKey);
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-limit")).toBe("600");
    expect(res.headers.get("ratelimit-remaining")).toBe("599");
    expect(res.headers.get("ratelimit-policy")).toBe("600;w=60");
  });

  it.skipIf(onWorker)("fails open when Redis refuses connections: requests pass, one warning is logged, never a 5xx", async () => {
    const { t } = await appWith({ requests: 1, windowSec: WINDOW_SEC, store: openStore("redis", `redis://127.0.0.1:${await refusedPort()}`) });
    const org = await setup.createOrg();
    for (let i = 0; i < 5; i++) {
      const res = await get(t, org.readKey);
      expect(res.status, describeAnswer("with Redis down", res)).toBe(200);
      expect(res.headers.get("ratelimit-limit")).toBeNull();
    }
    expect(t.logs.filter((l) => l.msg === "rate limiter store failed; letting requests through")).toHaveLength(1);
  });

  it.skipIf(onWorker)("fails open within its deadline when Redis hangs, and limits again once it answers", async () => {
    const proxy = await FaultProxy.start(REDIS_URL, { mode: "hang" });
    closers.push(() => proxy.stop());
    const hanging = openStore("redis", proxy.url, 100);
    let asked = 0;
    const store: RateLimitStore = {
      kind: hanging.kind,
      hit: (input) => {
        asked += 1;
        return hanging.hit(input);
      },
    };
    const { t, clock } = await appWith({ requests: 2, windowSec: WINDOW_SEC, store, timeoutMs: 150 });
    const org = await setup.createOrg();
    const started = performance.now();
    const res = await get(t, org.readKey);
    expect(res.status, describeAnswer("with Redis hanging", res)).toBe(200);
    expect(asked, "the store was asked once").toBe(1);
    // a guard against a request that waits on the hanging store outright (its deadline is 150 ms)
    expect(performance.now() - started).toBeLessThan(2_000);
    // during the pause after a failure (on the app's clock, which does not move here) the store is not asked at all
    for (let i = 0; i < 3; i++) expect((await get(t, org.readKey)).status).toBe(200);
    expect(asked, "no store call during the pause").toBe(1);
    await proxy.stop(); // the wedged connection is reset; the port opens again, forwarding
    proxy.mode = "forward";
    await proxy.listen();
    // after each failure the limiter pauses RATE_LIMIT_RETRY_MS (on the app's clock) before asking again
    await expect
      .poll(
        async () => {
          clock.advance(RATE_LIMIT_RETRY_MS + 1);
          return (await get(t, org.readKey)).headers.get("ratelimit-limit");
        },
        { timeout: 15_000, interval: 250 },
      )
      .toBe("2");
    clock.advance(1);
    let limited = false;
    for (let i = 0; i < 3 && !limited; i++) limited = (await get(t, org.readKey)).status === 429;
    expect(limited, "the limit applies again once Redis answers").toBe(true);
    expect(t.logs.some((l) => l.msg === "rate limiter store answers again")).toBe(true);
  });

  it.skipIf(onWorker)("fails open when the Upstash endpoint is gone", async () => {
    const gone = await startUpstashRest({ redisUrl: REDIS_URL });
    const store = upstashStore({ url: gone.url, token: gone.token, timeoutMs: 200 });
    await gone.close();
    const { t } = await appWith({ requests: 1, windowSec: WINDOW_SEC, store: rateLimitStoreOver({ store, keyPrefix: runPrefix("ratelimit-gone") }) });
    const org = await setup.createOrg();
    for (let i = 0; i < 3; i++) expect((await get(t, org.readKey)).status).toBe(200);
  });

  it("counts in this instance's memory when the cache itself is in process", () => {
    expect(rateLimitStoreOver({ store: memoryStore(new ManualClock(T0)) }).kind).toBe("memory");
  });

  it.skipIf(onWorker)("keeps counters under the key's SHA-256, beside the cache's keys: no API key appears in Redis", async () => {
    const keyPrefix = runPrefix("ratelimit-keys");
    prefixes.push(keyPrefix);
    const store = redisStore({ url: REDIS_URL, timeoutMs: 1_000 });
    closers.push(() => store.close());
    const { t } = await appWith({ requests: 5, windowSec: WINDOW_SEC, store: rateLimitStoreOver({ store, keyPrefix }) });
    const org = await setup.createOrg();
    expect((await get(t, org.readKey)).headers.get("ratelimit-remaining")).toBe("4");
    const client = createClient({ url: REDIS_URL, RESP: 2, disableClientInfo: true });
    await client.connect();
    try {
      const keys: string[] = [];
      for await (const batch of client.scanIterator({ MATCH: `${keyPrefix}*`, COUNT: 100 })) keys.push(...batch);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        expect(key).not.toContain(org.readKey);
        expect(key.startsWith(`${keyPrefix}~ratelimit:{`), key).toBe(true);
        expect(key).toMatch(/\{[0-9a-f]{64}\}:\d+$/);
      }
    } finally {
      client.destroy();
    }
  });
});
