import { sql } from "drizzle-orm";
import { type AGENT_KINDS, type AGENT_STATUSES, CALL_OUTCOMES, type CallOutcome } from "../../drizzle/schema/enums";
import { namespace } from "../cache/namespaces";
import type { ReadContext, ServiceContext } from "../context";
import { firstRow } from "../db/database";
import { utcHoursAreLocalHours } from "../lib/time";
import { MAX_WINDOW_DAYS, type Window } from "../lib/windows";
import { agentTotalsFromRow, agentTotalsSql } from "../rollups/queries";
import { varianceMetrics, type VarianceMetric } from "./agent-variance";
import { fetchWindowedAggregate, type WindowedAggregate, type WindowQuery, type WindowedValue } from "./windowed";

/** What the agent performance read model reads: the request's database handle, its organization and the instant it computes for. */
type AgentPerformanceContext = Pick<ServiceContext, "db" | "org"> & { now: Date };

export type AgentPerformancePoint = {
  date: string;
  calls: number;
  completed: number;
  avgDurationSec: number | null;
  avgLeadScore: number | null;
  booked: number;
};

/** One agent's story over a window (SPEC §12): the metrics of §5 restricted to the agent. */
export type AgentPerformance = {
  agent: { id: string; name: string; kind: (typeof AGENT_KINDS)[number]; status: (typeof AGENT_STATUSES)[number] };
  /** the variance's seven metrics for this agent alone */
  totals: Record<VarianceMetric, number | null> & { calls: number };
  /** one point per local date of the window, ascending, zero-filled */
  series: AgentPerformancePoint[];
  /** every outcome of the enum, 0 when none */
  outcomes: Record<CallOutcome, number>;
  /** 24 counts by org-local wall-clock hour */
  byHourOfDay: number[];
};

type Sums = { calls: number; completed: number; duration_completed_sum: number; scored: number; score_sum: number; booked: number };
type Row = {
  agent: AgentPerformance["agent"] | string | null;
  totals: Parameters<typeof agentTotalsFromRow>[0] | string | null;
  series: (Sums & { date: string })[] | string;
  hours: { hour: number; calls: number }[] | string;
  outcomes: Record<CallOutcome, number> | string;
};

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);
const parse = <T>(v: T | string): T => (typeof v === "string" ? (JSON.parse(v) as T) : v);

/**
 * The sums of a set of raw calls `c` (one agent's, in the window): the series' counters and one count per outcome.
 * Summed per hour first, so each call is converted to local time at most once and no per-call text is formatted.
 */
const RAW_SUMS = sql.raw(`
  count(*)::int AS calls,
  count(*) FILTER (WHERE c.status = 'completed')::int AS completed,
  coalesce(sum(coalesce(c.duration_sec, 0)) FILTER (WHERE c.status = 'completed'), 0)::float8 AS duration_completed_sum,
  count(c.lead_score)::int AS scored,
  coalesce(sum(c.lead_score), 0)::float8 AS score_sum,
  ${CALL_OUTCOMES.map((o) => `count(*) FILTER (WHERE c.outcome = '${o}')::int AS outcome_${o}`).join(",\n  ")}`);

/** The sums of RAW_SUMS rows `h` (local hours) over a group of them. */
const HOUR_SUMS = sql.raw(`
  sum(h.calls)::int AS calls, sum(h.completed)::int AS completed, sum(h.duration_completed_sum)::float8 AS duration_completed_sum,
  sum(h.scored)::int AS scored, sum(h.score_sum)::float8 AS score_sum, sum(h.outcome_appointment_booked)::int AS booked`);

const OUTCOME_SUMS = sql.raw(CALL_OUTCOMES.map((o) => `coalesce(sum(h.outcome_${o}), 0)::int AS "${o}"`).join(", "));

/**
 * One agent of the organization over a window, in ONE statement: the agent row (null for an unknown or another
 * organization's agent); the totals from the rollups the variance reads (`agentTotalsSql`: clean hourly agent rows plus
 * the raw calls they do not cover, so milestones and objections need no per-call lookup), as the variance's metrics;
 * the daily series, the hours and the outcomes from the agent's own calls of the window (one index-only range scan of
 * `calls_org_agent_started_idx`, which INCLUDEs the columns read, summed per local hour, or per UTC hour where those
 * are local hours; the series, hours and outcomes sum those rows): no rollup holds outcomes per agent, and an hourly
 * UTC bucket straddles two local hours (and, at midnight, two local dates) in a +05:30 or +05:45 zone, so only the
 * agent's calls themselves answer those exactly in every zone.
 */
