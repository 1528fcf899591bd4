import { describe, expect, it } from "vitest";
import { StatementCounter } from "../../../functions/db/database";
import { resolveWindow } from "../../../functions/lib/windows";
import { readCoverage } from "../../../functions/read-models/coverage";
import { ManualClock } from "../../support/app";
import { insertAgents, insertSessions } from "../../support/fixtures";
import { BAD_WINDOWS, expectBadWindow, getOk, statementsOfLastRequest } from "./aggregate-support";
import { useTestApp } from "../../support/use-test-app";

const PATH = "/api/coverage";
/** SPEC budget: at most 1 statement besides the auth lookup. */
const BUDGET = 1;

const clock = new ManualClock("2026-06-10T12:30:00Z");
const t = useTestApp({ clock });

type Hour = { date: string; hour: number; agentSeconds: number; coveredSeconds: number };
const byHour = (data: Hour[], date: string) => data.filter((h) => h.date === date).map((h) => [h.agentSeconds, h.coveredSeconds]);
const at = (iso: string) => new Date(iso);

async function orgWithAgents(timezone: string, count: number) {
  const org = await t.createOrg({ timezone });
  const agents = await insertAgents(
    t.database.db,
    org.orgId,
    Array.from({ length: count }, (_, i) => ({ name: `Agent ${i}` })),
  );
  return { ...org, agentIds: agents.map((a) => a.id) };
}

