import { DAY_MS, HOUR_MS, MINUTE_MS, OFFSET_STEP_MS, utcOffsetMinutes } from "../lib/time";

/**
 * Organization-local time for the generator; the zone arithmetic itself is `lib/time.ts`, shared with the API. Every
 * zone's UTC offset is a multiple of 15 minutes (Kathmandu +5:45, Adelaide +9:30/+10:30) and changes only on a
 * 15-minute boundary, so the window is cut into 15-minute slots whose local hour and weekday are fixed: calls are
 * drawn per slot and never need a time-zone lookup of their own.
 */

export const SLOT_MS = OFFSET_STEP_MS;

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
