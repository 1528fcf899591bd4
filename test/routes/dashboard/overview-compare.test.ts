import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StatementCounter } from "../../../functions/db/database";
import { previousWindow, resolveWindow } from "../../../functions/lib/windows";
import { readOverview } from "../../../functions/read-models/overview";
import { refreshRollups } from "../../../functions/rollups/refresh";
import { ManualClock } from "../../support/app";
import { arbitraryCall, insertAgentsWithCalls, insertCalls } from "../../support/fixtures";
import { nearlyEqual } from "../../support/oracle/agents";
import { loadRawOrg, overviewOracle } from "../../support/oracle/dashboard";
import { ZONES } from "../../rollups/support";
import { getOk, statementsOfLastRequest } from "./aggregate-support";
import { useTestApp } from "../../support/use-test-app";

const PATH = "/api/dashboard/overview";

const clock = new ManualClock("2026-06-10T12:00:00Z");
const t = useTestApp({ clock });

const ZERO = {
  calls: { total: 0, completed: 0, successRate: null, totalDurationSec: 0, avgDurationSec: null },
  leads: { total: 0, qualified: 0, conversionRate: null, avgScore: null, booked: 0 },
};

/** The previous window by other means than the route: `days=N` as the N-day window of the instant before this one starts. */
function expectedPrevious(query: { days?: number; from?: string; to?: string }, zone: string, now: Date) {
  const w = resolveWindow(query, zone, now, 30);
  if (query.from !== undefined || query.to !== undefined) return { from: new Date(2 * w.from.getTime() - w.to.getTime()), to: w.from, window: w };
  const before = resolveWindow({ days: query.days ?? 30 }, zone, new Date(w.from.getTime() - 1), 30);
  return { from: before.from, to: w.from, window: w };
}

