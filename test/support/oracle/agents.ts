import { eq } from "drizzle-orm";
import { agents, callMilestones, callObjections, calls, users } from "../../../drizzle/schema";
import type { Db } from "../../../functions/db/database";
import { addDays, localDate, localParts } from "../../../functions/lib/time";
import { resolveWindow } from "../../../functions/lib/windows";

/**
 * An independent oracle for `GET /api/agents` performance and `GET /api/analytics/agent-variance`: it reads the raw
 * rows of one organization and computes every figure in plain TypeScript from the metric definitions (SPEC §5),
 * with the window helpers for "the last N local days".
 */

export type RawOrg = {
  agents: { id: string; name: string; kind: string; status: string; description: string | null; userId: string | null }[];
  users: { id: string; name: string; email: string }[];
  calls: {
    id: string;
    agentId: string | null;
    status: string;
    startedAt: Date;
    durationSec: number | null;
    creditsUsed: number;
    outcome: string | null;
    leadScore: number | null;
  }[];
  milestones: { callId: string; achieved: boolean }[];
  objections: { callId: string; handled: boolean }[];
};

export async function readRawOrg(db: Db, orgId: string): Promise<RawOrg> {
  return {
    agents: await db
      .select({ id: agents.id, name: agents.name, kind: agents.kind, status: agents.status, description: agents.description, userId: agents.userId })
      .from(agents)
      .where(eq(agents.orgId, orgId)),
    users: await db.select({ id: users.id, name: users.name, email: users.email }).from(users).where(eq(users.orgId, orgId)),
    calls: await db
      .select({
        id: calls.id,
        agentId: calls.agentId,
        status: calls.status,
        startedAt: calls.startedAt,
        durationSec: calls.durationSec,
        creditsUsed: calls.creditsUsed,
        outcome: calls.outcome,
        leadScore: calls.leadScore,
      })
      .from(calls)
      .where(eq(calls.orgId, orgId)),
    milestones: await db
      .select({ callId: callMilestones.callId, achieved: callMilestones.achieved })
      .from(callMilestones)
      .where(eq(callMilestones.orgId, orgId)),
    objections: await db.select({ callId: callObjections.callId, handled: callObjections.handled }).from(callObjections).where(eq(callObjections.orgId, orgId)),
  };
}

