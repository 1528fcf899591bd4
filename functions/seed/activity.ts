import type { CopyValue } from "../db/database";
import { PAGEVIEW_HOUR_SHAPE, PAGEVIEW_WEEKDAY_SHAPE, WEEKDAY_KEYS } from "./catalog";
import { SLOT_MS, iso } from "./clock";
import type { AgentModel, OrgModel } from "./organization";
import { Random, clamp } from "./random";
import { DAY_MS, HOUR_MS, MINUTE_MS, localCalendarDay, localToUtc } from "../lib/time";

type Add = (row: readonly CopyValue[]) => void;

export const SESSION_COLUMNS = ["id", "org_id", "agent_id", "started_at", "ended_at", "created_at"] as const;
export const PAGEVIEW_COLUMNS = ["id", "org_id", "pool_id", "site_id", "country_code", "created_at"] as const;

const VISITOR_COUNTRIES = ["US", "GB", "IN", "DE", "CA", "AU", "NP", "BR"] as const;

/**
 * Agents' online sessions. AI agents stay online for long stretches with short gaps (deploys, provider hiccups);
 * human agents work business-hour shifts with a lunch break and the odd day off. A session still running at
 * `now` is open (ended_at null). Draft agents were never online.
 */
export function generateSessions(org: OrgModel, add: Add) {
  const rng = Random.from(org.plan.key, "sessions");
  const { now, slots } = org;
  for (const agent of org.agents) {
    if (agent.status === "draft") continue;
    const from = slots.windowStart + agent.fromDay * DAY_MS;
    const until = Math.min(now, slots.windowStart + agent.toDay * DAY_MS);
    if (agent.kind === "ai") aiSessions(org, rng, agent, from, until, add);
    else humanSessions(org, rng, agent, from, until, add);
  }
}

function session(org: OrgModel, rng: Random, agent: AgentModel, start: number, end: number | null, add: Add) {
  add([rng.uuidAt(start), org.id, agent.id, iso(start), end === null ? null : iso(end), iso(start)]);
}

function aiSessions(org: OrgModel, rng: Random, agent: AgentModel, from: number, until: number, add: Add) {
  let cursor = from + Math.round(rng.between(0, 30) * MINUTE_MS);
  while (cursor < until) {
    const length = Math.round(clamp(rng.logNormal(20, 0.7), 1, 72) * HOUR_MS);
    const end = cursor + length;
    if (end >= until) {
      session(org, rng, agent, cursor, until === org.now ? null : until, add);
      return;
    }
    session(org, rng, agent, cursor, end, add);
    cursor = end + Math.round(rng.between(2, 45) * MINUTE_MS);
  }
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function humanSessions(org: OrgModel, rng: Random, agent: AgentModel, from: number, until: number, add: Add) {
  const zone = org.plan.timeZone;
  const date = localCalendarDay(zone, from);
  const last = localCalendarDay(zone, until).getTime();
  for (; date.getTime() <= last; date.setUTCDate(date.getUTCDate() + 1)) {
    const intervals = org.businessHours[WEEKDAY_KEYS[date.getUTCDay()]!] ?? [];
    const dayOff = rng.chance(0.08);
    if (intervals.length === 0 || dayOff) continue;
    const open = minutes(intervals[0]!.start) - rng.int(20);
    const close = minutes(intervals[intervals.length - 1]!.end) + rng.int(30);
    const lunch = 12 * 60 + rng.int(60);
    const shifts: [number, number][] =
      close - open > 6 * 60
        ? [
            [open, lunch],
            [lunch + 30 + rng.int(30), close],
          ]
        : [[open, close]];
    for (const [a, b] of shifts) {
      const start = localToUtc(zone, date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), a);
      const end = localToUtc(zone, date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), b);
      if (start < from || start >= until) continue;
      session(org, rng, agent, start, end > until ? (until === org.now ? null : until) : end, add);
    }
  }
}

/** Website-widget pageviews, evening-heavy, spread over the organization's pools and sites. */
export async function generatePageviews(org: OrgModel, add: Add, pause: () => Promise<void>) {
  const rng = Random.from(org.plan.key, "pageviews");
  const { slots } = org;
  const total = org.plan.pageviews;
  if (total === 0) return;
  const weights = new Float64Array(slots.count);
  let sum = 0;
  for (let i = 0; i < slots.count; i++) {
    weights[i] = PAGEVIEW_HOUR_SHAPE[slots.localHour[i]!]! * PAGEVIEW_WEEKDAY_SHAPE[slots.weekday[i]!]! * slots.fraction[i]! * rng.between(0.8, 1.2);
    sum += weights[i]!;
  }
  let carry = rng.float();
  let drawn = 0;
  for (let i = 0; i < slots.count && drawn < total; i++) {
    carry += (total * weights[i]!) / sum;
    let k = Math.floor(carry);
    carry -= k;
    if (i === slots.count - 1) k = total - drawn;
    k = Math.min(k, total - drawn);
    drawn += k;
    const slotStart = slots.windowStart + i * SLOT_MS;
    for (let j = 0; j < k; j++) {
      const at = Math.floor(slotStart + rng.float() * SLOT_MS * slots.fraction[i]!);
      const country = rng.chance(0.85) ? org.phone.country : rng.pick(VISITOR_COUNTRIES);
      add([rng.uuidAt(at), org.id, rng.chance(0.9) ? rng.pick(org.pools) : null, rng.pick(org.sites), country, iso(at)]);
    }
    if (i % 96 === 0) await pause();
  }
}