describe("GET /api/dashboard/overview?compare=previous", () => {
  it("answers the previous N local days' calls and leads, and meta.previous", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    await insertCalls(t.database.db, orgId, [
      { status: "completed", startedAt: new Date("2026-06-10T09:00:00Z"), durationSec: 100, leadScore: 70 },
      // June 5–7: the previous window of days=3 (June 8–10)
      { status: "completed", startedAt: new Date("2026-06-07T23:59:59Z"), durationSec: 30, leadScore: 90, outcome: "appointment_booked" },
      { status: "failed", startedAt: new Date("2026-06-05T00:00:00Z"), leadScore: 20 },
      { status: "completed", startedAt: new Date("2026-06-04T23:59:59Z"), durationSec: 999 }, // before it
    ]);
    const json = await getOk(t, `${PATH}?days=3&compare=previous`, readKey);
    expect(json.data.calls.total).toBe(1);
    expect(json.data.previous).toEqual({
      calls: { total: 2, completed: 1, successRate: 0.5, totalDurationSec: 30, avgDurationSec: 30 },
      leads: { total: 2, qualified: 1, conversionRate: 0.5, avgScore: 55, booked: 1 },
    });
    expect(json.meta).toMatchObject({
      from: "2026-06-08T00:00:00.000Z",
      to: "2026-06-10T12:00:00.000Z",
      previous: { from: "2026-06-05T00:00:00.000Z", to: "2026-06-08T00:00:00.000Z" },
    });
  });

  it("takes [from − (to − from), from) for an explicit window", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    await insertCalls(t.database.db, orgId, [
      { startedAt: new Date("2026-06-09T06:00:00Z") }, // previous: [06:00, 09:00)
      { startedAt: new Date("2026-06-09T08:59:59Z") },
      { startedAt: new Date("2026-06-09T09:00:00Z") }, // the window
      { startedAt: new Date("2026-06-09T05:59:59Z") }, // before both
    ]);
    const json = await getOk(t, `${PATH}?from=2026-06-09T09:00:00Z&to=2026-06-09T12:00:00Z&compare=previous`, readKey);
    expect(json.data.calls.total).toBe(1);
    expect(json.data.previous.calls.total).toBe(2);
    expect(json.meta.previous).toEqual({ from: "2026-06-09T06:00:00.000Z", to: "2026-06-09T09:00:00.000Z" });
  });

  it("reads a previous window across a DST change as whole local days (47 hours here), raw and from refreshed rollups", async () => {
    // New York springs forward on 2026-03-08: days=2 on March 10 is March 9–10, the previous window March 7–8
    clock.set("2026-03-10T16:00:00Z");
    const { orgId, readKey } = await t.createOrg({ timezone: "America/New_York" });
    await insertCalls(t.database.db, orgId, [
      { startedAt: new Date("2026-03-07T04:59:59Z") }, // March 6, 23:59:59 EST: before
      { startedAt: new Date("2026-03-07T05:00:00Z") }, // March 7, 00:00 EST
      { startedAt: new Date("2026-03-08T07:30:00Z") }, // March 8, 03:30 EDT (just after the gap)
      { startedAt: new Date("2026-03-09T03:59:59Z") }, // March 8, 23:59:59 EDT
      { startedAt: new Date("2026-03-09T04:00:00Z") }, // March 9, 00:00 EDT: the window
    ]);
    const raw = await getOk(t, `${PATH}?days=2&compare=previous`, readKey);
    expect(raw.meta.previous).toEqual({ from: "2026-03-07T05:00:00.000Z", to: "2026-03-09T04:00:00.000Z" });
    expect(raw.data.previous.calls.total).toBe(3);
    expect(raw.data.calls.total).toBe(1);
    await refreshRollups(t.database.db, clock.now());
    await t.deps.cache.invalidateOrg(orgId);
    const rolled = await getOk(t, `${PATH}?days=2&compare=previous`, readKey);
    expect(rolled.data).toEqual(raw.data);
  });

  it("answers zeros and null rates for a previous window before the oldest data", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    await insertCalls(t.database.db, orgId, [{ status: "completed", startedAt: new Date("2026-06-10T09:00:00Z"), durationSec: 10 }]);
    await refreshRollups(t.database.db, clock.now());
    const json = await getOk(t, `${PATH}?days=90&compare=previous`, readKey);
    expect(json.data.previous).toEqual(ZERO);
    expect(json.meta.previous).toEqual({ from: "2025-12-13T00:00:00.000Z", to: "2026-03-13T00:00:00.000Z" });
    const early = await getOk(t, `${PATH}?from=1970-01-01T00:00:00Z&to=1970-01-02T00:00:00Z&compare=previous`, readKey);
    expect(early.data.previous).toEqual(ZERO);
    expect(early.meta.previous).toEqual({ from: "1969-12-31T00:00:00.000Z", to: "1970-01-01T00:00:00.000Z" });
  });

  it("leaves the answer and its cache entry unchanged without compare", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    await insertCalls(t.database.db, orgId, [{ startedAt: new Date("2026-06-10T09:00:00Z") }]);
    const plain = await getOk(t, PATH, readKey);
    expect(plain.meta.cache).toBe("miss");
    expect(plain.data).not.toHaveProperty("previous");
    expect(plain.meta).not.toHaveProperty("previous");
    const compared = await getOk(t, `${PATH}?compare=previous`, readKey);
    expect(compared.meta.cache).toBe("miss");
    const { previous: _previous, ...rest } = compared.data;
    expect(rest).toEqual(plain.data);
    expect((await getOk(t, PATH, readKey)).meta.cache).toBe("hit");
    expect((await getOk(t, `${PATH}?compare=previous`, readKey)).meta.cache).toBe("hit");
  });

  it("answers 400 problem+json for any compare but previous", async () => {
    const { readKey } = await t.createOrg();
    for (const value of ["next", "", "PREVIOUS", "previous,previous"]) {
      const res = await t.request("GET", `${PATH}?compare=${encodeURIComponent(value)}`, { key: readKey });
      const text = await res.text();
      expect(res.status, text).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(text).toContain("compare");
    }
  });

  it("reads both windows in one statement on a miss", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    await insertCalls(t.database.db, orgId, [{ startedAt: new Date("2026-06-01T09:00:00Z") }, { startedAt: new Date("2026-05-01T09:00:00Z") }]);
    const json = await getOk(t, `${PATH}?compare=previous`, readKey);
    expect(json.meta.cache).toBe("miss");
    expect(statementsOfLastRequest(t, PATH)).toBeLessThanOrEqual(2);
    const counter = new StatementCounter();
    const now = clock.now();
    const org = { id: orgId, name: "Test Org", timezone: "UTC", creditsBalance: 0 };
    const window = resolveWindow({ days: 30 }, org.timezone, now, 30);
    await readOverview({ db: t.database.withCounter(counter), org, now }, { ...window, previous: previousWindow({ days: 30 }, window, 30) });
    expect(counter.count).toBe(1);
  });

  it.each(ZONES)("equals the raw oracle for both windows in %s, raw and from the rollups", async (zone) => {
    const now = new Date("2026-03-10T15:20:00Z"); // two days after New York's spring-forward
    clock.set(now);
    const { orgId, readKey } = await t.createOrg({ timezone: zone });
    const seeds = fc.sample(arbitraryCall(now, 20, 2), { numRuns: 120, seed: 21 });
    await insertAgentsWithCalls(t.database.db, orgId, [{ name: "A" }, { name: "B" }], seeds);
    const queries = [
      { days: 1 },
      { days: 3 },
      { days: 7 },
      { from: "2026-03-07T05:07:00.000Z", to: "2026-03-09T11:00:00.000Z" },
      { from: "2026-03-08T00:00:00.000Z" },
    ];
    for (const refreshed of [false, true]) {
      if (refreshed) await refreshRollups(t.database.db, new Date(now.getTime() - 3 * 86400_000));
      await t.deps.cache.invalidateOrg(orgId);
      const raw = await loadRawOrg(t.database.db, orgId);
      for (const query of queries) {
        const qs = new URLSearchParams({ ...Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])), compare: "previous" });
        const json = await getOk(t, `${PATH}?${qs}`, readKey);
        const expected = expectedPrevious(query, zone, now);
        const label = `${zone} ${qs} refreshed=${refreshed}`;
        expect(json.meta.previous, label).toEqual({ from: expected.from.toISOString(), to: expected.to.toISOString() });
        const { calls, leads } = overviewOracle(raw, expected, now);
        const diff = nearlyEqual(json.data.previous, { calls, leads });
        expect(diff, `${label}: ${diff}`).toBeNull();
        const own = overviewOracle(raw, expected.window, now);
        expect(nearlyEqual(json.data.calls, own.calls), label).toBeNull();
      }
    }
  });
});
