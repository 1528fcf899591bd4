import { getTableColumns, sql } from "drizzle-orm";
import { expect } from "vitest";
import { callMilestones, callObjections, callRollupHourly, calls, contacts } from "../../drizzle/schema";
import { rows, type Db } from "../../functions/db/database";
import { resolveWindow } from "../../functions/lib/windows";
import { agentTotals, callAnalytics, callCount, callTotals, type CallFilters, type RollupWindow } from "../../functions/rollups/queries";
import type { CallSeed } from "../support/fixtures";
import { body, type TestApp } from "../support/app";
import { expectedAgentList, expectedAgentPerformance, expectedVariance, nearlyEqual, readRawOrg } from "../support/oracle/agents";
import { analyticsOracle, coverageOracle, loadRawOrg, overviewOracle } from "../support/oracle/dashboard";
import { oracleAgents, oracleCalls, oracleDaily, oracleHours, oracleTotals } from "../support/oracle/rollups";

/** The zones every window is checked in: no DST, DST (US rules), +05:30, +05:45. */
export const ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"] as const;

/**
 * Inserts calls with their analysis, reusing the organization's contacts (test/support/fixtures' insertCalls creates
 * its contacts each time, so it serves the first load of an organization only).
 */
export async function addCalls(db: Db, orgId: string, seeds: CallSeed[]): Promise<string[]> {
  if (!seeds.length) return [];
  const phones = [...new Set(seeds.map((s) => `+1415777${String(s.contactIndex ?? 0).padStart(4, "0")}`))];
  await db
    .insert(contacts)
    .values(phones.map((phone) => ({ orgId, phone, name: phone })))
    .onConflictDoNothing();
  const found = await rows<{ id: string; phone: string }>(db, sql`SELECT id, phone FROM contacts WHERE org_id = ${orgId}::uuid`);
  const contactByPhone = new Map(found.map((c) => [c.phone, c.id]));
  const inserted = await db
    .insert(calls)
    .values(
      seeds.map((s) => {
        const phone = `+1415777${String(s.contactIndex ?? 0).padStart(4, "0")}`;
        return {
          orgId,
          agentId: s.agentId ?? null,
          contactId: contactByPhone.get(phone)!,
          direction: s.direction ?? "inbound",
          status: s.status ?? "completed",
          phoneNumber: phone,
          startedAt: s.startedAt,
          durationSec: s.durationSec ?? null,
          creditsUsed: s.creditsUsed ?? 0,
          outcome: s.outcome ?? null,
          leadScore: s.leadScore ?? null,
        };
      }),
    )
    .returning({ id: calls.id });
  // seeds' times are whole milliseconds, so a Date holds the call's key exactly
  const key = (i: number) => ({ callId: inserted[i]!.id, callStartedAt: seeds[i]!.startedAt, orgId });
  const milestones = seeds.flatMap((s, i) => (s.milestones ?? []).map((m) => ({ ...key(i), ...m })));
  const objections = seeds.flatMap((s, i) => (s.objections ?? []).map((o) => ({ ...key(i), ...o })));
  if (milestones.length) await db.insert(callMilestones).values(milestones);
  if (objections.length) await db.insert(callObjections).values(objections);
  return inserted.map((r) => r.id);
}

/** Back to the state of a fresh database: no rollup or coverage rows, no marks, watermark and both built points at -infinity. */
export async function resetRollups(db: Db): Promise<void> {
  await db.execute(sql`DELETE FROM call_rollup_15m`);
  await db.execute(sql`DELETE FROM call_rollup_hourly`);
  await db.execute(sql`DELETE FROM agent_rollup_hourly`);
  await db.execute(sql`DELETE FROM agent_rollup_daily`);
  await db.execute(sql`DELETE FROM rollup_dirty`);
  await db.execute(sql`DELETE FROM rollup_agent_delta`);
  await db.execute(sql`DELETE FROM coverage_15m`);
  await db.execute(sql`DELETE FROM coverage_dirty`);
  await db.execute(sql`UPDATE rollup_state SET watermark = '-infinity', built_to = '-infinity', coverage_built_to = '-infinity' WHERE id = 1`);
}

