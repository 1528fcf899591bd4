import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../hono/env";
import { aggregateMeta, cachedAnswer } from "../../lib/respond";
import { readContext } from "../../middleware/request-context";
import type { CacheResult } from "../../cache/cache";
import { fetchWindowedAggregate, type WindowedAggregate, type WindowedValue, type WindowQuery } from "../../read-models/windowed";

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

/** A windowed aggregate route's answer: the cached read for the request's organization and window, and its `meta`. */
export async function windowedAggregate<T>(
  c: Context<AppEnv>,
  options: WindowedAggregate<T> & { query: WindowQuery },
): Promise<{ data: T; meta: WindowedMeta }> {
  const result = await fetchWindowedAggregate(readContext(c), options, options.query);
  c.set("cacheStatus", result.status);
  return windowedAnswer(result);
}

/** The answer for one cached value of a windowed aggregate, built once per value (`cachedAnswer`): the route's and the cached-read lane's. */
export function windowedAnswer<T>(result: CacheResult<WindowedValue<T>>): { data: T; meta: WindowedMeta } {
  // `meta.previous` (a compared read) rides with the window it was computed for
  return cachedAnswer(result, () => ({
    data: result.value.value,
    meta: aggregateMeta(result, result.value.window) as WindowedMeta & { previous?: { from: string; to: string } },
  }));
}
