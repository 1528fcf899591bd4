import { sql } from "drizzle-orm";
import type { Cache, CacheResult, FetchOptions } from "../cache/cache";
import type { OrgContext, ReadContext, ServiceContext } from "../context";
import { rows } from "../db/database";
import { fetchAgentVariance } from "../read-models/agent-variance";
import { fetchAgentList } from "../read-models/agents";
import { fetchAnalytics } from "../read-models/analytics";
import { fetchCoverage } from "../read-models/coverage";
import { fetchOverview } from "../read-models/overview";
import { getInboundConfig } from "../services/inbound-config";
import { listCatalog } from "../services/catalog";
import { getSettings } from "../services/settings";
import type { JobContext, JobDefinition } from "./types";

/** An organization is active, and warmed, when one of its calls was created or changed this recently (SPEC §8). */
export const WARM_ACTIVE_WITHIN_MS = 60 * 60 * 1000;
/**
 * A changed call is looked for among the calls that started this long before: calls change (end, get scored, get an
 * outcome) within minutes to hours of their start, and bounding the look by `started_at` keeps it on
 * `calls_org_started_idx` and inside one or two month partitions. A call created in the last hour is found whatever
 * its start, through `calls_org_created_idx`.
 */
export const WARM_UPDATE_LOOKBACK_MS = 6 * 60 * 60 * 1000;
/** Reads in flight at once: a run shares the database pool with requests, so it takes a couple of connections at most. */
export const WARM_CONCURRENCY = 2;
/**
 * No new read starts after this long: well inside the 5-minute schedule and the 4-minute lease, so a run over many
 * organizations ends before the next is due. The organizations left are warmed by the next run or by their first request.
 */
export const WARM_RUN_BUDGET_MS = 2 * 60 * 1000;

/** A read context that also serves the configuration services (which take a `ServiceContext`). */
type WarmContext = ReadContext & ServiceContext;

/**
 * What the dashboard asks for, keyed exactly as its routes key it: each entry calls the read model's cached fetch that
 * the route calls too (`fetchOverview`, …), so a warmed key is the key the next request reads. The windows are each route's default
 * (`GET /api/dashboard/analytics` with no `days` is the last 7 local days) and the dashboard page's default window
 * (`days=30` on all four window panels), which coincide for overview and agent variance.
 */
export const WARMED_READS: ReadonlyArray<{ name: string; read: (ctx: WarmContext) => Promise<CacheResult<unknown>> }> = [
  { name: "dashboard-overview days=30", read: (ctx) => fetchOverview(ctx, {}) },
  { name: "dashboard-analytics days=7", read: (ctx) => fetchAnalytics(ctx, {}) },
  { name: "dashboard-analytics days=30", read: (ctx) => fetchAnalytics(ctx, { days: 30 }) },
  { name: "coverage days=7", read: (ctx) => fetchCoverage(ctx, {}) },
  { name: "coverage days=30", read: (ctx) => fetchCoverage(ctx, { days: 30 }) },
  { name: "agents", read: (ctx) => fetchAgentList(ctx) },
  { name: "agent-variance days=30", read: (ctx) => fetchAgentVariance(ctx, {}) },
  { name: "settings", read: (ctx) => getSettings(ctx) },
  { name: "services", read: (ctx) => listCatalog(ctx) },
  { name: "inbound-config", read: (ctx) => getInboundConfig(ctx) },
];

type ActiveOrganization = { id: string; name: string; timezone: string; credits_balance: number };

/**
 * The organizations with a call created or changed since `since`, each probed through its own indexes (two
 * short-circuiting index probes per organization), never by scanning recent calls across organizations.
 */
