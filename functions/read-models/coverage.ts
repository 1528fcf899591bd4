import { sql } from "drizzle-orm";
import { rows } from "../db/database";
import { namespace } from "../cache/namespaces";
import { utcHoursAreLocalHours } from "../lib/time";
import { MAX_WINDOW_DAYS, type Window } from "../lib/windows";
import type { ReadContext, ServiceContext } from "../context";
import { fetchWindowedAggregate, type WindowedAggregate, type WindowQuery, type WindowedValue } from "./windowed";

/** What the coverage read model reads: the request's database handle, its organization and the instant it computes for. */
export type CoverageContext = Pick<ServiceContext, "db" | "org"> & { now: Date };

export type CoverageHour = {
  /** local calendar date, YYYY-MM-DD */
  date: string;
  /** local wall-clock hour, 0–23 */
  hour: number;
  /** online seconds of every agent in this local hour, summed over agents (an agent's overlapping sessions count once) */
  agentSeconds: number;
  /** seconds of this local hour with at least one agent online */
  coveredSeconds: number;
};

/**
 * Agent coverage of one organization by local hour for a window (SPEC §5): every local date of the window × hours 0–23,
 * ascending. A local hour is the instants whose wall clock reads that hour on that date, so a fall-back day's hour 1
 * spans two real hours and a spring-forward day's hour 2 is empty. Sessions are clipped to the window, an open session
 * ends at `ctx.now`; each agent's sessions are merged first (an agent is online or not, whatever overlaps its sessions
 * have).
 *
 * One statement over 15-minute UTC buckets (every UTC offset is a multiple of 15 minutes, so each bucket lies in one
 * local hour, and both measures add up over buckets): the stored `coverage_15m` rows of the window's whole buckets
 * below the built point (`least(coverage_built_to, bucket of now)`) that no mark covers, plus a raw sweep of the rest —
 * a window edge off the bucket grid, the marked buckets (a session changed since the refresh), the time from the built
 * point to the window's end. Each region finds the ended sessions that overlap it by their span
 * (`agent_sessions_org_span_idx`, GiST) and the open ones; the sweep runs over one sorted stream of events (each agent's merged spans open +1 and close −1, each bucket
 * starts with 0), so buckets × intervals are never paired up. The buckets are then summed per local hour and laid
 * on the zero-filled grid of the window's dates. Functions/rollups/README.md "Coverage" has the invariants.
 */
