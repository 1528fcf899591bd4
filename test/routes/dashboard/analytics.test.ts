import { describe, expect, it } from "vitest";
import { CALL_OUTCOMES } from "../../../drizzle/schema/enums";
import { StatementCounter } from "../../../functions/db/database";
import { resolveWindow } from "../../../functions/lib/windows";
import { readAnalytics } from "../../../functions/read-models/analytics";
import { refreshRollups } from "../../../functions/rollups/refresh";
import { ManualClock } from "../../support/app";
import { insertCalls } from "../../support/fixtures";
import { BAD_WINDOWS, expectBadWindow, getOk, statementsOfLastRequest } from "./aggregate-support";
import { useTestApp } from "../../support/use-test-app";

const PATH = "/api/dashboard/analytics";
/** SPEC budget: at most 2 statements besides the auth lookup. */
const BUDGET = 2;

const clock = new ManualClock("2026-06-10T12:00:00Z");
const t = useTestApp({ clock });

const hours = (counts: Record<number, number>) => Array.from({ length: 24 }, (_, h) => counts[h] ?? 0);
const zeroOutcomes = Object.fromEntries(CALL_OUTCOMES.map((o) => [o, 0]));

/** Each local-time case is read as written (raw calls) and again from refreshed rollups (15-minute UTC buckets). */
const READS = [
  ["read raw", false],
  ["read from refreshed rollups", true],
] as const;
const settle = async (refreshed: boolean) => {
  if (refreshed) await refreshRollups(t.database.db, clock.now());
};

