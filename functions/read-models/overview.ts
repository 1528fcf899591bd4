import { type SQL, sql } from "drizzle-orm";
import type { CALL_DIRECTIONS, CallOutcome, CallStatus } from "../../drizzle/schema/enums";
import { firstRow } from "../db/database";
import type { PreviousWindow, Window } from "../lib/windows";
import { type CallPartColumn, callPartsSql } from "../rollups/queries";
import { namespace } from "../cache/namespaces";
import { fetchWindowedAggregate, type WindowedAggregate, type WindowQuery, type WindowedValue } from "./windowed";
import type { ReadContext, ServiceContext } from "../context";
import { DAY_MS, HOUR_MS, addDays, localDate, startOfLocalDay } from "../lib/time";

/** What the overview reads: the request's database handle, its organization and the instant it computes for. */
export type OverviewContext = Pick<ServiceContext, "db" | "org"> & { now: Date };

/** How many of the window's newest calls `recentActivity` lists. */
export const RECENT_ACTIVITY_LIMIT = 10;

export type RecentCall = {
  id: string;
  status: CallStatus;
  direction: (typeof CALL_DIRECTIONS)[number];
  startedAt: string;
  durationSec: number | null;
  outcome: CallOutcome | null;
  leadScore: number | null;
  agent: { id: string; name: string } | null;
  contact: { id: string; name: string | null; phone: string };
};

type CallMetrics = { total: number; completed: number; successRate: number | null; totalDurationSec: number; avgDurationSec: number | null };
type LeadMetrics = { total: number; qualified: number; conversionRate: number | null; avgScore: number | null; booked: number };

export type Overview = {
  calls: CallMetrics;
  leads: LeadMetrics;
  credits: { balance: number; usedThisMonth: number };
  /** `total` counts the agents that are not archived */
  agents: { total: number; active: number; draft: number; paused: number };
  pipelineValueCents: number;
  recentActivity: RecentCall[];
  /** `compare=previous` only (SPEC §12): the same call and lead metrics over the window before this one */
  previous?: { calls: CallMetrics; leads: LeadMetrics };
};

/** The window's call and lead sums, as the overview's statement answers them (for the window, and the previous one). */
type WindowSums = { total: number; completed: number; total_duration_sec: number; leads: number; qualified: number; score_sum: number; booked: number };

type OverviewRow = {
  credits_balance: number;
  total: number;
  completed: number;
  total_duration_sec: number;
  leads: number;
  qualified: number;
  score_sum: number;
  booked: number;
  used_this_month: number;
  agents_total: number;
  agents_active: number;
  agents_draft: number;
  agents_paused: number;
  pipeline_value_cents: number;
  recent: RecentCall[] | string;
  previous: WindowSums | string | null;
};

/** The local calendar month that holds `now`, as the half-open instant range [first day, first day of next month). */
export function localMonth(now: Date, timeZone: string): { from: Date; to: Date } {
  const firstDay = `${localDate(now, timeZone).slice(0, 7)}-01`;
  const nextFirstDay = `${addDays(firstDay, 32).slice(0, 7)}-01`;
  return { from: startOfLocalDay(firstDay, timeZone), to: startOfLocalDay(nextFirstDay, timeZone) };
}

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

function metricsOf(row: WindowSums): { calls: CallMetrics; leads: LeadMetrics } {
  return {
    calls: {
      total: row.total,
      completed: row.completed,
      successRate: ratio(row.completed, row.total),
      totalDurationSec: row.total_duration_sec,
      avgDurationSec: ratio(row.total_duration_sec, row.completed),
    },
    leads: {
      total: row.leads,
      qualified: row.qualified,
      conversionRate: ratio(row.qualified, row.leads),
      avgScore: ratio(row.score_sum, row.leads),
      booked: row.booked,
    },
  };
}

/** WindowSums' names, the part row columns they sum, and their types. */
const SUMS = [
  ["total", "calls", "int"],
  ["completed", "completed", "int"],
  ["total_duration_sec", "duration_completed_sum", "float8"],
  ["leads", "scored", "int"],
  ["qualified", "qualified", "int"],
  ["score_sum", "score_sum", "float8"],
  ["booked", "booked", "int"],
] as const;

/** The part columns the window sums read: the part rows carry these alone. */
const SUM_COLUMNS: CallPartColumn[] = SUMS.map(([, column]) => column);

/** A window's sums as WindowSums, from part rows `p` with SUM_COLUMNS. */
const WINDOW_SUMS = sql.raw(SUMS.map(([name, column, type]) => `coalesce(sum(p.${column}), 0)::${type} AS ${name}`).join(", "));

