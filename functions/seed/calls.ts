import type { CallOutcome, CallStatus } from "../../drizzle/schema/enums";
import type { CopyValue } from "../db/database";
import { CALL_HOUR_SHAPE, CALL_WEEKDAY_SHAPE, MILESTONE_KEYS, OBJECTION_KINDS } from "./catalog";
import { SLOT_MS, iso } from "./clock";
import { agentTables, contactAt, pickAgent, type AgentModel, type OrgModel } from "./organization";
import { Random, clamp } from "./random";
import { DAY_MS, localCalendarDay, localToUtc } from "../lib/time";

type Add = (row: readonly CopyValue[]) => void;
export type CallSinks = { calls: Add; externalIds: Add; milestones: Add; objections: Add; appointments: Add };

export const CALL_COLUMNS = [
  "id",
  "org_id",
  "external_id",
  "agent_id",
  "contact_id",
  "direction",
  "status",
  "phone_number",
  "started_at",
  "ended_at",
  "duration_sec",
  "credits_used",
  "outcome",
  "lead_score",
  "reconnect_token",
  "reconnect_eligible",
  "pool_id",
  "site_id",
  "country_code",
  "created_at",
  "updated_at",
] as const;
export const EXTERNAL_ID_COLUMNS = ["org_id", "external_id", "call_id", "started_at"] as const;
export const MILESTONE_COLUMNS = ["call_id", "call_started_at", "org_id", "key", "achieved"] as const;
export const OBJECTION_COLUMNS = ["id", "call_id", "call_started_at", "org_id", "kind", "handled"] as const;
export const APPOINTMENT_COLUMNS = [
  "id",
  "org_id",
  "contact_id",
  "call_id",
  "call_started_at",
  "service_id",
  "scheduled_at",
  "status",
  "created_at",
  "updated_at",
] as const;

/** A call younger than this is still ringing (outbound) or queued (inbound). */
const RINGING_MS = 20_000;
/** Share of completed calls the AI analysis covers (the rest: too short, opted out, analysis failed). */
const ANALYSED_SHARE = 0.88;

/**
 * Draws an organization's calls in time order with their analysis, external ids and booked appointments.
 * Volume per 15-minute slot follows the local hour and weekday (plus day-to-day noise and a gentle growth trend);
 * the slot counts are systematic samples of those weights, so the total is exact and nothing is held in memory.
 */
export async function generateCalls(org: OrgModel, sinks: CallSinks, pause: () => Promise<void>, onCalls: (n: number) => void) {
  const rng = Random.from(org.plan.key, "calls");
  const { slots, now } = org;
  const total = org.plan.calls;
  const live = total >= 200 ? 3 : total >= 20 ? 1 : 0;
  const historic = total - live;
  const tables = agentTables(org);
  const dayNoise = Array.from({ length: org.windowDays + 1 }, () => rng.logNormal(1, 0.12) * (rng.chance(0.03) ? 1.6 : 1));
  const weights = new Float64Array(slots.count);
  let weightSum = 0;
  for (let i = 0; i < slots.count; i++) {
    const day = Math.floor((i * SLOT_MS) / DAY_MS);
    const w =
      CALL_HOUR_SHAPE[slots.localHour[i]!]! *
      CALL_WEEKDAY_SHAPE[slots.weekday[i]!]! *
      (org.open[i] ? 1.15 : 1) *
      dayNoise[day]! *
      (0.85 + (0.3 * i) / slots.count) *
      slots.fraction[i]!;
    weights[i] = w;
    weightSum += w;
  }
  let contactsUsed = 0;
  const newContactChance = org.calledContacts / Math.max(1, historic);
  let emitted = 0;
  const emit = (start: number, slot: number, forceLive: boolean) => {
    const useNew = contactsUsed === 0 || (contactsUsed < org.calledContacts && rng.chance(newContactChance));
    const contactIndex = useNew ? contactsUsed++ : Math.floor(contactsUsed * Math.sqrt(rng.float()));
    emitCall(org, rng, sinks, tables, start, slot, contactIndex, forceLive);
    emitted++;
    if (emitted % 1000 === 0) onCalls(1000);
  };

  let carry = rng.float();
  let drawn = 0;
  const offsets: number[] = [];
  for (let i = 0; i < slots.count && drawn < historic; i++) {
    carry += (historic * weights[i]!) / weightSum;
    let k = Math.floor(carry);
    carry -= k;
    if (i === slots.count - 1) k = historic - drawn;
    k = Math.min(k, historic - drawn);
    drawn += k;
    offsets.length = 0;
    for (let j = 0; j < k; j++) offsets.push(rng.float() * SLOT_MS * slots.fraction[i]!);
    offsets.sort((a, b) => a - b);
    const slotStart = slots.windowStart + i * SLOT_MS;
    for (const offset of offsets) {
      emit(Math.floor(slotStart + offset), i, false);
      if (emitted % 1000 === 0) await pause();
    }
  }
  // calls happening right now: one in progress (reconnectable), then one ringing and one queued
  for (let j = 0; j < live; j++) {
    const start = now - (j === 0 ? Math.round(rng.between(60_000, 600_000)) : j === 1 ? 5_000 : 12_000);
    emit(start, Math.min(slots.count - 1, Math.floor((start - slots.windowStart) / SLOT_MS)), j === 0);
  }
  onCalls(emitted % 1000);
}

