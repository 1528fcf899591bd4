import { eq } from "drizzle-orm";
import { agentSessions, agents, appointments, calls, contacts, organizations, catalogItems } from "../../../drizzle/schema";
import { CALL_OUTCOMES } from "../../../drizzle/schema/enums";
import type { Db } from "../../../functions/db/database";
import { addDays, localDate, localParts } from "../../../functions/lib/time";

/**
 * An independent oracle for the dashboard read models: it selects one organization's raw rows into JS with plain
 * Drizzle selects and computes every aggregate in TypeScript, by other means than the routes' SQL (local dates and
 * hours from Intl via `localDate`/`localParts`, the month by comparing local YYYY-MM, coverage by walking 15-minute
 * UTC slots and merging intervals in JS). It is slow on purpose and only meant for small test organizations.
 */

export type RawOrg = {
  timezone: string;
  creditsBalance: number;
  calls: (typeof calls.$inferSelect)[];
  agents: (typeof agents.$inferSelect)[];
  contacts: Map<string, typeof contacts.$inferSelect>;
  sessions: (typeof agentSessions.$inferSelect)[];
  appointments: (typeof appointments.$inferSelect)[];
  servicePrices: Map<string, number>;
};

export async function loadRawOrg(db: Db, orgId: string): Promise<RawOrg> {
  const [org] = await db.select().from(organizations).where(eq(organizations.id, orgId));
  if (!org) throw new Error(`no organization ${orgId}`);
  const [callRows, agentRows, contactRows, sessionRows, appointmentRows, serviceRows] = await Promise.all([
    db.select().from(calls).where(eq(calls.orgId, orgId)),
    db.select().from(agents).where(eq(agents.orgId, orgId)),
    db.select().from(contacts).where(eq(contacts.orgId, orgId)),
    db.select().from(agentSessions).where(eq(agentSessions.orgId, orgId)),
    db.select().from(appointments).where(eq(appointments.orgId, orgId)),
    db.select().from(catalogItems).where(eq(catalogItems.orgId, orgId)),
  ]);
  return {
    timezone: org.timezone,
    creditsBalance: org.creditsBalance,
    calls: callRows.map((c) => ({ ...c, startedAt: new Date(c.startedAt) })),
    agents: agentRows,
    contacts: new Map(contactRows.map((c) => [c.id, c])),
    sessions: sessionRows.map((s) => ({ ...s, startedAt: new Date(s.startedAt), endedAt: s.endedAt === null ? null : new Date(s.endedAt) })),
    appointments: appointmentRows.map((a) => ({ ...a, scheduledAt: new Date(a.scheduledAt) })),
    servicePrices: new Map(serviceRows.map((s) => [s.id, s.priceCents])),
  };
}

export type OracleWindow = { from: Date; to: Date };

const rate = (part: number, whole: number) => (whole === 0 ? null : part / whole);
const inWindow = (raw: RawOrg, w: OracleWindow) => raw.calls.filter((c) => c.startedAt.getTime() >= w.from.getTime() && c.startedAt.getTime() < w.to.getTime());

/** Every local date an instant range touches, walked one local date at a time. */
export function oracleDates(w: OracleWindow, tz: string): string[] {
  const first = localDate(w.from, tz);
  const last = localDate(new Date(Math.max(w.from.getTime(), w.to.getTime() - 1)), tz);
  const out: string[] = [];
  for (let d = first; d <= last; d = addDays(d, 1)) out.push(d);
  return out;
}

export function overviewOracle(raw: RawOrg, w: OracleWindow, now: Date) {
  const tz = raw.timezone;
  const win = inWindow(raw, w);
  const completed = win.filter((c) => c.status === "completed");
  const totalDurationSec = completed.reduce((s, c) => s + (c.durationSec ?? 0), 0);
  const scored = win.filter((c) => c.leadScore !== null);
  const scoreSum = scored.reduce((s, c) => s + c.leadScore!, 0);
  const thisMonth = localDate(now, tz).slice(0, 7);
  const usedThisMonth = raw.calls.filter((c) => localDate(c.startedAt, tz).slice(0, 7) === thisMonth).reduce((s, c) => s + c.creditsUsed, 0);
  const agentName = new Map(raw.agents.map((a) => [a.id, a.name]));
  const recent = [...win]
    .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, 10)
    .map((c) => {
      const contact = raw.contacts.get(c.contactId)!;
      return {
        id: c.id,
        status: c.status,
        direction: c.direction,
        startedAt: c.startedAt.toISOString(),
        durationSec: c.durationSec,
        outcome: c.outcome,
        leadScore: c.leadScore,
        agent: c.agentId === null ? null : { id: c.agentId, name: agentName.get(c.agentId)! },
        contact: { id: contact.id, name: contact.name, phone: contact.phone },
      };
    });
  return {
    calls: {
      total: win.length,
      completed: completed.length,
      successRate: rate(completed.length, win.length),
      totalDurationSec,
      avgDurationSec: rate(totalDurationSec, completed.length),
    },
    leads: {
      total: scored.length,
      qualified: scored.filter((c) => c.leadScore! >= 70).length,
      conversionRate: rate(scored.filter((c) => c.leadScore! >= 70).length, scored.length),
      avgScore: rate(scoreSum, scored.length),
      booked: win.filter((c) => c.outcome === "appointment_booked").length,
    },
    credits: { balance: raw.creditsBalance, usedThisMonth },
    agents: {
      total: raw.agents.filter((a) => a.status !== "archived").length,
      active: raw.agents.filter((a) => a.status === "active").length,
      draft: raw.agents.filter((a) => a.status === "draft").length,
      paused: raw.agents.filter((a) => a.status === "paused").length,
    },
    pipelineValueCents: raw.appointments
      .filter((a) => a.status === "scheduled" && a.scheduledAt.getTime() >= now.getTime())
      .reduce((s, a) => s + (a.serviceId === null ? 0 : (raw.servicePrices.get(a.serviceId) ?? 0)), 0),
    recentActivity: recent,
  };
}

