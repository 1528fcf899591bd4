// The naive read path, as the dashboards were first written (before any optimisation): plain SQL run through the same
// postgres.js pool as the app, every statement counted. Each function answers roughly what the matching Tally route
// answers, computed the slow way:
//   overview        raw aggregation over calls, one statement per figure, recent calls with one lookup per row
//   analytics       raw aggregation: daily series, hour of day and outcomes as three separate scans
//   agents          the agent list, then one statistics query per agent (N+1)
//   agentVariance   one query per agent for its calls, milestones and objections (3N+1)
//   agentPerformance one agent: the agent, then its totals, milestones, objections, daily series, hours and outcomes, one scan each
//   callsPage       OFFSET pagination with an exact count(*) (a deep page scans and discards every row before it)
//   coverage        a full REFRESH MATERIALIZED VIEW of per-hour session coverage of every organization, then a read
import type postgres from "postgres";

/** Runs one statement and counts it. */
export class NaiveRunner {
  statements = 0;
  constructor(private readonly client: postgres.Sql) {}
  async q<T extends Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    this.statements++;
    return (await this.client.unsafe(text, params as postgres.ParameterOrJSON<never>[])) as unknown as T[];
  }
}

export type NaiveContext = { runner: NaiveRunner; orgId: string; timezone: string; from: Date; to: Date };

const WINDOW = "org_id = $1 AND started_at >= $2::timestamptz AND started_at < $3::timestamptz";
const args = (ctx: NaiveContext) => [ctx.orgId, ctx.from.toISOString(), ctx.to.toISOString()];

export async function naiveOverview(ctx: NaiveContext) {
  const r = ctx.runner;
  const a = args(ctx);
  const [total] = await r.q<{ n: number }>(`SELECT count(*)::int AS n FROM calls WHERE ${WINDOW}`, a);
  const [completed] = await r.q(`SELECT count(*)::int AS n, coalesce(sum(duration_sec),0)::float8 AS d FROM calls WHERE ${WINDOW} AND status = 'completed'`, a);
  const [leads] = await r.q(`SELECT count(lead_score)::int AS n, coalesce(sum(lead_score),0)::float8 AS s FROM calls WHERE ${WINDOW}`, a);
  const [qualified] = await r.q(`SELECT count(*)::int AS n FROM calls WHERE ${WINDOW} AND lead_score >= 70`, a);
  const [booked] = await r.q(`SELECT count(*)::int AS n FROM calls WHERE ${WINDOW} AND outcome = 'appointment_booked'`, a);
  const [credits] = await r.q(
    `SELECT coalesce(sum(credits_used),0)::float8 AS n FROM calls WHERE org_id = $1 AND started_at >= date_trunc('month', $2::timestamptz)`,
    [ctx.orgId, ctx.to.toISOString()],
  );
  const agents = await r.q(`SELECT status, count(*)::int AS n FROM agents WHERE org_id = $1 GROUP BY status`, [ctx.orgId]);
  const [pipeline] = await r.q(
    `SELECT coalesce(sum(s.price_cents),0)::float8 AS n FROM appointments a JOIN services s ON s.id = a.service_id WHERE a.org_id = $1 AND a.status = 'scheduled' AND a.scheduled_at >= $2::timestamptz`,
    [ctx.orgId, ctx.to.toISOString()],
  );
  const recent = await r.q<{ id: string; agent_id: string | null; contact_id: string }>(
    `SELECT id, status, direction, started_at, duration_sec, outcome, lead_score, agent_id, contact_id FROM calls WHERE ${WINDOW} ORDER BY started_at DESC LIMIT 10`,
    a,
  );
  const rows = [];
  for (const call of recent) {
    const agent = call.agent_id ? (await r.q(`SELECT id, name FROM agents WHERE id = $1`, [call.agent_id]))[0] : null;
    const contact = (await r.q(`SELECT id, name, phone FROM contacts WHERE id = $1`, [call.contact_id]))[0];
    rows.push({ ...call, agent, contact });
  }
  return { total, completed, leads, qualified, booked, credits, agents, pipeline, recent: rows };
}