function outcomeFor(rng: Random, score: number, skill: number): CallOutcome {
  const r = rng.float();
  if (score >= 70) return r < 0.25 + 0.3 * skill ? "appointment_booked" : r < 0.9 ? "qualified" : "callback_requested";
  if (score >= 40) return r < 0.06 + 0.08 * skill ? "appointment_booked" : r < 0.3 ? "qualified" : r < 0.65 ? "callback_requested" : "not_interested";
  return r < 0.02 ? "appointment_booked" : r < 0.25 ? "callback_requested" : "not_interested";
}

function plannedStatus(rng: Random, agent: AgentModel | null, direction: "inbound" | "outbound"): CallStatus {
  if (!agent) return rng.chance(0.6) ? "missed" : "abandoned";
  if (rng.chance(agent.completionRate)) return "completed";
  const r = rng.float();
  if (direction === "inbound") return r < 0.45 ? "missed" : r < 0.9 ? "abandoned" : "failed";
  return r < 0.6 ? "missed" : "failed";
}

function emitCall(
  org: OrgModel,
  rng: Random,
  sinks: CallSinks,
  tables: ReturnType<typeof agentTables>,
  start: number,
  slot: number,
  contactIndex: number,
  forceLive: boolean,
) {
  const { now, slots } = org;
  const day = Math.floor((start - slots.windowStart) / DAY_MS);
  const hour = slots.localHour[slot]!;
  const unanswered = !forceLive && rng.chance(0.04);
  const agent = unanswered ? null : (pickAgent(tables, day, org.open[slot] === 1, rng.float()) ?? (forceLive ? org.agents[0]! : null));
  const direction = agent && hour >= 8 && hour < 20 && rng.chance(agent.outboundShare) ? "outbound" : "inbound";
  const contact = contactAt(org, contactIndex);
  const skill = agent?.skill ?? 0.3;
  let status = forceLive ? "completed" : plannedStatus(rng, agent, direction);
  let duration =
    status === "completed" ? Math.round(clamp(rng.logNormal(agent?.medianDurationSec ?? 120, 0.6), 8, 3600)) : status === "abandoned" ? 5 + rng.int(85) : 0;
  if (forceLive) duration = Math.max(duration, Math.ceil((now - start) / 1000) + 60);
  const score = clamp(Math.round(rng.normal(25 + 50 * skill + (direction === "inbound" ? 5 : -5), 18)), 0, 100);
  let outcome: CallOutcome | null = null;
  if (status === "completed") {
    const r = rng.float();
    outcome = r < 0.03 ? "wrong_number" : direction === "outbound" && r < 0.11 ? "voicemail" : outcomeFor(rng, score, skill);
  } else if (status === "missed" && direction === "outbound" && rng.chance(0.5)) {
    outcome = "voicemail";
  }
  let end: number | null = start + duration * 1000;
  if (now - start < RINGING_MS) status = direction === "inbound" ? "queued" : "ringing";
  else if (end > now && status === "completed") status = "in_progress";
  else if (end > now && status === "abandoned") status = "queued";
  const ended = status === "completed" || status === "failed" || status === "missed" || status === "abandoned";
  if (!ended) {
    end = null;
    outcome = null;
  }
  const analysable = status === "completed" && outcome !== "wrong_number" && outcome !== "voicemail" && rng.chance(ANALYSED_SHARE);
  const delayRoll = rng.float();
  const delaySec = delayRoll < 0.8 ? rng.between(20, 300) : delayRoll < 0.95 ? rng.between(300, 7_200) : rng.between(7_200, 259_200);
  const analysedAt = end === null ? Infinity : end + Math.round(delaySec * 1000);
  const analysed = analysable && analysedAt <= now;
  const createdAt = end !== null && rng.chance(0.25) ? Math.min(now, end + 1000 + rng.int(4000)) : start;
  const updatedAt = Math.min(now, Math.max(createdAt, end ?? start, analysed ? analysedAt : 0));
  let token: string | null = null;
  let eligible = false;
  const tokenRoll = rng.float();
  if (status === "in_progress" && (forceLive || tokenRoll < 0.6)) [token, eligible] = [`rct_${rng.hex(16)}`, true];
  else if (status === "completed" && tokenRoll < 0.005) [token, eligible] = [`rct_${rng.hex(16)}`, false];
  else if (status === "abandoned" && tokenRoll < 0.01) [token, eligible] = [`rct_${rng.hex(16)}`, true];
  const fromWidget = direction === "inbound" && rng.chance(0.4);
  const id = rng.uuidAt(start);
  const externalId = rng.chance(0.95) ? `conv_${rng.hex(12)}` : null;
  const startedAt = iso(start);
  sinks.calls([
    id,
    org.id,
    externalId,
    agent?.id ?? null,
    contact.id,
    direction,
    status,
    contact.phone,
    startedAt,
    end === null ? null : iso(end),
    ended ? duration : null,
    ended && duration > 0 ? Math.ceil(duration / 60) * (status === "completed" ? (agent?.creditsPerMinute ?? 1) : 1) : 0,
    outcome,
    analysed ? score : null,
    token,
    eligible,
    fromWidget ? rng.pick(org.pools) : null,
    fromWidget ? rng.pick(org.sites) : null,
    contact.country,
    iso(createdAt),
    iso(updatedAt),
  ]);
  if (externalId) sinks.externalIds([org.id, externalId, id, startedAt]);
  if (analysed) emitAnalysis(org, rng, sinks, id, startedAt, score, skill, analysedAt);
  if (outcome === "appointment_booked" && end !== null) emitAppointment(org, rng, sinks, id, startedAt, contact.id, end);
}

