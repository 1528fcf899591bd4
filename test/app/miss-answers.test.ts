import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type App } from "../../functions/app";
import type { Cache } from "../../functions/cache/cache";
import { redisStore } from "../../functions/cache/redis";
import { tieredCache } from "../../functions/cache/tiered";
import { memoryLogger } from "../../functions/lib/logger";
import { deleteByPrefix, REDIS_URL, runPrefix } from "../cache/support";
import { createTestApp, ManualClock, type TestApp } from "../support/app";
import { insertAgents, insertCalls, type CallSeed } from "../support/fixtures";
import { testTarget } from "../support/worker-target";

/**
 * Issue #16 item 1: a cache miss serializes its value once, answers the loaded object itself when it is JSON data and
 * builds its answer's text around the parts it serialized (lib/json-text.ts). Whatever path made the text, an aggregate
 * answers the same bytes: a miss, the same instance's in-process hit (the very value object), and another instance's
 * hit decoded from the shared Redis differ only in `meta.cache`, and their ETags follow their bytes. Answers as
 * production sends them: not parsed with the response schema (the test apps' `validateResponses` rebuilds them), and
 * the same bytes as the parsed answer of the test app.
 */

const NOW = new Date("2026-03-15T15:30:00Z");
const clock = new ManualClock(NOW);
const prefix = runPrefix("miss-answers");

// two app instances in this process over one database and one Redis: the Worker's app is inside workerd
describe.skipIf(testTarget() === "worker")("a cache miss's answer is the hit's, byte for byte", () => {
  let t: TestApp;
  const caches: Cache[] = [];
  const instances: App[] = [];
  const loggers: ReturnType<typeof memoryLogger>[] = [];
  let readKey = "";
  let agentId = "";

  beforeAll(async () => {
    t = await createTestApp({ clock });
    for (let i = 0; i < 2; i++) {
      const logger = memoryLogger();
      loggers.push(logger);
      const store = redisStore({ url: REDIS_URL, timeoutMs: 1_000 });
      // connected before the first read: a read while it connects is a miss, and the cache then pauses the store
      for (
        let tries = 0;
        !(await store.get([`${prefix}ready`]).then(
          () => true,
          () => false,
        ));
        tries++
      ) {
        if (tries === 50) throw new Error(`Redis at ${REDIS_URL} did not answer`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const cache = tieredCache({ store, clock, logger, keyPrefix: prefix });
      caches.push(cache);
      instances.push(createApp({ ...t.deps, cache, validateResponses: false }));
    }
    const org = await t.createOrg({ timezone: "America/New_York" });
    readKey = org.readKey;
    const agents = await insertAgents(
      t.database.db,
      org.orgId,
      Array.from({ length: 12 }, (_, i) => ({ name: `Agent ${i} "q" \u00e9\u2028` })),
    );
    agentId = agents[0]!.id;
    const outcomes = ["appointment_booked", "callback_requested", null] as const;
    const calls: CallSeed[] = Array.from({ length: 240 }, (_, i) => ({
      agentId: agents[i % agents.length]!.id,
      status: i % 5 === 0 ? "failed" : "completed",
      durationSec: 17 + ((i * 37) % 400),
      leadScore: i % 3 === 0 ? null : (i * 7) % 101,
      outcome: outcomes[i % outcomes.length]!,
      startedAt: new Date(NOW.getTime() - (1 + ((i * 7919) % (29 * 24 * 60))) * 60_000),
      milestones: i % 4 === 0 ? [{ key: "greeting", achieved: i % 8 === 0 }] : [],
      objections: i % 6 === 0 ? [{ kind: "price", handled: i % 12 === 0 }] : [],
    }));
    await insertCalls(t.database.db, org.orgId, calls);
  });
  afterAll(async () => {
    await Promise.all(caches.map((cache) => cache.close()));
    await t?.close();
    await deleteByPrefix(prefix);
  });

  const ask = async (app: App, path: string) => {
    const res = await app.request(path, { headers: { authorization: `Bearer ${readKey}` } });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return { text, etag: res.headers.get("etag"), cache: (JSON.parse(text) as { meta: { cache: string } }).meta.cache };
  };

  it("answers the same bytes on a miss, an in-process hit and another instance's hit, for every aggregate", async () => {
    const paths = [
      "/api/analytics/agent-variance?days=30",
      "/api/analytics/agent-variance?days=7",
      "/api/agents",
      `/api/agents/${agentId}/performance?days=30`,
      "/api/dashboard/overview?days=30",
      "/api/dashboard/overview?days=30&compare=previous",
      "/api/dashboard/analytics?days=30",
      "/api/coverage?days=7",
    ];
    const [first, second] = instances as [App, App];
    for (const path of paths) {
      const miss = await ask(first, path);
      expect(miss.cache, path).toBe("miss");
      // the test app parses every answer with its response schema (keys in the schema's order) and serializes that:
      // production sends what it built, byte for byte the same
      const validated = await ask(t.app, path);
      expect(validated.cache, path).toBe("miss");
      expect(miss.text, path).toBe(validated.text);
      const local = await ask(first, path);
      const shared = await ask(second, path);
      expect([local.cache, shared.cache], JSON.stringify(loggers.map((l) => l.lines))).toEqual(["hit", "hit"]);
      expect(miss.text.replace('"cache":"miss"', '"cache":"hit"'), path).toBe(shared.text);
      expect(local.text, path).toBe(shared.text);
      expect(local.etag, path).toBe(shared.etag);
      // the text is the one JSON.stringify makes of the answer's data
      expect(shared.text, path).toBe(JSON.stringify(JSON.parse(shared.text)));
    }
  });
});
