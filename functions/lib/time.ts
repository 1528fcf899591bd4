/**
 * Organization-local time, one module for the API (windows, local dates and hours), the seed generator and the bench:
 * wall-clock fields, zone offsets, local dates and their arithmetic. Zones are IANA names read through `Intl`.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Every zone's UTC offset since standardized time is a multiple of 15 minutes and changes on such a boundary. */
export const OFFSET_STEP_MS = 15 * MINUTE_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

type LocalParts = { year: number; month: number; day: number; hour: number; minute: number; second: number };

/**
 * The zone's offset (ms, local − UTC) over each 15-minute slot, when it is the same at the slot's first and last whole
 * second; null when it changes inside the slot (a historical local-mean-time switch: then each instant asks Intl).
 * Offsets change at most once in a slot and on whole seconds, so equal ends mean one offset throughout.
 */
const slotOffsets = new Map<string, Map<number, number | null>>();
const SLOT_OFFSETS_MAX = 100_000;
const SLOTS_FROM_MS = Date.UTC(1900, 0, 1);

/**
 * The wall-clock fields of an instant in a zone. A request resolves its window with a handful of these: each asks
 * `Intl` once per zone and 15-minute slot, then reads the fields from the instant shifted by the slot's offset (a
 * `formatToParts` per call cost about 3 % of a cached read's CPU, issue #15).
 */
export function localParts(at: Date, timeZone: string): LocalParts {
  const ms = at.getTime();
  // before 1900 (local mean times, two-digit years that Date.UTC reads as 19xx) every instant asks Intl
  if (!(ms >= SLOTS_FROM_MS)) return intlLocalParts(at, timeZone);
  const slot = Math.floor(ms / OFFSET_STEP_MS);
  let zone = slotOffsets.get(timeZone);
  if (!zone) slotOffsets.set(timeZone, (zone = new Map()));
  let offset = zone.get(slot);
  if (offset === undefined) {
    const first = slot * OFFSET_STEP_MS;
    const start = offsetOfParts(first, intlLocalParts(new Date(first), timeZone));
    const last = first + OFFSET_STEP_MS - 1000;
    offset = start === offsetOfParts(last, intlLocalParts(new Date(last), timeZone)) ? start : null;
    if (zone.size >= SLOT_OFFSETS_MAX) zone.clear();
    zone.set(slot, offset);
  }
  if (offset === null) return intlLocalParts(at, timeZone);
  const local = new Date(Math.floor(ms / 1000) * 1000 + offset);
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
  };
}

/** local − UTC of the instant `ms` (whole seconds) whose wall-clock fields are `p`. */
const offsetOfParts = (ms: number, p: LocalParts) => Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;

