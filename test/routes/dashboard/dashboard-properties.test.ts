import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { eq } from "drizzle-orm";
import { appointments, organizations } from "../../../drizzle/schema";
import { AGENT_STATUSES, APPOINTMENT_STATUSES } from "../../../drizzle/schema/enums";
import { resolveWindow } from "../../../functions/lib/windows";
import { refreshRollups } from "../../../functions/rollups/refresh";
import { body, ManualClock } from "../../support/app";
import { arbitraryCall, bindAgents, insertAgents, insertCalls, insertContacts, insertServiceWithAppointments, insertSessions } from "../../support/fixtures";
import { analyticsOracle, coverageOracle, loadRawOrg, overviewOracle } from "../../support/oracle/dashboard";
import { useTestApp } from "../../support/use-test-app";

const ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Adelaide"] as const;
/** Fixed instants near the edges that matter: New York's DST changes (incl. inside the repeated hour), Adelaide's, a month turn. */
const NOWS = [
  "2026-03-08T07:30:00.000Z", // NY: half an hour after spring forward
  "2026-03-09T14:20:00.000Z", // NY: the day after spring forward
  "2026-11-01T05:40:00.000Z", // NY: first pass of the repeated hour 01:xx (EDT)
  "2026-11-01T06:30:00.000Z", // NY: second pass of the repeated hour 01:xx (EST)
  "2026-11-03T12:00:00.000Z", // NY: two days after fall back
  "2026-04-01T03:30:00.000Z", // NY: still March 31 locally, already April in UTC
  "2026-04-05T17:00:00.000Z", // Adelaide: the evening after its DST ends
  "2026-10-04T01:00:00.000Z", // Adelaide: the morning its DST starts
  "2026-07-15T12:00:00.000Z",
] as const;
const DAY_MS = 86_400_000;
const RUNS = Number(process.env.DASHBOARD_PROPERTY_RUNS ?? 20);

const clock = new ManualClock(NOWS[0]);
const t = useTestApp({ clock });

const windowArbitrary = (now: number) =>
  fc.oneof(
    fc.record({ days: fc.integer({ min: 1, max: 12 }) }),
    fc.constant({}),
    fc
      .tuple(fc.integer({ min: -12 * DAY_MS, max: DAY_MS }), fc.integer({ min: -12 * DAY_MS, max: DAY_MS }))
      .map(([a, b]) => ({ from: new Date(now + Math.min(a, b)).toISOString(), to: new Date(now + Math.max(a, b)).toISOString() })),
    fc.integer({ min: -12 * DAY_MS, max: 0 }).map((a) => ({ from: new Date(now + a).toISOString() })),
  );

const scenario = fc.constantFrom(...NOWS).chain((nowIso) => {
  const now = new Date(nowIso);
  return fc.record({
    now: fc.constant(now),
    timezone: fc.constantFrom(...ZONES),
    creditsBalance: fc.integer({ min: 0, max: 1_000_000 }),
    agentStatuses: fc.array(fc.constantFrom(...AGENT_STATUSES), { maxLength: 4 }),
    calls: fc.array(arbitraryCall(now, 12, 4), { maxLength: 150 }),
    // a few calls after now: outside a days window, inside a from/to window that reaches past now
    futureCalls: fc.array(arbitraryCall(new Date(now.getTime() + DAY_MS), 1, 4), { maxLength: 4 }),
    sessions: fc.array(
      fc.record({
        agentIndex: fc.integer({ min: 0, max: 3 }),
        startOffsetMs: fc.integer({ min: -13 * DAY_MS, max: 3_600_000 }),
        lengthMs: fc.option(fc.integer({ min: 0, max: 30 * 3_600_000 }), { nil: null, freq: 4 }),
      }),
      { maxLength: 12 },
    ),
    appointments: fc.array(
      fc.record({
        offsetMs: fc.integer({ min: -5 * DAY_MS, max: 5 * DAY_MS }),
        status: fc.constantFrom(...APPOINTMENT_STATUSES),
        priceCents: fc.constantFrom(0, 1999, 25_000, null),
      }),
      { maxLength: 6 },
    ),
    // whether the rollups are refreshed before reading (else the calls are read raw: they are past the watermark or in
    // buckets marked dirty by an earlier run's refresh)
    refreshed: fc.boolean(),
    overviewWindow: windowArbitrary(now.getTime()),
    analyticsWindow: windowArbitrary(now.getTime()),
    coverageWindow: windowArbitrary(now.getTime()),
  });
});