describe("GET /api/dashboard/analytics", () => {
  it("answers a zero-filled series of 7 local dates, every outcome at 0 and 24 zero hours for an empty organization", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { readKey } = await t.createOrg({ timezone: "Asia/Kolkata" });
    const json = await getOk(t, PATH, readKey);
    expect(json.data.series.map((p: { date: string }) => p.date)).toEqual([
      "2026-06-04",
      "2026-06-05",
      "2026-06-06",
      "2026-06-07",
      "2026-06-08",
      "2026-06-09",
      "2026-06-10",
    ]);
    expect(json.data.series[0]).toEqual({ date: "2026-06-04", calls: 0, completed: 0, leads: 0, qualified: 0, booked: 0 });
    expect(json.data.leadQuality).toEqual({ hot: 0, warm: 0, cold: 0 });
    expect(json.data.outcomes).toEqual(zeroOutcomes);
    expect(json.data.byHourOfDay).toEqual(hours({}));
    expect(json.meta).toMatchObject({
      asOf: "2026-06-10T12:00:00.000Z",
      cache: "miss",
      ttlSec: 30,
      from: "2026-06-03T18:30:00.000Z",
      timezone: "Asia/Kolkata",
    });
  });

  it("splits lead quality at 40 and 70, counts scored calls only, and names every outcome", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    const at = new Date("2026-06-10T08:00:00Z");
    await insertCalls(t.database.db, orgId, [
      { startedAt: at, leadScore: 39 },
      { startedAt: at, leadScore: 40 },
      { startedAt: at, leadScore: 69 },
      { startedAt: at, leadScore: 70, outcome: "appointment_booked" },
      { startedAt: at, leadScore: null, outcome: "appointment_booked", status: "failed" },
      { startedAt: at, leadScore: null, outcome: "voicemail", status: "missed" },
    ]);
    const json = await getOk(t, `${PATH}?days=1`, readKey);
    expect(json.data.leadQuality).toEqual({ hot: 1, warm: 2, cold: 1 });
    expect(json.data.outcomes).toEqual({ ...zeroOutcomes, appointment_booked: 2, voicemail: 1 });
    expect(json.data.series).toEqual([{ date: "2026-06-10", calls: 6, completed: 4, leads: 4, qualified: 1, booked: 2 }]);
    expect(json.data.byHourOfDay).toEqual(hours({ 8: 6 }));
  });

  it.each(READS)("puts both occurrences of a fall-back day's repeated hour into hour 1 (New York, Nov 1 2026; %s)", async (_read, refreshed) => {
    clock.set("2026-11-02T12:00:00Z");
    const { orgId, readKey } = await t.createOrg({ timezone: "America/New_York" });
    await insertCalls(t.database.db, orgId, [
      { startedAt: new Date("2026-11-01T04:30:00Z") }, // 00:30 EDT
      { startedAt: new Date("2026-11-01T05:30:00Z") }, // 01:30 EDT
      { startedAt: new Date("2026-11-01T06:30:00Z") }, // 01:30 EST, the repeat
      { startedAt: new Date("2026-11-01T07:30:00Z") }, // 02:30 EST
      { startedAt: new Date("2026-11-02T04:59:59Z") }, // 23:59:59 EST, still Nov 1
    ]);
    await settle(refreshed);
    const json = await getOk(t, `${PATH}?days=2`, readKey);
    expect(json.data.byHourOfDay).toEqual(hours({ 0: 1, 1: 2, 2: 1, 23: 1 }));
    expect(json.data.series.map((p: { date: string; calls: number }) => [p.date, p.calls])).toEqual([
      ["2026-11-01", 5],
      ["2026-11-02", 0],
    ]);
  });

  it.each(READS)("leaves a spring-forward day's skipped hour 2 at 0 (New York, Mar 8 2026; %s)", async (_read, refreshed) => {
    clock.set("2026-03-08T20:00:00Z");
    const { orgId, readKey } = await t.createOrg({ timezone: "America/New_York" });
    await insertCalls(t.database.db, orgId, [
      { startedAt: new Date("2026-03-08T06:59:59Z") }, // 01:59:59 EST
      { startedAt: new Date("2026-03-08T07:00:00Z") }, // 03:00 EDT: the clock skipped 02:xx
      { startedAt: new Date("2026-03-08T07:30:00Z") }, // 03:30 EDT
    ]);
    await settle(refreshed);
    const json = await getOk(t, `${PATH}?days=1`, readKey);
    expect(json.meta.from).toBe("2026-03-08T05:00:00.000Z");
    expect(json.data.byHourOfDay).toEqual(hours({ 1: 1, 3: 2 }));
  });

  it.each(READS)("starts a Kathmandu (+5:45) day at 18:15Z: a call a millisecond earlier belongs to the day before (%s)", async (_read, refreshed) => {
    clock.set("2026-05-01T06:00:00Z"); // 11:45 in Kathmandu
    const { orgId, readKey } = await t.createOrg({ timezone: "Asia/Kathmandu" });
    await insertCalls(t.database.db, orgId, [
      { startedAt: new Date("2026-04-30T18:14:59.999Z") }, // Apr 30, 23:59:59.999
      { startedAt: new Date("2026-04-30T18:15:00.000Z") }, // May 1, 00:00
    ]);
    await settle(refreshed);
    const today = await getOk(t, `${PATH}?days=1`, readKey);
    expect(today.meta.from).toBe("2026-04-30T18:15:00.000Z");
    expect(today.data.series).toEqual([{ date: "2026-05-01", calls: 1, completed: 1, leads: 0, qualified: 0, booked: 0 }]);
    expect(today.data.byHourOfDay).toEqual(hours({ 0: 1 }));
    const twoDays = await getOk(t, `${PATH}?days=2`, readKey);
    expect(twoDays.data.series.map((p: { date: string; calls: number }) => [p.date, p.calls])).toEqual([
      ["2026-04-30", 1],
      ["2026-05-01", 1],
    ]);
    expect(twoDays.data.byHourOfDay).toEqual(hours({ 0: 1, 23: 1 }));
  });

  it("takes a from/to window of up to 90 local dates and refuses one that touches 91", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { readKey } = await t.createOrg();
    const ok = await getOk(t, `${PATH}?days=90`, readKey);
    expect(ok.data.series).toHaveLength(90);
    const span = await getOk(t, `${PATH}?from=2026-03-01T00:00:00Z&to=2026-05-30T00:00:00Z`, readKey);
    expect(span.data.series).toHaveLength(90);
    await expectBadWindow(t, readKey, PATH, "from=2026-03-01T00:00:00Z&to=2026-05-30T00:00:01Z", "from");
  });

  it("answers a window in the last quarter hour of 9999-12-31, whose start the rollup grid rounds into year 10000", async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { readKey } = await t.createOrg();
    const window = "from=9999-12-31T23:50:00Z&to=9999-12-31T23:59:59Z";
    const json = await getOk(t, `${PATH}?${window}`, readKey);
    expect(json.data.series).toEqual([{ date: "9999-12-31", calls: 0, completed: 0, leads: 0, qualified: 0, booked: 0 }]);
    // the other routes that read the rollups over a window
    for (const path of ["/api/dashboard/overview", "/api/analytics/agent-variance", "/api/calls"]) await getOk(t, `${path}?${window}`, readKey);
  });

  it(`holds its statement budget (≤ ${BUDGET} besides auth) on a miss`, async () => {
    clock.set("2026-06-10T12:00:00Z");
    const { orgId, readKey } = await t.createOrg();
    await insertCalls(
      t.database.db,
      orgId,
      Array.from({ length: 40 }, (_, i) => ({
        startedAt: new Date(Date.parse("2026-06-04T00:00:00Z") + i * 3 * 3_600_000),
        leadScore: i * 2,
        outcome: CALL_OUTCOMES[i % 6]!,
      })),
    );
    const json = await getOk(t, `${PATH}?days=30`, readKey);
    expect(json.meta.cache).toBe("miss");
    const statements = statementsOfLastRequest(t, PATH);
    expect(statements).toBeLessThanOrEqual(1 + BUDGET);
    // the read model is one statement; the auth lookup adds one unless the key was seen recently (it is cached)
    expect(statements).toBeGreaterThanOrEqual(1);
    const counter = new StatementCounter();
    const now = clock.now();
    const org = { id: orgId, name: "Test Org", timezone: "UTC", creditsBalance: 0 };
    await readAnalytics({ db: t.database.withCounter(counter), org, now }, resolveWindow({ days: 30 }, org.timezone, now, 7));
    expect(counter.count).toBe(1);
  });

  it.each(BAD_WINDOWS)("answers 400 problem+json for %s", async (_name, query, field) => {
    const { readKey } = await t.createOrg();
    await expectBadWindow(t, readKey, PATH, query, field);
  });
});