/** Every stored rollup row of one organization (15-minute and hourly call rows, hourly and daily agent rows), in key order: to compare states. */
export async function storedRollups(db: Db, orgId: string) {
  return {
    calls: await rows(db, sql`SELECT * FROM call_rollup_15m WHERE org_id = ${orgId}::uuid ORDER BY bucket_start`),
    hours: await rows(db, sql`SELECT * FROM call_rollup_hourly WHERE org_id = ${orgId}::uuid ORDER BY bucket_start`),
    agents: await rows(db, sql`SELECT * FROM agent_rollup_hourly WHERE org_id = ${orgId}::uuid ORDER BY bucket_start, agent_id`),
    days: await rows(db, sql`SELECT * FROM agent_rollup_daily WHERE org_id = ${orgId}::uuid ORDER BY day_start, agent_id`),
  };
}

export async function rollupState(db: Db): Promise<{ watermark: string; builtTo: string; marks: number }> {
  const [r] = await rows<{ w: string; b: string; marks: number }>(
    db,
    sql`SELECT watermark::text AS w, built_to::text AS b, (SELECT count(*)::int FROM rollup_dirty) AS marks FROM rollup_state WHERE id = 1`,
  );
  return { watermark: r!.w, builtTo: r!.b, marks: r!.marks };
}

/** A days=N window of `zone` ending at `now`, as the read routes resolve it. */
export const daysWindow = (days: number, zone: string, now: Date): RollupWindow => {
  const w = resolveWindow({ days }, zone, now, days);
  return { from: w.from, to: w.to, timezone: zone };
};

const round = (n: number) => Math.round(n * 1e6) / 1e6;
const roundAll = <T>(value: T): T => JSON.parse(JSON.stringify(value), (_k, v) => (typeof v === "number" ? round(v) : v)) as T;

/**
 * Every query-layer function against the oracle for one window: totals, counts (all, and by `filters`), outcomes, lead quality,
 * daily series, hours of the day, the combined analytics and per-agent totals (`light`: the totals only). `label`
 * names the case on failure.
 */
export async function expectExact(
  db: Db,
  orgId: string,
  window: RollupWindow,
  label: string,
  filters: CallFilters = {},
  options: { light?: boolean } = {},
): Promise<void> {
  const ctx = { db, orgId };
  await expectHoursSumQuarters(db, orgId, label);
  const raw = await oracleCalls(db, orgId, window);
  const dates = window.from && window.to ? resolveDates(window) : null;
  const expectedTotals = oracleTotals(raw);
  expect(roundAll(await callTotals(ctx, window)), `${label}: callTotals`).toEqual(roundAll(expectedTotals));
  expect(await callCount(ctx, window), `${label}: callCount`).toBe(expectedTotals.calls);
  expect(await callCount(ctx, window, filters), `${label}: callCount ${JSON.stringify(filters)}`).toBe(oracleTotals(raw, filters).calls);
  if (filters.direction && filters.status) {
    expect(await callCount(ctx, window, { direction: filters.direction }), `${label}: callCount direction`).toBe(
      oracleTotals(raw, { direction: filters.direction }).calls,
    );
    expect(await callCount(ctx, window, { status: filters.status }), `${label}: callCount status`).toBe(oracleTotals(raw, { status: filters.status }).calls);
  }
  if (options.light) return;
  const series = oracleDaily(raw, window.timezone, dates);
  const hours = oracleHours(raw, window.timezone);
  const analytics = await callAnalytics(ctx, window);
  expect(roundAll(analytics), `${label}: callAnalytics`).toEqual(roundAll({ totals: expectedTotals, series, byHourOfDay: hours }));
  expect(roundAll(await agentTotals(ctx, window)), `${label}: agentTotals`).toEqual(roundAll(oracleAgents(raw)));
}

/** The counter columns of call_rollup_hourly (those of call_rollup_15m). */
const HOURLY_COLUMNS = Object.values(getTableColumns(callRollupHourly))
  .map((c) => c.name)
  .filter((name) => name !== "org_id" && name !== "bucket_start");

/**
 * The invariant the hourly call rows rest on: each call_rollup_hourly row of the organization is the sum of its hour's
 * call_rollup_15m rows, and an hour has a row exactly when it has 15-minute rows.
 */