export async function readCoverage(ctx: CoverageContext, window: Pick<Window, "from" | "to" | "timezone" | "dates">): Promise<CoverageHour[]> {
  const tz = window.timezone;
  const first = window.dates[0];
  if (first === undefined) return [];
  const from = sql`${window.from.toISOString()}::timestamptz`;
  const to = sql`${window.to.toISOString()}::timestamptz`;
  const now = sql`${ctx.now.toISOString()}::timestamptz`;
  const org = sql`${ctx.org.id}::uuid`;
  // where every UTC hour of the window lies inside one local hour, the buckets are summed per UTC hour (arithmetic on
  // the instant) and only those sums are taken to local time, then summed again (a fall-back day's repeated local hour
  // is two UTC hours): at 90 days (8.6k buckets) the statement took 9.9 ms against 11.3 grouping each bucket by its
  // local hour (BENCHMARKS.md, tenth round). Elsewhere (+05:30, +05:45, −03:30) each bucket's local hour is its own.
  const localHours = utcHoursAreLocalHours(tz, window.from.getTime(), window.to.getTime())
    ? sql`
        SELECT u.utc_hour AT TIME ZONE ${tz}::text AS local_hour,
               sum(u.agent_microseconds) AS agent_microseconds, sum(u.covered_microseconds) AS covered_microseconds
        FROM (SELECT date_bin('1 hour', bucket_start, '1970-01-01 00:00:00+00') AS utc_hour,
                     sum(agent_microseconds) AS agent_microseconds, sum(covered_microseconds) AS covered_microseconds
              FROM parts
              GROUP BY 1) AS u
        GROUP BY 1`
    : sql`
        SELECT date_trunc('hour', bucket_start AT TIME ZONE ${tz}::text) AS local_hour,
               sum(agent_microseconds) AS agent_microseconds, sum(covered_microseconds) AS covered_microseconds
        FROM parts
        GROUP BY 1`;
  const result = await rows<CoverageHour>(
    ctx.db,
    sql`
      WITH span AS (
        -- the stored part: the window's whole buckets below the built point
        SELECT lo AS stored_from, greatest(lo, least(built, tally_rollup_bucket(${to}))) AS stored_to
        FROM (SELECT tally_rollup_ceil(${from}) AS lo,
                     least((SELECT coverage_built_to FROM rollup_state WHERE id = 1), tally_rollup_bucket(${now})) AS built) AS s
      ),
      marked AS MATERIALIZED (
        SELECT DISTINCT b.bucket_start
        FROM span AS sp
        JOIN coverage_dirty AS d ON d.org_id = ${org} AND d.dirty_from < sp.stored_to AND d.dirty_to > sp.stored_from
        CROSS JOIN LATERAL generate_series(greatest(d.dirty_from, sp.stored_from), least(d.dirty_to, sp.stored_to) - interval '15 minutes',
                                           interval '15 minutes') AS b (bucket_start)
      ),
      -- read raw: the window's front edge off the grid, the marked buckets (runs of adjacent ones as one region), and
      -- from the stored part's end on
      regions AS (
        SELECT ${from} AS lo, least(sp.stored_from, ${to}) AS hi FROM span AS sp WHERE ${from} < least(sp.stored_from, ${to})
        UNION ALL
        SELECT min(bucket_start), max(bucket_start) + interval '15 minutes'
        FROM (SELECT bucket_start, bucket_start - row_number() OVER (ORDER BY bucket_start) * interval '15 minutes' AS run FROM marked) AS runs
        GROUP BY run
        UNION ALL
        SELECT sp.stored_to, ${to} FROM span AS sp WHERE sp.stored_to < ${to}
      ),
      -- each region's sessions: the ended ones by their span (agent_sessions_org_span_idx, GiST), the open ones
      sessions AS (
        SELECT r.lo, r.hi, s.agent_id, s.started_at, s.ended_at
        FROM regions AS r
        JOIN agent_sessions AS s ON s.org_id = ${org} AND s.ended_at IS NOT NULL
          AND tstzrange(s.started_at, greatest(s.started_at, s.ended_at), '[)') && tstzrange(r.lo, r.hi, '[)')
        UNION ALL
        SELECT r.lo, r.hi, s.agent_id, s.started_at, ${now}
        FROM regions AS r JOIN agent_sessions AS s ON s.org_id = ${org} AND s.ended_at IS NULL AND s.started_at < r.hi
      ),
      clipped AS (
        SELECT agent_id, greatest(started_at, lo) AS online_from, least(ended_at, hi) AS online_to
        FROM sessions
        WHERE started_at < hi AND ended_at > lo
      ),
      agent_edges AS (
        SELECT agent_id, online_from, online_to,
               CASE WHEN online_from <= max(online_to) OVER (PARTITION BY agent_id ORDER BY online_from, online_to
                                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                    THEN 0 ELSE 1 END AS opens
        FROM clipped
        WHERE online_from < online_to
      ),
      agent_online AS (
        SELECT agent_id, min(online_from) AS online_from, max(online_to) AS online_to
        FROM (SELECT *, sum(opens) OVER (PARTITION BY agent_id ORDER BY online_from, online_to ROWS UNBOUNDED PRECEDING) AS island
              FROM agent_edges) AS islands
        GROUP BY agent_id, island
      ),
      events AS (
        SELECT online_from AS at, 1 AS delta, NULL::timestamptz AS bucket_start FROM agent_online
        UNION ALL
        SELECT online_to, -1, NULL FROM agent_online
        UNION ALL
        SELECT b.bucket_start, 0, b.bucket_start
        FROM regions AS r
        CROSS JOIN LATERAL generate_series(tally_rollup_bucket(r.lo), r.hi - interval '1 microsecond', interval '15 minutes') AS b (bucket_start)
      ),
      segments AS (
        SELECT max(bucket_start) OVER sweep AS bucket_start,
               sum(delta) OVER sweep AS agents_online,
               (extract(epoch FROM lead(at) OVER sweep - at) * 1000000)::bigint AS microseconds
        FROM events
        WINDOW sweep AS (ORDER BY at, bucket_start NULLS FIRST ROWS UNBOUNDED PRECEDING)
      ),
      parts AS (
        SELECT c.bucket_start, c.agent_microseconds, c.covered_microseconds
        FROM span AS sp
        JOIN coverage_15m AS c ON c.org_id = ${org} AND c.bucket_start >= sp.stored_from AND c.bucket_start < sp.stored_to
        WHERE NOT EXISTS (SELECT 1 FROM marked AS m WHERE m.bucket_start = c.bucket_start)
        UNION ALL
        SELECT bucket_start, microseconds * agents_online, microseconds FROM segments WHERE agents_online > 0 AND microseconds > 0
      ),
      local_hours AS (${localHours}),
      grid AS (
        SELECT (${first}::date + i.n)::timestamp + make_interval(hours => h.hour) AS local_hour
        FROM generate_series(0, ${window.dates.length - 1}::int) AS i (n)
        CROSS JOIN generate_series(0, 23) AS h (hour)
      )
      SELECT to_char(g.local_hour, 'YYYY-MM-DD') AS date, extract(hour FROM g.local_hour)::int AS hour,
        (coalesce(lh.agent_microseconds, 0) / 1000000.0)::float8 AS "agentSeconds",
        (coalesce(lh.covered_microseconds, 0) / 1000000.0)::float8 AS "coveredSeconds"
      FROM grid AS g
      LEFT JOIN local_hours AS lh ON lh.local_hour = g.local_hour
      ORDER BY g.local_hour
    `,
  );
  return result.map((r) => ({ date: r.date, hour: r.hour, agentSeconds: r.agentSeconds, coveredSeconds: r.coveredSeconds }));
}

/** `days` defaults to the last 7 local days. */
export const COVERAGE_DEFAULT_DAYS = 7;

/** The coverage's cached read; `GET /api/coverage` and the warm-cache job both read through `fetchCoverage`. */
export const coverageAggregate: WindowedAggregate<CoverageHour[]> = {
  namespace: namespace<WindowedValue<CoverageHour[]>>("coverage"),
  defaultDays: COVERAGE_DEFAULT_DAYS,
  maxDates: MAX_WINDOW_DAYS,
  read: readCoverage,
};

export const fetchCoverage = (ctx: ReadContext, query: WindowQuery) => fetchWindowedAggregate(ctx, coverageAggregate, query);