export async function naiveAnalytics(ctx: NaiveContext) {
  const r = ctx.runner;
  const a = [...args(ctx), ctx.timezone];
  const daily = await r.q(
    `SELECT (started_at AT TIME ZONE $4::text)::date AS day, count(*)::int AS calls, count(*) FILTER (WHERE status='completed')::int AS completed,
            avg(lead_score)::float8 AS avg_score FROM calls WHERE ${WINDOW} GROUP BY 1 ORDER BY 1`,
    a,
  );
  const hours = await r.q(
    `SELECT extract(hour FROM started_at AT TIME ZONE $4::text)::int AS hour, count(*)::int AS calls FROM calls WHERE ${WINDOW} GROUP BY 1 ORDER BY 1`,
    a,
  );
  const outcomes = await r.q(`SELECT outcome, count(*)::int AS calls FROM calls WHERE ${WINDOW} GROUP BY 1`, args(ctx));
  return { daily, hours, outcomes };
}

export async function naiveAgents(ctx: NaiveContext) {
  const r = ctx.runner;
  const agents = await r.q<{ id: string }>(`SELECT id, name, status FROM agents WHERE org_id = $1 ORDER BY name`, [ctx.orgId]);
  const out = [];
  for (const agent of agents) {
    const [stats] = await r.q(
      `SELECT count(*)::int AS calls, count(*) FILTER (WHERE status='completed')::int AS completed, avg(duration_sec)::float8 AS avg_duration,
              avg(lead_score)::float8 AS avg_score, count(*) FILTER (WHERE outcome='appointment_booked')::int AS booked
         FROM calls WHERE ${WINDOW} AND agent_id = $4`,
      [...args(ctx), agent.id],
    );
    out.push({ ...agent, stats });
  }
  return out;
}

export async function naiveAgentVariance(ctx: NaiveContext) {
  const r = ctx.runner;
  const agents = await r.q<{ id: string }>(`SELECT id, name FROM agents WHERE org_id = $1 ORDER BY name`, [ctx.orgId]);
  const out = [];
  for (const agent of agents) {
    const a = [...args(ctx), agent.id];
    const [calls] = await r.q(
      `SELECT count(*)::int AS calls, avg(lead_score)::float8 AS avg_score, stddev_samp(lead_score)::float8 AS sd_score,
              count(*) FILTER (WHERE outcome='appointment_booked')::int AS booked FROM calls WHERE ${WINDOW} AND agent_id = $4`,
      a,
    );
    const [milestones] = await r.q(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE m.achieved)::int AS achieved FROM call_milestones m JOIN calls c ON c.id = m.call_id
        WHERE c.org_id = $1 AND c.started_at >= $2::timestamptz AND c.started_at < $3::timestamptz AND c.agent_id = $4`,
      a,
    );
    const [objections] = await r.q(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE o.handled)::int AS handled FROM call_objections o JOIN calls c ON c.id = o.call_id
        WHERE c.org_id = $1 AND c.started_at >= $2::timestamptz AND c.started_at < $3::timestamptz AND c.agent_id = $4`,
      a,
    );
    out.push({ ...agent, calls, milestones, objections });
  }
  return out;
}