describe("GET /api/coverage", () => {
  it("answers every local date × hour 0–23 of the window, ascending and zero-filled", async () => {
    clock.set("2026-06-10T12:30:00Z");
    const { readKey } = await t.createOrg({ timezone: "Australia/Adelaide" });
    const json = await getOk(t, PATH, readKey);
    expect(json.data).toHaveLength(7 * 24);
    expect(json.data[0]).toEqual({ date: "2026-06-04", hour: 0, agentSeconds: 0, coveredSeconds: 0 });
    expect(json.data.at(-1)).toEqual({ date: "2026-06-10", hour: 23, agentSeconds: 0, coveredSeconds: 0 });
    expect(json.meta).toMatchObject({ asOf: "2026-06-10T12:30:00.000Z", cache: "miss", ttlSec: 30, timezone: "Australia/Adelaide" });
  });

  it("counts an open session up to meta.asOf", async () => {
    clock.set("2026-06-10T12:30:00Z");
    const { orgId, readKey, agentIds } = await orgWithAgents("UTC", 1);
    await insertSessions(t.database.db, orgId, [{ agentId: agentIds[0]!, startedAt: at("2026-06-10T10:15:00Z"), endedAt: null }]);
    const json = await getOk(t, `${PATH}?days=1`, readKey);
    expect(json.meta.asOf).toBe("2026-06-10T12:30:00.000Z");
    const today = byHour(json.data, "2026-06-10");
    expect(today.slice(9, 14)).toEqual([
      [0, 0],
      [2700, 2700],
      [3600, 3600],
      [1800, 1800],
      [0, 0],
    ]);
  });

  it("sums agents' online seconds (an agent's overlapping sessions once) and counts covered seconds as their union", async () => {
    clock.set("2026-06-10T12:30:00Z");
    const { orgId, readKey, agentIds } = await orgWithAgents("UTC", 2);
    const [a, b] = agentIds as [string, string];
    await insertSessions(t.database.db, orgId, [
      { agentId: a, startedAt: at("2026-06-10T10:00:00Z"), endedAt: at("2026-06-10T10:40:00Z") },
      { agentId: a, startedAt: at("2026-06-10T10:20:00Z"), endedAt: at("2026-06-10T11:00:00Z") },
      { agentId: b, startedAt: at("2026-06-10T10:30:00Z"), endedAt: at("2026-06-10T10:45:00Z") },
      { agentId: b, startedAt: at("2026-06-10T11:30:00Z"), endedAt: at("2026-06-10T11:30:01.500Z") },
    ]);
    const today = byHour((await getOk(t, `${PATH}?days=1`, readKey)).data, "2026-06-10");
    expect(today[10]).toEqual([4500, 3600]);
    expect(today[11]).toEqual([1.5, 1.5]);
  });

  it("gives a fall-back day's hour 1 two real hours (7200 s) in New York", async () => {
    clock.set("2026-11-02T12:00:00Z");
    const { orgId, readKey, agentIds } = await orgWithAgents("America/New_York", 2);
    // the whole local day Nov 1: 00:00 EDT (04:00Z) to 00:00 EST on Nov 2 (05:00Z), 25 hours
    await insertSessions(
      t.database.db,
      orgId,
      agentIds.map((agentId) => ({ agentId, startedAt: at("2026-11-01T03:00:00Z"), endedAt: at("2026-11-02T06:00:00Z") })),
    );
    const json = await getOk(t, `${PATH}?days=2`, readKey);
    const nov1 = byHour(json.data, "2026-11-01");
    expect(nov1[0]).toEqual([7200, 3600]);
    expect(nov1[1]).toEqual([14_400, 7200]);
    expect(nov1[2]).toEqual([7200, 3600]);
    expect(nov1.reduce((s, [, covered]) => s + covered!, 0)).toBe(25 * 3600);
    expect(byHour(json.data, "2026-11-02")[0]).toEqual([7200, 3600]);
  });

  it("leaves a spring-forward day's hour 2 at 0 in New York", async () => {
    clock.set("2026-03-09T12:00:00Z");
    const { orgId, readKey, agentIds } = await orgWithAgents("America/New_York", 1);
    await insertSessions(t.database.db, orgId, [{ agentId: agentIds[0]!, startedAt: at("2026-03-08T00:00:00Z"), endedAt: at("2026-03-09T06:00:00Z") }]);
    const json = await getOk(t, `${PATH}?from=2026-03-08T05:00:00Z&to=2026-03-09T04:00:00Z`, readKey);
    expect(json.data).toHaveLength(24);
    const mar8 = byHour(json.data, "2026-03-08");
    expect(mar8[1]).toEqual([3600, 3600]);
    expect(mar8[2]).toEqual([0, 0]);
    expect(mar8[3]).toEqual([3600, 3600]);
    expect(mar8.reduce((s, [, covered]) => s + covered!, 0)).toBe(23 * 3600);
  });

  it("clips sessions to the window: a Kathmandu (+5:45) day starts at 18:15Z", async () => {
    clock.set("2026-05-01T06:00:00Z");
    const { orgId, readKey, agentIds } = await orgWithAgents("Asia/Kathmandu", 1);
    await insertSessions(t.database.db, orgId, [{ agentId: agentIds[0]!, startedAt: at("2026-04-30T18:00:00Z"), endedAt: at("2026-04-30T18:30:00Z") }]);
    const json = await getOk(t, `${PATH}?days=1`, readKey);
    expect(json.meta.from).toBe("2026-04-30T18:15:00.000Z");
    expect(json.data).toHaveLength(24);
    expect(json.data[0]).toEqual({ date: "2026-05-01", hour: 0, agentSeconds: 900, coveredSeconds: 900 });
    expect(json.data.slice(1).every((h: Hour) => h.agentSeconds === 0)).toBe(true);
    const twoDays = await getOk(t, `${PATH}?days=2`, readKey);
    expect(byHour(twoDays.data, "2026-04-30")[23]).toEqual([900, 900]);
  });

  it(`holds its statement budget (≤ ${BUDGET} besides auth) on a miss`, async () => {
    clock.set("2026-06-10T12:30:00Z");
    const { orgId, readKey, agentIds } = await orgWithAgents("America/New_York", 3);
    await insertSessions(
      t.database.db,
      orgId,
      Array.from({ length: 30 }, (_, i) => ({
        agentId: agentIds[i % 3]!,
        startedAt: new Date(Date.parse("2026-06-04T00:00:00Z") + i * 4 * 3_600_000),
        endedAt: new Date(Date.parse("2026-06-04T00:00:00Z") + i * 4 * 3_600_000 + 5 * 3_600_000),
      })),
    );
    const json = await getOk(t, `${PATH}?days=30`, readKey);
    expect(json.meta.cache).toBe("miss");
    expect(json.data).toHaveLength(30 * 24);
    const statements = statementsOfLastRequest(t, PATH);
    expect(statements).toBeLessThanOrEqual(1 + BUDGET);
    // the read model is one statement; the auth lookup adds one unless the key was seen recently (it is cached)
    expect(statements).toBeGreaterThanOrEqual(1);
    const counter = new StatementCounter();
    const now = clock.now();
    const org = { id: orgId, name: "Test Org", timezone: "America/New_York", creditsBalance: 0 };
    await readCoverage({ db: t.database.withCounter(counter), org, now }, resolveWindow({ days: 30 }, org.timezone, now, 7));
    expect(counter.count).toBe(1);
  });

  it("refuses a from/to window that touches more than 90 local dates", async () => {
    const { readKey } = await t.createOrg();
    await expectBadWindow(t, readKey, PATH, "from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z", "from");
  });

  it.each(BAD_WINDOWS)("answers 400 problem+json for %s", async (_name, query, field) => {
    const { readKey } = await t.createOrg();
    await expectBadWindow(t, readKey, PATH, query, field);
  });
});
