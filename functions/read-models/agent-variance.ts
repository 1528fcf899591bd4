import { sql } from "drizzle-orm";
import { cacheNamespace } from "../cache/namespaces";
import { rows, type Db } from "../db/database";
import type { OrgContext } from "../deps";
import type { Window } from "../lib/windows";

/**
 * Agent variance (SPEC §5 `GET /api/analytics/agent-variance`): per-agent metrics over a window, the team's
 * distribution of each, and every agent's z-scores. One statement whatever the number of agents; the SQL answers
 * integer counts and sums only, and every rate, mean and deviation is computed here, so the figures do not depend
 * on the driver's float formatting.
 */

export const VARIANCE_METRICS = [
  "calls",
  "completionRate",
  "avgDurationSec",
  "avgLeadScore",
  "bookingRate",
  "milestoneRate",
  "objectionHandledRate",
] as const;
export type VarianceMetric = (typeof VARIANCE_METRICS)[number];

export type AgentVarianceEntry = {
  agentId: string;
  name: string;
  calls: number;
  completionRate: number | null;
  avgDurationSec: number | null;
  avgLeadScore: number | null;
  bookingRate: number | null;
  milestoneRate: number | null;
  objectionHandledRate: number | null;
  zScores: Record<VarianceMetric, number | null>;
};

export type TeamStat = { mean: number | null; stddev: number | null; min: number | null; max: number | null };

export type AgentVariance = {
  from: string;
  to: string;
  agents: AgentVarianceEntry[];
  team: Record<VarianceMetric, TeamStat>;
};

/** The raw counts of one agent in the window: what the SQL answers and the N+1 reference reproduces. */
export type AgentCallCounts = {
  agentId: string;
  name: string;
  calls: number;
  completed: number;
  completedDurationSec: number;
  scored: number;
  scoreSum: number;
  booked: number;
  milestones: number;
  milestonesAchieved: number;
  objections: number;
  objectionsHandled: number;
};

type CountsRow = {
  agent_id: string;
  name: string;
  calls: number;
  completed: number;
  completed_duration_sec: number;
  scored: number;
  score_sum: number;
  booked: number;
  milestones: number;
  milestones_achieved: number;
  objections: number;
  objections_handled: number;
};

/**
 * Every agent with a call in the window (archived ones too: they made those calls) and every non-archived agent
 * without, by name, with their raw counts: one statement.
 */
export async function agentCallCounts(db: Db, orgId: string, window: Pick<Window, "from" | "to">): Promise<AgentCallCounts[]> {
  const found = await rows<CountsRow>(
    db,
    sql`
    WITH window_calls AS (
      SELECT id, agent_id, status, duration_sec, lead_score, outcome
        FROM calls
       WHERE org_id = ${orgId}
         AND agent_id IS NOT NULL
         AND started_at >= ${window.from.toISOString()}::timestamptz
         AND started_at < ${window.to.toISOString()}::timestamptz
    ),
    per_agent AS (
      SELECT agent_id,
             count(*)::int AS calls,
             count(*) FILTER (WHERE status = 'completed')::int AS completed,
             coalesce(sum(duration_sec) FILTER (WHERE status = 'completed'), 0)::float8 AS completed_duration_sec,
             count(lead_score)::int AS scored,
             coalesce(sum(lead_score), 0)::float8 AS score_sum,
             count(*) FILTER (WHERE outcome = 'appointment_booked')::int AS booked
        FROM window_calls
       GROUP BY agent_id
    ),
    milestones AS (
      SELECT w.agent_id, count(*)::int AS milestones, count(*) FILTER (WHERE m.achieved)::int AS achieved
        FROM window_calls w
        JOIN call_milestones m ON m.call_id = w.id AND m.org_id = ${orgId}
       GROUP BY w.agent_id
    ),
    objections AS (
      SELECT w.agent_id, count(*)::int AS objections, count(*) FILTER (WHERE o.handled)::int AS handled
        FROM window_calls w
        JOIN call_objections o ON o.call_id = w.id AND o.org_id = ${orgId}
       GROUP BY w.agent_id
    )
    SELECT a.id AS agent_id, a.name,
           coalesce(p.calls, 0) AS calls,
           coalesce(p.completed, 0) AS completed,
           coalesce(p.completed_duration_sec, 0) AS completed_duration_sec,
           coalesce(p.scored, 0) AS scored,
           coalesce(p.score_sum, 0) AS score_sum,
           coalesce(p.booked, 0) AS booked,
           coalesce(m.milestones, 0) AS milestones,
           coalesce(m.achieved, 0) AS milestones_achieved,
           coalesce(o.objections, 0) AS objections,
           coalesce(o.handled, 0) AS objections_handled
      FROM agents a
      LEFT JOIN per_agent p ON p.agent_id = a.id
      LEFT JOIN milestones m ON m.agent_id = a.id
      LEFT JOIN objections o ON o.agent_id = a.id
     WHERE a.org_id = ${orgId} AND (a.status <> 'archived' OR p.agent_id IS NOT NULL)
     ORDER BY a.name, a.id`,
  );
  return found.map((r) => ({
    agentId: r.agent_id,
    name: r.name,
    calls: r.calls,
    completed: r.completed,
    completedDurationSec: r.completed_duration_sec,
    scored: r.scored,
    scoreSum: r.score_sum,
    booked: r.booked,
    milestones: r.milestones,
    milestonesAchieved: r.milestones_achieved,
    objections: r.objections,
    objectionsHandled: r.objections_handled,
  }));
}

