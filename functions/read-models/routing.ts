import { and, eq, inArray } from "drizzle-orm";
import { agents, type BusinessHours, type RoutingRule } from "../../drizzle/schema";
import type { Db } from "../db/database";
import type { OrgContext } from "../context";
import { localParts } from "../lib/time";

/**
 * Inbound routing (SPEC §5 `POST /api/calls/route`): which agent takes an incoming call, from the organization's
 * inbound configuration and its business hours in the organization's zone. The decision itself is a pure function
 * of the configuration, the instant and which agents can take calls; the only SQL is the agents' statuses.
 */

export type RoutingReason = "rule" | "business_hours" | "after_hours" | "no_agent";
export type RoutingDecision = { agentId: string | null; reason: RoutingReason };
/** The parts of the inbound configuration (`services/inbound-config`, cached under `config`) that routing reads. */
export type RoutingConfig = { defaultAgentId: string | null; afterHoursAgentId: string | null; businessHours: BusinessHours; rules: RoutingRule[] };
type Candidate = { agentId: string; reason: Exclude<RoutingReason, "no_agent"> };

const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
type Weekday = (typeof WEEKDAYS)[number];

/** "HH:MM" → minutes after local midnight ("24:00" is the end of the day); null when malformed. */
function minutesOf(time: unknown): number | null {
  if (typeof time !== "string") return null;
  const m = /^(\d{2}):(\d{2})$/.exec(time);
  if (!m) return null;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return Number(m[2]) < 60 && minutes <= 24 * 60 ? minutes : null;
}

function intervals(hours: BusinessHours, day: Weekday): { start: number; end: number }[] {
  const list = hours[day];
  if (!Array.isArray(list)) return [];
  return list.flatMap((i) => {
    const start = minutesOf(i?.start);
    const end = minutesOf(i?.end);
    return start === null || end === null || start >= end ? [] : [{ start, end }];
  });
}

/**
 * Whether `at` falls in the business hours, read as org-local wall-clock time: intervals are `[start, end)` and
 * `24:00` ends at midnight. A weekday not listed is closed; a configuration that lists no interval on any day keeps no
 * hours, which we read as always open, so an organization that only names a default agent has it take every call.
 */
export function withinBusinessHours(hours: BusinessHours, at: Date, timeZone: string): boolean {
  if (WEEKDAYS.every((d) => intervals(hours, d).length === 0)) return true;
  const p = localParts(at, timeZone);
  const today = WEEKDAYS[new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay()]!;
  const minute = p.hour * 60 + p.minute;
  return intervals(hours, today).some((i) => minute >= i.start && minute < i.end);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const digits = (phoneOrPrefix: string) => phoneOrPrefix.replace(/\D/g, "");

/** The rules whose prefix the caller's number starts with, longest prefix first (ties keep the configured order). */
export function matchingRules(rules: RoutingRule[], phoneNumber: string): RoutingRule[] {
  const number = digits(phoneNumber);
  return rules
    .map((rule, index) => ({ rule, index, prefix: typeof rule?.prefix === "string" ? digits(rule.prefix) : "" }))
    .filter((r) => r.prefix.length > 0 && typeof r.rule.agentId === "string" && number.startsWith(r.prefix))
    .sort((a, b) => b.prefix.length - a.prefix.length || a.index - b.index)
    .map((r) => r.rule);
}

/**
 * Who may take the call, in order: matching rules (longest prefix first), then — within business hours — the default
 * agent, then the after-hours agent. Outside business hours the default agent is not asked; within them the
 * after-hours agent is the fallback when the default agent cannot take the call.
 */
export function routingCandidates(config: RoutingConfig, phoneNumber: string, at: Date, timeZone: string): Candidate[] {
  const candidates: Candidate[] = matchingRules(config.rules, phoneNumber).map((r) => ({ agentId: r.agentId, reason: "rule" }));
  if (config.defaultAgentId && withinBusinessHours(config.businessHours, at, timeZone))
    candidates.push({ agentId: config.defaultAgentId, reason: "business_hours" });
  if (config.afterHoursAgentId) candidates.push({ agentId: config.afterHoursAgentId, reason: "after_hours" });
  return candidates;
}

/** The first candidate that can take calls; `no_agent` when none can. */
export function chooseAgent(candidates: Candidate[], canTakeCalls: (agentId: string) => boolean): RoutingDecision {
  const chosen = candidates.find((c) => canTakeCalls(c.agentId));
  return chosen ? { agentId: chosen.agentId, reason: chosen.reason } : { agentId: null, reason: "no_agent" };
}

/**
 * The candidates that can take calls: agents of the organization whose status is `active` (archived, paused and
 * draft agents are skipped, as are ids that no longer name an agent of the organization). One statement.
 */
export async function agentsTakingCalls(db: Db, orgId: string, agentIds: string[]): Promise<Set<string>> {
  const ids = [...new Set(agentIds)].filter((id) => UUID.test(id));
  if (ids.length === 0) return new Set();
  const found = await db
    .select({ id: agents.id })
    .from(agents)
    .where(and(eq(agents.orgId, orgId), inArray(agents.id, ids), eq(agents.status, "active")));
  return new Set(found.map((a) => a.id));
}

/** Routes an incoming call from `phoneNumber` at `at` with the organization's (cached) inbound configuration. */
export async function routeIncomingCall(
  ctx: { db: Db; org: OrgContext },
  config: RoutingConfig,
  call: { phoneNumber: string; at: Date },
): Promise<RoutingDecision> {
  const candidates = routingCandidates(config, call.phoneNumber, call.at, ctx.org.timezone);
  const available = await agentsTakingCalls(
    ctx.db,
    ctx.org.id,
    candidates.map((c) => c.agentId),
  );
  return chooseAgent(candidates, (id) => available.has(id));
}