/** One agent's story over the window, raw: the agent, then six statements over its calls (seven in all). */
export async function naiveAgentPerformance(ctx: NaiveContext & { agentId: string }) {
  const r = ctx.runner;
  const a = [...args(ctx), ctx.agentId];
  const z = [...a, ctx.timezone];
  const agent = (await r.q(`SELECT id, name, kind, status FROM agents WHERE org_id = $1 AND id = $2`, [ctx.orgId, ctx.agentId]))[0];
  const [totals] = await r.q(
    `SELECT count(*)::int AS calls, count(*) FILTER (WHERE status='completed')::int AS completed, avg(duration_sec)::float8 AS avg_duration,
            avg(lead_score)::float8 AS avg_score, count(*) FILTER (WHERE outcome='appointment_booked')::int AS booked FROM calls WHERE ${WINDOW} AND agent_id = $4`,
    a,
  );
  const [milestones] = await r.q(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE m.achieved)::int AS achieved FROM call_milestones m JOIN calls c ON c.id = m.call_id
      WHERE c.org_id = $1 AND c.started_at >= $2::timestamptz AND c.started_at < $3::timestamptz AND c.agent_id = $4`,
    a,
  );
  const [objections] = await r.q(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE o.handled)::int AS handled FROM call_objections o JOIN calls c ON c.id = o.call_id
      WHERE c.org_id = $1 AND c.started_at >= $2::timestamptz AND c.started_at < $3::timestamptz AND c.agent_id = $4`,
    a,
  );
  const daily = await r.q(
    `SELECT (started_at AT TIME ZONE $5::text)::date AS day, count(*)::int AS calls, count(*) FILTER (WHERE status='completed')::int AS completed,
            avg(lead_score)::float8 AS avg_score FROM calls WHERE ${WINDOW} AND agent_id = $4 GROUP BY 1 ORDER BY 1`,
    z,
  );
  const hours = await r.q(
    `SELECT extract(hour FROM started_at AT TIME ZONE $5::text)::int AS hour, count(*)::int AS calls FROM calls WHERE ${WINDOW} AND agent_id = $4 GROUP BY 1`,
    z,
  );
  const outcomes = await r.q(`SELECT outcome, count(*)::int AS calls FROM calls WHERE ${WINDOW} AND agent_id = $4 GROUP BY 1`, a);
  return { agent, totals, milestones, objections, daily, hours, outcomes };
}

/** OFFSET pagination, newest first, with the exact total. */
export async function naiveCallsPage(ctx: Pick<NaiveContext, "runner" | "orgId">, offset: number, limit = 20) {
  const r = ctx.runner;
  const [total] = await r.q(`SELECT count(*)::int AS n FROM calls WHERE org_id = $1`, [ctx.orgId]);
  const page = await r.q(
    `SELECT c.*, a.name AS agent_name, ct.name AS contact_name, ct.phone FROM calls c LEFT JOIN agents a ON a.id = c.agent_id JOIN contacts ct ON ct.id = c.contact_id
      WHERE c.org_id = $1 ORDER BY c.started_at DESC, c.id DESC OFFSET $2 LIMIT $3`,
    [ctx.orgId, offset, limit],
  );
  return { total, page };
}

export const NAIVE_COVERAGE_VIEW = "bench_naive_coverage";

/** The materialized view the naive coverage reads: session seconds per organization and UTC hour (every organization). */
export async function createNaiveCoverageView(client: postgres.Sql) {
  await client.unsafe(
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${NAIVE_COVERAGE_VIEW} AS
       SELECT s.org_id, h.hour,
              sum(extract(epoch FROM least(coalesce(s.ended_at, now()), h.hour + interval '1 hour') - greatest(s.started_at, h.hour)))::float8 AS agent_seconds
         FROM agent_sessions s
         CROSS JOIN LATERAL generate_series(date_trunc('hour', s.started_at), coalesce(s.ended_at, now()), interval '1 hour') AS h(hour)
        GROUP BY 1, 2
     WITH NO DATA`,
  );
}

/** A full refresh of the view, then the organization's hours of the window. */
export async function naiveCoverage(ctx: NaiveContext) {
  const r = ctx.runner;
  await r.q(`REFRESH MATERIALIZED VIEW ${NAIVE_COVERAGE_VIEW}`);
  return r.q(
    `SELECT (hour AT TIME ZONE $4::text) AS local_hour, agent_seconds FROM ${NAIVE_COVERAGE_VIEW} WHERE org_id = $1 AND hour >= $2::timestamptz AND hour < $3::timestamptz ORDER BY hour`,
    [...args(ctx), ctx.timezone],
  );
}
