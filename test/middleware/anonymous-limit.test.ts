import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisStore } from "../../functions/cache/redis";
import type { RateLimitConfig } from "../../functions/rate-limit/config";
import { rateLimitStoreOver } from "../../functions/rate-limit/stores";
import { REDIS_URL, deleteByPrefix, runPrefix } from "../cache/support";
import { ADMIN_KEY, createTestApp, ManualClock, type TestApp } from "../support/app";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { bearer, describeAnswer, expectProblem, send, type Sent } from "../support/security/http";
import { ROUTE_FIXTURES, operationsOf } from "../support/security/route-table";
import { signWebhook } from "../support/security/world";
import { testTarget } from "../support/worker-target";

/**
 * Issue #18, item 1 (SPEC §11 "Rate limits"): requests that fail authentication count per client address against
 * TALLY_ANON_RATE_LIMIT; once an address is over, its requests are answered 429 before any key lookup or signature
 * check (no statement, no secret read), except those carrying a key this instance already knows to be valid. The
 * client address is `cf-connecting-ip` (the Worker's; the in-process test app reads the same header).
 */

const onWorker = testTarget() === "worker";
const T0 = Date.UTC(2026, 2, 10, 12, 0, 1);
const LIMIT = 3;

let database: TestDatabase;
let setup: TestApp;
const closers: (() => Promise<void>)[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  setup = await createTestApp({ database, rateLimit: false });
});
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
  await setup?.close();
  for (const prefix of prefixes) await deleteByPrefix(prefix);
  await database?.drop();
});

async function appWith(anon: RateLimitConfig | false = { requests: LIMIT, windowSec: 60 }) {
  const clock = new ManualClock(T0);
  const t = await createTestApp({ database, clock, rateLimit: false, anonRateLimit: anon === false ? false : { clock, ...anon } });
  closers.push(() => t.close());
  return { t, clock };
}

let addressSeq = 0;
/** A fresh documentation-range address per test, so tests never share a bucket. */
const newAddress = () => `203.0.113.${++addressSeq}`;

const from = (
  t: TestApp,
  address: string,
  path: string,
  options: { key?: string | null; method?: string; body?: string; headers?: Record<string, string> } = {},
) =>
  send(t.app, options.method ?? "GET", path, {
    authorization: options.key ? bearer(options.key) : null,
    headers: { "cf-connecting-ip": address, ...(options.headers ?? {}) },
    body: options.body ?? null,
  });

const unknownKey = () => `tly_r_${"Q".repeat(16)}${String(Math.floor(Math.random() * 1e16)).padStart(16, "0")}`;

/** The statements the request sent, from its request log line (the Worker's too). */
const statementsOf = (t: TestApp, res: Sent) => {
  const id = res.headers.get("x-request-id");
  const line = t.logs.find((l) => l.requestId === id && (l.msg === "request" || l.msg === "slow request"));
  return line?.statements;
};

function expectAnonLimited(t: TestApp, res: Sent, what: string) {
  expect(res.status, describeAnswer(what, res)).toBe(429);
  const problem = expectProblem(res, what);
  expect(problem.type).toBe("urn:tally:problem:rate-limited");
  expect(Number(res.headers.get("retry-after")), `Retry-After: ${res.headers.get("retry-after")}`).toBeGreaterThanOrEqual(1);
  expect(res.headers.get("ratelimit-limit")).toBe(String(LIMIT));
  expect(res.headers.get("ratelimit-remaining")).toBe("0");
  expect(res.headers.get("ratelimit-policy")).toBe(`${LIMIT};w=60`);
  expect(statementsOf(t, res), `${what}: a refused request looked something up`).toBe(0);
  return Number(res.headers.get("retry-after"));
}

async function exhaust(t: TestApp, address: string) {
  for (let i = 0; i < LIMIT; i++) {
    const res = await from(t, address, "/api/settings", { key: unknownKey() });
    expect(res.status, describeAnswer("an unknown key within the anonymous limit", res)).toBe(401);
  }
}

