import { describe, expect, it } from "vitest";
import { jobContext } from "../../functions/jobs/context";
import { jobRegistry } from "../../functions/jobs/registry";
import { runJob } from "../../functions/jobs/run";
import { WARMED_READS } from "../../functions/jobs/warm-cache";
import { body, ManualClock } from "../support/app";
import { insertAgents, insertSessions } from "../support/fixtures";
import { useTestApp } from "../support/use-test-app";

const NOW = new Date("2026-03-16T15:30:00Z");
const HOUR = 3_600_000;
const clock = new ManualClock(NOW);
const t = useTestApp({ clock });

/** Every read the dashboard makes that the job warms: the routes' defaults and the dashboard page's `days=30`. */
const WARMED_PATHS = [
  "/api/dashboard/overview",
  "/api/dashboard/overview?days=30",
  "/api/dashboard/analytics",
  "/api/dashboard/analytics?days=7",
  "/api/dashboard/analytics?days=30",
  "/api/coverage",
  "/api/coverage?days=30",
  "/api/agents",
  "/api/analytics/agent-variance",
  "/api/analytics/agent-variance?days=30",
  "/api/settings",
  "/api/services",
  "/api/inbound-config",
];

async function cacheStatus(path: string, key: string): Promise<string> {
  const res = await t.request("GET", path, { key });
  const json = await body(res);
  expect(res.status, `${path}: ${JSON.stringify(json)}`).toBe(200);
  return json.meta.cache;
}

const statuses = async (key: string) => Object.fromEntries(await Promise.all(WARMED_PATHS.map(async (p) => [p, await cacheStatus(p, key)] as const)));

/** An organization with agents, a session and one call posted at the clock's current time (so created now). */
async function organizationWithACall(name: string) {
  const org = await t.createOrg({ name, timezone: "America/New_York" });
  const [agent] = await insertAgents(t.database.db, org.orgId, [{ name: "Ada" }, { name: "Bo" }]);
  await insertSessions(t.database.db, org.orgId, [{ agentId: agent!.id, startedAt: new Date(clock.now().getTime() - 2 * HOUR), endedAt: null }]);
  const res = await t.request("POST", "/api/calls", {
    key: org.writeKey,
    body: {
      phoneNumber: "+14155550100",
      direction: "inbound",
      status: "in_progress",
      agentId: agent!.id,
      startedAt: new Date(clock.now().getTime() - 60_000).toISOString(),
    },
  });
  const call = await body(res);
  expect(res.status, JSON.stringify(call)).toBe(201);
  return { ...org, callId: call.data.id as string };
}

describe("warm-cache", () => {
  it("is registered every 5 minutes", () => {
    expect(jobRegistry["warm-cache"].cron).toBe("*/5 * * * *");
  });

  it("makes every dashboard read of an organization active in the last hour a hit, and leaves an inactive one alone", async () => {
    clock.set(NOW.getTime() - 3 * HOUR);
    const quiet = await organizationWithACall("Quiet");
    clock.set(NOW);
    const busy = await organizationWithACall("Busy");

    const report = await runJob("warm-cache", jobContext(t.deps));
    expect(report.skipped, JSON.stringify(report)).toBeUndefined();
    expect(report).toMatchObject({ job: "warm-cache", errors: 0 });
    expect(report.orgs).toBeGreaterThanOrEqual(1);
    expect(report.keysWarmed).toBe((report.orgs as number) * WARMED_READS.length);
    expect(report.rowsRead).toBe(report.orgs);
    expect(typeof report.durationMs).toBe("number");

    expect(await statuses(busy.readKey)).toEqual(Object.fromEntries(WARMED_PATHS.map((p) => [p, "hit"])));
    // a hit costs no statement at all once the key's grant is cached too
    await t.request("GET", "/api/dashboard/overview", { key: busy.readKey });
    expect(t.logs.filter((l) => l.msg === "request").at(-1)!.statements).toBe(0);

    expect(await cacheStatus("/api/dashboard/overview", quiet.readKey)).toBe("miss");
    expect(await cacheStatus("/api/agents", quiet.readKey)).toBe("miss");
  });

  it("is idempotent: a second run finds every key fresh and loads nothing", async () => {
    clock.set(NOW.getTime() + HOUR / 2);
    await organizationWithACall("Twice");
    const first = await runJob("warm-cache", jobContext(t.deps));
    expect(first.keysWarmed as number).toBeGreaterThan(0);
    const second = await runJob("warm-cache", jobContext(t.deps));
    expect(second, JSON.stringify(second)).toMatchObject({ keysWarmed: 0, keysFresh: (second.orgs as number) * WARMED_READS.length, errors: 0 });
  });

  it("warms an organization whose only recent activity is a change to an older call, and refreshes stale values", async () => {
    clock.set(NOW.getTime() + 2 * HOUR);
    const org = await organizationWithACall("Changed");
    clock.advance(2 * HOUR);
    expect(await cacheStatus("/api/agents", org.readKey)).toBe("miss");
    const patched = await t.request("PATCH", `/api/calls/${org.callId}`, { key: org.writeKey, body: { status: "completed", durationSec: 90 } });
    expect(patched.status, await patched.clone().text()).toBe(200);
    // the write moved the organization's data version: everything misses, and the job loads it all
    const report = await runJob("warm-cache", jobContext(t.deps));
    expect(report.errors).toBe(0);
    expect(await statuses(org.readKey)).toEqual(Object.fromEntries(WARMED_PATHS.map((p) => [p, "hit"])));

    // 3 minutes on, the aggregates are stale (fresh 30 s): the next run refreshes them and waits for it
    clock.advance(3 * 60_000);
    expect(await cacheStatus("/api/dashboard/overview", org.readKey)).toBe("stale");
    const again = await runJob("warm-cache", jobContext(t.deps));
    expect(again.keysWarmed as number).toBeGreaterThan(0);
    const overview = await body(await t.request("GET", "/api/dashboard/overview", { key: org.readKey }));
    expect(overview.meta.cache).toBe("hit");
    expect(overview.meta.asOf).toBe(clock.now().toISOString());
  });

  it("runs from the admin route and answers its report", async () => {
    const res = await t.request("POST", "/api/admin/jobs/warm-cache/run");
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data).toMatchObject({ job: "warm-cache", errors: 0 });
    expect(json.data).toHaveProperty("orgs");
    expect(json.data).toHaveProperty("keysWarmed");
    expect(json.data).toHaveProperty("rowsRead");
  });
});
