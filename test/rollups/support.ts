import { sql } from "drizzle-orm";
import { expect } from "vitest";
import { callMilestones, callObjections, calls, contacts } from "../../drizzle/schema";
import { rows, type Db } from "../../functions/db/database";
import { resolveWindow } from "../../functions/lib/windows";
import { agentTotals, callAnalytics, callCount, callTotals, dailySeries, hourOfDay, leadQuality, outcomeCounts, type CallFilters, type RollupWindow } from "../../functions/rollups/queries";
import type { CallSeed } from "../support/fixtures";
import { oracleAgents, oracleCalls, oracleDaily, oracleHours, oracleTotals } from "../oracle/rollups";

/** The zones every window is checked in: no DST, DST (US rules), +05:30, +05:45. */
export const ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"] as const;

/**
 * Inserts calls with their analysis, reusing the organization's contacts (test/support/fixtures' insertCalls creates
 * its contacts each time, so it serves the first load of an organization only).
 */
export async function addCalls(db: Db, orgId: string, seeds: CallSeed[]): Promise<string[]> {
  if (!seeds.length) return [];
  const phones = [...new Set(seeds.map((s) => `+1415777${String(s.contactIndex ?? 0).padStart(4, "0")}`))];
  await db.insert(contacts).values(phones.map((phone) => ({ orgId, phone, name: phone }))).onConflictDoNothing();
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
  const milestones = seeds.flatMap((s, i) => (s.milestones ?? []).map((m) => ({ callId: inserted[i]!.id, orgId, ...m })));
  const objections = seeds.flatMap((s, i) => (s.objections ?? []).map((o) => ({ callId: inserted[i]!.id, orgId, ...o })));
  if (milestones.length) await db.insert(callMilestones).values(milestones);
  if (objections.length) await db.insert(callObjections).values(objections);
  return inserted.map((r) => r.id);
}

/** Back to the state of a fresh database: no rollup rows, no marks, watermark and built_to at -infinity. */
export async function resetRollups(db: Db): Promise<void> {
  await db.execute(sql`DELETE FROM call_rollup_15m`);
  await db.execute(sql`DELETE FROM agent_rollup_hourly`);
  await db.execute(sql`DELETE FROM rollup_dirty`);
  await db.execute(sql`UPDATE rollup_state SET watermark = '-infinity', built_to = '-infinity' WHERE id = 1`);
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
  const raw = await oracleCalls(db, orgId, window);
  const dates = window.from && window.to ? resolveDates(window) : null;
  const expectedTotals = oracleTotals(raw);
  expect(roundAll(await callTotals(ctx, window)), `${label}: callTotals`).toEqual(roundAll(expectedTotals));
  expect(await callCount(ctx, window), `${label}: callCount`).toBe(expectedTotals.calls);
  expect(await callCount(ctx, window, filters), `${label}: callCount ${JSON.stringify(filters)}`).toBe(oracleTotals(raw, filters).calls);
  if (filters.direction && filters.status) {
    expect(await callCount(ctx, window, { direction: filters.direction }), `${label}: callCount direction`).toBe(oracleTotals(raw, { direction: filters.direction }).calls);
    expect(await callCount(ctx, window, { status: filters.status }), `${label}: callCount status`).toBe(oracleTotals(raw, { status: filters.status }).calls);
  }
  if (options.light) return;
  expect(await outcomeCounts(ctx, window), `${label}: outcomeCounts`).toEqual(expectedTotals.outcomes);
  expect(await leadQuality(ctx, window), `${label}: leadQuality`).toEqual(expectedTotals.leadQuality);
  const series = oracleDaily(raw, window.timezone, dates);
  expect(roundAll(await dailySeries(ctx, window)), `${label}: dailySeries`).toEqual(roundAll(series));
  const hours = oracleHours(raw, window.timezone);
  expect(await hourOfDay(ctx, window), `${label}: hourOfDay`).toEqual(hours);
  const analytics = await callAnalytics(ctx, window);
  expect(roundAll(analytics), `${label}: callAnalytics`).toEqual(roundAll({ totals: expectedTotals, series, byHourOfDay: hours }));
  expect(roundAll(await agentTotals(ctx, window)), `${label}: agentTotals`).toEqual(roundAll(oracleAgents(raw)));
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
