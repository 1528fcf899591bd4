import { sql } from "drizzle-orm";
import { CALL_OUTCOMES } from "../../../drizzle/schema/enums";
import { rows, type Db } from "../../../functions/db/database";
import type { AgentTotals, CallFilters, CallTotals, DailyPoint, RollupWindow } from "../../../functions/rollups/queries";

/**
 * The reference the rollup query layer is held to: the window's raw calls fetched with a plain WHERE, their analysis
 * counted with a plain GROUP BY per call, and every aggregate computed here in JavaScript — local dates and hours
 * from Intl, not from Postgres — so it shares no SQL and no bucket arithmetic with the code under test.
 */

type RawCall = {
  id: string;
  agent_id: string | null;
  direction: string;
  status: string;
  started_at: string | Date;
  duration_sec: number | null;
  credits_used: number;
  outcome: string | null;
  lead_score: number | null;
  milestones: number;
  milestones_achieved: number;
  objections: number;
  objections_handled: number;
};

/** Every call of the organization in [from, to) (null = unbounded) with its analysis counts. */
export async function oracleCalls(db: Db, orgId: string, window: Pick<RollupWindow, "from" | "to">): Promise<RawCall[]> {
  const from = window.from ? sql`AND c.started_at >= ${window.from.toISOString()}::timestamptz` : sql``;
  const to = window.to ? sql`AND c.started_at < ${window.to.toISOString()}::timestamptz` : sql``;
  return rows<RawCall>(
    db,
    sql`SELECT c.id, c.agent_id, c.direction::text, c.status::text, c.started_at, c.duration_sec, c.credits_used, c.outcome::text, c.lead_score,
               coalesce(m.n, 0)::int AS milestones, coalesce(m.achieved, 0)::int AS milestones_achieved,
               coalesce(o.n, 0)::int AS objections, coalesce(o.handled, 0)::int AS objections_handled
          FROM calls c
          LEFT JOIN (SELECT call_id, count(*) AS n, count(*) FILTER (WHERE achieved) AS achieved FROM call_milestones WHERE org_id = ${orgId}::uuid GROUP BY call_id) m ON m.call_id = c.id
          LEFT JOIN (SELECT call_id, count(*) AS n, count(*) FILTER (WHERE handled) AS handled FROM call_objections WHERE org_id = ${orgId}::uuid GROUP BY call_id) o ON o.call_id = c.id
         WHERE c.org_id = ${orgId}::uuid ${from} ${to}`,
  );
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Local calendar date and wall-clock hour of an instant, straight from Intl. */
function local(at: Date, timeZone: string): { date: string; hour: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", hourCycle: "h23" });
    formatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, hour: Number(p.hour) };
}

const matches = (c: RawCall, f: CallFilters) => (!f.direction || c.direction === f.direction) && (!f.status || c.status === f.status);

export function oracleTotals(calls: RawCall[], filters: CallFilters = {}): CallTotals {
  const t: CallTotals = {
    calls: 0,
    completed: 0,
    durationCompletedSum: 0,
    scored: 0,
    qualified: 0,
    scoreSum: 0,
    booked: 0,
    creditsUsed: 0,
    leadQuality: { hot: 0, warm: 0, cold: 0 },
    outcomes: Object.fromEntries(CALL_OUTCOMES.map((o) => [o, 0])) as CallTotals["outcomes"],
  };
  for (const c of calls) {
    if (!matches(c, filters)) continue;
    t.calls += 1;
    if (c.status === "completed") {
      t.completed += 1;
      t.durationCompletedSum += c.duration_sec ?? 0;
    }
    if (c.lead_score !== null) {
      t.scored += 1;
      t.scoreSum += c.lead_score;
      if (c.lead_score >= 70) t.leadQuality.hot += 1;
      else if (c.lead_score >= 40) t.leadQuality.warm += 1;
      else t.leadQuality.cold += 1;
      if (c.lead_score >= 70) t.qualified += 1;
    }
    if (c.outcome === "appointment_booked") t.booked += 1;
    if (c.outcome !== null) t.outcomes[c.outcome as keyof CallTotals["outcomes"]] += 1;
    t.creditsUsed += c.credits_used;
  }
  return t;
}

/** Points for the given local dates (zero-filled), or for the dates that have calls when `dates` is null. */
export function oracleDaily(calls: RawCall[], timeZone: string, dates: string[] | null): DailyPoint[] {
  const byDate = new Map<string, RawCall[]>();
  for (const c of calls) {
    const d = local(new Date(c.started_at), timeZone).date;
    byDate.set(d, [...(byDate.get(d) ?? []), c]);
  }
  const keys = dates ?? [...byDate.keys()].sort();
  return keys.map((date) => {
    const { leadQuality: _q, outcomes: _o, ...counters } = oracleTotals(byDate.get(date) ?? []);
    return { date, ...counters };
  });
}

export function oracleHours(calls: RawCall[], timeZone: string): number[] {
  const out = Array.from({ length: 24 }, () => 0);
  for (const c of calls) out[local(new Date(c.started_at), timeZone).hour]! += 1;
  return out;
}

export function oracleAgents(calls: RawCall[]): AgentTotals[] {
  const by = new Map<string, AgentTotals>();
  for (const c of calls) {
    if (c.agent_id === null) continue;
    const a =
      by.get(c.agent_id) ??
      ({
        agentId: c.agent_id,
        calls: 0,
        completed: 0,
        durationCompletedSum: 0,
        scored: 0,
        scoreSum: 0,
        booked: 0,
        creditsUsed: 0,
        milestones: 0,
        milestonesAchieved: 0,
        objections: 0,
        objectionsHandled: 0,
      } satisfies AgentTotals);
    a.calls += 1;
    if (c.status === "completed") {
      a.completed += 1;
      a.durationCompletedSum += c.duration_sec ?? 0;
    }
    if (c.lead_score !== null) {
      a.scored += 1;
      a.scoreSum += c.lead_score;
    }
    if (c.outcome === "appointment_booked") a.booked += 1;
    a.creditsUsed += c.credits_used;
    a.milestones += c.milestones;
    a.milestonesAchieved += c.milestones_achieved;
    a.objections += c.objections;
    a.objectionsHandled += c.objections_handled;
    by.set(c.agent_id, a);
  }
  return [...by.values()].sort((x, y) => (x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0));
}