export async function expectHoursSumQuarters(db: Db, orgId: string, label: string): Promise<void> {
  const differing = await rows(
    db,
    sql`WITH q AS (
          SELECT org_id, date_bin('1 hour', bucket_start, '1970-01-01 00:00:00+00') AS bucket_start,
                 ${sql.raw(HOURLY_COLUMNS.map((c) => `sum(${c})::bigint AS ${c}`).join(", "))}
            FROM call_rollup_15m WHERE org_id = ${orgId}::uuid GROUP BY 1, 2),
        h AS (SELECT org_id, bucket_start, ${sql.raw(HOURLY_COLUMNS.map((c) => `${c}::bigint AS ${c}`).join(", "))}
                FROM call_rollup_hourly WHERE org_id = ${orgId}::uuid)
        (SELECT 'hourly' AS side, * FROM h EXCEPT ALL SELECT 'hourly', * FROM q)
        UNION ALL
        (SELECT 'quarters' AS side, * FROM q EXCEPT ALL SELECT 'quarters', * FROM h)`,
  );
  expect(differing, `${label}: call_rollup_hourly = sums of call_rollup_15m`).toEqual([]);
}

/** The local dates of a bounded window, from Intl (independently of functions/lib/windows). */
function resolveDates(window: RollupWindow): string[] {
  const f = new Intl.DateTimeFormat("en-CA", { timeZone: window.timezone, year: "numeric", month: "2-digit", day: "2-digit" });
  const out: string[] = [];
  const last = Math.max(window.from!.getTime(), window.to!.getTime() - 1);
  // step by hours: every local date of the range has at least one whole hour in it
  for (let t = window.from!.getTime(); t <= last; t += 3600_000) {
    const d = f.format(new Date(t));
    if (out[out.length - 1] !== d) out.push(d);
  }
  const lastDate = f.format(new Date(last));
  if (out[out.length - 1] !== lastDate) out.push(lastDate);
  return out;
}

/** A route's window: `days=N` (local days of the organization's zone, up to now), or explicit instants. */
export type RouteWindow = { days: number } | { from: Date; to: Date };

/** The calls list filters every route check counts: rollup-counted ones, and the raw-counted agent filter. */
const LIST_FILTERS: { direction?: string; status?: string; agent?: true }[] = [
  { direction: "inbound", status: "completed" },
  { status: "missed" },
  {},
  { agent: true },
];

async function getJson(t: TestApp, path: string, key: string, label: string) {
  const res = await t.request("GET", path, { key });
  const json = await body(res);
  expect(res.status, `${label}: GET ${path}: ${JSON.stringify(json)}`).toBe(200);
  return json;
}

function expectNearly(actual: unknown, expected: unknown, label: string) {
  const diff = nearlyEqual(actual, expected);
  expect(diff, `${label}: ${diff} — ${JSON.stringify({ actual, expected })}`).toBeNull();
}

/**
 * Every aggregate route of one organization, read through the app at `now` on a cache miss (the organization's cache
 * version is moved on first), against the raw-row oracles of test/support/oracle: the overview, analytics, coverage, the agents
 * list, the agent variance, every agent's performance, and the calls list's `meta.total` for several filters (the window's, and unbounded).
 */
