import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { jobContext } from "../../functions/jobs/context";
import { WARM_VOICE_BATCH } from "../../functions/jobs/warm-voice-configs";
import { runJob } from "../../functions/jobs/run";
import { reply, type VoiceProviderFixture } from "../fixtures/voice-provider";
import { body, createTestApp, ManualClock, type TestApp } from "../support/app";
import { insertAgents, insertCalls, type AgentSeed } from "../support/fixtures";
import { requestCounted, voiceServiceFor, voiceStatuses, startWarmedVoiceProvider } from "./app-voice";

/**
 * The `warm-voice-configs` job (SPEC §8, every 10 minutes). Tests run in order over one database: the report's counts
 * include the ids earlier tests left, which each test states.
 */
const clock = new ManualClock(Date.now());
const DAY = 86_400_000;
let provider: VoiceProviderFixture;
let t: TestApp;
beforeAll(async () => {
  provider = await startWarmedVoiceProvider();
  t = await createTestApp({ clock });
});
afterAll(async () => {
  await t?.close();
  await provider?.close();
});
beforeEach(() => {
  provider.setDefault(reply.ok());
  provider.resetStats();
  delete t.deps.voice;
});

const ids = (label: string, count: number) => {
  const run = randomUUID().slice(0, 8);
  return Array.from({ length: count }, (_, i) => `${label}-${run}-${String(i).padStart(4, "0")}`);
};

/** An organization with these agents; `active` gives it a call an hour ago. */
async function org(agents: AgentSeed[], options: { active: boolean }) {
  const created = await t.createOrg();
  const inserted = await insertAgents(t.database.db, created.orgId, agents);
  if (options.active)
    await insertCalls(t.database.db, created.orgId, [{ agentId: inserted[0]?.id ?? null, startedAt: new Date(clock.now().getTime() - 3_600_000) }]);
  return { ...created, agents: inserted };
}

describe("warm-voice-configs", () => {
  it("reports that no voice provider is configured rather than failing", async () => {
    const report = await runJob("warm-voice-configs", jobContext(t.deps));
    expect(report).toMatchObject({ job: "warm-voice-configs", skipped: true, reason: "no voice provider configured", rowsRead: 0 });
    const res = await t.request("POST", "/api/admin/jobs/warm-voice-configs/run");
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data).toMatchObject({ skipped: true, reason: "no voice provider configured" });
  });

  it("refreshes each voice agent id of the active organizations' non-archived agents once, and reports", async () => {
    const [fine, other, ghost, broken, archived, dormant, fresh] = ids("warm", 7) as [string, string, string, string, string, string, string];
    provider.program(ghost, reply.notFound());
    provider.program(broken, reply.error(500));
    const active = await org(
      [
        { name: "A fine", voiceAgentId: fine },
        { name: "B other", voiceAgentId: other },
        { name: "D ghost", voiceAgentId: ghost },
        { name: "E broken", voiceAgentId: broken },
        { name: "F archived", voiceAgentId: archived, status: "archived" },
        { name: "G no voice" },
      ],
      { active: true },
    );
    // no calls for a month and agents untouched since: not warmed
    const idle = await org([{ name: "Dormant", voiceAgentId: dormant }], { active: false });
    await t.database.db.execute(
      sql`UPDATE agents SET updated_at = ${new Date(clock.now().getTime() - 30 * DAY).toISOString()}::timestamptz WHERE org_id = ${idle.orgId}`,
    );
    // no calls yet, but an agent set up today: warmed, so the new organization's first look finds its config
    await org([{ name: "New", voiceAgentId: fresh }], { active: false });

    const { service } = voiceServiceFor(provider, { clock, client: { retry: { maxRetries: 0 }, breaker: { consecutiveFailures: 1_000 } } });
    t.deps.voice = service;
    const report = await runJob("warm-voice-configs", jobContext(t.deps));
    expect(report).toMatchObject({ rowsRead: 5, requested: 5, refreshed: 3, notFound: 1, failed: 1, breaker: "closed", batches: 1, complete: true });
    expect(typeof report.durationMs).toBe("number");
    expect([fine, other, ghost, broken, fresh].map((id) => provider.requestsFor(id))).toEqual([1, 1, 1, 1, 1]);
    expect(provider.requestsFor(archived)).toBe(0);
    expect(provider.requestsFor(dormant)).toBe(0);

    // the agents list now answers from the warmed cache, even with the provider gone silent
    provider.setDefault(reply.hang());
    provider.program(broken, reply.hang());
    const { json, background } = await requestCounted(t, "/api/agents", active.readKey);
    expect(json.data.map((a: { name: string }) => a.name)).toEqual(["A fine", "B other", "D ghost", "E broken", "G no voice"]);
    expect(voiceStatuses(json)).toEqual(["ok", "ok", "unavailable", "unavailable", "none"]);
    await Promise.allSettled(background);
  });

  it("works through many ids in batches under the client's concurrency limit, through the admin route", async () => {
    provider.setDefault(reply.ok(2));
    await org(
      ids("many", 2 * WARM_VOICE_BATCH + 100).map((voiceAgentId, i) => ({ name: `Agent ${i}`, voiceAgentId })),
      { active: true },
    );
    t.deps.voice = voiceServiceFor(provider, { clock }).service;
    const res = await t.request("POST", "/api/admin/jobs/warm-voice-configs/run");
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    // the 600 new ids and the 5 of the test before
    expect(json.data).toMatchObject({ job: "warm-voice-configs", rowsRead: 605, requested: 605, batches: 3, complete: true, breaker: "closed" });
    expect(json.data.refreshed + json.data.notFound + json.data.failed).toBe(605);
    expect(provider.maxInFlight).toBeLessThanOrEqual(5);
  });

  it("stops after the batch in which the provider's circuit opened", async () => {
    provider.setDefault(reply.error(500));
    t.deps.voice = voiceServiceFor(provider, { clock, client: { retry: { maxRetries: 0 }, breaker: { consecutiveFailures: 5 } } }).service;
    const report = await runJob("warm-voice-configs", jobContext(t.deps));
    expect(report).toMatchObject({
      rowsRead: WARM_VOICE_BATCH,
      failed: WARM_VOICE_BATCH,
      batches: 1,
      breaker: "open",
      complete: false,
      stoppedBy: "breaker open",
    });
    expect(provider.requests, "the open circuit spared the provider most of the batch").toBeLessThan(WARM_VOICE_BATCH / 5);
  });
});
