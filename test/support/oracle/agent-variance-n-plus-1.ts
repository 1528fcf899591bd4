import { sql } from "drizzle-orm";
import { rows, type Db } from "../../../functions/db/database";

/**
 * The naive agent variance the batched read model replaced, kept as a reference: one query for the agents, then one
 * query per agent. Tests run it on the same data as `GET /api/analytics/agent-variance` and expect the same answer.
 * Rates are divided in SQL (float8 division of exact integers, which rounds as JavaScript's does).
 */

const METRICS = ["calls", "completionRate", "avgDurationSec", "avgLeadScore", "bookingRate", "milestoneRate", "objectionHandledRate"] as const;
type Metric = (typeof METRICS)[number];
type Stat = { mean: number | null; stddev: number | null; min: number | null; max: number | null };

export type NPlusOneVariance = {
  agents: ({ agentId: string; name: string } & Record<Metric, number | null> & { zScores: Record<Metric, number | null> })[];
  team: Record<Metric, Stat>;
};

type AgentMetricsRow = {
  calls: number;
  completion_rate: number | null;
  avg_duration_sec: number | null;
  avg_lead_score: number | null;
  booking_rate: number | null;
  milestone_rate: number | null;
  objection_handled_rate: number | null;
};

export async function agentVarianceNPlusOne(db: Db, orgId: string, window: { from: Date; to: Date }): Promise<NPlusOneVariance> {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const agents = await rows<{ id: string; name: string; status: string }>(
    db,
    sql`SELECT id, name, status::text AS status FROM agents WHERE org_id = ${orgId} ORDER BY name, id`,
  );
  const entries: NPlusOneVariance["agents"] = [];
  for (const agent of agents) {
    const [m] = await rows<AgentMetricsRow>(
      db,
      sql`
      SELECT count(*)::int AS calls,
             count(*) FILTER (WHERE c.status = 'completed')::float8 / nullif(count(*), 0) AS completion_rate,
             coalesce(sum(c.duration_sec) FILTER (WHERE c.status = 'completed'), 0)::float8
               / nullif(count(*) FILTER (WHERE c.status = 'completed'), 0) AS avg_duration_sec,
             sum(c.lead_score)::float8 / nullif(count(c.lead_score), 0) AS avg_lead_score,
             count(*) FILTER (WHERE c.outcome = 'appointment_booked')::float8 / nullif(count(*), 0) AS booking_rate,
             (SELECT count(*) FILTER (WHERE m.achieved)::float8 / nullif(count(*), 0)
                FROM call_milestones m JOIN calls mc ON mc.id = m.call_id
               WHERE mc.org_id = ${orgId} AND mc.agent_id = ${agent.id}
                 AND mc.started_at >= ${from}::timestamptz AND mc.started_at < ${to}::timestamptz) AS milestone_rate,
             (SELECT count(*) FILTER (WHERE o.handled)::float8 / nullif(count(*), 0)
                FROM call_objections o JOIN calls oc ON oc.id = o.call_id
               WHERE oc.org_id = ${orgId} AND oc.agent_id = ${agent.id}
                 AND oc.started_at >= ${from}::timestamptz AND oc.started_at < ${to}::timestamptz) AS objection_handled_rate
        FROM calls c
       WHERE c.org_id = ${orgId} AND c.agent_id = ${agent.id}
         AND c.started_at >= ${from}::timestamptz AND c.started_at < ${to}::timestamptz`,
    );
    if (!m || (m.calls === 0 && agent.status === "archived")) continue;
    entries.push({
      agentId: agent.id,
      name: agent.name,
      calls: m.calls,
      completionRate: m.completion_rate,
      avgDurationSec: m.avg_duration_sec,
      avgLeadScore: m.avg_lead_score,
      bookingRate: m.booking_rate,
      milestoneRate: m.calls === 0 ? null : m.milestone_rate,
      objectionHandledRate: m.calls === 0 ? null : m.objection_handled_rate,
      zScores: {} as Record<Metric, number | null>,
    });
  }
  const team = {} as Record<Metric, Stat>;
  for (const metric of METRICS) {
    const values = entries
      .filter((e) => (e.calls ?? 0) > 0)
      .map((e) => e[metric])
      .filter((v): v is number => v !== null);
    if (values.length === 0) {
      team[metric] = { mean: null, stddev: null, min: null, max: null };
      continue;
    }
    const min = Math.min(...values);
    const max = Math.max(...values);
    if (min === max) {
      team[metric] = { mean: min, stddev: 0, min, max };
      continue;
    }
    let sum = 0;
    for (const v of values) sum += v;
    const mean = sum / values.length;
    let squares = 0;
    for (const v of values) squares += (v - mean) * (v - mean);
    team[metric] = { mean, stddev: Math.sqrt(squares / values.length), min, max };
  }
  for (const entry of entries)
    for (const metric of METRICS) {
      const value = entry[metric];
      const { mean, stddev } = team[metric];
      entry.zScores[metric] = value === null || mean === null || !stddev ? null : (value - mean) / stddev;
    }
  return { agents: entries, team };
}
