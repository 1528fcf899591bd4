import { sql, type SQL } from "drizzle-orm";
import { rows } from "../db/database";
import { namespace } from "../cache/namespaces";
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
 * The first instant whose wall clock in `tz` reads `wall` or later. `wall AT TIME ZONE tz` alone is not it: Postgres
 * reads an ambiguous wall time (a fall-back day's repeated hour) as its later, standard-time instant. So `wall` is read
 * with the zone's offset a day before and a day after (no zone changes its offset twice within two days), and the
 * earliest reading that lands at or past `wall` wins; for a skipped wall time (spring forward) that is the jump itself.
 */
function firstInstantAtOrAfter(wall: SQL, tz: string): SQL {
  return sql`(
    SELECT min(candidate) FROM (
      SELECT (${wall} - ((probe AT TIME ZONE ${tz}::text) - (probe AT TIME ZONE 'UTC'))) AT TIME ZONE 'UTC' AS candidate
      FROM (VALUES ((${wall} AT TIME ZONE 'UTC') - interval '1 day'), ((${wall} AT TIME ZONE 'UTC') + interval '1 day')) AS probes (probe)
    ) AS readings
    WHERE (candidate AT TIME ZONE ${tz}::text) >= ${wall}
  )`;
}

/**
 * Agent coverage of one organization by local hour for a window (SPEC §5): every local date of the window × hours 0–23,
 * ascending. A local hour is the instants whose wall clock reads that hour on that date, so a fall-back day's hour 1
 * spans two real hours and a spring-forward day's hour 2 is empty. Sessions are clipped to the window, an open session
 * ends at `ctx.now`; each agent's sessions are merged first (an agent is online or not, whatever overlaps its sessions
 * have). One statement: local hour buckets from generate_series, their starts converted to instants (a bucket ends where
 * the next begins, so the buckets tile the window's days exactly), then one sweep over bucket starts and the merged
 * intervals' ends measures, per bucket, agent-seconds online and seconds with anyone online.
 */
export async function readCoverage(ctx: CoverageContext, window: Pick<Window, "from" | "to" | "timezone" | "dates">): Promise<CoverageHour[]> {
  const tz = window.timezone;
  const first = window.dates[0];
  if (first === undefined) return [];
  const from = sql`${window.from.toISOString()}::timestamptz`;
  const to = sql`${window.to.toISOString()}::timestamptz`;
  const now = sql`${ctx.now.toISOString()}::timestamptz`;
  const result = await rows<CoverageHour>(
    ctx.db,
    sql`
      WITH local_hours AS (
        SELECT to_char(d.day, 'YYYY-MM-DD') AS date, h.hour,
               d.day + make_interval(hours => h.hour) AS wall_start
        FROM generate_series(0, ${window.dates.length - 1}::int) AS i (n)
        CROSS JOIN LATERAL (SELECT (${first}::date + i.n)::timestamp AS day) AS d
        CROSS JOIN generate_series(0, 23) AS h (hour)
      ),
      buckets AS (
        SELECT row_number() OVER (ORDER BY date, hour)::int AS bucket_no, date, hour,
               ${firstInstantAtOrAfter(sql`lh.wall_start`, tz)} AS starts_at
        FROM local_hours AS lh
      ),
      sessions AS (
        SELECT agent_id, greatest(started_at, ${from}) AS online_from, least(coalesce(ended_at, ${now}), ${to}) AS online_to
        FROM agent_sessions
        WHERE org_id = ${ctx.org.id} AND started_at < ${to} AND coalesce(ended_at, ${now}) > ${from}
      ),
      agent_edges AS (
        SELECT agent_id, online_from, online_to,
               CASE WHEN online_from <= max(online_to) OVER (PARTITION BY agent_id ORDER BY online_from, online_to
                                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                    THEN 0 ELSE 1 END AS opens
        FROM sessions
        WHERE online_from < online_to
      ),
      agent_online AS (
        SELECT agent_id, min(online_from) AS online_from, max(online_to) AS online_to
        FROM (SELECT *, sum(opens) OVER (PARTITION BY agent_id ORDER BY online_from, online_to ROWS UNBOUNDED PRECEDING) AS island
              FROM agent_edges) AS islands
        GROUP BY agent_id, island
      ),
      -- A sweep over one sorted stream of events: each agent's online spans open (+1) and close (−1), each bucket starts
      -- (0, carrying its number). Between consecutive events the number of agents online is constant and the segment
      -- lies in the latest bucket started, so buckets × intervals are never paired up.
      events AS (
        SELECT online_from AS at, 1 AS delta, NULL::int AS bucket_no FROM agent_online
        UNION ALL
        SELECT online_to, -1, NULL FROM agent_online
        UNION ALL
        SELECT starts_at, 0, bucket_no FROM buckets
      ),
      segments AS (
        SELECT max(bucket_no) OVER sweep AS bucket_no,
               sum(delta) OVER sweep AS agents_online,
               extract(epoch FROM lead(at) OVER sweep - at) AS seconds
        FROM events
        WINDOW sweep AS (ORDER BY at, bucket_no NULLS FIRST ROWS UNBOUNDED PRECEDING)
      )
      SELECT bk.date, bk.hour,
        coalesce(sum(sg.seconds * sg.agents_online), 0)::float8 AS "agentSeconds",
        coalesce(sum(sg.seconds), 0)::float8 AS "coveredSeconds"
      FROM buckets AS bk
      LEFT JOIN segments AS sg ON sg.bucket_no = bk.bucket_no AND sg.agents_online > 0
      GROUP BY bk.bucket_no, bk.date, bk.hour
      ORDER BY bk.bucket_no
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
