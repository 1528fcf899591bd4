import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { users } from "../../../drizzle/schema";
import { body, ManualClock } from "../../support/app";
import { arbitraryCall, insertAgents, insertAgentsWithCalls, insertCalls } from "../../support/fixtures";
import { expectedAgentList, nearlyEqual, readRawOrg } from "../../support/oracle/agents";
import { attachVoice } from "../../../functions/read-models/agents";
import { refreshRollups } from "../../../functions/rollups/refresh";
import { useTestApp } from "../../support/use-test-app";

const NOW = new Date("2026-03-15T15:30:00Z");
const t = useTestApp({ clock: new ManualClock(NOW) });

const day = 86_400_000;

describe("GET /api/agents", () => {
  it("lists every non-archived agent by name with its user, last-30-days performance and no voice config", async () => {
    const { orgId, readKey } = await t.createOrg({ name: "Agents" });
    const [user] = await t.database.db
      .insert(users)
      .values({ orgId, email: `ada-${orgId}@example.com`, name: "Ada" })
      .returning();
    const [zed, amy, gone] = await insertAgents(t.database.db, orgId, [
      { name: "Zed", status: "paused", voiceAgentId: "va_1" },
      { name: "Amy", kind: "human", userId: user!.id },
      { name: "Old", status: "archived" },
    ]);
    await insertCalls(t.database.db, orgId, [
      { agentId: amy!.id, status: "completed", durationSec: 100, leadScore: 80, creditsUsed: 5, startedAt: new Date(NOW.getTime() - 1 * day) },
      { agentId: amy!.id, status: "completed", durationSec: null, leadScore: 40, creditsUsed: 2, startedAt: new Date(NOW.getTime() - 2 * day) },
      { agentId: amy!.id, status: "failed", durationSec: 30, creditsUsed: 1, startedAt: new Date(NOW.getTime() - 3 * day) },
      // outside the 30 local days
      { agentId: amy!.id, status: "completed", durationSec: 999, creditsUsed: 50, startedAt: new Date(NOW.getTime() - 40 * day) },
      { agentId: gone!.id, status: "completed", startedAt: new Date(NOW.getTime() - day) },
    ]);
    const res = await t.request("GET", "/api/agents", { key: readKey });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data.map((a: { name: string }) => a.name)).toEqual(["Amy", "Zed"]);
    expect(json.data[0]).toEqual({
      id: amy!.id,
      name: "Amy",
      kind: "human",
      status: "active",
      description: null,
      user: { id: user!.id, name: "Ada", email: `ada-${orgId}@example.com` },
      performance: { calls: 3, completed: 2, successRate: 2 / 3, avgDurationSec: 50, avgLeadScore: 60, creditsUsed: 8 },
      voice: { status: "none", config: null },
    });
    expect(json.data[1]).toMatchObject({
      id: zed!.id,
      user: null,
      performance: { calls: 0, completed: 0, successRate: null, avgDurationSec: null, avgLeadScore: null, creditsUsed: 0 },
      voice: { status: "none", config: null },
    });
    expect(json.data[1]).not.toHaveProperty("voiceAgentId");
    expect(json.meta).toMatchObject({ cache: "miss", partial: false, asOf: NOW.toISOString(), to: NOW.toISOString(), from: "2026-02-14T00:00:00.000Z" });
    expect(json.meta.ttlSec).toBeGreaterThan(0);
    const again = await body(await t.request("GET", "/api/agents", { key: readKey }));
    expect(again.meta.cache).toBe("hit");
    expect(again.data).toEqual(json.data);
  });

  it("counts the 30 days in the organization's zone", async () => {
    const { orgId, readKey } = await t.createOrg({ timezone: "Asia/Kathmandu" });
    const [agent] = await insertAgents(t.database.db, orgId, [{ name: "Kathmandu" }]);
    // local midnight 29 days ago in Kathmandu (UTC+5:45) is 2026-02-13T18:15Z
    await insertCalls(t.database.db, orgId, [
      { agentId: agent!.id, startedAt: new Date("2026-02-13T18:15:00Z") },
      { agentId: agent!.id, startedAt: new Date("2026-02-13T18:14:59Z") },
    ]);
    const json = await body(await t.request("GET", "/api/agents", { key: readKey }));
    expect(json.data[0].performance.calls).toBe(1);
    expect(json.meta.from).toBe("2026-02-13T18:15:00.000Z");
  });

  it("never shows another organization's agents, and needs a key", async () => {
    const a = await t.createOrg();
    const b = await t.createOrg();
    await insertAgents(t.database.db, a.orgId, [{ name: "Mine" }]);
    const json = await body(await t.request("GET", "/api/agents", { key: b.readKey }));
    expect(json.data).toEqual([]);
    expect((await t.request("GET", "/api/agents", { key: null })).status).toBe(401);
    expect((await t.request("GET", "/api/agents", { key: "nope" })).status).toBe(401);
    // the platform admin key acts through /api/admin only
    expect((await t.request("GET", "/api/agents")).status).toBe(403);
  });

  it("answers 400 for a parameter it does not take, rather than ignoring it", async () => {
    const { readKey } = await t.createOrg();
    const res = await t.request("GET", "/api/agents?days=7", { key: readKey });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(json.errors.map((e: { path: string }) => e.path)).toEqual(["query"]);
  });

  it("answers what an oracle computes from the raw rows, for arbitrary calls", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("UTC", "America/New_York", "Asia/Kathmandu"),
        fc.array(fc.constantFrom("active", "draft", "paused", "archived") as fc.Arbitrary<"active" | "draft" | "paused" | "archived">, {
          minLength: 1,
          maxLength: 5,
        }),
        fc.array(arbitraryCall(NOW, 45, 5), { maxLength: 40 }),
        // read raw, or from refreshed rollups
        fc.boolean(),
        async (timezone, statuses, seeds, refreshed) => {
          const { orgId, readKey } = await t.createOrg({ timezone });
          await insertAgentsWithCalls(
            t.database.db,
            orgId,
            statuses.map((status, i) => ({ name: `Agent ${i}`, status })),
            seeds,
          );
          if (refreshed) await refreshRollups(t.database.db, NOW);
          const res = await t.request("GET", "/api/agents", { key: readKey });
          const json = await body(res);
          expect(res.status, JSON.stringify(json)).toBe(200);
          const expected = expectedAgentList(await readRawOrg(t.database.db, orgId), timezone, NOW);
          const actual = json.data.map(({ voice: _voice, ...rest }: Record<string, unknown>) => rest);
          const diff = nearlyEqual(actual, expected);
          expect(diff, JSON.stringify({ actual, expected })).toBeNull();
        },
      ),
      { numRuns: 15 },
    );
  });
});

