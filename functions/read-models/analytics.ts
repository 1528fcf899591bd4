import type { CallOutcome } from "../../drizzle/schema/enums";
import { namespace } from "../cache/namespaces";
import { MAX_WINDOW_DAYS, type Window } from "../lib/windows";
import { callAnalytics } from "../rollups/queries";
import type { ReadContext, ServiceContext } from "../context";
import { fetchWindowedAggregate, type WindowedAggregate, type WindowQuery, type WindowedValue } from "./windowed";

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

/**
 * The analytics of one organization for a window (SPEC §5). One statement (`callAnalytics`): the window's part rows —
 * clean rollup rows plus the raw calls they do not cover — summed overall (lead quality, outcomes), by local date and by
 * local wall-clock hour; zero-filling happens here from the window's dates.
 */
export async function readAnalytics(ctx: AnalyticsContext, window: Pick<Window, "from" | "to" | "timezone" | "dates">): Promise<Analytics> {
  const { totals, series, byHourOfDay } = await callAnalytics({ db: ctx.db, orgId: ctx.org.id }, window);
  const byDate = new Map(series.map((p) => [p.date, p]));
  return {
    series: window.dates.map((date) => {
      const p = byDate.get(date);
      return { date, calls: p?.calls ?? 0, completed: p?.completed ?? 0, leads: p?.scored ?? 0, qualified: p?.qualified ?? 0, booked: p?.booked ?? 0 };
    }),
    leadQuality: totals.leadQuality,
    outcomes: totals.outcomes,
    byHourOfDay,
  };
}

/** `days` defaults to the last 7 local days. */
export const ANALYTICS_DEFAULT_DAYS = 7;

/** The analytics' cached read; `GET /api/dashboard/analytics` and the warm-cache job both read through `fetchAnalytics`. */
export const analyticsAggregate: WindowedAggregate<Analytics> = {
  namespace: namespace<WindowedValue<Analytics>>("dashboard-analytics"),
  defaultDays: ANALYTICS_DEFAULT_DAYS,
  maxDates: MAX_WINDOW_DAYS,
  read: readAnalytics,
};

export const fetchAnalytics = (ctx: ReadContext, query: WindowQuery) => fetchWindowedAggregate(ctx, analyticsAggregate, query);
