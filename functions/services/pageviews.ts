import { widgetPageviews } from "../../drizzle/schema";
import type { ServiceContext } from "../context";

/** SPEC §6: at most this many events a request; 1000 rows × 5 columns stays far under Postgres' 65535 parameters. */
export const MAX_PAGEVIEWS_PER_REQUEST = 1000;

export type PageviewEvent = { poolId?: string | null; siteId?: string | null; countryCode?: string | null; createdAt?: string };

/** Records a batch of widget pageviews with one multi-row INSERT (createdAt defaults to now); answers the count. */
export async function recordPageviews(ctx: ServiceContext, events: PageviewEvent[]): Promise<number> {
  if (!events.length) return 0;
  const now = ctx.clock.now();
  await ctx.db.insert(widgetPageviews).values(
    events.map((e) => ({
      orgId: ctx.org.id,
      poolId: e.poolId ?? null,
      siteId: e.siteId ?? null,
      countryCode: e.countryCode ?? null,
      createdAt: e.createdAt ? new Date(e.createdAt) : now,
    })),
  );
  await ctx.cache.invalidateOrg(ctx.org.id);
  return events.length;
}
