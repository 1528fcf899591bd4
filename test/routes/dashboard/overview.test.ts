import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { organizations } from "../../../drizzle/schema";
import { StatementCounter } from "../../../functions/db/database";
import { resolveWindow } from "../../../functions/lib/windows";
import { readOverview } from "../../../functions/read-models/overview";
import { refreshRollups } from "../../../functions/rollups/refresh";
import { body, ManualClock } from "../../support/app";
import { insertAgents, insertCalls, insertServiceWithAppointments } from "../../support/fixtures";
import { BAD_WINDOWS, expectBadWindow, getOk, statementsOfLastRequest } from "./aggregate-support";
import { useTestApp } from "../../support/use-test-app";

const PATH = "/api/dashboard/overview";
/** SPEC budget: at most 3 statements besides the auth lookup. */
const BUDGET = 3;

const clock = new ManualClock("2026-06-10T12:00:00Z");
const t = useTestApp({ clock });

describe("GET /api/dashboard/overview", () => {
  it("answers zeros, nulls for rates and averages, and no activity for an empty organization", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { readKey } = await t.createOrg();
    const json = await getOk(t, PATH, readKey);
    expect(json.data).toEqual({
      calls: { total: 0, completed: 0, successRate: null, totalDurationSec: 0, avgDurationSec: null },
      leads: { total: 0, qualified: 0, conversionRate: null, avgScore: null, booked: 0 },
      credits: { balance: 0, usedThisMonth: 0 },
      agents: { total: 0, active: 0, draft: 0, paused: 0 },
      pipelineValueCents: 0,
      recentActivity: [],
    });
    expect(json.meta).toEqual({
      asOf: "2026-06-10T12:00:00.000Z",
      cache: "miss",
      ttlSec: 30,
      from: "2026-05-12T00:00:00.000Z",
      to: "2026-06-10T12:00:00.000Z",
      timezone: "UTC",
    });
  });

  it("computes the window's call and lead metrics, agents by status and the pipeline from now on", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    await t.database.db.update(organizations).set({ creditsBalance: 4200 }).where(eq(organizations.id, orgId));
    const [agent] = await insertAgents(t.database.db, orgId, [
      { name: "Ava", status: "active" },
      { name: "Ben", status: "active" },
      { name: "Cy", status: "draft" },
      { name: "Di", status: "paused" },
      { name: "Ed", status: "archived" },
    ]);
    await insertCalls(t.database.db, orgId, [
      {
        agentId: agent!.id,
        status: "completed",
        startedAt: new Date("2026-06-10T09:00:00Z"),
        durationSec: 100,
        leadScore: 70,
        outcome: "appointment_booked",
        creditsUsed: 3,
      },
      { status: "completed", startedAt: new Date("2026-06-09T09:00:00Z"), durationSec: 50, leadScore: 39, creditsUsed: 4 },
      { status: "completed", startedAt: new Date("2026-06-08T09:00:00Z"), durationSec: null, creditsUsed: 5 },
      { status: "failed", startedAt: new Date("2026-06-08T10:00:00Z"), durationSec: 999, leadScore: 69, outcome: "appointment_booked" },
      // outside a days=3 window (June 8–10): counted by the month's credits only
      { status: "completed", startedAt: new Date("2026-06-01T00:00:00Z"), durationSec: 10, leadScore: 100, creditsUsed: 7 },
    ]);
    await insertServiceWithAppointments(t.database.db, orgId, 5000, [
      { scheduledAt: new Date("2026-06-10T12:00:00Z"), status: "scheduled" }, // exactly now: counts
      { scheduledAt: new Date("2026-06-20T12:00:00Z"), status: "scheduled" },
      { scheduledAt: new Date("2026-06-10T11:59:59Z"), status: "scheduled" }, // past
      { scheduledAt: new Date("2026-06-20T12:00:00Z"), status: "cancelled" },
    ]);
    await insertServiceWithAppointments(t.database.db, orgId, 1250, [{ scheduledAt: new Date("2026-07-01T00:00:00Z"), status: "scheduled" }]);

    const json = await getOk(t, `${PATH}?days=3`, readKey);
    expect(json.data.calls).toEqual({ total: 4, completed: 3, successRate: 0.75, totalDurationSec: 150, avgDurationSec: 50 });
    expect(json.data.leads).toEqual({ total: 3, qualified: 1, conversionRate: 1 / 3, avgScore: (70 + 39 + 69) / 3, booked: 2 });
    expect(json.data.credits).toEqual({ balance: 4200, usedThisMonth: 19 });
    expect(json.data.agents).toEqual({ total: 4, active: 2, draft: 1, paused: 1 });
    expect(json.data.pipelineValueCents).toBe(11_250);
    expect(json.data.recentActivity.map((c: { startedAt: string }) => c.startedAt)).toEqual([
      "2026-06-10T09:00:00.000Z",
      "2026-06-09T09:00:00.000Z",
      "2026-06-08T10:00:00.000Z",
      "2026-06-08T09:00:00.000Z",
    ]);
    expect(json.data.recentActivity[0]).toMatchObject({
      status: "completed",
      direction: "inbound",
      durationSec: 100,
      outcome: "appointment_booked",
      leadScore: 70,
      agent: { id: agent!.id, name: "Ava" },
      contact: { name: "Contact 0", phone: "+14155550000" },
    });
    expect(json.data.recentActivity[1].agent).toBeNull();
  });

  it("lists only the 10 newest calls of the window, newest first", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    const starts = Array.from({ length: 14 }, (_, i) => new Date(Date.parse("2026-06-10T11:00:00Z") - i * 60_000));
    await insertCalls(t.database.db, orgId, [
      ...starts.map((startedAt, i) => ({ startedAt, contactIndex: i % 3 })),
      { startedAt: new Date("2026-06-10T12:00:00Z") }, // at `to`: outside the half-open window
    ]);
    const json = await getOk(t, `${PATH}?days=1`, readKey);
    expect(json.data.calls.total).toBe(14);
    expect(json.data.recentActivity.map((c: { startedAt: string }) => c.startedAt)).toEqual(starts.slice(0, 10).map((d) => d.toISOString()));
  });

  it.each([
    ["read raw", false],
    ["read from refreshed rollups", true],
  ] as const)("counts usedThisMonth over the current local calendar month, whatever the window (%s)", async (_read, refreshed) => {
    const settle = async () => {
      if (refreshed) await refreshRollups(t.database.db, clock.now());
    };
    // 03:30Z on April 1 is still March 31 (23:30 EDT) in New York
    clock.set("2026-04-01T03:30:00Z");
    const { orgId, readKey } = await t.createOrg({ timezone: "America/New_York" });
    await insertCalls(t.database.db, orgId, [
      { startedAt: new Date("2026-03-01T04:59:59Z"), creditsUsed: 1 }, // Feb 28, 23:59:59 EST
      { startedAt: new Date("2026-03-01T05:00:00Z"), creditsUsed: 10 }, // Mar 1, 00:00 EST
      { startedAt: new Date("2026-04-01T03:00:00Z"), creditsUsed: 100 }, // Mar 31, 23:00 EDT
      { startedAt: new Date("2026-04-01T04:00:00Z"), creditsUsed: 1000 }, // Apr 1, 00:00 EDT
    ]);
    await settle();
    const march = await getOk(t, `${PATH}?days=1`, readKey);
    expect(march.data.credits.usedThisMonth).toBe(110);
    expect(march.data.calls.total).toBe(1);
    clock.set("2026-04-01T04:00:00Z");
    await settle();
    const april = await getOk(t, `${PATH}?days=1`, readKey);
    expect(april.data.credits.usedThisMonth).toBe(1000);
    expect(april.meta.cache).toBe("miss");
  });

  it("reflects a call written through the API on the next read (a miss), and serves a repeat read from the cache", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { readKey, writeKey } = await t.createOrg();
    const first = await getOk(t, PATH, readKey);
    expect(first.meta.cache).toBe("miss");
    const again = await getOk(t, PATH, readKey);
    expect(again.meta.cache).toBe("hit");
    // a hit runs no read-model statement: at most the auth lookup
    expect(statementsOfLastRequest(t, PATH)).toBeLessThanOrEqual(1);
    const res = await t.request("POST", "/api/calls", {
      key: writeKey,
      body: {
        phoneNumber: "+14155550188",
        direction: "outbound",
        status: "completed",
        startedAt: "2026-06-10T11:00:00Z",
        durationSec: 60,
        leadScore: 80,
        creditsUsed: 2,
      },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const after = await getOk(t, PATH, readKey);
    expect(after.meta.cache).toBe("miss");
    expect(after.data.calls).toMatchObject({ total: 1, completed: 1, totalDurationSec: 60 });
    expect(after.data.leads).toMatchObject({ total: 1, qualified: 1, avgScore: 80 });
    expect(after.data.credits.usedThisMonth).toBe(2);
    expect(after.data.recentActivity[0]).toMatchObject({ id: (await body(res)).data.id, contact: { phone: "+14155550188" } });
  });

  it(`holds its statement budget (≤ ${BUDGET} besides auth) on a miss`, async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    const agents = await insertAgents(t.database.db, orgId, [{ name: "A" }, { name: "B" }]);
    await insertCalls(
      t.database.db,
      orgId,
      Array.from({ length: 30 }, (_, i) => ({
        agentId: agents[i % 2]!.id,
        startedAt: new Date(Date.parse("2026-06-10T00:00:00Z") + i * 60_000),
        contactIndex: i % 4,
      })),
    );
    const json = await getOk(t, PATH, readKey);
    expect(json.meta.cache).toBe("miss");
    const statements = statementsOfLastRequest(t, PATH);
    expect(statements).toBeLessThanOrEqual(1 + BUDGET);
    // the read model is one statement; the auth lookup adds one unless the key was seen recently (it is cached)
    expect(statements).toBeGreaterThanOrEqual(1);
    const counter = new StatementCounter();
    const now = clock.now();
    const org = { id: orgId, name: "Test Org", timezone: "UTC", creditsBalance: 0 };
    await readOverview({ db: t.database.withCounter(counter), org, now }, resolveWindow({ days: 30 }, org.timezone, now, 30));
    expect(counter.count).toBe(1);
  });

  it.each(BAD_WINDOWS)("answers 400 problem+json for %s", async (_name, query, field) => {
    const { readKey } = await t.createOrg();
    await expectBadWindow(t, readKey, PATH, query, field);
  });

  it("answers 401 without a key and 403 for an admin key", async () => {
    expect((await t.request("GET", PATH, { key: null })).status).toBe(401);
    expect((await t.request("GET", PATH)).status).toBe(403);
  });
});
