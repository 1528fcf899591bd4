/**
 * Organization-local time for the generator. Every zone's UTC offset is a multiple of 15 minutes (Kathmandu +5:45,
 * Adelaide +9:30/+10:30) and changes only on a 15-minute boundary, so the window is cut into 15-minute slots whose
 * local hour and weekday are fixed: calls are drawn per slot and never need a time-zone lookup of their own.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const SLOT_MS = 15 * MINUTE_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, Map<number, number>>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Minutes to add to a UTC instant to read the wall clock of `timeZone` at that instant. */
export function utcOffsetMinutes(timeZone: string, utcMs: number): number {
  // offsets only change on 15-minute boundaries: cache per zone and slot
  const key = Math.floor(utcMs / SLOT_MS);
  let zone = offsetCache.get(timeZone);
  if (!zone) offsetCache.set(timeZone, (zone = new Map()));
  const cached = zone.get(key);
  if (cached !== undefined) return cached;
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(key * SLOT_MS))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  const offset = Math.round((wall - key * SLOT_MS) / MINUTE_MS);
  if (zone.size > 200_000) zone.clear();
  zone.set(key, offset);
  return offset;
}

/** The UTC instant of a local wall-clock time (a skipped spring-forward time lands an hour later, as clocks do). */
export function localToUtc(timeZone: string, year: number, month0: number, day: number, minuteOfDay: number): number {
  const wall = Date.UTC(year, month0, day) + minuteOfDay * MINUTE_MS;
  const first = wall - utcOffsetMinutes(timeZone, wall) * MINUTE_MS;
  const second = wall - utcOffsetMinutes(timeZone, first) * MINUTE_MS;
  return second;
}

/** The local calendar date (as a UTC-midnight epoch) of an instant. */
export function localDate(timeZone: string, utcMs: number): Date {
  const local = utcMs + utcOffsetMinutes(timeZone, utcMs) * MINUTE_MS;
  return new Date(Math.floor(local / DAY_MS) * DAY_MS);
}

/** The window cut into 15-minute slots with each slot's local hour, weekday (0 = Sunday) and minute of day. */
export type Slots = {
  readonly windowStart: number;
  readonly count: number;
  readonly localHour: Uint8Array;
  readonly weekday: Uint8Array;
  readonly minuteOfDay: Uint16Array;
  /** the fraction of the slot before `now` (1 except for the last slot) */
  readonly fraction: Float64Array;
};

export function buildSlots(timeZone: string, windowStart: number, now: number): Slots {
  const count = Math.ceil((now - windowStart) / SLOT_MS);
  const localHour = new Uint8Array(count);
  const weekday = new Uint8Array(count);
  const minuteOfDay = new Uint16Array(count);
  const fraction = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const start = windowStart + i * SLOT_MS;
    const local = start + utcOffsetMinutes(timeZone, start) * MINUTE_MS;
    const minute = Math.floor(local / MINUTE_MS) - Math.floor(local / DAY_MS) * 1440;
    localHour[i] = Math.floor(minute / 60);
    minuteOfDay[i] = minute;
    weekday[i] = new Date(local).getUTCDay();
    fraction[i] = Math.min(1, (now - start) / SLOT_MS);
  }
  return { windowStart, count, localHour, weekday, minuteOfDay, fraction };
}

const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));
const dayPrefixes = new Map<number, string>();

/**
 * `new Date(ms).toISOString()` for integer milliseconds, several times faster: a seed formats tens of millions of
 * timestamps, and Date's own formatting was the largest single cost of generating a call.
 */
export function iso(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size > 4_096) dayPrefixes.clear();
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  let rest = Math.floor(ms) - day * DAY_MS;
  const hour = Math.floor(rest / HOUR_MS);
  rest -= hour * HOUR_MS;
  const minute = Math.floor(rest / MINUTE_MS);
  rest -= minute * MINUTE_MS;
  const second = Math.floor(rest / 1000);
  return `${prefix}${PAD2[hour]}:${PAD2[minute]}:${PAD2[second]}.${PAD3[rest - second * 1000]}Z`;
}
