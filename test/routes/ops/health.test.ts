import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { createApp } from "../../../functions/app";
import { memoryCache } from "../../../functions/cache/memory";
import { createNodeCache } from "../../../functions/cache/node";
import { memoryLogger } from "../../../functions/lib/logger";
import { startUpstashRest, type UpstashRestFixture } from "../../fixtures/upstash-rest";
import { createTestDatabase } from "../../support/database";
import { testTarget } from "../../support/worker-target";
import { body, ManualClock } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";
import { HEALTH_MEMO_MS } from "../../../functions/routes/ops/health";
import { memoryDeliveryLedger } from "../../../functions/cache/delivery-ledger";

const NOW = new Date("2026-03-10T12:00:00Z");

const clock = new ManualClock(NOW);
const t = useTestApp({ clock });

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("GET /health", () => {
  it("answers 200 without a key: database and cache answer, no rollup lag before refresh-rollups ever ran", async () => {
    await t.database.db.execute(sql`DELETE FROM job_runs WHERE name = 'refresh-rollups'`);
    const res = await t.request("GET", "/health", { key: null });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(json.data).toMatchObject({
      status: "ok",
      database: { ok: true, driver: t.database.kind },
      // the in-process app's cache is in memory; the Worker's is Upstash (over the local Redis)
      cache: { ok: true, store: testTarget() === "worker" ? "upstash" : "memory" },
      rollupLagSec: null,
    });
    expect(json.data.database.latencyMs).toBeGreaterThanOrEqual(0);
    expect(json.meta.asOf).toBe(NOW.toISOString());
  });

  it("reports the rollup lag as now minus the start of the last successful refresh-rollups run", async () => {
    // a second past the previous test's answer, which /health keeps for up to a second (HEALTH_MEMO_MS)
    clock.set(new Date(NOW.getTime() + HEALTH_MEMO_MS));
    const lastSuccess = new Date(clock.now().getTime() - 90_500);
    await t.database.db.execute(sql`
      INSERT INTO job_runs (name, last_started_at, last_success_at, last_duration_ms, runs)
      VALUES ('refresh-rollups', ${lastSuccess.toISOString()}::timestamptz, ${lastSuccess.toISOString()}::timestamptz, 1200, 4)
      ON CONFLICT (name) DO UPDATE SET last_success_at = EXCLUDED.last_success_at`);
    const res = await t.request("GET", "/health", { key: null });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data.rollupLagSec).toBe(90.5);
    await t.database.db.execute(sql`DELETE FROM job_runs WHERE name = 'refresh-rollups'`);
    clock.set(NOW);
  });

  it("runs its statements at most once a second, however many requests come (issue #18: it is public)", async () => {
    clock.set(new Date(NOW.getTime() + 10 * HEALTH_MEMO_MS));
    const statements = async () => {
      const res = await t.request("GET", "/health", { key: null });
      expect(res.status, await res.clone().text()).toBe(200);
      const id = res.headers.get("x-request-id");
      return t.logs.find((l) => l.requestId === id && (l.msg === "request" || l.msg === "slow request"))?.statements;
    };
    expect(await statements(), "the first request asks the database").toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect(await statements(), "within the second").toBe(0);
    clock.advance(HEALTH_MEMO_MS);
    expect(await statements(), "a second later").toBeGreaterThan(0);
    clock.set(NOW);
  });

  it("answers 503 with database.ok false when the database does not answer, and says why only in the log", async () => {
    const database = await createTestDatabase();
    const logger = memoryLogger();
    const app = createApp({ database, cache: memoryCache(clock), clock, logger, webhookReplays: memoryDeliveryLedger(clock) });
    await database.close();
    try {
      const res = await app.request("/health");
      const json = await body(res);
      expect(res.status, JSON.stringify(json)).toBe(503);
      expect(json.data).toMatchObject({ status: "unavailable", database: { ok: false, error: "unreachable" }, cache: { ok: true }, rollupLagSec: null });
      expect(logger.lines.some((l) => l.msg === "health: the database did not answer")).toBe(true);
    } finally {
      await database.drop().catch(() => {});
    }
  });

  it("answers 200 degraded when the cache store does not answer (requests are still served)", async () => {
    const logger = memoryLogger();
    const cache = createNodeCache({ store: "upstash", url: `http://127.0.0.1:${await closedPort()}`, token: "unused", clock, logger });
    const app = createApp({ database: t.database, cache, clock, logger, webhookReplays: memoryDeliveryLedger(clock) });
    try {
      const res = await app.request("/health");
      const json = await body(res);
      expect(res.status, JSON.stringify(json)).toBe(200);
      expect(json.data).toMatchObject({ status: "degraded", database: { ok: true }, cache: { ok: false, store: "upstash" } });
    } finally {
      await cache.close();
    }
  });

  describe.skipIf(!process.env.REDIS_URL)("with Upstash's REST protocol over the local Redis", () => {
    let upstash: UpstashRestFixture;
    beforeAll(async () => {
      upstash = await startUpstashRest({ redisUrl: process.env.REDIS_URL! });
    });
    afterAll(async () => {
      await upstash?.close();
    });

    it("pings the store with one read and one write", async () => {
      const logger = memoryLogger();
      const cache = createNodeCache({ store: "upstash", url: upstash.url, token: upstash.token, clock, logger, keyPrefix: `health-test-${process.pid}:` });
      const app = createApp({ database: t.database, cache, clock, logger, webhookReplays: memoryDeliveryLedger(clock) });
      try {
        const before = upstash.requests;
        const res = await app.request("/health");
        const json = await body(res);
        expect(res.status, JSON.stringify(json)).toBe(200);
        expect(json.data).toMatchObject({ status: "ok", cache: { ok: true, store: "upstash" } });
        expect(upstash.requests - before).toBeGreaterThanOrEqual(2);
        expect(cache.stats().namespaces).toEqual({});
      } finally {
        await cache.close();
      }
    });
  });
});
