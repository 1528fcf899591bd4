import type { Cache, CacheResult } from "../cache/cache";
import { namespace, orgKey } from "../cache/namespaces";
import type { Db } from "../db/database";
import { addDays, localDate } from "../lib/time";
import { resolveWindow, type Window } from "../lib/windows";
import { agentsWithTotals } from "./agent-totals";
import type { OrgContext, ReadContext } from "../context";
import type { WindowQuery } from "./windowed";

/**
 * Agent variance (SPEC §5 `GET /api/analytics/agent-variance`): per-agent metrics over a window, the team's
 * distribution of each, and every agent's z-scores. One statement whatever the number of agents; the SQL answers
 * integer counts and sums only, and every rate, mean and deviation is computed here, so the figures do not depend
 * on the driver's float formatting.
 */

export const VARIANCE_METRICS = ["calls", "completionRate", "avgDurationSec", "avgLeadScore", "bookingRate", "milestoneRate", "objectionHandledRate"] as const;
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

/**
 * Every agent with a call in the window (archived ones too: they made those calls) and every non-archived agent
 * without, by name, with their counts: one statement, from the rollups (the per-agent sums the agents list shares).
 */
export async function agentCallCounts(db: Db, orgId: string, window: Pick<Window, "from" | "to">): Promise<AgentCallCounts[]> {
  const found = await agentsWithTotals(db, orgId, window, "not-archived-or-with-calls", "calls-and-analysis");
  return found.map(({ id, name, totals: t }) => ({
    agentId: id,
    name,
    calls: t.calls,
    completed: t.completed,
    completedDurationSec: t.durationCompletedSum,
    scored: t.scored,
    scoreSum: t.scoreSum,
    booked: t.booked,
    milestones: t.milestones,
    milestonesAchieved: t.milestonesAchieved,
    objections: t.objections,
    objectionsHandled: t.objectionsHandled,
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

/** `days` defaults to the last 30 local days. */
export const DEFAULT_VARIANCE_DAYS = 30;

/** The variance's cache: fresh 30 s, stale up to 5 min while it refreshes, last value for an hour when a load fails. */
const agentVarianceCache = namespace<AgentVariance>("agent-variance");

/** The variance of a window, from the cache or loaded: the route and the warm-cache job share this key and loader. */
export function fetchAgentVariance(ctx: ReadContext, query: WindowQuery): Promise<CacheResult<AgentVariance>> {
  const { org, now } = ctx;
  const window = resolveWindow(query, org.timezone, now, DEFAULT_VARIANCE_DAYS);
  const explicit = query.from !== undefined || query.to !== undefined;
  const key = explicit
    ? orgKey(
        org.id,
        query.from === undefined ? daysStart(query.days ?? DEFAULT_VARIANCE_DAYS, window.dates[0]) : window.from.toISOString(),
        query.to === undefined ? "now" : window.to.toISOString(),
      )
    : daysKey(org, query.days ?? DEFAULT_VARIANCE_DAYS, now);
  return agentVarianceCache.fetch(ctx.cache, key, () => agentVariance({ db: ctx.db, org }, window), { asOf: now });
}

/** A fresh in-process hit of the last `days` local days' variance (`cache.peek`), or undefined: the cached-read lane's read. */
export function peekAgentVariance(cache: Cache, org: OrgContext, days: number, now: Date): CacheResult<AgentVariance> | undefined {
  return agentVarianceCache.peek(cache, daysKey(org, days, now));
}

// a window ending now is keyed by where it starts (its first local date), so consecutive requests share one entry
const daysStart = (days: number, firstDate: string | undefined) => `days=${days}:${firstDate}`;
const daysKey = (org: OrgContext, days: number, now: Date) => orgKey(org.id, daysStart(days, addDays(localDate(now, org.timezone), -(days - 1))), "now");