export function activeOrganizations(ctx: Pick<JobContext, "db">, now: Date): Promise<ActiveOrganization[]> {
  const since = new Date(now.getTime() - WARM_ACTIVE_WITHIN_MS).toISOString();
  const startedSince = new Date(now.getTime() - WARM_UPDATE_LOOKBACK_MS).toISOString();
  return rows<ActiveOrganization>(
    ctx.db,
    sql`SELECT o.id, o.name, o.timezone, o.credits_balance::int AS credits_balance
          FROM organizations o
         WHERE EXISTS (SELECT 1 FROM calls c WHERE c.org_id = o.id AND c.created_at >= ${since}::timestamptz)
            OR EXISTS (SELECT 1 FROM calls c
                        WHERE c.org_id = o.id AND c.started_at >= ${startedSince}::timestamptz AND c.updated_at >= ${since}::timestamptz)
         ORDER BY o.id`,
  );
}

type LoadCount = { loads: number };

/**
 * The cache as the job reads through it: every load is counted, and a refresh the cache starts in the background (a
 * stale or early-expiring value) is collected so the run waits for it instead of leaving it to fire and forget.
 */
function warmingCache(cache: Cache, count: LoadCount, refreshes: Promise<unknown>[]): Cache {
  return {
    fetch<T>(namespace: string, key: string, load: () => Promise<T>, options: FetchOptions) {
      const counted = () => {
        count.loads += 1;
        return load();
      };
      return cache.fetch(namespace, key, counted, { ...options, waitUntil: (refresh) => refreshes.push(refresh) });
    },
    invalidate: (namespace, key) => cache.invalidate(namespace, key),
    invalidateOrg: (orgId) => cache.invalidateOrg(orgId),
    stats: () => cache.stats(),
    close: () => cache.close(),
  };
}

/**
 * Loads into the shared cache what the dashboard of each active organization will ask for, so its next requests are
 * hits. Reads go through the cache like requests do: a value still fresh is left alone (a second run right after the
 * first loads nothing), a stale one is refreshed, a missing one loaded. A read that fails is logged and counted; the
 * others go on.
 */
export async function warmCache(ctx: JobContext) {
  const started = performance.now();
  const orgs = await activeOrganizations(ctx, ctx.clock.now());
  const tasks = orgs.flatMap((row) => {
    const org: OrgContext = { id: row.id, name: row.name, timezone: row.timezone, creditsBalance: row.credits_balance };
    return WARMED_READS.map((read) => ({ org, read }));
  });
  const tally = { loads: 0, fresh: 0, errors: 0 };
  let next = 0;
  let truncated = false;

  const worker = async () => {
    for (;;) {
      if (next >= tasks.length) return;
      if (performance.now() - started >= WARM_RUN_BUDGET_MS) {
        truncated = true;
        return;
      }
      const { org, read } = tasks[next++]!;
      const refreshes: Promise<unknown>[] = [];
      const count: LoadCount = { loads: 0 };
      try {
        const cache = warmingCache(ctx.cache, count, refreshes);
        const result = await read.read({ db: ctx.db, cache, clock: ctx.clock, logger: ctx.logger, org, now: ctx.clock.now() });
        await Promise.all(refreshes);
        if (result.status === "hit" && count.loads === 0) tally.fresh += 1;
      } catch (error) {
        tally.errors += 1;
        ctx.logger.log("warn", "warm-cache read failed", { orgId: org.id, read: read.name, error: error instanceof Error ? error.message : String(error) });
      } finally {
        tally.loads += count.loads;
      }
    }
  };
  await Promise.all(Array.from({ length: WARM_CONCURRENCY }, worker));

  return {
    orgs: orgs.length,
    /** reads that loaded (a miss, or a stale value refreshed) */
    keysWarmed: tally.loads,
    /** reads already fresh in the cache: nothing to do */
    keysFresh: tally.fresh,
    errors: tally.errors,
    /** the organization rows the activity query answered; the reads' own rows are the read models' */
    rowsRead: orgs.length,
    ...(truncated ? { truncated: true, readsLeft: tasks.length - next } : {}),
  };
}

export const warmCacheJob: JobDefinition = {
  cron: "*/5 * * * *",
  description: "load the dashboard reads of organizations active in the last hour into the shared cache",
  leaseSec: 240,
  run: warmCache,
};