describe("attachVoice", () => {
  it("asks the voice lookup once for all agents with a voice agent id and marks the answer partial when one is missing", async () => {
    const asked: string[][] = [];
    const config = { voiceAgentId: "va_1", name: "Front desk", voiceId: "calm", ttsModel: null, language: "en", firstMessage: null, llm: null };
    const lookup = async (ids: string[]) => {
      asked.push(ids);
      return new Map([["va_1", { status: "ok" as const, config }]]);
    };
    const { agents, partial } = await attachVoice(
      [{ voiceAgentId: "va_1" }, { voiceAgentId: null }, { voiceAgentId: "va_2" }, { voiceAgentId: "va_1" }],
      lookup,
    );
    expect(asked).toEqual([["va_1", "va_2"]]);
    expect(agents.map((a) => a.voice.status)).toEqual(["ok", "none", "unavailable", "ok"]);
    expect(agents[0]!.voice.config).toEqual(config);
    expect(partial).toBe(true);
  });

  it("answers none for every agent without a lookup, and unavailable when the lookup fails", async () => {
    expect((await attachVoice([{ voiceAgentId: "va_1" }])).agents[0]!.voice).toEqual({ status: "none", config: null });
    const failed = await attachVoice([{ voiceAgentId: "va_1" }], async () => {
      throw new Error("provider down");
    });
    expect(failed.agents[0]!.voice.status).toBe("unavailable");
    expect(failed.partial).toBe(true);
  });
});
