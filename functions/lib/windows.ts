import { z } from "@hono/zod-openapi";
import { ApiError } from "./errors";
import { instant } from "./schemas";
import { addDays, datesBetween, localDate, startOfLocalDay } from "./time";

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

/** The window a comparison reads (SPEC §12 `compare=previous`): half-open, as instants. */
export type PreviousWindow = { from: Date; to: Date };

/**
 * The window of the same length that ends where `window` starts (SPEC §12): for `days=N` (or no window at all: the
 * route's default days) the N local days before it, which need not be N × 24 hours across a DST change; for `from`/`to`
 * (either given) the span `[from − (to − from), from)`.
 */
export function previousWindow(
  query: { days?: number | undefined; from?: string | undefined; to?: string | undefined },
  window: Window,
  defaultDays: number,
): PreviousWindow {
  if (query.from !== undefined || query.to !== undefined) {
    const length = window.to.getTime() - window.from.getTime();
    return { from: new Date(window.from.getTime() - length), to: window.from };
  }
  const first = window.dates[0] ?? localDate(window.from, window.timezone);
  return { from: startOfLocalDay(addDays(first, -(query.days ?? defaultDays)), window.timezone), to: window.from };
}
