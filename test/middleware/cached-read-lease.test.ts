import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";
import type { App } from "../../functions/app";
import { createCache } from "../../functions/cache";
import { redisStore } from "../../functions/cache/redis";
import type { CacheStore } from "../../functions/cache/store";
import type { Clock } from "../../functions/lib/clock";
import { silentLogger } from "../../functions/lib/logger";
import type { LogFields } from "../../functions/lib/logger";
import { GRANT_LEASE_MS } from "../../functions/middleware/cached-read-lane";
import { COUNT_LEASE_MS } from "../../functions/rate-limit/lease";
import { rateLimitStoreOver, type RateLimitStore } from "../../functions/rate-limit/stores";
import { deleteByPrefix, REDIS_URL, runPrefix, sleep } from "../cache/support";
import { createTestApp, ManualClock, type TestApp } from "../support/app";
import { bearer, describeAnswer, send } from "../support/security/http";
import { testTarget } from "../support/worker-target";

/**
 * The cached-read lane's lease (`AppDeps.cachedReadLease`, issue #15): with it, a fresh cached read whose key's grant the
 * shared store confirmed less than `GRANT_LEASE_MS` ago and whose count it answered less than `COUNT_LEASE_MS` ago is
 * answered with no round trip at all, and the requests it admits reach the store's count within a flush. Over one
 * Redis (cache and counts), as the Node entry runs it. The stores are the real ones, wrapped to count their calls.
 *
 * In process only: the Worker runs without the lease.
 */
const onWorker = testTarget() === "worker";
const T0 = Date.UTC(2026, 5, 10, 16, 0, 0);
const WINDOW_SEC = 60;
const LIMIT = 40;

let prefix: string;
let base: TestApp;
let leased: App;
/** another instance: its own cache (and in-process tier) over the same Redis and database, without the lease */
let other: App;
let clock: ManualClock;
const calls = { cache: 0, limit: 0, adds: [] as number[] };

/** A store that counts the calls made through it (the real store underneath answers them). */
function counted<T extends object>(store: T, onCall: (method: string, args: unknown[]) => void): T {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        onCall(String(name), args);
        return value.apply(target, args);
      };
    },
  });
}

beforeAll(async () => {
  if (onWorker) return;
  prefix = runPrefix("lease");
  clock = new ManualClock(T0);
  const redis = (c: Clock, count: boolean) => {
    const store = redisStore({ url: REDIS_URL, timeoutMs: 1_000 });
    const cacheStore = count ? counted<CacheStore>(store, (method) => method !== "close" && (calls.cache += 1)) : store;
    return { cache: createCache({ store: cacheStore, clock: c, logger: silentLogger, keyPrefix: prefix }), store };
  };
  const mine = redis(clock, true);
  const limitStore = counted<RateLimitStore>(rateLimitStoreOver({ store: mine.store, keyPrefix: prefix }), (method, args) => {
    if (method === "hit") calls.limit += 1;
    if (method === "add") calls.adds.push((args[0] as { n: number }).n);
  });
  const rateLimit = { requests: LIMIT, windowSec: WINDOW_SEC, clock, store: limitStore };
  base = await createTestApp({ clock, cache: () => mine.cache, rateLimit, writeRateLimit: false, anonRateLimit: false });
  leased = createApp({ ...base.deps, cachedReadLease: true });
  other = createApp({ ...base.deps, cache: redis(clock, false).cache, cachedReadLease: false });
});
afterAll(async () => {
  await base?.close();
  if (prefix) await deleteByPrefix(prefix);
});

const get = (app: App, key: string, url: string) => send(app, "GET", url, { authorization: bearer(key) });
const lastRequestLine = (): LogFields => base.logs.filter((line) => line.msg === "request" || line.msg === "slow request").at(-1)!;

async function orgWithCalls(): Promise<{ orgId: string; readKey: string }> {
  const org = await base.createOrg({ timezone: "America/New_York" });
  const res = await base.request("POST", "/api/calls", {
    key: org.writeKey,
    body: { phoneNumber: "+14155550100", direction: "inbound", status: "completed", durationSec: 60, startedAt: "2026-06-09T14:00:00Z" },
  });
  expect(res.status).toBe(201);
  return org;
}

/** The key's count in the store now (a check that counts nothing), as the limiter's `RateLimit-Remaining` would show it. */
async function storeRemaining(key: string, url: string): Promise<number> {
  const res = await get(other, key, url);
  return Number(res.headers.get("ratelimit-remaining"));
}