function emitAnalysis(org: OrgModel, rng: Random, sinks: CallSinks, callId: string, callStartedAt: string, score: number, skill: number, at: number) {
  const achieved = [0.97, 0.45 + 0.45 * skill, 0.3 + 0.5 * (score / 100), score >= 70 ? 0.8 : score >= 40 ? 0.4 : 0.1];
  MILESTONE_KEYS.forEach((key, i) => {
    sinks.milestones([callId, callStartedAt, org.id, key, rng.chance(achieved[i]!)]);
  });
  const r = rng.float();
  const count = r < 0.4 ? 0 : r < 0.75 ? 1 : r < 0.93 ? 2 : 3;
  const first = rng.int(OBJECTION_KINDS.length);
  for (let j = 0; j < count; j++) {
    const kind = OBJECTION_KINDS[(first + j) % OBJECTION_KINDS.length]!;
    sinks.objections([rng.uuidAt(at), callId, callStartedAt, org.id, kind, rng.chance(0.35 + 0.55 * skill)]);
  }
}

/** A booked call's appointment: a weekday business-hour slot 1–21 local days later, resolved if it is past. */
function emitAppointment(org: OrgModel, rng: Random, sinks: CallSinks, callId: string, callStartedAt: string, contactId: string, end: number) {
  const zone = org.plan.timeZone;
  const date = localCalendarDay(zone, end);
  date.setUTCDate(date.getUTCDate() + 1 + rng.int(21));
  if (date.getUTCDay() === 0) date.setUTCDate(date.getUTCDate() + 1);
  const at = localToUtc(zone, date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), 9 * 60 + 30 * rng.int(16));
  const { now } = org;
  const r = rng.float();
  const status = at < now ? (r < 0.03 ? "scheduled" : r < 0.75 ? "completed" : r < 0.87 ? "no_show" : "cancelled") : r < 0.88 ? "scheduled" : "cancelled";
  const createdAt = Math.min(now, end + 60_000);
  const updatedAt = status === "scheduled" ? createdAt : at < now ? Math.min(now, at + 2 * 3_600_000) : createdAt + Math.floor(rng.float() * (now - createdAt));
  const service = rng.chance(0.9) ? rng.pick(org.services).id : null;
  sinks.appointments([rng.uuidAt(createdAt), org.id, contactId, callId, callStartedAt, service, iso(at), status, iso(createdAt), iso(updatedAt)]);
}