type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

async function seed(s: Scenario) {
  const { orgId, readKey } = await t.createOrg({ name: "Property Org", timezone: s.timezone });
  const db = t.database.db;
  await db.update(organizations).set({ creditsBalance: s.creditsBalance }).where(eq(organizations.id, orgId));
  const agentRows = await insertAgents(
    db,
    orgId,
    s.agentStatuses.map((status, i) => ({ name: `Agent ${i}`, status })),
  );
  const agentIds = agentRows.map((a) => a.id);
  await insertCalls(db, orgId, bindAgents([...s.calls, ...s.futureCalls], agentIds));
  await insertSessions(
    db,
    orgId,
    s.sessions.flatMap((x) => {
      const agentId = agentIds[x.agentIndex];
      if (!agentId) return [];
      const startedAt = new Date(s.now.getTime() + x.startOffsetMs);
      return [{ agentId, startedAt, endedAt: x.lengthMs === null ? null : new Date(startedAt.getTime() + x.lengthMs) }];
    }),
  );
  for (const price of [...new Set(s.appointments.map((a) => a.priceCents))]) {
    const appts = s.appointments.filter((a) => a.priceCents === price).map((a) => ({ scheduledAt: new Date(s.now.getTime() + a.offsetMs), status: a.status }));
    if (price !== null) await insertServiceWithAppointments(db, orgId, price, appts);
    else {
      const [contact] = await insertContacts(db, orgId, ["+14157770000"]);
      await db.insert(appointments).values(appts.map((a) => ({ orgId, contactId: contact!.id, serviceId: null, ...a })));
    }
  }
  return { orgId, readKey };
}

const queryString = (q: Record<string, string | number>) => {
  const s = new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)])).toString();
  return s ? `?${s}` : "";
};

async function get(path: string, key: string) {
  const res = await t.request("GET", path, { key });
  const json = await body(res);
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

describe("dashboard aggregates equal the raw-row oracle", () => {
  it(`for random organizations, windows and zones (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        clock.set(s.now);
        const { orgId, readKey } = await seed(s);
        if (s.refreshed) await refreshRollups(t.database.db, s.now);
        const raw = await loadRawOrg(t.database.db, orgId);

        const ow = resolveWindow(s.overviewWindow, s.timezone, s.now, 30);
        const overview = await get(`/api/dashboard/overview${queryString(s.overviewWindow)}`, readKey);
        expect(overview.meta).toMatchObject({
          from: ow.from.toISOString(),
          to: ow.to.toISOString(),
          asOf: s.now.toISOString(),
          cache: expect.stringMatching(/^(miss|bypass)$/),
        });
        // an explicit window off the whole minute is computed, never cached (issue #18): "bypass", as exact as a miss
        expect(overview.data).toEqual(overviewOracle(raw, ow, s.now));

        const aw = resolveWindow(s.analyticsWindow, s.timezone, s.now, 7);
        const analytics = await get(`/api/dashboard/analytics${queryString(s.analyticsWindow)}`, readKey);
        expect(analytics.meta).toMatchObject({ from: aw.from.toISOString(), to: aw.to.toISOString() });
        expect(analytics.data).toEqual(analyticsOracle(raw, aw));

        const cw = resolveWindow(s.coverageWindow, s.timezone, s.now, 7);
        const coverage = await get(`/api/coverage${queryString(s.coverageWindow)}`, readKey);
        expect(coverage.data).toEqual(coverageOracle(raw, cw, s.now));
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
