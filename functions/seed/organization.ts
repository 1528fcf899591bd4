import type { BusinessHours } from "../../drizzle/schema";
import { AI_AGENT_NAMES, AI_AGENT_ROLES, FIRST_NAMES, LAST_NAMES, PHONE_PLANS, WEEKDAY_KEYS, type PhonePlan } from "./catalog";
import type { Slots } from "./clock";
import type { OrgPlan } from "./plan";
import { Random, clamp, hashWords } from "./random";
import { DAY_MS } from "../lib/time";

type AgentStatus = "active" | "draft" | "paused" | "archived";

/** An agent and the traits its calls are drawn from. */
export type AgentModel = {
  id: string;
  name: string;
  kind: "ai" | "human";
  status: AgentStatus;
  userId: string | null;
  voiceAgentId: string | null;
  description: string;
  /** 0–1: drives completion rate, lead scores, bookings, milestone and objection handling */
  skill: number;
  completionRate: number;
  medianDurationSec: number;
  creditsPerMinute: number;
  outboundShare: number;
  weight: number;
  /** window days [fromDay, toDay) in which the agent takes calls (draft: none; paused/archived: until they stopped) */
  fromDay: number;
  toDay: number;
  createdAt: number;
};

export type UserModel = { id: string; email: string; name: string; role: "admin" | "manager" | "agent"; isActive: boolean };

/** One organization's fixed parts; contacts, calls, sessions and pageviews are drawn from it as streams. */
export type OrgModel = {
  plan: OrgPlan;
  id: string;
  createdAt: number;
  now: number;
  slots: Slots;
  windowDays: number;
  businessHours: BusinessHours;
  /** 1 where a slot falls within business hours (org-local) */
  open: Uint8Array;
  users: UserModel[];
  agents: AgentModel[];
  services: { id: string; name: string; priceCents: number }[];
  pools: string[];
  sites: string[];
  phone: PhonePlan;
  /** contacts the calls draw from, and the total (a few were imported and never called) */
  calledContacts: number;
  contacts: number;
  contactWords: [number, number, number, number];
  phoneOffset: number;
  webhookSecret: string;
  creditsBalance: number;
};

/** "Noah.Müller" → "noah.muller": accents dropped, anything else outside [a-z0-9.] removed. */
export const emailLocalPart = (name: string) =>
  name
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9.]/g, "");

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;

function businessHoursFor(rng: Random, saturday: boolean): BusinessHours {
  const open = rng.pick([8 * 60, 8 * 60 + 30, 9 * 60]);
  const close = rng.pick([17 * 60, 17 * 60 + 30, 18 * 60]);
  const lunchSplit = rng.chance(0.3);
  const hours: BusinessHours = {};
  for (const day of ["mon", "tue", "wed", "thu", "fri"] as const) {
    hours[day] =
      lunchSplit && day === "fri"
        ? [
            { start: hhmm(open), end: "12:00" },
            { start: "13:00", end: hhmm(close - 60) },
          ]
        : [{ start: hhmm(open), end: hhmm(close) }];
  }
  if (saturday && rng.chance(0.6)) hours.sat = [{ start: "09:00", end: "13:00" }];
  return hours;
}

/** Statuses of the first agents are fixed so every organization shows each of them; the rest are drawn. */
const FIRST_STATUSES: readonly AgentStatus[] = ["active", "active", "paused", "draft", "archived"];

function agentStatus(rng: Random, index: number): AgentStatus {
  return FIRST_STATUSES[index] ?? (["active", "active", "active", "active", "paused", "archived", "draft"] as const)[rng.int(7)]!;
}

