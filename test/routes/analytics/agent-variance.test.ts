import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { L1_TTL_MS } from "../../../functions/cache/tiers";
import { resolveWindow } from "../../../functions/lib/windows";
import { refreshRollups } from "../../../functions/rollups/refresh";
import { body, ManualClock } from "../../support/app";
import { arbitraryCall, insertAgents, insertAgentsWithCalls, insertCalls, type CallSeed } from "../../support/fixtures";
import { expectedVariance, nearlyEqual, readRawOrg } from "../../support/oracle/agents";
import { agentVarianceNPlusOne } from "../../support/oracle/agent-variance-n-plus-1";
import { useTestApp } from "../../support/use-test-app";

const NOW = new Date("2026-03-15T15:30:00Z");
const clock = new ManualClock(NOW);
const t = useTestApp({ clock });

const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3600_000);
const METRICS = ["calls", "completionRate", "avgDurationSec", "avgLeadScore", "bookingRate", "milestoneRate", "objectionHandledRate"];

describe("GET /api/analytics/agent-variance", () => {
  it("answers each agent's metrics, the team's distribution and z-scores", async () => {
    const { orgId, readKey } = await t.createOrg();
    const [ann, bob, cat, old, idle] = await insertAgents(t.database.db, orgId, [
      { name: "Ann" },
      { name: "Bob" },
      { name: "Cat", status: "paused" },
      { name: "Old", status: "archived" },
      { name: "Zero", status: "archived" },
    ]);
    await insertCalls(t.database.db, orgId, [
      // Ann: 2 calls, both completed (60 s, 120 s), one booked, scores 80; milestones 1/2, objections 1/1
      {
        agentId: ann!.id,
        status: "completed",
        durationSec: 60,
        leadScore: 80,
        outcome: "appointment_booked",
        startedAt: hoursAgo(1),
        milestones: [
          { key: "greeting", achieved: true },
          { key: "booking", achieved: false },
        ],
        objections: [{ kind: "price", handled: true }],
      },
      { agentId: ann!.id, status: "completed", durationSec: 120, startedAt: hoursAgo(2) },
      // Bob: 4 calls, 1 completed (30 s), none booked, no analysis
      { agentId: bob!.id, status: "completed", durationSec: 30, leadScore: 20, startedAt: hoursAgo(3) },
      { agentId: bob!.id, status: "failed", startedAt: hoursAgo(4) },
      { agentId: bob!.id, status: "missed", startedAt: hoursAgo(5) },
      { agentId: bob!.id, status: "missed", startedAt: hoursAgo(6) },
      // Old (archived) made a call in the window: it is listed
      { agentId: old!.id, status: "failed", startedAt: hoursAgo(7) },
      // outside the window (days=7) and an unassigned call: neither counts
      { agentId: ann!.id, status: "failed", startedAt: hoursAgo(24 * 10) },
      { agentId: null, status: "completed", startedAt: hoursAgo(1) },
    ]);
    const res = await t.request("GET", "/api/analytics/agent-variance?days=7", { key: readKey });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    const byName = Object.fromEntries(json.data.agents.map((a: { name: string }) => [a.name, a]));
    expect(Object.keys(byName)).toEqual(["Ann", "Bob", "Cat", "Old"]);
    expect(byName.Ann).toMatchObject({
      agentId: ann!.id,
      calls: 2,
      completionRate: 1,
      avgDurationSec: 90,
      avgLeadScore: 80,
      bookingRate: 0.5,
      milestoneRate: 0.5,
      objectionHandledRate: 1,
    });
    expect(byName.Bob).toMatchObject({
      calls: 4,
      completionRate: 0.25,
      avgDurationSec: 30,
      avgLeadScore: 20,
      bookingRate: 0,
      milestoneRate: null,
      objectionHandledRate: null,
    });
    expect(byName.Cat).toMatchObject({
      agentId: cat!.id,
      calls: 0,
      completionRate: null,
      avgDurationSec: null,
      avgLeadScore: null,
      bookingRate: null,
      milestoneRate: null,
      objectionHandledRate: null,
    });
    expect(byName.Old).toMatchObject({ calls: 1, completionRate: 0, avgDurationSec: null, avgLeadScore: null, bookingRate: 0 });
    expect(json.data.agents.some((a: { agentId: string }) => a.agentId === idle!.id)).toBe(false);
    // team over the three agents with calls: calls 2, 4, 1
    const calls = json.data.team.calls;
    expect(calls.mean).toBeCloseTo(7 / 3, 12);
    expect(calls.stddev).toBeCloseTo(Math.sqrt(((2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2 + (1 - 7 / 3) ** 2) / 3), 12);
    expect([calls.min, calls.max]).toEqual([1, 4]);
    // metrics null for some agents are taken over the others only; a single value has no spread
    expect(json.data.team.milestoneRate).toEqual({ mean: 0.5, stddev: 0, min: 0.5, max: 0.5 });
    expect(byName.Ann.zScores.milestoneRate).toBeNull();
    expect(json.data.team.avgLeadScore).toEqual({ mean: 50, stddev: 30, min: 20, max: 80 });
    expect(byName.Ann.zScores.avgLeadScore).toBe(1);
    expect(byName.Bob.zScores.avgLeadScore).toBe(-1);
    expect(byName.Old.zScores.avgLeadScore).toBeNull();
    // an agent without calls still has a calls z-score (it is below the team), and null for the rest
    expect(byName.Cat.zScores.calls).toBeCloseTo((0 - 7 / 3) / calls.stddev, 12);
    expect(Object.keys(byName.Cat.zScores).sort()).toEqual([...METRICS].sort());
    expect(json.meta).toMatchObject({ cache: "miss", asOf: NOW.toISOString(), to: NOW.toISOString(), from: "2026-03-09T00:00:00.000Z" });
  });

  it("answers nulls for the team when no agent has a call", async () => {
    const { orgId, readKey } = await t.createOrg();
    await insertAgents(t.database.db, orgId, [{ name: "Quiet" }]);
    const json = await body(await t.request("GET", "/api/analytics/agent-variance", { key: readKey }));
    expect(json.data.agents).toHaveLength(1);
    expect(json.data.agents[0].zScores).toEqual(Object.fromEntries(METRICS.map((m) => [m, null])));
    for (const m of METRICS) expect(json.data.team[m]).toEqual({ mean: null, stddev: null, min: null, max: null });
  });

  it("takes a from/to window, half-open", async () => {
    const { orgId, readKey } = await t.createOrg();
    const [a] = await insertAgents(t.database.db, orgId, [{ name: "A" }]);
    await insertCalls(t.database.db, orgId, [
      { agentId: a!.id, startedAt: new Date("2026-03-01T00:00:00Z") },
      { agentId: a!.id, startedAt: new Date("2026-03-02T00:00:00Z") },
    ]);
    const json = await body(await t.request("GET", "/api/analytics/agent-variance?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z", { key: readKey }));
    expect(json.data.agents[0].calls).toBe(1);
    expect(json.meta).toMatchObject({ from: "2026-03-01T00:00:00.000Z", to: "2026-03-02T00:00:00.000Z" });
  });

  it("answers exactly what the N+1 reference answers on the same data", async () => {
    const { orgId, readKey } = await t.createOrg({ timezone: "America/New_York" });
    const seeds = fc.sample(arbitraryCall(NOW, 40, 12), { numRuns: 300, seed: 7 });
    await insertAgentsWithCalls(
      t.database.db,
      orgId,
      Array.from({ length: 12 }, (_, i) => ({
        name: `Agent ${String(i).padStart(2, "0")}`,
        status: (["active", "paused", "archived", "draft"] as const)[i % 4],
      })),
      seeds,
    );
    // read raw first, then (on a cache miss) from refreshed rollups
    for (const refreshed of [false, true]) {
      if (refreshed) {
        await refreshRollups(t.database.db, NOW);
        await t.deps.cache.invalidateOrg(orgId);
        // another instance (the Worker target's isolate) sees an invalidation within its L1's lifetime (cache/index.ts)
        clock.advance(L1_TTL_MS);
      }
      for (const query of [
        "days=30",
        "days=1",
        "days=90",
        "from=2026-02-20T05:00:00Z&to=2026-03-10T05:00:00Z",
        "from=2026-02-20T05:10:00Z&to=2026-03-10T05:50:00Z",
      ]) {
        const res = await t.request("GET", `/api/analytics/agent-variance?${query}`, { key: readKey });
        const json = await body(res);
        expect(res.status, JSON.stringify(json)).toBe(200);
        expect(json.meta.cache, query).toBe("miss");
        const window = { from: new Date(json.meta.from), to: new Date(json.meta.to) };
        expect(json.data, `${query} (refreshed: ${refreshed})`).toEqual(await agentVarianceNPlusOne(t.database.db, orgId, window));
      }
    }
    clock.set(NOW);
  });

  it("answers what an oracle computes from the raw rows, for arbitrary calls", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("UTC", "America/New_York", "Asia/Kolkata"),
        fc.integer({ min: 1, max: 45 }),
        fc.array(fc.constantFrom("active", "draft", "paused", "archived") as fc.Arbitrary<"active" | "draft" | "paused" | "archived">, {
          minLength: 1,
          maxLength: 5,
        }),
        fc.array(arbitraryCall(NOW, 45, 5), { maxLength: 40 }),
        // read raw, or from refreshed rollups
        fc.boolean(),
        async (timezone, days, statuses, seeds: CallSeed[], refreshed) => {
          const { orgId, readKey } = await t.createOrg({ timezone });
          await insertAgentsWithCalls(
            t.database.db,
            orgId,
            statuses.map((status, i) => ({ name: `Agent ${i}`, status })),
            seeds,
          );
          if (refreshed) await refreshRollups(t.database.db, NOW);
          const res = await t.request("GET", `/api/analytics/agent-variance?days=${days}`, { key: readKey });
          const json = await body(res);
          expect(res.status, JSON.stringify(json)).toBe(200);
          const window = resolveWindow({ days }, timezone, NOW, 30);
          expect(json.meta.from).toBe(window.from.toISOString());
          const expected = expectedVariance(await readRawOrg(t.database.db, orgId), window);
          const diff = nearlyEqual(json.data, expected);
          expect(diff, JSON.stringify({ actual: json.data, expected })).toBeNull();
        },
      ),
      { numRuns: 15 },
    );
  });

  it.each([
    ["days=0", ["query.days"]],
    ["days=91", ["query.days"]],
    ["days=abc", ["query.days"]],
    ["days=1.5", ["query.days"]],
    ["from=2026-02-30T00:00:00Z", ["query.from"]],
    ["from=yesterday&to=2026-03-01", ["query.from", "query.to"]],
    ["from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", ["from"]],
    ["days=7&from=2026-03-01T00:00:00Z", ["days"]],
    ["day=7", ["query"]],
  ])("answers 400 problem+json for %s", async (query, paths) => {
    const { readKey } = await t.createOrg();
    const res = await t.request("GET", `/api/analytics/agent-variance?${query}`, { key: readKey });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(json.errors.map((e: { path: string }) => e.path).sort(), JSON.stringify(json)).toEqual(paths);
  });
});