const ratio = (numerator: number, denominator: number): number | null => (denominator === 0 ? null : numerator / denominator);

/** The seven metrics of one agent from its counts; an agent without calls has calls 0 and every other metric null. */
export function varianceMetrics(counts: AgentCallCounts): Record<VarianceMetric, number | null> {
  return {
    calls: counts.calls,
    completionRate: ratio(counts.completed, counts.calls),
    avgDurationSec: ratio(counts.completedDurationSec, counts.completed),
    avgLeadScore: ratio(counts.scoreSum, counts.scored),
    bookingRate: ratio(counts.booked, counts.calls),
    milestoneRate: ratio(counts.milestonesAchieved, counts.milestones),
    objectionHandledRate: ratio(counts.objectionsHandled, counts.objections),
  };
}

/** Mean, population standard deviation, min and max of the non-null values; all null when there are none. */
export function teamStat(values: (number | null)[]): TeamStat {
  const present = values.filter((v): v is number => v !== null);
  if (present.length === 0) return { mean: null, stddev: null, min: null, max: null };
  const min = Math.min(...present);
  const max = Math.max(...present);
  // equal values have no spread: answer it exactly, not as the rounding noise of their float mean
  if (min === max) return { mean: min, stddev: 0, min, max };
  let sum = 0;
  for (const v of present) sum += v;
  const mean = sum / present.length;
  let squares = 0;
  for (const v of present) squares += (v - mean) * (v - mean);
  return { mean, stddev: Math.sqrt(squares / present.length), min, max };
}

/** (value − mean) / stddev; null where either is null or the deviation is 0. */
export function zScore(value: number | null, stat: TeamStat): number | null {
  if (value === null || stat.mean === null || stat.stddev === null || stat.stddev === 0) return null;
  return (value - stat.mean) / stat.stddev;
}

/** Turns per-agent counts into the variance answer: team stats over agents with at least one call. */
export function varianceFromCounts(counts: AgentCallCounts[], window: Pick<Window, "from" | "to">): AgentVariance {
  const metrics = counts.map((c) => ({ counts: c, values: varianceMetrics(c) }));
  const active = metrics.filter((m) => m.counts.calls > 0);
  const team = Object.fromEntries(VARIANCE_METRICS.map((k) => [k, teamStat(active.map((m) => m.values[k]))])) as Record<VarianceMetric, TeamStat>;
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    agents: metrics.map(({ counts: c, values }) => ({
      agentId: c.agentId,
      name: c.name,
      ...values,
      calls: c.calls,
      zScores: Object.fromEntries(VARIANCE_METRICS.map((k) => [k, zScore(values[k], team[k])])) as Record<VarianceMetric, number | null>,
    })),
    team,
  };
}

/** The variance answer for a window: one statement. */
export async function agentVariance(ctx: { db: Db; org: OrgContext }, window: Pick<Window, "from" | "to">): Promise<AgentVariance> {
  return varianceFromCounts(await agentCallCounts(ctx.db, ctx.org.id, window), window);
}

/** The variance's cache: fresh 30 s, stale up to 5 min while it refreshes, last value for an hour when a load fails. */
export const agentVarianceCache = cacheNamespace<AgentVariance>({ name: "agent-variance", freshSec: 30, staleSec: 300, staleIfErrorSec: 3600 });