const byName = <T extends { name: string; id: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const rateOf = (n: number, d: number) => (d === 0 ? null : n / d);

function callsOf(raw: RawOrg, agentId: string, window: { from: Date; to: Date }) {
  return raw.calls.filter((c) => c.agentId === agentId && c.startedAt >= window.from && c.startedAt < window.to);
}

function basics(list: RawOrg["calls"]) {
  const completed = list.filter((c) => c.status === "completed");
  const scored = list.filter((c) => c.leadScore !== null);
  return {
    calls: list.length,
    completed: completed.length,
    successRate: rateOf(completed.length, list.length),
    avgDurationSec: rateOf(
      completed.reduce((s, c) => s + (c.durationSec ?? 0), 0),
      completed.length,
    ),
    avgLeadScore: rateOf(
      scored.reduce((s, c) => s + c.leadScore!, 0),
      scored.length,
    ),
    creditsUsed: list.reduce((s, c) => s + c.creditsUsed, 0),
    booked: list.filter((c) => c.outcome === "appointment_booked").length,
  };
}

/** What `GET /api/agents` should answer (voice aside), agents in name order. */
export function expectedAgentList(raw: RawOrg, timeZone: string, now: Date) {
  const window = resolveWindow({ days: 30 }, timeZone, now, 30);
  return raw.agents
    .filter((a) => a.status !== "archived")
    .sort(byName)
    .map((a) => {
      const b = basics(callsOf(raw, a.id, window));
      const user = raw.users.find((u) => u.id === a.userId) ?? null;
      return {
        id: a.id,
        name: a.name,
        kind: a.kind,
        status: a.status,
        description: a.description,
        user,
        performance: {
          calls: b.calls,
          completed: b.completed,
          successRate: b.successRate,
          avgDurationSec: b.avgDurationSec,
          avgLeadScore: b.avgLeadScore,
          creditsUsed: b.creditsUsed,
        },
      };
    });
}

/** The seven metrics of the variance (and an agent's performance totals) over one agent's calls. */
function agentMetrics(raw: RawOrg, list: RawOrg["calls"]) {
  const b = basics(list);
  const ids = new Set(list.map((c) => c.id));
  const ms = raw.milestones.filter((m) => ids.has(m.callId));
  const os = raw.objections.filter((o) => ids.has(o.callId));
  return {
    calls: b.calls,
    completionRate: b.successRate,
    avgDurationSec: b.avgDurationSec,
    avgLeadScore: b.avgLeadScore,
    bookingRate: rateOf(b.booked, b.calls),
    milestoneRate: rateOf(ms.filter((m) => m.achieved).length, ms.length),
    objectionHandledRate: rateOf(os.filter((o) => o.handled).length, os.length),
  };
}

const METRICS = ["calls", "completionRate", "avgDurationSec", "avgLeadScore", "bookingRate", "milestoneRate", "objectionHandledRate"] as const;

/** What `GET /api/analytics/agent-variance` should answer for `window` (the data part). */
export function expectedVariance(raw: RawOrg, window: { from: Date; to: Date }) {
  const rows = raw.agents
    .map((a) => ({ agent: a, list: callsOf(raw, a.id, window) }))
    .filter(({ agent, list }) => list.length > 0 || agent.status !== "archived")
    .sort((x, y) => byName(x.agent, y.agent))
    .map(({ agent, list }) => ({ agentId: agent.id, name: agent.name, ...agentMetrics(raw, list) }));
  const team = Object.fromEntries(
    METRICS.map((metric) => {
      const values = rows.filter((r) => r.calls > 0).flatMap((r) => (r[metric] === null ? [] : [r[metric]!]));
      if (!values.length) return [metric, { mean: null, stddev: null, min: null, max: null }];
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      const allEqual = values.every((v) => v === values[0]);
      const stddev = allEqual ? 0 : Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
      return [metric, { mean: allEqual ? values[0]! : mean, stddev, min: Math.min(...values), max: Math.max(...values) }];
    }),
  ) as Record<(typeof METRICS)[number], { mean: number | null; stddev: number | null; min: number | null; max: number | null }>;
  return {
    agents: rows.map((r) => ({
      ...r,
      zScores: Object.fromEntries(
        METRICS.map((metric) => {
          const v = r[metric];
          const { mean, stddev } = team[metric];
          return [metric, v === null || mean === null || !stddev ? null : (v - mean) / stddev];
        }),
      ),
    })),
    team,
  };
}

/** Deep equality where numbers may differ by float rounding (relative 1e-9); paths name the first difference. */
export function nearlyEqual(actual: unknown, expected: unknown, path = "$"): string | null {
  if (typeof actual === "number" && typeof expected === "number") {
    const scale = Math.max(1, Math.abs(actual), Math.abs(expected));
    return Math.abs(actual - expected) <= 1e-9 * scale ? null : `${path}: ${actual} ≠ ${expected}`;
  }
  if (actual === null || expected === null || typeof actual !== "object" || typeof expected !== "object")
    return Object.is(actual, expected) ? null : `${path}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`;
  if (Array.isArray(actual) !== Array.isArray(expected)) return `${path}: array vs object`;
  const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  for (const key of keys) {
    const diff = nearlyEqual((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}.${key}`);
    if (diff) return diff;
  }
  return null;
}

const OUTCOMES = ["appointment_booked", "qualified", "callback_requested", "not_interested", "voicemail", "wrong_number"] as const;

/** What `GET /api/agents/{id}/performance` should answer (the data part) for `window`, in `timeZone`; null for a foreign agent. */
export function expectedAgentPerformance(raw: RawOrg, agentId: string, window: { from: Date; to: Date }, timeZone: string) {
  const agent = raw.agents.find((a) => a.id === agentId);
  if (!agent) return null;
  const list = callsOf(raw, agentId, window);
  const dates: string[] = [];
  const last = localDate(new Date(Math.max(window.from.getTime(), window.to.getTime() - 1)), timeZone);
  for (let d = localDate(window.from, timeZone); d <= last; d = addDays(d, 1)) dates.push(d);
  return {
    agent: { id: agent.id, name: agent.name, kind: agent.kind, status: agent.status },
    totals: agentMetrics(raw, list),
    series: dates.map((date) => {
      const day = basics(list.filter((c) => localDate(c.startedAt, timeZone) === date));
      return { date, calls: day.calls, completed: day.completed, avgDurationSec: day.avgDurationSec, avgLeadScore: day.avgLeadScore, booked: day.booked };
    }),
    outcomes: Object.fromEntries(OUTCOMES.map((o) => [o, list.filter((c) => c.outcome === o).length])),
    byHourOfDay: Array.from({ length: 24 }, (_, h) => list.filter((c) => localParts(c.startedAt, timeZone).hour === h).length),
  };
}
