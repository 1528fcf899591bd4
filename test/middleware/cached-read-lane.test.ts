import { gunzipSync, inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";
import type { App } from "../../functions/app";
import { createCache } from "../../functions/cache";
import { redisStore } from "../../functions/cache/redis";
import type { Clock } from "../../functions/lib/clock";
import { silentLogger } from "../../functions/lib/logger";
import type { LogFields } from "../../functions/lib/logger";
import { deleteByPrefix, REDIS_URL, runPrefix } from "../cache/support";
import { createTestApp, ManualClock, type TestApp } from "../support/app";
import { bearer, describeAnswer, send, type Sent } from "../support/security/http";
import { testTarget } from "../support/worker-target";
import { memoryRateLimitStore } from "../../functions/rate-limit/stores";

/**
 * The cached-read lane (functions/middleware/cached-read-lane.ts, issue #15): a fresh cached aggregate is answered
 * ahead of the middleware chain with the chain's answer. Two apps over one database and one Redis-backed cache (the
 * lane needs an in-process tier, which a shared store brings): one with the lane, one without (`cachedReadLane:
 * false`). Each lane answer is compared with the chain's for the same cached value, header by header; the request log
 * says which of the two answered. What the lane hands over (a refused count, a revoked key, another query) is the
 * chain's answer, counted once.
 *
 * In process only: on the worker target the Worker builds its own cache over Upstash (the lane runs there in every
 * route suite, behind the same assertions as the chain).
 */
const onWorker = testTarget() === "worker";
const T0 = Date.UTC(2026, 5, 10, 16, 0, 0);
const WINDOW_SEC = 60;
const LIMIT = 20;

let prefix: string;
let lane: TestApp;
let chain: App;
let clock: ManualClock;

beforeAll(async () => {
  if (onWorker) return;
  prefix = runPrefix("lane");
  clock = new ManualClock(T0);
  const redisCache = (c: Clock) => createCache({ store: redisStore({ url: REDIS_URL, timeoutMs: 1_000 }), clock: c, logger: silentLogger, keyPrefix: prefix });
  // one count for both apps, as two instances share one store; the anonymous limit on, so that the lane meets it
  const store = memoryRateLimitStore();
  lane = await createTestApp({
    clock,
    cache: redisCache,
    rateLimit: { requests: LIMIT, windowSec: WINDOW_SEC, clock, store },
    writeRateLimit: false,
    anonRateLimit: { requests: 100, windowSec: WINDOW_SEC, clock, store },
  });
  // the same dependencies (database, cache and its in-process tier, clock, limits) without the lane
  chain = createApp({ ...lane.deps, cachedReadLane: false });
});
afterAll(async () => {
  await lane?.close();
  if (prefix) await deleteByPrefix(prefix);
});

/** A fresh read key of a new organization with calls (one per test: each has its own rate-limit count). */
async function orgWithCalls(): Promise<{ orgId: string; readKey: string; writeKey: string }> {
  const org = await lane.createOrg({ timezone: "America/New_York" });
  for (const [i, startedAt] of ["2026-06-09T14:00:00Z", "2026-06-10T15:30:00Z", "2026-05-20T12:00:00Z"].entries()) {
    const res = await lane.request("POST", "/api/calls", {
      key: org.writeKey,
      body: { phoneNumber: `+1415555010${i}`, direction: "inbound", status: "completed", durationSec: 60 + i, startedAt, leadScore: 80 },
    });
    expect(res.status).toBe(201);
  }
  return org;
}

async function newReadKey(orgId: string): Promise<{ id: string; apiKey: string }> {
  const res = await lane.request("POST", `/api/admin/organizations/${orgId}/keys`, { body: { scope: "read", name: "lane" } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { data: { id: string; apiKey: string } }).data;
}

/** The answer's bytes as sent, and its text decompressed as the client would (`content-encoding` gzip or deflate). */
async function raw(app: App, key: string, url: string, headers: Record<string, string>) {
  const res = await app.request(url, { headers: { authorization: bearer(key), ...headers } });
  const bytes = Buffer.from(await res.arrayBuffer());
  const encoding = res.headers.get("content-encoding");
  const text = (encoding === "gzip" ? gunzipSync(bytes) : encoding === "deflate" ? inflateSync(bytes) : bytes).toString("utf8");
  return { headers: res.headers, bytes, text };
}

const get = (app: App, key: string, url: string, headers: Record<string, string> = {}) => send(app, "GET", url, { authorization: bearer(key), headers });

/** The request log line of the last request answered (the lane's carries `lane`). */
const lastRequestLine = (): LogFields => lane.logs.filter((line) => line.msg === "request" || line.msg === "slow request").at(-1)!;

/** Headers that differ between two answers of the same value by design: the request id, the timings, the count, the date. */
const PER_REQUEST = new Set(["x-request-id", "server-timing", "ratelimit-remaining", "ratelimit-reset", "date"]);
function comparableHeaders(res: Sent): Record<string, string> {
  return Object.fromEntries([...res.headers].filter(([name]) => !PER_REQUEST.has(name)));
}

function expectSameAnswer(fromLane: Sent, fromChain: Sent, what: string) {
  expect(fromLane.status, describeAnswer(what, fromLane)).toBe(fromChain.status);
  expect(JSON.parse(fromLane.text || "null"), what).toEqual(JSON.parse(fromChain.text || "null"));
  expect(fromLane.text, what).toBe(fromChain.text);
  expect(comparableHeaders(fromLane), what).toEqual(comparableHeaders(fromChain));
  for (const res of [fromLane, fromChain]) {
    expect(res.headers.get("x-request-id"), what).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get("server-timing"), what).toMatch(/^db;dur=\d+\.\d,cache;dur=\d+\.\d,total;dur=\d+\.\d;desc="Total Response Time"$/);
    expect(res.headers.get("ratelimit-limit"), what).toBe(String(LIMIT));
  }
}

describe.skipIf(onWorker)("the cached-read lane", () => {
  const URLS = [
    "/api/dashboard/overview",
    "/api/dashboard/overview?days=30",
    "/api/dashboard/overview?days=7&compare=previous",
    "/api/dashboard/overview?compare=previous&days=1",
    "/api/dashboard/analytics?days=14",
    "/api/coverage?days=7",
    "/api/analytics/agent-variance",
    "/api/analytics/agent-variance?days=90",
  ];

  it.each(URLS)("answers a fresh cached %s as the chain does: status, body and every header", async (url) => {
    const org = await orgWithCalls();
    const first = await get(lane.app, org.readKey, url);
    expect(first.status, describeAnswer("the first read (a miss, through the chain)", first)).toBe(200);
    expect(lastRequestLine().lane, "a miss is the chain's").toBeUndefined();
    expect(lastRequestLine().cache).toBe("miss");

    const fromLane = await get(lane.app, org.readKey, url);
    expect(lastRequestLine(), "the lane answered the hit").toMatchObject({ lane: "cached-read", cache: "hit", status: 200, route: url.split("?")[0] });
    const fromChain = await get(chain, org.readKey, url);
    expectSameAnswer(fromLane, fromChain, url);
    expect(JSON.parse(fromLane.text).data, "the value the miss loaded").toEqual(JSON.parse(first.text).data);
    expect(Number(fromLane.headers.get("ratelimit-remaining")), "the lane's request counted once").toBe(LIMIT - 2);
    expect(Number(fromChain.headers.get("ratelimit-remaining")), "so did the chain's").toBe(LIMIT - 3);
  });

  it("answers 304 to a matching If-None-Match as the chain does, with no body", async () => {
    const org = await orgWithCalls();
    const url = "/api/dashboard/overview?days=30";
    await get(lane.app, org.readKey, url); // the miss: its answer says so, and has a tag of its own
    const etag = (await get(lane.app, org.readKey, url)).headers.get("etag")!;
    for (const ifNoneMatch of [etag, `"nope", ${etag}`, "*"]) {
      const fromLane = await get(lane.app, org.readKey, url, { "if-none-match": ifNoneMatch });
      expect(lastRequestLine(), ifNoneMatch).toMatchObject({ lane: "cached-read", status: 304 });
      const fromChain = await get(chain, org.readKey, url, { "if-none-match": ifNoneMatch });
      expect(fromLane.status).toBe(304);
      expect(fromLane.text).toBe("");
      expectSameAnswer(fromLane, fromChain, `If-None-Match: ${ifNoneMatch}`);
    }
    const other = await get(lane.app, org.readKey, url, { "if-none-match": 'W/"other"' });
    expect(other.status).toBe(200);
    expect(lastRequestLine().lane).toBe("cached-read");
    // a browser asks for gzip: its revalidation (a 304, no body) is the lane's like any other
    const browser = { "accept-encoding": "gzip, deflate, br" };
    const revalidated = await get(lane.app, org.readKey, url, { ...browser, "if-none-match": etag });
    expect(lastRequestLine()).toMatchObject({ lane: "cached-read", status: 304 });
    expectSameAnswer(revalidated, await get(chain, org.readKey, url, { ...browser, "if-none-match": etag }), "a 304 to a browser");
  });

  it.each([
    ["gzip, deflate, br", "gzip"],
    ["deflate", "deflate"],
    ["br;q=1, gzip;q=0.5, deflate;q=0.8", "deflate"],
    ["*", "gzip"],
    ["gzip;q=0, deflate;q=0", null],
    ["identity", null],
  ])("answers Accept-Encoding: %s as the chain's compress does (%s), the same text once decompressed", async (acceptEncoding, expected) => {
    const org = await orgWithCalls();
    const url = "/api/dashboard/analytics?days=30";
    await get(lane.app, org.readKey, url);
    const fromLane = await raw(lane.app, org.readKey, url, { "accept-encoding": acceptEncoding });
    expect(lastRequestLine()).toMatchObject({ lane: "cached-read", status: 200 });
    const fromChain = await raw(chain, org.readKey, url, { "accept-encoding": acceptEncoding });
    expect(fromLane.headers.get("content-encoding")).toBe(expected);
    expect(fromChain.headers.get("content-encoding")).toBe(expected);
    expect(fromLane.text).toBe(fromChain.text);
    expect(fromLane.headers.get("etag")).toBe(fromChain.headers.get("etag"));
    expect(fromLane.headers.get("vary")).toBe(fromChain.headers.get("vary"));
    // a second hit serves the same bytes (compressed once per answer)
    const again = await raw(lane.app, org.readKey, url, { "accept-encoding": acceptEncoding });
    expect(again.bytes).toEqual(fromLane.bytes);
  });

  it("counts each request once and hands a refused one to the chain: 429 with Retry-After, as without the lane", async () => {
    const org = await orgWithCalls();
    const url = "/api/dashboard/overview?days=7";
    for (let i = 1; i <= LIMIT; i++) {
      const res = await get(lane.app, org.readKey, url);
      expect(res.status, describeAnswer(`request ${i} of ${LIMIT}`, res)).toBe(200);
      expect(res.headers.get("ratelimit-remaining")).toBe(String(LIMIT - i));
    }
    const refused = await get(lane.app, org.readKey, url);
    expect(refused.status, describeAnswer("over the limit", refused)).toBe(429);
    expect(refused.contentType).toContain("application/problem+json");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    expect(lastRequestLine().lane).toBeUndefined();
    clock.advance(2 * WINDOW_SEC * 1000);
    expect((await get(lane.app, org.readKey, url)).status, "admitted again once the window has passed").toBe(200);
  });

  it("hands a miss to the chain with the key's grant and statement count: the grant is read once, its statements counted", async () => {
    const org = await orgWithCalls();
    const grantReads = () => {
      const counts = lane.deps.cache.stats().namespaces["api-keys"];
      return (counts?.hits ?? 0) + (counts?.misses ?? 0) + (counts?.stale ?? 0);
    };
    await get(lane.app, org.readKey, "/api/coverage?days=7"); // the key authenticates on this instance
    const before = grantReads();
    const miss = await get(lane.app, org.readKey, "/api/dashboard/overview?days=14");
    expect(miss.status).toBe(200);
    expect(lastRequestLine()).toMatchObject({ cache: "miss" });
    expect(lastRequestLine().lane).toBeUndefined();
    expect(grantReads() - before, "the lane's grant read is the chain's").toBe(1);
    expect(lastRequestLine().statements, "the read model's statement (the grant was cached)").toBe(1);

    // once the cached grant has expired the lane loads it from the database: one statement, counted in the request
    clock.advance(61_000);
    const reloaded = grantReads();
    const again = await get(lane.app, org.readKey, "/api/dashboard/analytics?days=3");
    expect(again.status).toBe(200);
    expect(lastRequestLine()).toMatchObject({ cache: "miss", statements: 2 });
    expect(grantReads() - reloaded).toBe(1);
  });

  it("hands a revoked key to the chain: the very next request answers 401", async () => {
    const org = await orgWithCalls();
    const data = await newReadKey(org.orgId);
    const url = "/api/dashboard/analytics?days=30";
    expect((await get(lane.app, data.apiKey, url)).status).toBe(200);
    expect((await get(lane.app, data.apiKey, url)).status).toBe(200);
    expect(lastRequestLine().lane).toBe("cached-read");
    const revoked = await lane.request("DELETE", `/api/admin/organizations/${org.orgId}/keys/${data.id}`);
    expect(revoked.status).toBe(200);
    const refused = await get(lane.app, data.apiKey, url);
    expect(refused.status, describeAnswer("the revoked key's next request", refused)).toBe(401);
    expect((await get(lane.app, org.readKey, url)).status, "the organization's other key still reads").toBe(200);
  });

  it.each([
    ["another parameter", "/api/dashboard/overview?days=30&limit=5"],
    ["an explicit window", "/api/dashboard/overview?from=2026-06-01T00:00:00Z&to=2026-06-10T00:00:00Z"],
    ["days with a leading zero", "/api/dashboard/overview?days=030"],
    ["a repeated days", "/api/dashboard/overview?days=7&days=7"],
    ["compare on a route without it", "/api/dashboard/analytics?days=7&compare=previous"],
    ["an unknown parameter the route refuses", "/api/analytics/agent-variance?days=7&limit=3"],
  ])("leaves a request with %s to the chain, which answers it as before", async (_what, url) => {
    const org = await orgWithCalls();
    for (let i = 0; i < 3; i++) {
      const fromLaneApp = await get(lane.app, org.readKey, url);
      expect(lastRequestLine().lane, url).toBeUndefined();
      const fromChain = await get(chain, org.readKey, url);
      expect(fromLaneApp.status, describeAnswer(url, fromLaneApp)).toBe(fromChain.status);
      const [a, b] = [JSON.parse(fromLaneApp.text), JSON.parse(fromChain.text)];
      expect(a.data ?? a.type).toEqual(b.data ?? b.type);
    }
  });

  it("is taken only by a key this instance saw authenticate (the anonymous limit's rule), and keeps a client's request id", async () => {
    const org = await orgWithCalls();
    const url = "/api/coverage?days=7";
    await get(lane.app, org.readKey, url);
    await get(lane.app, org.readKey, url);
    expect(lastRequestLine().lane, "the value is held fresh in process").toBe("cached-read");
    const newcomer = await newReadKey(org.orgId);
    const first = await get(lane.app, newcomer.apiKey, url);
    expect(first.status).toBe(200);
    expect(lastRequestLine(), "a key's first request on this instance is the chain's").toMatchObject({ cache: "hit" });
    expect(lastRequestLine().lane).toBeUndefined();
    const withId = await get(lane.app, newcomer.apiKey, url, { "x-request-id": "client-trace-42" });
    expect(lastRequestLine()).toMatchObject({ lane: "cached-read", requestId: "client-trace-42" });
    expect(withId.headers.get("x-request-id")).toBe("client-trace-42");
    expect(withId.text).toBe(first.text);
    await get(lane.app, newcomer.apiKey, url, { "x-request-id": "not ok!" });
    expect(lastRequestLine()).toMatchObject({ lane: "cached-read" });
    expect(lastRequestLine().requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