describe("the anonymous limit (failed authentications per client address)", () => {
  it("answers 429 problem+json with Retry-After and RateLimit-* once an address is over, before any key lookup", async () => {
    const { t } = await appWith();
    const address = newAddress();
    await exhaust(t, address);
    expectAnonLimited(t, await from(t, address, "/api/settings", { key: unknownKey() }), "an unknown key over the limit");
    expectAnonLimited(t, await from(t, address, "/api/settings"), "no key over the limit");
    expectAnonLimited(t, await from(t, address, "/api/settings", { key: "not-a-key" }), "a malformed key over the limit");
    // another address is not affected
    const other = await from(t, newAddress(), "/api/settings", { key: unknownKey() });
    expect(other.status, describeAnswer("another address", other)).toBe(401);
  });

  it("lets a key this instance knows to be valid through from a limited address, and not a key it has not seen", async () => {
    const { t } = await appWith();
    const org = await setup.createOrg();
    const address = newAddress();
    const seen = await from(t, newAddress(), "/api/settings", { key: org.readKey });
    expect(seen.status, describeAnswer("the read key, first use", seen)).toBe(200);
    await exhaust(t, address);
    const known = await from(t, address, "/api/settings", { key: org.readKey });
    expect(known.status, describeAnswer("a known-valid key from a limited address", known)).toBe(200);
    // the write key is valid but this instance has not seen it: it is not looked up for a limited address
    expectAnonLimited(t, await from(t, address, "/api/settings", { key: org.writeKey }), "a valid key this instance has not seen");
  });

  it("never counts requests that authenticate, nor refuses them", async () => {
    const { t } = await appWith();
    const org = await setup.createOrg();
    const address = newAddress();
    for (let i = 0; i < LIMIT * 3; i++) {
      const res = await from(t, address, "/api/settings", { key: org.readKey });
      expect(res.status, describeAnswer(`valid request ${i}`, res)).toBe(200);
    }
    const res = await from(t, address, "/api/settings", { key: unknownKey() });
    expect(res.status, describeAnswer("the first failure after many successes", res)).toBe(401);
  });

  it("counts bad webhook signatures, and refuses the address's next delivery before checking its signature", async () => {
    const { t } = await appWith();
    const org = await setup.createOrg();
    const secret = `whsec_${crypto.randomUUID().replaceAll("-", "")}`;
    const patched = await send(setup.app, "PATCH", "/api/settings", { authorization: bearer(org.writeKey), body: JSON.stringify({ webhookSecret: secret }) });
    expect(patched.status).toBe(200);
    const address = newAddress();
    const raw = () => JSON.stringify({ externalId: `evt-${crypto.randomUUID()}`, phoneNumber: "+14155550142", direction: "inbound", status: "queued" });
    const nowSec = Math.floor(T0 / 1000);
    for (let i = 0; i < LIMIT; i++) {
      const body = raw();
      const res = await from(t, address, `/api/webhooks/voice/${org.orgId}`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "tally-signature": signWebhook("whsec_wrong_secret_0123456789", body, nowSec) },
      });
      expect(res.status, describeAnswer("a bad signature", res)).toBe(401);
    }
    const body = raw();
    const good = await from(t, address, `/api/webhooks/voice/${org.orgId}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", "tally-signature": signWebhook(secret, body, nowSec) },
    });
    expectAnonLimited(t, good, "a delivery from an address over the limit");
  });

  it("admits the address again at Retry-After", async () => {
    const { t, clock } = await appWith();
    const address = newAddress();
    await exhaust(t, address);
    const retryAfter = expectAnonLimited(t, await from(t, address, "/api/settings"), "over the limit");
    clock.advance(retryAfter * 1000);
    const res = await from(t, address, "/api/settings", { key: unknownKey() });
    expect(res.status, describeAnswer("at Retry-After", res)).toBe(401);
  });

  it("forgets a known key once it is revoked: its failures count again", async () => {
    const { t } = await appWith();
    const org = await setup.createOrg();
    const key = await setup.request("POST", `/api/admin/organizations/${org.orgId}/keys`, { key: ADMIN_KEY, body: { scope: "read", name: "soon revoked" } });
    const { data } = (await key.json()) as { data: { id: string; apiKey: string } };
    const address = newAddress();
    expect((await from(t, address, "/api/settings", { key: data.apiKey })).status).toBe(200);
    const revoked = await t.request("DELETE", `/api/admin/organizations/${org.orgId}/keys/${data.id}`, { key: ADMIN_KEY });
    expect(revoked.status, await revoked.clone().text()).toBe(200);
    for (let i = 0; i < LIMIT; i++) expect((await from(t, address, "/api/settings", { key: data.apiKey })).status).toBe(401);
    expectAnonLimited(t, await from(t, address, "/api/settings", { key: data.apiKey }), "the revoked key over the limit");
  });

  it("answers 429 before any lookup on every route of the route table for an address over the limit; public pages stay open", async () => {
    const { t } = await appWith();
    const address = newAddress();
    await exhaust(t, address);
    const ops = operationsOf(t.app);
    expect(ops.length).toBeGreaterThan(30);
    for (const op of ops) {
      const fixture = ROUTE_FIXTURES[op.id];
      expect(fixture, `${op.id} has no fixture in the route table`).toBeDefined();
      const url = op.path.replace(/\{[^}]+\}/g, crypto.randomUUID());
      const res = await from(t, address, url, {
        method: op.method,
        ...(op.method === "GET" || op.method === "DELETE" ? {} : { body: "{}", headers: { "content-type": "application/json" } }),
        ...(fixture!.access === "signature" ? {} : { key: unknownKey() }),
      });
      if (fixture!.access === "public") expect(res.status, describeAnswer(`${op.id} (public)`, res)).toBe(fixture!.success);
      else expectAnonLimited(t, res, `${op.id} from a limited address`);
    }
  });

  it("is off with TALLY_ANON_RATE_LIMIT=off", async () => {
    const { t } = await appWith(false);
    const address = newAddress();
    for (let i = 0; i < LIMIT * 3; i++) expect((await from(t, address, "/api/settings", { key: unknownKey() })).status).toBe(401);
  });

  // the Worker counts in its own Upstash store (the runs above); this one hands the app a Redis store of its own
  it.skipIf(onWorker)("checks without counting and counts failures alike over Redis (the shared store's script)", async () => {
    const probe = createClient({ url: REDIS_URL });
    const reachable = await probe
      .connect()
      .then(() => true)
      .catch(() => false);
    if (reachable) await probe.quit();
    if (!reachable) return; // no Redis on this machine: the memory store's runs above stand
    const keyPrefix = runPrefix("anon-limit");
    prefixes.push(keyPrefix);
    const store = redisStore({ url: REDIS_URL, timeoutMs: 1_000 });
    closers.push(() => store.close());
    const { t } = await appWith({ requests: LIMIT, windowSec: 60, store: rateLimitStoreOver({ store, keyPrefix }) });
    const address = newAddress();
    const org = await setup.createOrg();
    for (let i = 0; i < 5; i++) expect((await from(t, address, "/api/settings", { key: org.readKey })).status).toBe(200);
    await exhaust(t, address);
    expectAnonLimited(t, await from(t, address, "/api/settings"), "over the limit, counted in Redis");
  });
});