/** An organization's fixed parts, from its plan and the window's slots in its zone (shared by every organization there). */
export function buildOrganization(plan: OrgPlan, slots: Slots, now: number): OrgModel {
  const rng = Random.from(plan.key, "organization");
  const id = rng.uuid();
  const windowStart = slots.windowStart;
  const createdAt = windowStart - Math.round(rng.between(30, 400) * DAY_MS);
  const windowDays = Math.ceil((now - windowStart) / DAY_MS);
  const businessHours = businessHoursFor(rng, plan.industry.saturday);
  const open = new Uint8Array(slots.count);
  for (let i = 0; i < slots.count; i++) {
    const intervals = businessHours[WEEKDAY_KEYS[slots.weekday[i]!]!] ?? [];
    const m = slots.minuteOfDay[i]!;
    open[i] = intervals.some((r) => m >= minutes(r.start) && m < minutes(r.end)) ? 1 : 0;
  }
  const domain = `${plan.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")}-${id.slice(0, 6)}.example.com`;
  const emails = new Set<string>();
  const person = (role: UserModel["role"], isActive = true): UserModel => {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const local = emailLocalPart(`${first}.${last}`);
    let email = `${local}@${domain}`;
    for (let n = 2; emails.has(email); n++) email = `${local}${n}@${domain}`;
    emails.add(email);
    return { id: rng.uuid(), email, name: `${first} ${last}`, role, isActive };
  };
  const users: UserModel[] = [person("admin"), person("manager")];
  const agents: AgentModel[] = [];
  const aiNames = new Set<string>();
  for (let i = 0; i < plan.agents; i++) {
    const status = agentStatus(rng, i);
    const kind = i === 0 ? "ai" : i === 1 ? "human" : rng.chance(0.55) ? "ai" : "human";
    const skill = clamp(rng.normal(0.55, 0.22), 0.05, 0.98);
    const user = kind === "human" ? person("agent", status !== "archived") : null;
    if (user) users.push(user);
    let name = user?.name ?? `${rng.pick(AI_AGENT_NAMES)} (${rng.pick(AI_AGENT_ROLES)})`;
    for (let n = 2; aiNames.has(name); n++) name = `${name.replace(/ \d+$/, "")} ${n}`;
    aiNames.add(name);
    const fromDay = status === "active" && rng.chance(0.3) ? rng.int(Math.max(1, Math.floor(windowDays * 0.6))) : 0;
    const toDay =
      status === "draft"
        ? 0
        : status === "archived"
          ? Math.floor(windowDays * rng.between(0.15, 0.6))
          : status === "paused"
            ? Math.floor(windowDays * rng.between(0.5, 0.95))
            : windowDays + 1;
    agents.push({
      id: rng.uuid(),
      name,
      kind,
      status,
      userId: user?.id ?? null,
      voiceAgentId: kind === "ai" ? `agent_${rng.hex(10)}` : null,
      description: kind === "ai" ? `AI voice agent for the ${plan.name} ${name.replace(/^.*\(|\)$/g, "")}` : `Human agent, ${plan.name}`,
      skill,
      completionRate: 0.55 + 0.37 * skill,
      medianDurationSec: Math.round((kind === "ai" ? 110 : 160) + 140 * skill),
      creditsPerMinute: kind === "ai" ? 2 : 1,
      outboundShare: kind === "ai" ? rng.between(0.2, 0.6) : rng.between(0.05, 0.3),
      weight: kind === "ai" ? rng.between(1.5, 3) : rng.between(0.6, 1.2),
      fromDay,
      toDay,
      createdAt: Math.max(createdAt + DAY_MS, windowStart + fromDay * DAY_MS - Math.round(rng.between(1, 60) * DAY_MS)),
    });
  }
  const calledContacts = Math.max(1, Math.round(plan.calls * 0.45));
  const phone = PHONE_PLANS[plan.country]!;
  return {
    plan,
    id,
    createdAt,
    now,
    slots,
    windowDays,
    businessHours,
    open,
    users,
    agents,
    services: plan.industry.services.map(([name, priceCents]) => ({ id: rng.uuid(), name, priceCents })),
    pools: Array.from({ length: 2 + rng.int(3) }, () => rng.uuid()),
    sites: Array.from({ length: 1 + rng.int(3) }, () => rng.uuid()),
    phone,
    calledContacts,
    contacts: calledContacts + Math.ceil(calledContacts * 0.05),
    contactWords: hashWords(`${plan.key}:contacts`),
    phoneOffset: rng.int(phone.space),
    webhookSecret: `whsec_${rng.hex(16)}`,
    creditsBalance: 5_000 + rng.int(500_000),
  };
}

/**
 * Cumulative pick tables of the agents taking calls on each window day, inside and outside business hours
 * (human agents work business hours only). An empty table means the call rings unanswered.
 */
export type AgentTables = { open: Float64Array[]; closed: Float64Array[]; openAgents: AgentModel[][]; closedAgents: AgentModel[][] };

export function agentTables(org: OrgModel): AgentTables {
  const tables: AgentTables = { open: [], closed: [], openAgents: [], closedAgents: [] };
  for (let day = 0; day <= org.windowDays; day++) {
    for (const isOpen of [true, false]) {
      const list = org.agents.filter((a) => a.fromDay <= day && day < a.toDay && (isOpen || a.kind === "ai"));
      const cumulative = new Float64Array(list.length);
      let sum = 0;
      list.forEach((a, i) => {
        cumulative[i] = sum += a.weight;
      });
      (isOpen ? tables.openAgents : tables.closedAgents).push(list);
      (isOpen ? tables.open : tables.closed).push(cumulative);
    }
  }
  return tables;
}

export function pickAgent(tables: AgentTables, day: number, isOpen: boolean, u: number): AgentModel | null {
  const cumulative = (isOpen ? tables.open : tables.closed)[day];
  const list = (isOpen ? tables.openAgents : tables.closedAgents)[day];
  if (!cumulative || !list || list.length === 0) return null;
  const target = u * cumulative[cumulative.length - 1]!;
  for (let i = 0; i < cumulative.length; i++) if (target < cumulative[i]!) return list[i]!;
  return list[list.length - 1]!;
}

export type Contact = { id: string; phone: string; country: string; name: string | null; createdAt: number };

const PHONE_STRIDE = 999_983; // prime, so coprime with every plan's space (powers of 2 and 5 times 1 or 8)
const OTHER_COUNTRIES = Object.keys(PHONE_PLANS);

/**
 * Contact `index` of an organization, drawn from its own stream so calls can refer to it without storing it.
 * Phones are unique per organization: a country's numbers are an affine bijection of the index.
 */
export function contactAt(org: OrgModel, index: number): Contact {
  const rng = Random.indexed(org.contactWords, index);
  const id = rng.uuid();
  const foreign = rng.chance(0.05);
  const plan = foreign ? PHONE_PLANS[rng.pick(OTHER_COUNTRIES.filter((c) => c !== org.phone.country))]! : org.phone;
  const area = plan.areas[index % plan.areas.length]!;
  const n = plan.base + ((Math.floor(index / plan.areas.length) * PHONE_STRIDE + org.phoneOffset) % plan.space);
  const name = rng.chance(0.8) ? `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}` : null;
  // imported between the organization's creation and the window's start: no contact is younger than its first call
  const createdAt = Math.round(org.createdAt + rng.float() * (org.slots.windowStart - org.createdAt));
  return { id, phone: area + String(n).padStart(plan.width, "0"), country: plan.country, name, createdAt };
}
