import { z } from "@hono/zod-openapi";
import { ApiError } from "./errors";
import { instant } from "./schemas";

/** `days` is 1–90 on every route that takes it (SPEC §4). */
export const MAX_WINDOW_DAYS = 90;
/**
 * An explicit `from`/`to` window spans at most this (about ten years, past any retention Tally keeps). Every window
 * lists its local dates, one string a day: unbounded, `from=1970…&to=9999…` cost seconds of CPU and memory a request.
 */
export const MAX_WINDOW_SPAN_DAYS = 3660;

/** The query parameters of a windowed route: `days=N`, or `from`/`to` (half-open). */
export const windowQuery = (defaultDays: number) =>
  z.object({
    days: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_WINDOW_DAYS)
      .optional()
      .openapi({ example: defaultDays, description: `last N local calendar days, today included (1–${MAX_WINDOW_DAYS}, default ${defaultDays})` }),
    from: instant.optional().openapi({ description: "window start (inclusive), ISO instant" }),
    to: instant.optional().openapi({ description: "window end (exclusive), ISO instant" }),
  });

export type Window = {
  from: Date;
  to: Date;
  /** the organization-local calendar dates the window touches, ascending (YYYY-MM-DD) */
  dates: string[];
  timezone: string;
};

const partsFormatter = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = partsFormatter.get(timeZone);
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
    partsFormatter.set(timeZone, f);
  }
  return f;
}

/** The wall-clock fields of an instant in a zone. */
export function localParts(at: Date, timeZone: string) {
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
  const p = localParts(at, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
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
    let hi = guess + 3 * 3600_000;
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
    return Date.UTC(y, m - 1, d) / 86_400_000;
  };
  const end = dayNumber(last);
  const out: string[] = [];
  for (let day = dayNumber(first); day <= end; day++) {
    const at = new Date(day * 86_400_000);
    out.push(`${String(at.getUTCFullYear()).padStart(4, "0")}-${String(at.getUTCMonth() + 1).padStart(2, "0")}-${String(at.getUTCDate()).padStart(2, "0")}`);
  }
  return out;
}

/**
 * Resolves a route's window in the organization's zone (SPEC §4): `days=N` is local midnight N−1 days ago up to now;
 * `from`/`to` is that half-open range (`to` defaults to now, `from` to `days`' start). `from` after `to` is a 400.
 */
export function resolveWindow(
  query: { days?: number | undefined; from?: string | undefined; to?: string | undefined },
  timeZone: string,
  now: Date,
  defaultDays: number,
): Window {
  if (query.days !== undefined && (query.from !== undefined || query.to !== undefined))
    throw new ApiError("validation_failed", "Send either days or from/to, not both", {
      errors: [{ path: "days", message: "cannot be combined with from/to" }],
    });
  const to = query.to !== undefined ? new Date(query.to) : now;
  const from =
    query.from !== undefined
      ? new Date(query.from)
      : startOfLocalDay(addDays(localDate(to.getTime() > now.getTime() ? now : to, timeZone), -((query.days ?? defaultDays) - 1)), timeZone);
  if (from.getTime() > to.getTime())
    throw new ApiError("validation_failed", "from must not be after to", { errors: [{ path: "from", message: "must not be after to" }] });
  if (to.getTime() - from.getTime() > MAX_WINDOW_SPAN_DAYS * 86_400_000)
    throw new ApiError("validation_failed", `A window may span at most ${MAX_WINDOW_SPAN_DAYS} days`, {
      errors: [{ path: "from", message: `must be at most ${MAX_WINDOW_SPAN_DAYS} days before to` }],
    });
  const lastInstant = new Date(Math.max(from.getTime(), to.getTime() - 1));
  return { from, to, timezone: timeZone, dates: datesBetween(localDate(from, timeZone), localDate(lastInstant, timeZone)) };
}