export function analyticsOracle(raw: RawOrg, w: OracleWindow) {
  const tz = raw.timezone;
  const win = inWindow(raw, w);
  const series = oracleDates(w, tz).map((date) => {
    const day = win.filter((c) => localDate(c.startedAt, tz) === date);
    return {
      date,
      calls: day.length,
      completed: day.filter((c) => c.status === "completed").length,
      leads: day.filter((c) => c.leadScore !== null).length,
      qualified: day.filter((c) => c.leadScore !== null && c.leadScore >= 70).length,
      booked: day.filter((c) => c.outcome === "appointment_booked").length,
    };
  });
  const scores = win.flatMap((c) => (c.leadScore === null ? [] : [c.leadScore]));
  const outcomes = Object.fromEntries(CALL_OUTCOMES.map((o) => [o, win.filter((c) => c.outcome === o).length]));
  const byHourOfDay = Array.from({ length: 24 }, (_, h) => win.filter((c) => localParts(c.startedAt, tz).hour === h).length);
  return {
    series,
    leadQuality: { hot: scores.filter((s) => s >= 70).length, warm: scores.filter((s) => s >= 40 && s < 70).length, cold: scores.filter((s) => s < 40).length },
    outcomes,
    byHourOfDay,
  };
}

type Interval = [number, number];

/** Total length of the union of intervals (ms). */
function unionLength(intervals: Interval[]): number {
  const sorted = intervals.filter(([a, b]) => a < b).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let open: Interval | null = null;
  for (const [a, b] of sorted) {
    if (open && a <= open[1]) open[1] = Math.max(open[1], b);
    else {
      if (open) total += open[1] - open[0];
      open = [a, b];
    }
  }
  return open ? total + open[1] - open[0] : total;
}

/** Every zone the tests use changes its offset, and has its offset, in multiples of 15 minutes. */
const SLOT_MS = 15 * 60_000;

export function coverageOracle(raw: RawOrg, w: OracleWindow, now: Date) {
  const tz = raw.timezone;
  const dates = oracleDates(w, tz);
  const wanted = new Set(dates);
  const totals = new Map<string, { agentMs: number; coveredMs: number }>();
  for (const date of dates) for (let hour = 0; hour < 24; hour++) totals.set(`${date} ${hour}`, { agentMs: 0, coveredMs: 0 });
  const online = raw.sessions.map((s) => ({ agentId: s.agentId, a: s.startedAt.getTime(), b: (s.endedAt ?? now).getTime() }));
  const first = Math.floor(w.from.getTime() / SLOT_MS) * SLOT_MS - 86_400_000;
  const last = w.to.getTime() + 86_400_000;
  for (let slot = first; slot < last; slot += SLOT_MS) {
    const p = localParts(new Date(slot), tz);
    const date = localDate(new Date(slot), tz);
    if (!wanted.has(date)) continue;
    const lo = Math.max(slot, w.from.getTime());
    const hi = Math.min(slot + SLOT_MS, w.to.getTime());
    if (lo >= hi) continue;
    const clipped = online.map((s) => ({ agentId: s.agentId, iv: [Math.max(s.a, lo), Math.min(s.b, hi)] as Interval }));
    const perAgent = new Map<string, Interval[]>();
    for (const s of clipped) perAgent.set(s.agentId, [...(perAgent.get(s.agentId) ?? []), s.iv]);
    const bucket = totals.get(`${date} ${p.hour}`)!;
    for (const ivs of perAgent.values()) bucket.agentMs += unionLength(ivs);
    bucket.coveredMs += unionLength(clipped.map((s) => s.iv));
  }
  return dates.flatMap((date) =>
    Array.from({ length: 24 }, (_, hour) => {
      const t = totals.get(`${date} ${hour}`)!;
      return { date, hour, agentSeconds: t.agentMs / 1000, coveredSeconds: t.coveredMs / 1000 };
    }),
  );
}