/** One row: a window's WindowSums (as `callTotalsSql` sums them, from part rows of SUM_COLUMNS alone). */
const windowSumsSql = (orgId: string, window: Pick<Window, "from" | "to" | "timezone">): SQL =>
  sql`SELECT ${WINDOW_SUMS} FROM (${callPartsSql(orgId, window, SUM_COLUMNS, "hour")}) p`;

const BUCKET_MS = 15 * 60_000;

/**
 * The window's and the previous window's sums, as the CTEs `windowed` (WindowSums columns) and `previous_window`
 * (`previous`: one json of WindowSums, or null without a previous window). The previous window ends where this one
 * starts; when that instant is on the 15-minute grid (every `days` window: local midnight), no rollup bucket straddles
 * it, so both are sums of ONE split of [previous from, to), each filtered by its side of the cut: one pass over the
 * rows and one plan instead of two. Off the grid (an explicit window at odd minutes), two splits.
 */
function windowAndPreviousSql(orgId: string, window: Pick<Window, "from" | "to" | "timezone"> & { previous?: PreviousWindow | undefined }): SQL {
  const previous = window.previous;
  if (!previous) return sql`windowed AS (${windowSumsSql(orgId, window)}), previous_window AS (SELECT NULL::json AS previous)`;
  if (previous.to.getTime() !== window.from.getTime() || window.from.getTime() % BUCKET_MS !== 0)
    return sql`
      windowed AS (${windowSumsSql(orgId, window)}),
      previous_window AS (
        SELECT row_to_json(pw) AS previous FROM (${windowSumsSql(orgId, { ...previous, timezone: window.timezone })}) pw
      )`;
  const cut = sql`${window.from.toISOString()}::timestamptz`;
  const sum = (column: string, type: string, side: "<" | ">=") =>
    sql`coalesce(sum(p.${sql.raw(column)}) FILTER (WHERE p.at ${sql.raw(side)} ${cut}), 0)::${sql.raw(type)}`;
  // hourly part rows when the cut is a whole UTC hour (local midnight in a zone on a whole-hour offset): none straddles it
  const grain = window.from.getTime() % HOUR_MS === 0 ? "hour" : "quarter";
  const parts = callPartsSql(orgId, { from: previous.from, to: window.to, timezone: window.timezone }, SUM_COLUMNS, grain);
  return sql`
      both_windows AS (
        SELECT ${sql.join(
          SUMS.map(([name, column, type]) => sql`${sum(column, type, ">=")} AS ${sql.raw(name)}`),
          sql`, `,
        )},
               json_build_object(${sql.join(
                 SUMS.map(([name, column, type]) => sql`${sql.raw(`'${name}'`)}, ${sum(column, type, "<")}`),
                 sql`, `,
               )}) AS previous
        FROM (${parts}) p
      ),
      windowed AS (SELECT ${sql.raw(SUMS.map(([name]) => `b.${name}`).join(", "))} FROM both_windows b),
      previous_window AS (SELECT b.previous FROM both_windows b)`;
}

/**
 * The dashboard overview of one organization for a window (SPEC §5). One statement: the window's call metrics and the
 * current local month's credits (sums of the rollups' part rows: `callPartsSql`, of the columns summed alone), agent counts, the pipeline and the ten newest calls
 * (raw: an index scan that stops at ten rows) are CTEs of a single SELECT. With `window.previous` (`compare=previous`),
 * the previous window's call metrics are one more CTE of the same statement, from the same rollups.
 */