function intlLocalParts(at: Date, timeZone: string): LocalParts {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

/** Offset of a zone at an instant, in milliseconds (local − UTC). */
export function zoneOffsetMs(at: Date, timeZone: string): number {
  return offsetOfParts(at.getTime(), localParts(at, timeZone));
}

/**
 * Whether every UTC hour that meets [fromMs, toMs) lies inside one local hour of `timeZone`: the zone's offset is a
 * whole number of hours there and changes only on a UTC hour. Then a local hour, and a local date, is a union of whole
 * UTC hours, and hourly rollup rows can be grouped by them (zones at +05:30, +05:45, −03:30 and their like cannot).
 * The window's hours are taken a UTC day at a time: the offset at the day's first hour in the window is compared with
 * the next day's (or the window's last second), and only a day whose offset changes is checked hour by hour (offsets
 * change at most once a day). Only the window's own hours count: Lord Howe's day of a +10:30 → +11:00 change has
 * whole-hour local hours after the change. `zoneOffsetMs` caches offsets per 15-minute slot: a 90-day window measured
 * ~50 µs a call once its slots are cached, ~3 ms the first time for a zone and period (Intl for each midnight).
 */
export function utcHoursAreLocalHours(timeZone: string, fromMs: number, toMs: number): boolean {
  const offsetAt = (ms: number) => zoneOffsetMs(new Date(ms), timeZone);
  const end = Math.ceil(toMs / HOUR_MS) * HOUR_MS;
  for (let start = Math.floor(fromMs / HOUR_MS) * HOUR_MS; start < end; ) {
    const stop = Math.min(Math.floor(start / DAY_MS) * DAY_MS + DAY_MS, end);
    const offset = offsetAt(start);
    if (offset % HOUR_MS !== 0) return false;
    if (offsetAt(stop < end ? stop : stop - 1000) !== offset) {
      for (let hour = start; hour < stop; hour += HOUR_MS) {
        const at = offsetAt(hour);
        if (at % HOUR_MS !== 0 || at !== offsetAt(hour + HOUR_MS - 1000)) return false;
      }
    }
    start = stop;
  }
  return true;
}

/** The local calendar date (YYYY-MM-DD) of an instant in a zone. */
export function localDate(at: Date, timeZone: string): string {
  const p = localParts(at, timeZone);
  return `${String(p.year).padStart(4, "0")}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

/** Adds whole calendar days to a YYYY-MM-DD date. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/**
 * The first instant of a local calendar date in a zone: local midnight, or — where a DST jump skips midnight —
 * the first wall-clock instant that exists that day.
 */
export function startOfLocalDay(date: string, timeZone: string): Date {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d);
  let guess = wall - zoneOffsetMs(new Date(wall), timeZone);
  for (let i = 0; i < 3; i++) {
    const next = wall - zoneOffsetMs(new Date(guess), timeZone);
    if (next === guess) break;
    guess = next;
  }
  // midnight did not exist (the clock jumped past it): the day starts at the jump
  if (localDate(new Date(guess), timeZone) !== date) {
    let lo = guess;
    let hi = guess + 3 * HOUR_MS;
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (localDate(new Date(mid), timeZone) === date) hi = mid;
      else lo = mid;
    }
    guess = hi;
  }
  return new Date(guess);
}

/** Every local date from `first` to `last`, inclusive. */
export function datesBetween(first: string, last: string): string[] {
  // counted from day numbers, not stepped by string: past 9999-12-31 (a +14:00 zone reaches it) toISOString prints
  // "+010000-01-01", which neither sorts nor parses as a date
  const dayNumber = (date: string) => {
    const [y, m, d] = date.split("-").map(Number) as [number, number, number];
    return Date.UTC(y, m - 1, d) / DAY_MS;
  };
  const end = dayNumber(last);
  const out: string[] = [];
  for (let day = dayNumber(first); day <= end; day++) {
    const at = new Date(day * DAY_MS);
    out.push(`${String(at.getUTCFullYear()).padStart(4, "0")}-${String(at.getUTCMonth() + 1).padStart(2, "0")}-${String(at.getUTCDate()).padStart(2, "0")}`);
  }
  return out;
}

const offsetCache = new Map<string, Map<number, number>>();

/**
 * Minutes to add to a UTC instant to read the wall clock of `timeZone` at that instant, cached per zone and 15-minute
 * step: the generator's hot path. Exact for every zone since standardized time (offsets are multiples of 15 minutes
 * and change on such a boundary); `zoneOffsetMs` is the exact offset of any instant, historical ones included.
 */
export function utcOffsetMinutes(timeZone: string, utcMs: number): number {
  // offsets only change on 15-minute boundaries: cache per zone and slot
  const key = Math.floor(utcMs / OFFSET_STEP_MS);
  let zone = offsetCache.get(timeZone);
  if (!zone) offsetCache.set(timeZone, (zone = new Map()));
  const cached = zone.get(key);
  if (cached !== undefined) return cached;
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(key * OFFSET_STEP_MS))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  const offset = Math.round((wall - key * OFFSET_STEP_MS) / MINUTE_MS);
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

/** The local calendar date of an instant as a UTC-midnight epoch (the generator's day arithmetic). */
export function localCalendarDay(timeZone: string, utcMs: number): Date {
  const local = utcMs + utcOffsetMinutes(timeZone, utcMs) * MINUTE_MS;
  return new Date(Math.floor(local / DAY_MS) * DAY_MS);
}
