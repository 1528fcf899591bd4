import { fillPlaceholders, sql, type Placeholder, type SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { CALL_DIRECTIONS, CALL_OUTCOMES, CALL_STATUSES, type CallOutcome, type CallStatus } from "../../drizzle/schema/enums";
import { firstRow, preparedRows, rows, type Db } from "../db/database";
import { datesBetween, localDate, utcHoursAreLocalHours } from "../lib/time";

/**
 * The query layer over the rollups (SPEC §7): every function answers exactly what a GROUP BY over the raw rows of
 * the window would, in ONE statement (one snapshot), from
 *   - rollup rows of buckets inside the window, below B (rollup_state.built_to) and without a dirty mark, plus
 *   - raw rows of the rest of the window: its edges off the bucket grid, the time from B on, and the dirty buckets.
 * Buckets are UTC-aligned (15 minutes for calls, 1 hour for agents); a 15-minute bucket lies in one local hour and
 * date of every zone whose offset is a multiple of 15 minutes (every zone today), so local series and hours come
 * from the same rows in any timezone.
 *
 * The `...Sql` builders answer SQL fragments so a read model can put several aggregates in its own single statement
 * (`FROM (${callTotalsSql(...)}) t`); the functions run one fragment each.
 */

export type CallDirection = (typeof CALL_DIRECTIONS)[number];

/** Half-open [from, to); null means unbounded on that side. */
export type RollupWindow = { from: Date | null; to: Date | null; timezone: string };
export type RollupContext = { db: Db; orgId: string };
export type CallFilters = { direction?: CallDirection | undefined; status?: CallStatus | undefined };

export type CallCounters = {
  calls: number;
  completed: number;
  /** sum of duration_sec of completed calls */
  durationCompletedSum: number;
  /** calls with a lead score */
  scored: number;
  /** lead score ≥ 70 */
  qualified: number;
  scoreSum: number;
  /** outcome appointment_booked, scored or not */
  booked: number;
  creditsUsed: number;
};
export type LeadQuality = { hot: number; warm: number; cold: number };
export type OutcomeCounts = Record<CallOutcome, number>;
export type CallTotals = CallCounters & { leadQuality: LeadQuality; outcomes: OutcomeCounts };
export type DailyPoint = CallCounters & { date: string };

export type AgentTotals = {
  agentId: string;
  calls: number;
  completed: number;
  durationCompletedSum: number;
  scored: number;
  scoreSum: number;
  booked: number;
  creditsUsed: number;
  milestones: number;
  milestonesAchieved: number;
  objections: number;
  objectionsHandled: number;
};

const BUCKET_MS = 15 * 60_000;
const HOUR_MS = 60 * 60_000;

/**
 * An instant as a timestamptz literal. `toISOString` writes years past 9999 in JavaScript's expanded form
 * ("+010000-01-01T…"), which Postgres refuses ("time zone displacement out of range"); such a year is written plainly
 * ("10000-01-01T…"), which it reads. A window's inner edge reaches it when its start in the last quarter hour (or hour)
 * of 9999-12-31 is rounded up to the grid. (Years before 1 do not occur: instants are 1970–9999 as written.)
 */
function instantLiteral(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.startsWith("+") ? iso.slice(1).replace(/^0+/, "") : iso;
}

/** The window's edges as SQL parameters: itself, and its inner part on the grid of `widthMs` ([lo, floorTo)). */
type Edges<V> = { from: V; to: V; lo: V; floorTo: V };

function edges(window: RollupWindow, widthMs: number): Edges<string> {
  const from = window.from?.getTime();
  const to = window.to?.getTime();
  return {
    from: from === undefined ? "-infinity" : instantLiteral(from),
    to: to === undefined ? "infinity" : instantLiteral(to),
    lo: from === undefined ? "-infinity" : instantLiteral(Math.ceil(from / widthMs) * widthMs),
    floorTo: to === undefined ? "infinity" : instantLiteral(Math.floor(to / widthMs) * widthMs),
  };
}

/**
 * Bounds a raw part already implies (`hi` and the dirty buckets lie in [lo, end)), repeated as constants: the planner
 * prunes `calls` partitions at plan time only on constants, so without them every raw part whose bound is a subquery
 * (B) or a lateral value plans every month partition and its indexes (nine partitions of ten indexes on the bench data,
 * future months included) and prunes them only when it runs (issue #16: planning was most of a cache miss).
 */
const planTimeBounds = (lo: SQL, end: string | Placeholder): SQL => sql`AND c.started_at >= ${lo} AND c.started_at < ${end}::timestamptz`;

/**
 * The raw part of a window's front edge (`[from, lo)`, the time before its first whole bucket), or nothing when the
 * window starts on the grid (a `days` window at local midnight, in every zone for 15-minute buckets): that part is
 * empty, and leaving it out spares the planner one more `calls` scan to plan (issue #16: planning is a third of a miss).
 */
const frontEdge = (e: ReturnType<typeof edges>, part: SQL): SQL => (e.from === e.lo ? sql`` : part);

const builtTo = sql`coalesce((SELECT rs.built_to FROM rollup_state rs WHERE rs.id = 1), '-infinity'::timestamptz)`;

const OUTCOME_COLUMNS = CALL_OUTCOMES.map((o) => `outcome_${o}`);

/**
 * The part rows' columns after `at`: each one's name, its value from a clean rollup row `r` and from a raw call `c`.
 * Their types are what sums fastest, exactly: counts are `int` (summed in a 64-bit integer, pass by value), and the
 * three sums that need more than 32 bits are `float8` (integers below 2^53 add exactly in any order). A bigint would be
 * summed through a 128-bit or numeric state, the largest CPU cost of a 90-day window's 8,640 rows (issue #16).
 */
const CALL_PART_COLUMNS = [
  ["calls", "r.calls", "1"],
  ["completed", "r.completed", "(CASE WHEN c.status = 'completed' THEN 1 ELSE 0 END)"],
  ["duration_completed_sum", "r.duration_completed_sum::float8", "(CASE WHEN c.status = 'completed' THEN coalesce(c.duration_sec, 0) ELSE 0 END)::float8"],
  ["scored", "r.scored", "(CASE WHEN c.lead_score IS NOT NULL THEN 1 ELSE 0 END)"],
  ["qualified", "r.qualified", "(CASE WHEN c.lead_score >= 70 THEN 1 ELSE 0 END)"],
  ["score_sum", "r.score_sum::float8", "coalesce(c.lead_score, 0)::float8"],
  ["hot", "r.hot", "(CASE WHEN c.lead_score >= 70 THEN 1 ELSE 0 END)"],
  ["warm", "r.warm", "(CASE WHEN c.lead_score >= 40 AND c.lead_score < 70 THEN 1 ELSE 0 END)"],
  ["cold", "r.cold", "(CASE WHEN c.lead_score < 40 THEN 1 ELSE 0 END)"],
  ["booked", "r.booked", "(CASE WHEN c.outcome = 'appointment_booked' THEN 1 ELSE 0 END)"],
  ...CALL_OUTCOMES.map((o) => [`outcome_${o}`, `r.outcome_${o}`, `(CASE WHEN c.outcome = '${o}' THEN 1 ELSE 0 END)`] as const),
  ["credits_used", "r.credits_used::float8", "c.credits_used::float8"],
] as const;

export type CallPartColumn = (typeof CALL_PART_COLUMNS)[number][0];

/** The SELECT lists of part rows with `columns` (every column when not given): from rollup rows `r` and from raw calls `c`. */
function callPartLists(columns?: readonly CallPartColumn[]): { rollup: SQL; raw: SQL } {
  const chosen = columns ? CALL_PART_COLUMNS.filter(([name]) => columns.includes(name)) : CALL_PART_COLUMNS;
  return {
    rollup: sql.raw(["r.bucket_start AS at", ...chosen.map(([name, rollup]) => `${rollup} AS ${name}`)].join(", ")),
    raw: sql.raw(["c.started_at AS at", ...chosen.map(([name, , raw]) => `${raw} AS ${name}`)].join(", ")),
  };
}

/**
 * Which rollup rows a split reads for its clean whole hours: `"hour"`, one `call_rollup_hourly` row per hour (a
 * fourth of the rows), or `"quarter"`, the hour's four `call_rollup_15m` rows. A part row's `at` is its bucket's start,
 * so `"hour"` is for reads that only sum the window, or that split or group it on instants and local hours that are
 * whole UTC hours (`utcHoursAreLocalHours`); `"quarter"` rows lie inside one local hour in every zone.
 */
export type CallGrain = "hour" | "quarter";

/**
 * The rollup-or-raw split of a window, shared by every call query: `rollup` selects the clean rollup rows `r` inside
 * the window, `raw` the window's raw calls `c` elsewhere (each as a SELECT list over those aliases).
 *
 * With `grain = "hour"`, the clean rows of [lo, hi) are read in three ranges: 15-minute rows of [lo, hlo), hourly rows
 * of the whole hours [hlo, hhi) with no mark in the hour (a marked hour: its unmarked 15-minute rows), and 15-minute
 * rows of [hhi, hi). An hourly row equals the sum of its hour's 15-minute rows at every commit (the refresh keeps
 * them so), so the hour's four rows and its one row count the same calls.
 */
function callSplitSql(orgId: string, window: RollupWindow, rollup: SQL, raw: SQL, rawWhere: SQL = sql``, grain: CallGrain = "quarter"): SQL {
  const e = edges(window, BUCKET_MS);
  return splitOf(orgId, e, e.from !== e.lo, rollup, raw, rawWhere, grain === "hour" ? edges(window, HOUR_MS).lo : null);
}

/**
 * `callSplitSql` over edges and an organization given as values or as placeholders (a statement built once per shape),
 * with or without the raw part of the front edge (`[from, lo)`: empty, and left out, when the window starts on the grid),
 * and with the window's first whole hour `hourLo` (a value or a placeholder) to read clean whole hours from hourly
 * rows, or null to read 15-minute rows only.
 */
function splitOf(
  orgId: string | Placeholder,
  e: Edges<string | Placeholder>,
  front: boolean,
  rollup: SQL,
  raw: SQL,
  rawWhere: SQL,
  hourLo: string | Placeholder | null,
): SQL {
  const lo = sql`${e.lo}::timestamptz`;
  const hi = sql`(SELECT greatest(${lo}, least(${e.floorTo}::timestamptz, ${builtTo})))`;
  const org = sql`${orgId}::uuid`;
  const unmarked = sql`NOT EXISTS (SELECT 1 FROM rollup_dirty d WHERE d.org_id = r.org_id AND d.bucket_start = r.bucket_start)`;
  let clean: SQL;
  if (hourLo !== null) {
    const hlo = sql`${hourLo}::timestamptz`;
    // the last whole hour's end: at least hlo, so that [lo, hlo), [hlo, hhi) and [hhi, hi) never overlap
    const hhi = sql`(SELECT greatest(${hlo}, tally_rollup_hour(least(${e.floorTo}::timestamptz, ${builtTo}))))`;
    clean = sql`
    SELECT ${rollup}
      FROM call_rollup_15m r
     WHERE r.org_id = ${org} AND r.bucket_start >= ${lo} AND r.bucket_start < least(${hlo}, ${hi}) AND ${unmarked}
    UNION ALL
    SELECT ${rollup}
      FROM call_rollup_hourly r
     WHERE r.org_id = ${org} AND r.bucket_start >= ${hlo} AND r.bucket_start < ${hhi}
       -- the marked hours, hashed once (a NOT EXISTS over a range of marks would probe the log once per hour row)
       AND r.bucket_start NOT IN (SELECT tally_rollup_hour(d.bucket_start) FROM rollup_dirty d
                                   WHERE d.org_id = ${org} AND d.bucket_start >= ${hlo} AND d.bucket_start < ${hhi})
    UNION ALL
    SELECT quarters.*
      FROM (SELECT DISTINCT tally_rollup_hour(d.bucket_start) AS hour FROM rollup_dirty d
             WHERE d.org_id = ${org} AND d.bucket_start >= ${hlo} AND d.bucket_start < ${hhi}) marked
      CROSS JOIN LATERAL (
        SELECT ${rollup} FROM call_rollup_15m r
         WHERE r.org_id = ${org} AND r.bucket_start >= marked.hour AND r.bucket_start < marked.hour + interval '1 hour' AND ${unmarked}
        OFFSET 0
      ) quarters
    UNION ALL
    SELECT ${rollup}
      FROM call_rollup_15m r
     WHERE r.org_id = ${org} AND r.bucket_start >= ${hhi} AND r.bucket_start < ${hi} AND ${unmarked}`;
  } else {
    clean = sql`
    SELECT ${rollup}
      FROM call_rollup_15m r
     WHERE r.org_id = ${org} AND r.bucket_start >= ${lo} AND r.bucket_start < ${hi} AND ${unmarked}`;
  }
  return sql`${clean}
    ${
      front
        ? sql`UNION ALL
    SELECT ${raw}
      FROM calls c
     WHERE c.org_id = ${org} AND c.started_at >= ${e.from}::timestamptz AND c.started_at < least(${lo}, ${e.to}::timestamptz) ${rawWhere}`
        : sql``
    }
    UNION ALL
    SELECT ${raw}
      FROM calls c
     WHERE c.org_id = ${org} AND c.started_at >= ${hi} AND c.started_at < ${e.to}::timestamptz ${rawWhere}
       ${planTimeBounds(lo, e.to)}
    UNION ALL
    SELECT raw.*
      FROM (SELECT DISTINCT d.bucket_start FROM rollup_dirty d
             WHERE d.org_id = ${org} AND d.bucket_start >= ${lo} AND d.bucket_start < ${hi}) dirty
      CROSS JOIN LATERAL (
        -- one index range scan per dirty bucket, never a hash of the organization's calls (OFFSET 0: not flattened)
        SELECT ${raw} FROM calls c
         WHERE c.org_id = ${org} AND c.started_at >= dirty.bucket_start AND c.started_at < dirty.bucket_start + interval '15 minutes' ${rawWhere}
           ${planTimeBounds(lo, e.floorTo)}
        OFFSET 0
      ) raw`;
}

/**
 * The window's calls as part rows `(at, calls, completed, duration_completed_sum, scored, qualified, score_sum, hot,
 * warm, cold, booked, outcome_<each>, credits_used)`, or `at` and `columns` alone (a read that sums a few of them: the
 * rows of a UNION ALL carry every column they list, used or not): one per clean rollup row, one per raw call. `at` is
 * the bucket start or the call's started_at; with the default `grain` ("quarter") it lies in the same local hour as
 * every call the row counts, with "hour" in the same UTC hour (see CallGrain).
 */
export function callPartsSql(orgId: string, window: RollupWindow, columns?: readonly CallPartColumn[], grain: CallGrain = "quarter"): SQL {
  const { rollup, raw } = callPartLists(columns);
  return callSplitSql(orgId, window, rollup, raw, sql``, grain);
}

/**
 * The statement of `callCount` for one shape: the filters' values (they pick the rollup columns summed) and whether the
 * window has a front edge off the grid; everything else (organization, edges) is a placeholder. A shape's text never
 * varies, so it is built once and sent as a named prepared statement, planned once a connection: building it with
 * Drizzle on every request cost the calls list more CPU than its page (issue #15). Shapes: at most 3 × 8 × 2.
 */
function callCountStatement(filters: CallFilters, front: boolean): { name: string; text: string; params: unknown[] } {
  const key = `${filters.direction ?? ""}:${filters.status ?? ""}:${front ? "f" : ""}`;
  let statement = countStatements.get(key);
  if (!statement) {
    // the columns come from the enums' own lists, so a value that is none of them sums no column (and fails the statement)
    const directions = CALL_DIRECTIONS.filter((d) => !filters.direction || d === filters.direction);
    const statuses = CALL_STATUSES.filter((s) => !filters.status || s === filters.status);
    const columns = filters.direction || filters.status ? directions.flatMap((d) => statuses.map((s) => `r.${d}_${s}`)) : ["r.calls"];
    const where: SQL[] = [];
    if (filters.direction) where.push(sql`AND c.direction = ${sql.placeholder("direction")}::call_direction`);
    if (filters.status) where.push(sql`AND c.status = ${sql.placeholder("status")}::call_status`);
    const e = { from: sql.placeholder("from"), to: sql.placeholder("to"), lo: sql.placeholder("lo"), floorTo: sql.placeholder("floorTo") };
    const parts = splitOf(
      sql.placeholder("org"),
      e,
      front,
      sql.raw(`(${columns.join(" + ")}) AS n`),
      sql.raw(`1 AS n`),
      sql.join(where, sql` `),
      sql.placeholder("hourLo"),
    );
    const query = new PgDialect().sqlToQuery(sql`SELECT coalesce(sum(p.n), 0)::int AS calls FROM (${parts}) p`);
    statement = { name: `tally_call_count_${countStatements.size}`, text: query.sql, params: query.params };
    countStatements.set(key, statement);
  }
  return statement;
}
const countStatements = new Map<string, { name: string; text: string; params: unknown[] }>();

/** The window's calls of one direction and/or status (the calls list's exact `meta.total`), in one statement. */
export async function callCount(ctx: RollupContext, window: RollupWindow, filters: CallFilters = {}): Promise<number> {
  const e = edges(window, BUCKET_MS);
  const statement = callCountStatement(filters, e.from !== e.lo);
  // clean whole hours from hourly rows: a count only sums the window
  const values = { org: ctx.orgId, ...e, hourLo: edges(window, HOUR_MS).lo, direction: filters.direction, status: filters.status };
  const [row] = await preparedRows<{ calls: number }>(ctx.db, statement.name, statement.text, fillPlaceholders(statement.params, values));
  return row!.calls;
}

/** The sums of part rows `p` as the columns CallTotals is read from. */
const TOTALS_COLUMNS = sql.raw(`
  coalesce(sum(p.calls), 0)::int AS calls,
  coalesce(sum(p.completed), 0)::int AS completed,
  coalesce(sum(p.duration_completed_sum), 0)::float8 AS duration_completed_sum,
  coalesce(sum(p.scored), 0)::int AS scored,
  coalesce(sum(p.qualified), 0)::int AS qualified,
  coalesce(sum(p.score_sum), 0)::float8 AS score_sum,
  coalesce(sum(p.hot), 0)::int AS hot,
  coalesce(sum(p.warm), 0)::int AS warm,
  coalesce(sum(p.cold), 0)::int AS cold,
  coalesce(sum(p.booked), 0)::int AS booked,
  ${OUTCOME_COLUMNS.map((col) => `coalesce(sum(p.${col}), 0)::int AS ${col}`).join(",\n  ")},
  coalesce(sum(p.credits_used), 0)::float8 AS credits_used`);

type TotalsRow = {
  calls: number;
  completed: number;
  duration_completed_sum: number;
  scored: number;
  qualified: number;
  score_sum: number;
  hot: number;
  warm: number;
  cold: number;
  booked: number;
  credits_used: number;
} & Record<string, number>;

/** One row: the window's totals (columns as in TOTALS_COLUMNS; read them with `callTotalsFromRow`). */
export function callTotalsSql(orgId: string, window: RollupWindow): SQL {
  return sql`SELECT ${TOTALS_COLUMNS} FROM (${callPartsSql(orgId, window, undefined, "hour")}) p`;
}

const countersFromRow = (r: TotalsRow): CallCounters => ({
  calls: r.calls,
  completed: r.completed,
  durationCompletedSum: r.duration_completed_sum,
  scored: r.scored,
  qualified: r.qualified,
  scoreSum: r.score_sum,
  booked: r.booked,
  creditsUsed: r.credits_used,
});

/** Maps a row of `callTotalsSql` (snake_case columns) to CallTotals. */
export function callTotalsFromRow(r: TotalsRow): CallTotals {
  return {
    ...countersFromRow(r),
    leadQuality: { hot: r.hot, warm: r.warm, cold: r.cold },
    outcomes: Object.fromEntries(CALL_OUTCOMES.map((o) => [o, r[`outcome_${o}`] ?? 0])) as OutcomeCounts,
  };
}

/** The window's call totals: counts, sums, lead quality and outcomes (overview, analytics, credits this month). */
export async function callTotals(ctx: RollupContext, window: RollupWindow): Promise<CallTotals> {
  const row = await firstRow<TotalsRow>(ctx.db, callTotalsSql(ctx.orgId, window));
  return callTotalsFromRow(row!);
}

/** The local dates a bounded window touches (as resolveWindow lists them); unbounded windows list only dates with calls. */
function windowDates(window: RollupWindow): string[] | null {
  if (!window.from || !window.to) return null;
  const last = new Date(Math.max(window.from.getTime(), window.to.getTime() - 1));
  return datesBetween(localDate(window.from, window.timezone), localDate(last, window.timezone));
}

const ZERO_COUNTERS: CallCounters = { calls: 0, completed: 0, durationCompletedSum: 0, scored: 0, qualified: 0, scoreSum: 0, booked: 0, creditsUsed: 0 };

export type CallAnalytics = { totals: CallTotals; series: DailyPoint[]; byHourOfDay: number[] };

/**
 * Totals, the daily series and the hours of a window in one statement, in one of two shapes by grain (CallGrain):
 *   - 15-minute part rows (8,640 for 90 days): one pass groups them by local hour (each row converted to local time
 *     once, nothing materialized per row), the dates and the hours of the day are sums of those 2,160 hours;
 *   - hourly part rows (2,160 for 90 days, in a zone on whole-hour offsets) are already one local hour each: they are
 *     converted to local time once into a materialized CTE, and summed by date and by hour of the day from there (a
 *     pass grouping them by local hour first reduces nothing for them and cost about half the statement: 17 sums a
 *     row, BENCHMARKS.md, ninth round).
 * The date is formatted once per date, and the totals are the sums of the dates (exact: integer counts, and float8
 * sums of integers below 2^53).
 */
export async function callAnalytics(ctx: RollupContext, window: RollupWindow): Promise<CallAnalytics> {
  const tz = window.timezone;
  // hourly rows where every UTC hour of the window is inside one local hour (whole-hour offsets), else 15-minute rows
  const grain: CallGrain = window.from && window.to && utcHoursAreLocalHours(tz, window.from.getTime(), window.to.getTime()) ? "hour" : "quarter";
  const parts = callPartsSql(ctx.orgId, window, undefined, grain);
  const days =
    grain === "hour"
      ? sql`
      parts AS MATERIALIZED (SELECT p.at AT TIME ZONE ${tz}::text AS local_at, p.* FROM (${parts}) p),
      by_day AS MATERIALIZED (SELECT p.local_at::date AS day, ${TOTALS_COLUMNS} FROM parts p GROUP BY 1),
      hourly AS (SELECT extract(hour FROM p.local_at)::int AS hour, coalesce(sum(p.calls), 0)::int AS calls FROM parts p GROUP BY 1)`
      : sql`
      by_hour AS MATERIALIZED (
        SELECT date_trunc('hour', p.at AT TIME ZONE ${tz}::text) AS local_hour, ${TOTALS_COLUMNS} FROM (${parts}) p GROUP BY 1
      ),
      by_day AS MATERIALIZED (SELECT p.local_hour::date AS day, ${TOTALS_COLUMNS} FROM by_hour p GROUP BY 1),
      hourly AS (SELECT extract(hour FROM p.local_hour)::int AS hour, coalesce(sum(p.calls), 0)::int AS calls FROM by_hour p GROUP BY 1)`;
  type Row = { totals: TotalsRow | string; series: (TotalsRow & { date: string })[] | string; hours: { hour: number; calls: number }[] | string };
  const row = await firstRow<Row>(
    ctx.db,
    sql`
      WITH ${days},
      daily AS (SELECT to_char(d.day, 'YYYY-MM-DD') AS date, d.* FROM by_day d)
      SELECT (SELECT row_to_json(t) FROM (SELECT ${TOTALS_COLUMNS} FROM by_day p) t) AS totals,
             (SELECT coalesce(json_agg(daily ORDER BY date), '[]'::json) FROM daily) AS series,
             (SELECT coalesce(json_agg(hourly), '[]'::json) FROM hourly) AS hours`,
  );
  const parse = <T>(v: T | string): T => (typeof v === "string" ? (JSON.parse(v) as T) : v);
  const found = parse(row!.series);
  const byDate = new Map(found.map((r) => [r.date, { date: r.date, ...countersFromRow(r) }]));
  const dates = windowDates(window) ?? [...byDate.keys()];
  const byHourOfDay = Array.from({ length: 24 }, () => 0);
  for (const h of parse(row!.hours)) byHourOfDay[h.hour] = h.calls;
  return {
    totals: callTotalsFromRow(parse(row!.totals)),
    series: dates.map((date) => byDate.get(date) ?? { date, ...ZERO_COUNTERS }),
    byHourOfDay,
  };
}

const AGENT_COUNTER_COLUMNS = [
  "calls",
  "completed",
  "duration_completed_sum",
  "scored",
  "score_sum",
  "booked",
  "credits_used",
  "milestones",
  "milestones_achieved",
  "objections",
  "objections_handled",
] as const;

/**
 * Which per-agent counters a read needs: the call counters alone (the agents list), or with the analysis counts
 * (milestones, objections: the variance, the agent panel). Raw calls need a lookup in `call_milestones` and
 * `call_objections` each for the analysis counts; with `calls` there is none, and the analysis columns are 0.
 */
export type AgentCounters = "calls" | "calls-and-analysis";

const ANALYSIS_COLUMNS = new Set<string>(["milestones", "milestones_achieved", "objections", "objections_handled"]);
/** The agent counters that are sums needing more than 32 bits (bigint in the rollups): float8 in part rows. */
const AGENT_WIDE_SUMS = new Set<string>(["duration_completed_sum", "score_sum", "credits_used"]);

/** The milestone and objection counts of each raw call `raw` (`ms.n`, `ms.achieved`, `ob.n`, `ob.handled`). */
const analysisLookups = (org: SQL): SQL => sql`
      CROSS JOIN LATERAL (
        SELECT count(*)::int AS n, count(*) FILTER (WHERE m.achieved)::int AS achieved
          FROM call_milestones m WHERE m.call_id = raw.id AND m.org_id = ${org}
      ) ms
      CROSS JOIN LATERAL (
        SELECT count(*)::int AS n, count(*) FILTER (WHERE o.handled)::int AS handled
          FROM call_objections o WHERE o.call_id = raw.id AND o.org_id = ${org}
      ) ob`;

const DAY_MS = 24 * HOUR_MS;

/**
 * A grouping key that makes the planner group by hashing: a constant of a type with a hash operator class and no
 * ordering (`xid`), so a GROUP BY that lists it cannot be done by sorting (it adds nothing to the groups). The app's
 * statements run as generic plans, whose estimates for a window's parts are a few rows (the bounds are parameters and
 * B a subquery): a 90-day variance read its 17.6k daily agent rows by a sort and a group aggregate where a hash
 * aggregate of ~200 groups takes 1.1–1.3 ms less (issue #16; BENCHMARKS.md).
 */
const HASHED_GROUPING = sql.raw("'0'::xid");

/**
 * The hourly rows of a window's partial first UTC day `[lo, dlo)` (`direct`, each part summed per agent), or, when that
 * part is more than half a day, the same sums as the day's daily row minus its hours before `lo` (`[day, lo)`): at most
 * 1 + 11 rows per agent instead of 13–23 (a `days` window in New York starts at 05:00 UTC: 19 hourly rows per agent, 6
 * this way). Exact because a daily row is, at every commit, the sums of its day's hourly rows (the refresh and the fold
 * write both in one statement, sql/012_rollup_refresh.sql), so the difference is the sums of the hours `[lo, dlo)`; it
 * is taken only when those hours are clean (no mark: a marked hour is read raw) and below B (`dlo <= hi`), else the
 * hourly rows are read directly, as for a part of 12 hours or less.
 */
function frontByComplement(e: ReturnType<typeof edges>, org: SQL, hi: SQL, sums: (sign: "" | "-") => SQL, direct: SQL, ofAgent: SQL, byAgent: SQL): SQL {
  const loMs = Date.parse(e.lo);
  const dloMs = Math.ceil(loMs / DAY_MS) * DAY_MS;
  if (!Number.isFinite(loMs) || dloMs - loMs <= 12 * HOUR_MS) return sql`${direct} ${byAgent}`;
  const lo = sql`${e.lo}::timestamptz`;
  const day = sql`${instantLiteral(dloMs - DAY_MS)}::timestamptz`;
  const dlo = sql`${instantLiteral(dloMs)}::timestamptz`;
  const whole = sql`(${dlo} <= ${hi} AND NOT EXISTS (SELECT 1 FROM rollup_dirty d
                                                     WHERE d.org_id = ${org} AND d.bucket_start >= ${lo} AND d.bucket_start < ${dlo}))`;
  return dayMinusHours({ org, day, from: day, to: lo, whole, sums, direct, ofAgent, byAgent });
}

/**
 * The hourly rows of a window's partial last UTC day `[dhi, hi)` (`direct`), or, when that part is more than half a
 * day, the same sums as the day's daily row minus its hourly rows from `hi` on (`[hi, dhi + 1 day)`: the hours after
 * the window, and those of the day from B on that the refresh may already hold): at most 1 + 11 rows per agent, and
 * for a window ending now usually just the daily row, whatever the time of day (at 20:00 UTC a `days` window's
 * last day is 20 hourly rows per agent read directly). Exact as `frontByComplement` is, taken only when the hours
 * `[dhi, hi)` have no mark; `hi` depends on B, so both ways are in the statement and one runs.
 */
function backByComplement(org: SQL, hi: SQL, dhi: SQL, sums: (sign: "" | "-") => SQL, direct: SQL, ofAgent: SQL, byAgent: SQL): SQL {
  // infinite bounds compare (an unbounded window's B may be -infinity); they do not subtract
  const whole = sql`(${hi} > ${dhi} + interval '12 hours' AND NOT EXISTS (SELECT 1 FROM rollup_dirty d
                                                                     WHERE d.org_id = ${org} AND d.bucket_start >= ${dhi} AND d.bucket_start < ${hi}))`;
  return dayMinusHours({ org, day: dhi, from: hi, to: sql`${dhi} + interval '1 day'`, whole, sums, direct, ofAgent, byAgent });
}

/**
 * The two ways of one partial day's per-agent sums, of which one runs: when `whole` holds, the day's daily row minus
 * its hourly rows `[from, to)` (the hours outside the window); else `direct`, the window's hourly rows of that day.
 */
function dayMinusHours(p: { org: SQL; day: SQL; from: SQL; to: SQL; whole: SQL; sums: (sign: "" | "-") => SQL; direct: SQL; ofAgent: SQL; byAgent: SQL }): SQL {
  const { org, day, from, to, whole, sums, direct, ofAgent, byAgent } = p;
  return sql`
    SELECT r.agent_id, ${sums("")}
      FROM agent_rollup_daily r
     WHERE r.org_id = ${org} AND r.day_start = ${day} ${ofAgent} AND ${whole}
     ${byAgent}
    UNION ALL
    SELECT r.agent_id, ${sums("-")}
      FROM agent_rollup_hourly r
     WHERE r.org_id = ${org} AND r.bucket_start >= ${from} AND r.bucket_start < ${to} ${ofAgent} AND ${whole}
     ${byAgent}
    UNION ALL
    ${direct} AND NOT ${whole}
     ${byAgent}`;
}

/**
 * The window's calls that have an agent as part rows `(agent_id, <AGENT_COUNTER_COLUMNS>)`, at most one per agent and
 * part, each the agent's sums over that part: the clean daily rollup rows (whole UTC days inside the window, below B,
 * without a mark), the clean hourly rollup rows of the rest (the partial days at the two edges; the days with a mark),
 * and the raw calls with their milestone and objection counts. Window edges that cut an hour (local midnight in
 * Asia/Kolkata) are read raw for just that partial hour. A 30-day window reads about 30 daily rows per agent and at
 * most two days of hourly rows, however busy the agents, and answers at most five rows per agent.
 */
export function agentPartsSql(orgId: string, window: RollupWindow, counters: AgentCounters = "calls-and-analysis", agentId?: string): SQL {
  const e = edges(window, HOUR_MS);
  const lo = sql`${e.lo}::timestamptz`;
  const hi = sql`(SELECT greatest(${lo}, least(${e.floorTo}::timestamptz, tally_rollup_hour(${builtTo}))))`;
  // the whole UTC days inside [lo, hi): [dlo, dhi), empty when dhi = dlo
  const dlo = sql`tally_rollup_day_ceil(${lo})`;
  const dhi = sql`(SELECT greatest(${dlo}, tally_rollup_day(${hi})))`;
  const org = sql`${orgId}::uuid`;
  // one agent (the agent panel): each part reads that agent's rows only
  const ofAgent = agentId === undefined ? sql`` : sql`AND r.agent_id = ${agentId}::uuid`;
  const rawAgent = agentId === undefined ? sql`c.agent_id IS NOT NULL` : sql`c.agent_id = ${agentId}::uuid`;
  // every part is grouped per agent by hashing (HASHED_GROUPING); one agent's parts are a group each anyway
  const byAgent = agentId === undefined ? sql`GROUP BY r.agent_id, ${HASHED_GROUPING}` : sql`GROUP BY r.agent_id`;
  const byRawAgent = agentId === undefined ? sql`GROUP BY raw.agent_id, ${HASHED_GROUPING}` : sql`GROUP BY raw.agent_id`;
  const rawCall = sql.raw(`c.id, c.agent_id, c.status, c.duration_sec, c.lead_score, c.outcome, c.credits_used`);
  const analysis = counters === "calls-and-analysis";
  // each part is summed per agent where it is read (a hash aggregate of ~200 groups over that part's rows): the
  // statement's final GROUP BY then combines a few rows per agent, not the 6k–18k rollup rows of a 30–90-day window
  // (which the planner aggregated by a sort: the raw parts' estimates made the hash path's saving fall inside its
  // cost fuzz; the generic plans still sorted a few parts until HASHED_GROUPING). Counts are `int`, the three wide
  // sums `float8` (what sums fastest, exactly: integers below 2^53).
  const sums = (sign: "" | "-") =>
    sql.raw(
      AGENT_COUNTER_COLUMNS.map((col) =>
        !analysis && ANALYSIS_COLUMNS.has(col)
          ? `0 AS ${col}`
          : AGENT_WIDE_SUMS.has(col)
            ? `${sign}sum(r.${col}::float8) AS ${col}`
            : `${sign}sum(r.${col})::int AS ${col}`,
      ).join(", "),
    );
  const rollupSums = sums("");
  const dirtyHours = sql`(SELECT tally_rollup_hour(d.bucket_start) FROM rollup_dirty d
                           WHERE d.org_id = ${org} AND d.bucket_start >= ${lo} AND d.bucket_start < ${hi})`;
  const frontHours = sql`
    SELECT r.agent_id, ${rollupSums}
      FROM agent_rollup_hourly r
     WHERE r.org_id = ${org} AND r.bucket_start >= ${lo} AND r.bucket_start < least(${dlo}, ${hi}) ${ofAgent}
       AND r.bucket_start NOT IN ${dirtyHours}`;
  const backHours = sql`
    SELECT r.agent_id, ${rollupSums}
      FROM agent_rollup_hourly r
     WHERE r.org_id = ${org} AND r.bucket_start >= ${dhi} AND r.bucket_start < ${hi} ${ofAgent}
       AND r.bucket_start NOT IN ${dirtyHours}`;
  return sql`
    SELECT r.agent_id, ${rollupSums}
      FROM agent_rollup_daily r
     WHERE r.org_id = ${org} AND r.day_start >= ${dlo} AND r.day_start < ${dhi} ${ofAgent}
       AND r.day_start NOT IN (SELECT tally_rollup_day(d.bucket_start) FROM rollup_dirty d
                                WHERE d.org_id = ${org} AND d.bucket_start >= ${dlo} AND d.bucket_start < ${dhi})
     ${byAgent}
    UNION ALL
    ${frontByComplement(e, org, hi, sums, frontHours, ofAgent, byAgent)}
    UNION ALL
    ${backByComplement(org, hi, dhi, sums, backHours, ofAgent, byAgent)}
    UNION ALL
    SELECT r.agent_id, ${rollupSums}
      FROM (SELECT DISTINCT tally_rollup_day(d.bucket_start) AS day FROM rollup_dirty d
             WHERE d.org_id = ${org} AND d.bucket_start >= ${dlo} AND d.bucket_start < ${dhi}) dirty_days
      CROSS JOIN LATERAL (
        -- the hourly rows of a day with a mark (one index range scan per such day)
        SELECT r.* FROM agent_rollup_hourly r
         WHERE r.org_id = ${org} AND r.bucket_start >= dirty_days.day AND r.bucket_start < dirty_days.day + interval '1 day' ${ofAgent}
           AND r.bucket_start NOT IN ${dirtyHours}
        OFFSET 0
      ) r
     ${byAgent}
    UNION ALL
    SELECT raw.agent_id,
           count(*)::int,
           count(*) FILTER (WHERE raw.status = 'completed')::int,
           coalesce(sum(raw.duration_sec::float8) FILTER (WHERE raw.status = 'completed'), 0),
           count(raw.lead_score)::int,
           coalesce(sum(raw.lead_score::float8), 0),
           count(*) FILTER (WHERE raw.outcome = 'appointment_booked')::int,
           coalesce(sum(raw.credits_used::float8), 0),
           ${analysis ? sql`sum(ms.n)::int, sum(ms.achieved)::int, sum(ob.n)::int, sum(ob.handled)::int` : sql`0, 0, 0, 0`}
      FROM (
        SELECT ${rawCall} FROM calls c
         WHERE c.org_id = ${org} AND ${rawAgent} AND c.started_at >= ${hi} AND c.started_at < ${e.to}::timestamptz
           ${planTimeBounds(lo, e.to)}
        ${frontEdge(
          e,
          sql`UNION ALL
        SELECT ${rawCall} FROM calls c
         WHERE c.org_id = ${org} AND ${rawAgent}
           AND c.started_at >= ${e.from}::timestamptz AND c.started_at < least(${lo}, ${e.to}::timestamptz)`,
        )}
        UNION ALL
        SELECT dirty_calls.*
          FROM (SELECT DISTINCT tally_rollup_hour(d.bucket_start) AS hour FROM rollup_dirty d
                 WHERE d.org_id = ${org} AND d.bucket_start >= ${lo} AND d.bucket_start < ${hi}) dirty
          CROSS JOIN LATERAL (
            SELECT ${rawCall} FROM calls c
             WHERE c.org_id = ${org} AND ${rawAgent} AND c.started_at >= dirty.hour AND c.started_at < dirty.hour + interval '1 hour'
               ${planTimeBounds(lo, e.floorTo)}
            OFFSET 0
          ) dirty_calls
      ) raw
      ${analysis ? analysisLookups(org) : sql``}
     ${byRawAgent}`;
}

/**
 * Rows `(agent_id, calls, completed, duration_completed_sum, scored, score_sum, booked, credits_used, milestones,
 * milestones_achieved, objections, objections_handled)` per agent with at least one call in the window, to LEFT JOIN
 * onto `agents`.
 */
export function agentTotalsSql(orgId: string, window: RollupWindow, counters: AgentCounters = "calls-and-analysis", agentId?: string): SQL {
  // MATERIALIZED: each part is planned for its cheapest total cost, a hash aggregate of its rows. Inlined, the final
  // GROUP BY asks the parts for agent order, and the app's generic plans (named prepared statements: the window's
  // bounds are parameters, estimated at a few dozen rows where 30 days are 6k) answered it with a sort of every part
  // and a merge, or not, by a hair of estimated cost (issue #16).
  return sql`WITH parts AS MATERIALIZED (${agentPartsSql(orgId, window, counters, agentId)})
    SELECT p.agent_id, ${AGENT_PART_SUMS} FROM parts p GROUP BY p.agent_id HAVING sum(p.calls) > 0`;
}

/**
 * The columns of AgentTotals (snake_case, without `agent_id`) as sums of `agentPartsSql` rows `p` grouped per agent:
 * 0 for a group without part rows (an outer join's agent without calls).
 */
export const AGENT_PART_SUMS = sql.raw(
  AGENT_COUNTER_COLUMNS.map((col) =>
    AGENT_WIDE_SUMS.has(col) ? `coalesce(sum(p.${col}), 0)::float8 AS ${col}` : `coalesce(sum(p.${col}), 0)::int AS ${col}`,
  ).join(", "),
);

type AgentTotalsRow = { agent_id: string } & Record<(typeof AGENT_COUNTER_COLUMNS)[number], number>;

/** Maps a row of `agentTotalsSql` to AgentTotals. */
export function agentTotalsFromRow(r: AgentTotalsRow): AgentTotals {
  return {
    agentId: r.agent_id,
    calls: r.calls,
    completed: r.completed,
    durationCompletedSum: r.duration_completed_sum,
    scored: r.scored,
    scoreSum: r.score_sum,
    booked: r.booked,
    creditsUsed: r.credits_used,
    milestones: r.milestones,
    milestonesAchieved: r.milestones_achieved,
    objections: r.objections,
    objectionsHandled: r.objections_handled,
  };
}

/** Per agent with at least one call in the window: its counters (archived agents included), by agent id. */
export async function agentTotals(ctx: RollupContext, window: RollupWindow): Promise<AgentTotals[]> {
  const found = await rows<AgentTotalsRow>(ctx.db, sql`${agentTotalsSql(ctx.orgId, window)} ORDER BY 1`);
  return found.map(agentTotalsFromRow);
}
