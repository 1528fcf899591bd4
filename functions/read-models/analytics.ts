import { sql } from "drizzle-orm";
import { CALL_OUTCOMES, type CallOutcome } from "../../drizzle/schema/enums";
import { rows } from "../db/database";
import type { ServiceContext } from "../deps";
import type { Window } from "../lib/windows";

/** What the analytics read model reads: the request's database handle, its organization and the instant it computes for. */
export type AnalyticsContext = Pick<ServiceContext, "db" | "org"> & { now: Date };

export type AnalyticsPoint = { date: string; calls: number; completed: number; leads: number; qualified: number; booked: number };

export type Analytics = {
  /** one point per local date of the window, ascending, zero-filled */
  series: AnalyticsPoint[];
  /** scored calls only: hot ≥ 70, warm 40–69, cold < 40 */
  leadQuality: { hot: number; warm: number; cold: number };
  /** every outcome of the enum, 0 when none */
  outcomes: Record<CallOutcome, number>;
  /** 24 counts by org-local wall-clock hour (a fall-back day's repeated hour holds both occurrences) */
  byHourOfDay: number[];
};

/** One row per grouping set: a local date, a local hour, an outcome (null outcomes included), or the whole window. */
type AnalyticsRow = {
  kind: "date" | "hour" | "outcome" | "window";
  date: string | null;
  hour: number | null;
  outcome: CallOutcome | null;
  calls: number;
  completed: number;
  leads: number;
  qualified: number;
  warm: number;
  cold: number;
  booked: number;
};

/**
 * The analytics of one organization for a window (SPEC §5). One statement and one scan of the window's calls: GROUPING
 * SETS count them by local date, by local wall-clock hour, by outcome and overall; zero-filling happens here from the
 * window's dates.
 */
export async function readAnalytics(ctx: AnalyticsContext, window: Pick<Window, "from" | "to" | "timezone" | "dates">): Promise<Analytics> {
  const tz = window.timezone;
  const groups = await rows<AnalyticsRow>(
    ctx.db,
    sql`
      SELECT
        CASE WHEN grouping(local_day) = 0 THEN 'date' WHEN grouping(local_hour) = 0 THEN 'hour'
             WHEN grouping(outcome) = 0 THEN 'outcome' ELSE 'window' END AS kind,
        to_char(local_day, 'YYYY-MM-DD') AS date,
        local_hour AS hour,
        outcome,
        count(*)::int AS calls,
        count(*) FILTER (WHERE status = 'completed')::int AS completed,
        count(lead_score)::int AS leads,
        count(*) FILTER (WHERE lead_score >= 70)::int AS qualified,
        count(*) FILTER (WHERE lead_score >= 40 AND lead_score < 70)::int AS warm,
        count(*) FILTER (WHERE lead_score < 40)::int AS cold,
        count(*) FILTER (WHERE outcome = 'appointment_booked')::int AS booked
      FROM (
        SELECT (started_at AT TIME ZONE ${tz}::text)::date AS local_day,
               extract(hour FROM started_at AT TIME ZONE ${tz}::text)::int AS local_hour,
               status, outcome, lead_score
        FROM calls
        WHERE org_id = ${ctx.org.id} AND started_at >= ${window.from.toISOString()}::timestamptz AND started_at < ${window.to.toISOString()}::timestamptz
      ) AS windowed
      GROUP BY GROUPING SETS ((local_day), (local_hour), (outcome), ())
    `,
  );

  const byDate = new Map<string, AnalyticsRow>();
  const byHourOfDay = Array.from({ length: 24 }, () => 0);
  const outcomes = Object.fromEntries(CALL_OUTCOMES.map((o) => [o, 0])) as Record<CallOutcome, number>;
  let leadQuality = { hot: 0, warm: 0, cold: 0 };
  for (const g of groups) {
    if (g.kind === "date" && g.date !== null) byDate.set(g.date, g);
    else if (g.kind === "hour" && g.hour !== null) byHourOfDay[g.hour] = g.calls;
    else if (g.kind === "outcome" && g.outcome !== null) outcomes[g.outcome] = g.calls;
    else if (g.kind === "window") leadQuality = { hot: g.qualified, warm: g.warm, cold: g.cold };
  }
  const series = window.dates.map((date) => {
    const g = byDate.get(date);
    return { date, calls: g?.calls ?? 0, completed: g?.completed ?? 0, leads: g?.leads ?? 0, qualified: g?.qualified ?? 0, booked: g?.booked ?? 0 };
  });
  return {
    series,
    leadQuality,
    outcomes,
    byHourOfDay,
  };
}