describe.skipIf(onWorker)("the cached-read lane's lease", () => {
  it("answers a fresh cached read with no store call, counts every request, and flushes the counts to the store", async () => {
    const org = await orgWithCalls();
    const url = "/api/dashboard/overview?days=7";
    // the first request asks the store (the grant, the count, the value) and starts both leases; the second is leased
    for (let i = 1; i <= 2; i++) expect((await get(leased, org.readKey, url)).status).toBe(200);
    expect(lastRequestLine()).toMatchObject({ lane: "cached-read", statements: 0 });
    const before = { ...calls, adds: calls.adds.length };
    const texts = new Set<string>();
    for (let i = 3; i <= 20; i++) {
      const res = await get(leased, org.readKey, url);
      expect(res.status, describeAnswer(`request ${i}`, res)).toBe(200);
      expect(res.headers.get("ratelimit-remaining"), `request ${i}`).toBe(String(LIMIT - i));
      expect(lastRequestLine()).toMatchObject({ lane: "cached-read", statements: 0, cache: "hit" });
      texts.add(res.text);
    }
    expect(texts.size).toBe(1);
    expect(calls.cache - before.cache, "no cache store call").toBe(0);
    expect(calls.limit - before.limit, "no rate-limit check").toBe(0);
    await sleep(150); // the flush timer (50 ms)
    expect(
      calls.adds.slice(before.adds).reduce((a, b) => a + b, 0),
      "the 19 leased requests (2nd to 20th), added to the store's count",
    ).toBe(19);
    // the other instance's next request (counted by the store) sees all 20, and its own: 40 − 21
    expect(await storeRemaining(org.readKey, url)).toBe(LIMIT - 21);
  });

  it("asks the store again near the limit and once a lease has run out: the count stays exact on one instance", async () => {
    const org = await orgWithCalls();
    const url = "/api/coverage?days=7";
    const answers: { status: number; remaining: string | null; lane: unknown }[] = [];
    const checksBefore = calls.limit;
    for (let i = 1; i <= LIMIT + 1; i++) {
      const res = await get(leased, org.readKey, url);
      answers.push({ status: res.status, remaining: res.headers.get("ratelimit-remaining"), lane: lastRequestLine().lane });
    }
    expect(answers.slice(0, LIMIT).map((a) => a.status)).toEqual(Array(LIMIT).fill(200));
    expect(answers.slice(0, LIMIT).map((a) => a.remaining)).toEqual(Array.from({ length: LIMIT }, (_, i) => String(LIMIT - 1 - i)));
    expect(answers[LIMIT]!.status, "the 41st request: refused by the store's count").toBe(429);
    // the store is asked for the first request (no lease yet) and for each request within a tenth of the limit (the
    // 37th to the 41st: 36 counted + 1 + the margin of 4 passes 40); the others are counted in process
    expect(calls.limit - checksBefore).toBe(1 + 5);

    // a lease that ran out: the next request asks the store first (counted there at once)
    const fresh = await orgWithCalls();
    await get(leased, fresh.readKey, url);
    await get(leased, fresh.readKey, url);
    await sleep(120);
    const checks = calls.limit;
    clock.advance(COUNT_LEASE_MS);
    expect((await get(leased, fresh.readKey, url)).status).toBe(200);
    expect(calls.limit - checks, "the count asked the store").toBe(1);
    expect(await storeRemaining(fresh.readKey, url)).toBe(LIMIT - 4);
  });

  it("sees a key revoked through another instance once the grant's lease has run out, and one revoked here at once", async () => {
    const org = await orgWithCalls();
    const url = "/api/dashboard/analytics?days=30";
    const data = await base.request("POST", `/api/admin/organizations/${org.orgId}/keys`, { body: { scope: "read", name: "lease" } });
    const key = ((await data.json()) as { data: { id: string; apiKey: string } }).data;
    for (let i = 0; i < 3; i++) expect((await get(leased, key.apiKey, url)).status).toBe(200);
    expect(lastRequestLine()).toMatchObject({ lane: "cached-read", statements: 0 });

    const revoked = await send(other, "DELETE", `/api/admin/organizations/${org.orgId}/keys/${key.id}`, { authorization: bearer(base.deps.adminKey!) });
    expect(revoked.status).toBe(200);
    expect((await get(other, key.apiKey, url)).status, "the revoking instance refuses it at once").toBe(401);
    clock.advance(GRANT_LEASE_MS);
    const refused = await get(leased, key.apiKey, url);
    expect(refused.status, describeAnswer(`${GRANT_LEASE_MS} ms after the revocation, on the leasing instance`, refused)).toBe(401);

    // revoked through the leasing instance itself: its copy of the grant is dropped, the very next request is refused
    const second = await base.request("POST", `/api/admin/organizations/${org.orgId}/keys`, { body: { scope: "read", name: "lease 2" } });
    const key2 = ((await second.json()) as { data: { id: string; apiKey: string } }).data;
    for (let i = 0; i < 3; i++) expect((await get(leased, key2.apiKey, url)).status).toBe(200);
    expect(lastRequestLine()).toMatchObject({ lane: "cached-read" });
    const here = await send(leased, "DELETE", `/api/admin/organizations/${org.orgId}/keys/${key2.id}`, { authorization: bearer(base.deps.adminKey!) });
    expect(here.status).toBe(200);
    expect((await get(leased, key2.apiKey, url)).status).toBe(401);
  });
});