export async function readOverview(
  ctx: OverviewContext,
  window: Pick<Window, "from" | "to" | "timezone"> & { previous?: PreviousWindow | undefined },
): Promise<Overview> {
  const orgId = ctx.org.id;
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const month = localMonth(ctx.now, window.timezone);
  // the first UTC midnight at or after now: the pipeline's days from there on are read pre-aggregated
  const nextDay = new Date(Math.ceil(ctx.now.getTime() / DAY_MS) * DAY_MS).toISOString();
  const row = await firstRow<OverviewRow>(
    ctx.db,
    sql`
      WITH ${windowAndPreviousSql(orgId, window)},
      this_month AS (
        SELECT coalesce(sum(m.credits_used), 0)::float8 AS used_this_month
        FROM (${callPartsSql(orgId, { ...month, timezone: window.timezone }, ["credits_used"], "hour")}) m
      ),
      agent_counts AS (
        SELECT
          count(*) FILTER (WHERE status <> 'archived')::int AS agents_total,
          count(*) FILTER (WHERE status = 'active')::int AS agents_active,
          count(*) FILTER (WHERE status = 'draft')::int AS agents_draft,
          count(*) FILTER (WHERE status = 'paused')::int AS agents_paused
        FROM agents
        WHERE org_id = ${orgId}
      ),
      pipeline AS (
        -- the days wholly after now from appointment_pipeline_daily (scheduled appointments per UTC day and service,
        -- kept exact by triggers: sql/014), the rest of today from appointments (appointments_org_status_scheduled_idx,
        -- which INCLUDEs the service); counted per service, then priced
        SELECT coalesce(sum(s.price_cents * a.n), 0)::bigint::float8 AS pipeline_value_cents
        FROM (
          SELECT p.service_id, sum(p.scheduled) AS n
          FROM appointment_pipeline_daily p
          WHERE p.org_id = ${orgId} AND p.day >= ${nextDay}::timestamptz
          GROUP BY p.service_id
          UNION ALL
          SELECT a.service_id, count(*) AS n
          FROM appointments a
          WHERE a.org_id = ${orgId} AND a.status = 'scheduled' AND a.scheduled_at >= ${ctx.now.toISOString()}::timestamptz
            AND a.scheduled_at < ${nextDay}::timestamptz
          GROUP BY a.service_id
        ) a
        JOIN services s ON s.id = a.service_id AND s.org_id = ${orgId}
      ),
      newest AS (
        SELECT id, status, direction, started_at, duration_sec, outcome, lead_score, agent_id, contact_id
        FROM calls
        WHERE org_id = ${orgId} AND started_at >= ${from}::timestamptz AND started_at < ${to}::timestamptz
        ORDER BY started_at DESC NULLS LAST, id DESC NULLS LAST -- calls_org_started_idx's order: a merge of the partitions' index scans, no sort
        LIMIT ${RECENT_ACTIVITY_LIMIT}
      ),
      recent AS (
        SELECT coalesce(
          json_agg(
            json_build_object(
              'id', n.id,
              'status', n.status,
              'direction', n.direction,
              'startedAt', to_char(n.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              'durationSec', n.duration_sec,
              'outcome', n.outcome,
              'leadScore', n.lead_score,
              'agent', CASE WHEN ag.id IS NULL THEN NULL ELSE json_build_object('id', ag.id, 'name', ag.name) END,
              'contact', json_build_object('id', ct.id, 'name', ct.name, 'phone', ct.phone)
            )
            ORDER BY n.started_at DESC, n.id DESC
          ),
          '[]'::json
        ) AS recent
        FROM newest n
        JOIN contacts ct ON ct.id = n.contact_id AND ct.org_id = ${orgId}
        LEFT JOIN agents ag ON ag.id = n.agent_id AND ag.org_id = ${orgId}
      )
      SELECT o.credits_balance, windowed.*, this_month.*, agent_counts.*, pipeline.*, recent.*, previous_window.*
      FROM organizations o, windowed, this_month, agent_counts, pipeline, recent, previous_window
      WHERE o.id = ${orgId}
    `,
  );
  if (!row) throw new Error(`organization ${orgId} vanished while its overview was read`);
  const recent = typeof row.recent === "string" ? (JSON.parse(row.recent) as RecentCall[]) : row.recent;
  const previous = typeof row.previous === "string" ? (JSON.parse(row.previous) as WindowSums) : row.previous;
  return {
    ...metricsOf(row),
    credits: { balance: row.credits_balance, usedThisMonth: row.used_this_month },
    agents: { total: row.agents_total, active: row.agents_active, draft: row.agents_draft, paused: row.agents_paused },
    pipelineValueCents: row.pipeline_value_cents,
    recentActivity: recent,
    ...(previous && { previous: metricsOf(previous) }),
  };
}

/** `days` defaults to the last 30 local days. */
export const OVERVIEW_DEFAULT_DAYS = 30;

/** The overview's cached read; `GET /api/dashboard/overview` and the warm-cache job both read through `fetchOverview`. */
export const overviewAggregate: WindowedAggregate<Overview> = {
  namespace: namespace<WindowedValue<Overview>>("dashboard-overview"),
  defaultDays: OVERVIEW_DEFAULT_DAYS,
  read: readOverview,
};

export const fetchOverview = (ctx: ReadContext, query: WindowQuery) => fetchWindowedAggregate(ctx, overviewAggregate, query);
