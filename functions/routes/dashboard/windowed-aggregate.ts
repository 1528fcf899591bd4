import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { CacheResult } from "../../cache/cache";
import { ApiError } from "../../lib/errors";
import { aggregateMeta } from "../../lib/respond";
import { localDate, resolveWindow, type Window } from "../../lib/windows";
import type { AppEnv } from "../../hono/env";
import type { OrgContext, ReadContext } from "../../context";
import { readContext } from "../../middleware/request-context";

/** Dashboard aggregates are served fresh for 30 s and stale (while a refresh runs) for 5 more minutes. */
export const AGGREGATE_FRESH_SEC = 30;
export const AGGREGATE_STALE_SEC = 300;
/** When a load fails (statement timeout), the last value up to this old answers, marked stale (SPEC §4). */
export const AGGREGATE_STALE_IF_ERROR_SEC = 3600;

/** The `meta` of a windowed aggregate: how fresh it is, and the window it was computed for. */
export const windowedMetaSchema = z
  .object({
    asOf: z.string().openapi({ description: "the instant the numbers are exact for" }),
    cache: z.enum(["hit", "miss", "stale", "bypass"]),
    ttlSec: z.number().int().openapi({ description: "how long past asOf a cached answer may be served" }),
    from: z.string().openapi({ description: "window start (inclusive)" }),
    to: z.string().openapi({ description: "window end (exclusive)" }),
    timezone: z.string().openapi({ description: "the organization's zone that local dates and hours are read in" }),
  })
  .openapi("WindowedAggregateMeta");
export type WindowedMeta = z.infer<typeof windowedMetaSchema>;

type WindowQuery = { days?: number | undefined; from?: string | undefined; to?: string | undefined };
type ReadModelContext = { db: AppEnv["Variables"]["db"]; org: OrgContext; now: Date };

/** A windowed aggregate route's cached read: its namespace, default window and read model. */
export type WindowedAggregate<T> = {
  namespace: string;
  defaultDays: number;
  /** the most local dates a window may touch (series routes answer one point per date) */
  maxDates?: number;
  read: (ctx: ReadModelContext, window: Window) => Promise<T>;
};

/** What the cache holds for a windowed aggregate: the read model's value and the window it was computed for. */
export type WindowedValue<T> = { window: { from: string; to: string; timezone: string }; value: T };

/**
 * Resolves the window in the organization's zone and answers the read model's result through the cache. A `days=N`
 * window is keyed by the local date of now (its `to` moves with the clock, so keying by instants would never hit); an
 * explicit `from`/`to` is keyed by its instants. The route and the warm-cache job both read through here: one key.
 */
export function fetchWindowedAggregate<T>(ctx: ReadContext, aggregate: WindowedAggregate<T>, query: WindowQuery): Promise<CacheResult<WindowedValue<T>>> {
  const { org, now } = ctx;
  const window = resolveWindow(query, org.timezone, now, aggregate.defaultDays);
  if (aggregate.maxDates !== undefined && window.dates.length > aggregate.maxDates)
    throw new ApiError("validation_failed", `The window touches ${window.dates.length} local dates; at most ${aggregate.maxDates} are allowed`, {
      errors: [{ path: "from", message: `the window may span at most ${aggregate.maxDates} local dates` }],
    });
  const params =
    query.from === undefined && query.to === undefined
      ? `days=${query.days ?? aggregate.defaultDays}:${localDate(now, org.timezone)}`
      : `from=${window.from.toISOString()}:to=${window.to.toISOString()}`;
  return ctx.cache.fetch(
    aggregate.namespace,
    `${org.id}:${org.timezone}:${params}`,
    async () => ({
      window: { from: window.from.toISOString(), to: window.to.toISOString(), timezone: window.timezone },
      value: await aggregate.read({ db: ctx.db, org, now }, window),
    }),
    { freshSec: AGGREGATE_FRESH_SEC, staleSec: AGGREGATE_STALE_SEC, staleIfErrorSec: AGGREGATE_STALE_IF_ERROR_SEC, asOf: now },
  );
}

/** A windowed aggregate route's answer: the cached read for the request's organization and window, and its `meta`. */
export async function windowedAggregate<T>(
  c: Context<AppEnv>,
  options: WindowedAggregate<T> & { query: WindowQuery },
): Promise<{ data: T; meta: WindowedMeta }> {
  const result = await fetchWindowedAggregate(readContext(c), options, options.query);
  c.set("cacheStatus", result.status);
  return { data: result.value.value, meta: aggregateMeta(result, result.value.window) as WindowedMeta };
}
