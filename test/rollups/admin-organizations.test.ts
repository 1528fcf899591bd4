import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { jobContext } from "../../functions/jobs/context";
import { runJob } from "../../functions/jobs/run";
import { resolveWindow } from "../../functions/lib/windows";
import { body, ManualClock } from "../support/app";
import type { CallSeed } from "../support/fixtures";
import { oracleCalls, oracleTotals } from "../support/oracle/rollups";
import { addCalls } from "./support";
import { useTestApp } from "../support/use-test-app";

const clock = new ManualClock("2026-11-20T10:07:00Z");
const t = useTestApp({ clock });

const DAY = 86400_000;

/** `n` calls spread over the `days` before now, with scores and credits that differ by organization. */
function spread(n: number, days: number, credits: number, offsetDays = 0): CallSeed[] {
  const now = clock.now().getTime();
  return Array.from({ length: n }, (_, i) => ({
    startedAt: new Date(now - offsetDays * DAY - ((i + 0.5) / n) * days * DAY),
    status: i % 3 ? "completed" : "missed",
    leadScore: i % 2 ? 75 : i % 5 ? 30 : null,
    creditsUsed: credits,
    contactIndex: i % 4,
  }));
}

async function expected(orgId: string, timezone: string) {
  const w = resolveWindow({ days: 30 }, timezone, clock.now(), 30);
  const totals = oracleTotals(await oracleCalls(t.database.db, orgId, w));
  return {
    calls30d: totals.calls,
    completed30d: totals.completed,
    leads30d: totals.scored,
    qualified30d: totals.qualified,
    creditsUsed30d: totals.creditsUsed,
  };
}

describe("GET /api/admin/organizations", () => {
  const orgs: { orgId: string; timezone: string; writeKey: string; name: string }[] = [];

  beforeAll(async () => {
    for (const [name, timezone, calls, credits] of [
      ["Alpha", "UTC", 30, 1],
      ["Beta", "Asia/Kolkata", 50, 0],
      ["Gamma", "America/New_York", 12, 9],
    ] as const) {
      const org = await t.createOrg({ name, timezone });
      orgs.push({ ...org, timezone, name });
      await addCalls(t.database.db, org.orgId, spread(calls, 29.5, credits));
      await addCalls(t.database.db, org.orgId, spread(7, 5, credits, 30.6)); // before the 30 local days
    }
    await runJob("refresh-rollups", jobContext(t.deps));
    // after the rollups: a back-dated change (a dirty bucket) and a call past the watermark
    await t.database.db.execute(sql`UPDATE calls SET status = 'completed', lead_score = 90 WHERE org_id = ${orgs[2]!.orgId}::uuid AND status = 'missed'`);
    await addCalls(t.database.db, orgs[0]!.orgId, [
      { startedAt: new Date(clock.now().getTime() - 60_000), status: "completed", creditsUsed: 40, contactIndex: 9 },
    ]);
    const report = await runJob("refresh-admin-view", jobContext(t.deps));
    expect(report).toMatchObject({ job: "refresh-admin-view", organizations: 3, asOf: "2026-11-20T10:07:00.000Z" });
  });

  it("answers every organization's last 30 local days, exact as of the refresh, sorted by calls30d by default", async () => {
    const res = await t.request("GET", "/api/admin/organizations");
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.meta).toMatchObject({ asOf: "2026-11-20T10:07:00.000Z", sort: "calls30d", count: 3 });
    for (const org of orgs) {
      const row = json.data.find((r: { id: string }) => r.id === org.orgId);
      expect(row, JSON.stringify(json)).toEqual({ id: org.orgId, name: org.name, timezone: org.timezone, ...(await expected(org.orgId, org.timezone)) });
    }
    expect(json.data.map((r: { name: string }) => r.name)).toEqual(["Beta", "Alpha", "Gamma"]);
  });

  it("sorts by any numeric field, descending", async () => {
    for (const sort of ["calls30d", "completed30d", "leads30d", "qualified30d", "creditsUsed30d"]) {
      const res = await t.request("GET", `/api/admin/organizations?sort=${sort}`);
      const json = await body(res);
      expect(res.status, JSON.stringify(json)).toBe(200);
      const values = json.data.map((r: Record<string, number>) => r[sort]);
      expect(values, sort).toEqual([...values].sort((a, b) => b - a));
    }
    const credits = await body(await t.request("GET", "/api/admin/organizations?sort=creditsUsed30d"));
    expect(credits.data[0].name).toBe("Gamma");
  });

  it("answers 400 for an unknown sort and 403 for an organization's key", async () => {
    const bad = await t.request("GET", "/api/admin/organizations?sort=name");
    const problem = await body(bad);
    expect(bad.status, JSON.stringify(problem)).toBe(400);
    expect(problem.errors?.[0]?.path).toBe("query.sort");
    expect((await t.request("GET", "/api/admin/organizations", { key: orgs[0]!.writeKey })).status).toBe(403);
  });

  it("moves meta.asOf and the figures on with the next refresh", async () => {
    clock.advance(5 * 60_000);
    await addCalls(t.database.db, orgs[2]!.orgId, [
      { startedAt: new Date(clock.now().getTime() - 30_000), status: "completed", creditsUsed: 3, contactIndex: 8 },
    ]);
    const stale = await body(await t.request("GET", "/api/admin/organizations"));
    expect(stale.meta.asOf).toBe("2026-11-20T10:07:00.000Z");
    await runJob("refresh-admin-view", jobContext(t.deps));
    const fresh = await body(await t.request("GET", "/api/admin/organizations"));
    expect(fresh.meta.asOf).toBe("2026-11-20T10:12:00.000Z");
    const gamma = fresh.data.find((r: { id: string }) => r.id === orgs[2]!.orgId);
    expect(gamma).toMatchObject(await expected(orgs[2]!.orgId, "America/New_York"));
  });
});
