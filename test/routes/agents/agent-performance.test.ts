import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StatementCounter } from "../../../functions/db/database";
import { resolveWindow } from "../../../functions/lib/windows";
import { readAgentPerformance } from "../../../functions/read-models/agent-performance";
import { refreshRollups } from "../../../functions/rollups/refresh";
import { body, ManualClock } from "../../support/app";
import { arbitraryCall, insertAgents, insertAgentsWithCalls, insertCalls } from "../../support/fixtures";
import { expectedAgentPerformance, nearlyEqual, readRawOrg } from "../../support/oracle/agents";
import { ZONES } from "../../rollups/support";
import { BAD_WINDOWS, expectBadWindow, getOk, statementsOfLastRequest } from "../dashboard/aggregate-support";
import { useTestApp } from "../../support/use-test-app";

const path = (id: string) => `/api/agents/${id}/performance`;
const NO_OUTCOMES = { appointment_booked: 0, qualified: 0, callback_requested: 0, not_interested: 0, voicemail: 0, wrong_number: 0 };

const clock = new ManualClock("2026-06-10T12:00:00Z");
const t = useTestApp({ clock });

describe("GET /api/agents/{id}/performance", () => {
  it("answers the agent, its totals, a zero-filled daily series, outcomes and hours", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    const [ava, ben] = await insertAgents(t.database.db, orgId, [{ name: "Ava", kind: "human", status: "paused" }, { name: "Ben" }]);
    await insertCalls(t.database.db, orgId, [
      {
        agentId: ava!.id,
        status: "completed",
        startedAt: new Date("2026-06-10T09:10:00Z"),
        durationSec: 100,
        leadScore: 80,
        outcome: "appointment_booked",
        milestones: [
          { key: "greeting", achieved: true },
          { key: "booking", achieved: false },
        ],
        objections: [{ kind: "price", handled: true }],
      },
      { agentId: ava!.id, status: "failed", startedAt: new Date("2026-06-08T09:50:00Z"), leadScore: 40, outcome: "voicemail" },
      { agentId: ava!.id, status: "completed", startedAt: new Date("2026-06-07T23:59:59Z"), durationSec: 5 }, // outside days=3
      { agentId: ben!.id, status: "completed", startedAt: new Date("2026-06-10T09:00:00Z"), durationSec: 7 },
    ]);
    const json = await getOk(t, `${path(ava!.id)}?days=3`, readKey);
    expect(json.data.agent).toEqual({ id: ava!.id, name: "Ava", kind: "human", status: "paused" });
    expect(json.data.totals).toEqual({
      calls: 2,
      completionRate: 0.5,
      avgDurationSec: 100,
      avgLeadScore: 60,
      bookingRate: 0.5,
      milestoneRate: 0.5,
      objectionHandledRate: 1,
    });
    expect(json.data.series).toEqual([
      { date: "2026-06-08", calls: 1, completed: 0, avgDurationSec: null, avgLeadScore: 40, booked: 0 },
      { date: "2026-06-09", calls: 0, completed: 0, avgDurationSec: null, avgLeadScore: null, booked: 0 },
      { date: "2026-06-10", calls: 1, completed: 1, avgDurationSec: 100, avgLeadScore: 80, booked: 1 },
    ]);
    expect(json.data.outcomes).toEqual({ ...NO_OUTCOMES, appointment_booked: 1, voicemail: 1 });
    expect(json.data.byHourOfDay).toEqual(Array.from({ length: 24 }, (_, h) => (h === 9 ? 2 : 0)));
    expect(json.meta).toEqual({
      asOf: "2026-06-10T12:00:00.000Z",
      cache: "miss",
      ttlSec: 30,
      from: "2026-06-08T00:00:00.000Z",
      to: "2026-06-10T12:00:00.000Z",
      timezone: "UTC",
    });
  });

  it("answers calls 0 and null rates for an agent without calls, 30 points by default", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    const [agent] = await insertAgents(t.database.db, orgId, [{ name: "Quiet", status: "archived" }]);
    const json = await getOk(t, path(agent!.id), readKey);
    expect(json.data.totals).toEqual({
      calls: 0,
      completionRate: null,
      avgDurationSec: null,
      avgLeadScore: null,
      bookingRate: null,
      milestoneRate: null,
      objectionHandledRate: null,
    });
    expect(json.data.series).toHaveLength(30);
    expect(json.data.outcomes).toEqual(NO_OUTCOMES);
    expect(json.data.byHourOfDay).toEqual(Array(24).fill(0));
  });

  it("answers 404 for another organization's agent and for an unknown id, 400 for a malformed id", async () => {
    const mine = await t.createOrg();
    const theirs = await t.createOrg();
    const [foreign] = await insertAgents(t.database.db, theirs.orgId, [{ name: "Theirs" }]);
    await insertCalls(t.database.db, theirs.orgId, [{ agentId: foreign!.id, startedAt: new Date(clock.now().getTime() - 60_000) }]);
    for (const id of [foreign!.id, "00000000-0000-4000-8000-000000000000"]) {
      const res = await t.request("GET", path(id), { key: mine.readKey });
      const text = await res.text();
      expect(res.status, text).toBe(404);
      expect(text).not.toContain("Theirs");
    }
    const bad = await t.request("GET", path("not-a-uuid"), { key: mine.readKey });
    expect(bad.status, await bad.clone().text()).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
  });

  it("serves a repeat read from the cache, and a write through the API on the next read (a miss)", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey, writeKey } = await t.createOrg();
    const [agent] = await insertAgents(t.database.db, orgId, [{ name: "Ava" }]);
    expect((await getOk(t, path(agent!.id), readKey)).meta.cache).toBe("miss");
    const again = await getOk(t, path(agent!.id), readKey);
    expect(again.meta.cache).toBe("hit");
    expect(statementsOfLastRequest(t, path(agent!.id))).toBeLessThanOrEqual(1);
    const res = await t.request("POST", "/api/calls", {
      key: writeKey,
      body: { phoneNumber: "+14155550188", direction: "inbound", status: "completed", startedAt: "2026-06-10T11:00:00Z", agentId: agent!.id },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const after = await getOk(t, path(agent!.id), readKey);
    expect(after.meta.cache).toBe("miss");
    expect(after.data.totals.calls).toBe(1);
    // an agent created through the API answers at once (agent writes invalidate the organization)
    const created = await t.request("POST", "/api/agents", { key: writeKey, body: { name: "Created", kind: "ai" } });
    const createdId = (await body(created)).data.id as string;
    expect((await getOk(t, path(createdId), readKey)).data.agent.name).toBe("Created");
  });

  it("holds its statement budget: one statement on a miss, whatever the agent's calls", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    const [agent] = await insertAgents(t.database.db, orgId, [{ name: "Busy" }]);
    await insertCalls(
      t.database.db,
      orgId,
      Array.from({ length: 60 }, (_, i) => ({
        agentId: agent!.id,
        startedAt: new Date(Date.parse("2026-06-10T00:00:00Z") - i * 3_600_000),
        contactIndex: i % 4,
      })),
    );
    await refreshRollups(t.database.db, new Date("2026-06-09T00:00:00Z"));
    const json = await getOk(t, path(agent!.id), readKey);
    expect(json.meta.cache).toBe("miss");
    expect(statementsOfLastRequest(t, path(agent!.id))).toBeLessThanOrEqual(2);
    const counter = new StatementCounter();
    const now = clock.now();
    const org = { id: orgId, name: "Test Org", timezone: "UTC", creditsBalance: 0 };
    const found = await readAgentPerformance({ db: t.database.withCounter(counter), org, now }, agent!.id, resolveWindow({ days: 30 }, org.timezone, now, 30));
    expect(found?.totals.calls).toBe(60);
    expect(counter.count).toBe(1);
  });

  it.each(ZONES)("equals the raw oracle in %s, read raw and from refreshed rollups", async (zone) => {
    const now = new Date("2026-11-02T15:20:00Z"); // the day after New York's fall-back
    clock.set(now);
    const { orgId, readKey } = await t.createOrg({ timezone: zone });
    const seeds = fc.sample(arbitraryCall(now, 12, 3), { numRuns: 150, seed: 2112 });
    const agents = await insertAgentsWithCalls(t.database.db, orgId, [{ name: "A" }, { name: "B" }, { name: "C", status: "archived" }], seeds);
    const queries = [{ days: 1 }, { days: 7 }, { days: 13 }, { from: "2026-10-31T18:30:00.000Z", to: "2026-11-02T06:45:00.000Z" }];
    for (const refreshed of [false, true]) {
      if (refreshed) await refreshRollups(t.database.db, new Date(now.getTime() - 2 * 86400_000));
      await t.deps.cache.invalidateOrg(orgId);
      const raw = await readRawOrg(t.database.db, orgId);
      for (const query of queries)
        for (const agent of agents) {
          const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
          const json = await getOk(t, `${path(agent.id)}?${qs}`, readKey);
          const window = resolveWindow(query, zone, now, 30);
          const diff = nearlyEqual(json.data, expectedAgentPerformance(raw, agent.id, window, zone));
          expect(diff, `${zone} ${qs} ${agent.name} refreshed=${refreshed}: ${diff}`).toBeNull();
        }
    }
  });

  it.each(BAD_WINDOWS)("answers 400 problem+json for %s", async (_name, query, field) => {
    const { orgId, readKey } = await t.createOrg();
    const [agent] = await insertAgents(t.database.db, orgId, [{ name: "Ava" }]);
    await expectBadWindow(t, readKey, path(agent!.id), query, field);
  });

  it("answers 400 for a window over 90 local dates, 401 without a key and 403 for an admin key", async () => {
    const { orgId, readKey } = await t.createOrg();
    const [agent] = await insertAgents(t.database.db, orgId, [{ name: "Ava" }]);
    const wide = await t.request("GET", `${path(agent!.id)}?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z`, { key: readKey });
    expect(wide.status, await wide.clone().text()).toBe(400);
    expect((await t.request("GET", path(agent!.id), { key: null })).status).toBe(401);
    expect((await t.request("GET", path(agent!.id))).status).toBe(403);
  });
});