export async function expectRoutesExact(t: TestApp, org: { orgId: string; readKey: string }, now: Date, window: RouteWindow, label: string): Promise<void> {
  const db = t.database.db;
  await t.deps.cache.invalidateOrg(org.orgId);
  const raw = await loadRawOrg(db, org.orgId);
  const agentsRaw = await readRawOrg(db, org.orgId);
  const tz = raw.timezone;
  const query: Record<string, string> = "days" in window ? { days: String(window.days) } : { from: window.from.toISOString(), to: window.to.toISOString() };
  const qs = new URLSearchParams(query).toString();
  const windowOf = (defaultDays: number) => resolveWindow("days" in window ? { days: window.days } : { from: query.from, to: query.to }, tz, now, defaultDays);

  const windowed = async (path: string, defaultDays: number) => {
    const json = await getJson(t, `${path}?${qs}`, org.readKey, label);
    const w = windowOf(defaultDays);
    // computed from the database, not served from the cache: a miss, or a bypass for a window the cache does not keep
    // (one off the whole minute, issue #18)
    expect(json.meta, `${label}: ${path} meta`).toMatchObject({
      cache: expect.stringMatching(/^(miss|bypass)$/),
      asOf: now.toISOString(),
      from: w.from.toISOString(),
      to: w.to.toISOString(),
    });
    return { data: json.data, w };
  };
  const overview = await windowed("/api/dashboard/overview", 30);
  expectNearly(overview.data, overviewOracle(raw, overview.w, now), `${label}: overview`);
  // compare=previous: the window of the same length before it (the N local days before, or [from − span, from))
  const compared = await getJson(t, `/api/dashboard/overview?${qs}&compare=previous`, org.readKey, label);
  const before =
    "days" in window
      ? { from: resolveWindow({ days: window.days }, tz, new Date(overview.w.from.getTime() - 1), window.days).from, to: overview.w.from }
      : { from: new Date(2 * overview.w.from.getTime() - overview.w.to.getTime()), to: overview.w.from };
  expect(compared.meta.previous, `${label}: overview meta.previous`).toEqual({ from: before.from.toISOString(), to: before.to.toISOString() });
  const { calls: previousCalls, leads: previousLeads } = overviewOracle(raw, before, now);
  expectNearly(compared.data.previous, { calls: previousCalls, leads: previousLeads }, `${label}: overview previous`);
  const analytics = await windowed("/api/dashboard/analytics", 7);
  expectNearly(analytics.data, analyticsOracle(raw, analytics.w), `${label}: analytics`);
  const coverage = await windowed("/api/coverage", 7);
  expectNearly(coverage.data, coverageOracle(raw, coverage.w, now), `${label}: coverage`);
  const variance = await windowed("/api/analytics/agent-variance", 30);
  expectNearly(variance.data, expectedVariance(agentsRaw, variance.w), `${label}: agent variance`);

  // one agent's story: every agent of the organization, and one that does not exist
  for (const agentId of [...agentsRaw.agents.map((a) => a.id), "00000000-0000-4000-8000-000000000000"]) {
    const expected = expectedAgentPerformance(agentsRaw, agentId, windowOf(30), tz);
    const res = await t.request("GET", `/api/agents/${agentId}/performance?${qs}`, { key: org.readKey });
    const json = await body(res);
    if (expected === null) {
      expect(res.status, `${label}: unknown agent ${JSON.stringify(json)}`).toBe(404);
      continue;
    }
    expect(res.status, `${label}: agent performance ${JSON.stringify(json)}`).toBe(200);
    const w = windowOf(30);
    expect(json.meta, `${label}: agent performance meta`).toMatchObject({
      cache: expect.stringMatching(/^(miss|bypass)$/),
      from: w.from.toISOString(),
      to: w.to.toISOString(),
    });
    expectNearly(json.data, expected, `${label}: agent performance ${agentId}`);
  }

  const agentList = await getJson(t, "/api/agents", org.readKey, label);
  expect(agentList.meta.cache, `${label}: agents meta`).toBe("miss");
  const listed = agentList.data.map(({ voice: _voice, ...rest }: Record<string, unknown>) => rest);
  expectNearly(listed, expectedAgentList(agentsRaw, tz, now), `${label}: agents`);

  const w = windowOf(30);
  const agentId = raw.agents[0]?.id;
  for (const bounded of [true, false])
    for (const f of bounded ? LIST_FILTERS : [{}]) {
      if (f.agent && !agentId) continue;
      const params = new URLSearchParams({ limit: "1" });
      if (bounded) {
        params.set("from", w.from.toISOString());
        params.set("to", w.to.toISOString());
      }
      if (f.direction) params.set("direction", f.direction);
      if (f.status) params.set("status", f.status);
      if (f.agent) params.set("agentId", agentId!);
      const json = await getJson(t, `/api/calls?${params}`, org.readKey, label);
      const expected = raw.calls.filter(
        (c) =>
          (!bounded || (c.startedAt.getTime() >= w.from.getTime() && c.startedAt.getTime() < w.to.getTime())) &&
          (!f.direction || c.direction === f.direction) &&
          (!f.status || c.status === f.status) &&
          (!f.agent || c.agentId === agentId),
      ).length;
      expect(json.meta.total, `${label}: calls list total ?${params}`).toBe(expected);
    }
}