export async function readAgentPerformance(ctx: AgentPerformanceContext, agentId: string, window: Window): Promise<AgentPerformance | null> {
  const org = sql`${ctx.org.id}::uuid`;
  const agent = sql`${agentId}::uuid`;
  const tz = window.timezone;
  const calls = sql`
          FROM calls c
         WHERE c.org_id = ${org} AND c.agent_id = ${agent}
           AND c.started_at >= ${window.from.toISOString()}::timestamptz AND c.started_at < ${window.to.toISOString()}::timestamptz`;
  // where every UTC hour of the window lies inside one local hour, the calls are summed per UTC hour (arithmetic on the
  // instant) and only those sums are taken to local time: at the 1M-call organization's busiest agent (13k calls in 90
  // days) the statement took 8.9 ms against 10.8 converting each call (BENCHMARKS.md, tenth round). A fall-back day's
  // repeated local hour is then two rows, which everything below sums. Elsewhere (+05:30, +05:45, −03:30) each call's
  // local hour is its own.
  const localHours = utcHoursAreLocalHours(tz, window.from.getTime(), window.to.getTime())
    ? sql`
        SELECT u.utc_hour AT TIME ZONE ${tz}::text AS local_hour, u.*
          FROM (SELECT date_bin('1 hour', c.started_at, '1970-01-01 00:00:00+00') AS utc_hour, ${RAW_SUMS} ${calls} GROUP BY 1) u`
    : sql`SELECT date_trunc('hour', c.started_at AT TIME ZONE ${tz}::text) AS local_hour, ${RAW_SUMS} ${calls} GROUP BY 1`;
  const row = await firstRow<Row>(
    ctx.db,
    sql`
      WITH agent AS (
        SELECT a.id, a.name, a.kind, a.status FROM agents a WHERE a.org_id = ${org} AND a.id = ${agent}
      ),
      totals AS (
        SELECT t.* FROM (${agentTotalsSql(ctx.org.id, window, "calls-and-analysis", agentId)}) t WHERE t.agent_id = ${agent} AND EXISTS (SELECT 1 FROM agent)
      ),
      local_hours AS MATERIALIZED (${localHours}),
      daily AS (
        SELECT to_char(d.day, 'YYYY-MM-DD') AS date, d.calls, d.completed, d.duration_completed_sum, d.scored, d.score_sum, d.booked
          FROM (SELECT h.local_hour::date AS day, ${HOUR_SUMS} FROM local_hours h GROUP BY 1) d
      ),
      hourly AS (SELECT extract(hour FROM h.local_hour)::int AS hour, sum(h.calls)::int AS calls FROM local_hours h GROUP BY 1)
      SELECT (SELECT row_to_json(agent) FROM agent) AS agent,
             (SELECT row_to_json(totals) FROM totals) AS totals,
             (SELECT coalesce(json_agg(daily ORDER BY date), '[]'::json) FROM daily) AS series,
             (SELECT coalesce(json_agg(hourly), '[]'::json) FROM hourly) AS hours,
             (SELECT row_to_json(o) FROM (SELECT ${OUTCOME_SUMS} FROM local_hours h) o) AS outcomes`,
  );
  const found = row?.agent ? parse(row.agent) : null;
  if (!row || !found) return null;
  const totals = row.totals === null ? null : agentTotalsFromRow(parse(row.totals));
  const byDate = new Map(parse(row.series).map((p) => [p.date, p]));
  const byHourOfDay = Array.from({ length: 24 }, () => 0);
  for (const h of parse(row.hours)) byHourOfDay[h.hour] = h.calls;
  const outcomes = parse(row.outcomes);
  return {
    agent: { id: found.id, name: found.name, kind: found.kind, status: found.status },
    totals: {
      ...varianceMetrics({
        agentId,
        name: found.name,
        calls: totals?.calls ?? 0,
        completed: totals?.completed ?? 0,
        completedDurationSec: totals?.durationCompletedSum ?? 0,
        scored: totals?.scored ?? 0,
        scoreSum: totals?.scoreSum ?? 0,
        booked: totals?.booked ?? 0,
        milestones: totals?.milestones ?? 0,
        milestonesAchieved: totals?.milestonesAchieved ?? 0,
        objections: totals?.objections ?? 0,
        objectionsHandled: totals?.objectionsHandled ?? 0,
      }),
      calls: totals?.calls ?? 0,
    },
    series: window.dates.map((date) => {
      const p = byDate.get(date);
      return {
        date,
        calls: p?.calls ?? 0,
        completed: p?.completed ?? 0,
        avgDurationSec: p ? ratio(p.duration_completed_sum, p.completed) : null,
        avgLeadScore: p ? ratio(p.score_sum, p.scored) : null,
        booked: p?.booked ?? 0,
      };
    }),
    outcomes,
    byHourOfDay,
  };
}

/** `days` defaults to the last 30 local days, as the variance's. */
export const AGENT_PERFORMANCE_DEFAULT_DAYS = 30;

const agentPerformanceNamespace = namespace<WindowedValue<AgentPerformance | null>>("agent-performance");

/**
 * One agent's performance through the cache (keyed by the agent within the organization, invalidated with the
 * organization's other aggregates). An unknown agent is answered (and cached) as null: creating an agent invalidates the
 * organization, so a cached null never hides a new agent.
 */
export function fetchAgentPerformance(ctx: ReadContext, agentId: string, query: WindowQuery) {
  const aggregate: WindowedAggregate<AgentPerformance | null> = {
    namespace: agentPerformanceNamespace,
    defaultDays: AGENT_PERFORMANCE_DEFAULT_DAYS,
    maxDates: MAX_WINDOW_DAYS,
    subject: agentId,
    read: (readCtx, window) => readAgentPerformance(readCtx, agentId, window),
  };
  return fetchWindowedAggregate(ctx, aggregate, { days: query.days, from: query.from, to: query.to });
}
