import type { Cache } from "../cache/cache";
import { namespace } from "../cache/namespaces";
import type { Db } from "../db/database";
import type { Clock } from "../lib/clock";
import type { Logger } from "../lib/logger";
import { readJobRuns, rollupLagSeconds, type JobRunStatus } from "./job-runs";

/**
 * How long /health waits for the database. A load balancer's probe gives up after a few seconds; answering 503 within
 * two tells it the truth, where waiting for the 10 s statement timeout would look like a hung instance.
 */
export const HEALTH_DATABASE_TIMEOUT_MS = 2_000;

/** The health probe's cache namespace and key (the `health` segment stands where an org id usually does). */
const healthProbe = namespace<string>("ops");
const HEALTH_CACHE_KEY = "health:probe";

export type HealthContext = { db: Db; cache: Cache; clock: Clock; logger: Logger };

export type DatabaseHealth = { ok: boolean; latencyMs: number; error?: "timeout" | "unreachable" };
export type CacheHealth = { ok: boolean; store: string; latencyMs: number };

export type HealthReport = {
  /** `ok`: everything answers; `degraded`: the cache store does not (requests are served, uncached); `unavailable`: the database does not */
  status: "ok" | "degraded" | "unavailable";
  database: DatabaseHealth;
  cache: CacheHealth;
  rollupLagSec: number | null;
  /** job_runs, for /metrics; null when the database did not answer */
  jobs: JobRunStatus[] | null;
};

const elapsed = (started: number) => Math.round((performance.now() - started) * 10) / 10;

/**
 * Pings the database (one statement: the job_runs read that also yields the rollup lag) and the cache store (one
 * read and one guarded write through the cache's own path, answered `bypass` so it counts as no hit or miss).
 * Never throws: a failure is what the report says.
 */
export async function checkHealth(ctx: HealthContext): Promise<HealthReport> {
  const [database, cache] = await Promise.all([pingDatabase(ctx), pingCache(ctx)]);
  const now = ctx.clock.now();
  return {
    status: !database.ok ? "unavailable" : cache.ok ? "ok" : "degraded",
    database: database.health,
    cache,
    rollupLagSec: database.jobs ? rollupLagSeconds(database.jobs, now) : null,
    jobs: database.jobs,
  };
}

/** Reads job_runs within the health timeout; the answer is the ping. */
export async function pingDatabase(
  ctx: Pick<HealthContext, "db" | "clock" | "logger">,
): Promise<{ ok: boolean; health: DatabaseHealth; jobs: JobRunStatus[] | null }> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), HEALTH_DATABASE_TIMEOUT_MS)));
  try {
    const answer = await Promise.race([readJobRuns(ctx.db, ctx.clock.now()), timeout]);
    if (answer === "timeout") {
      ctx.logger.log("warn", "health: the database did not answer in time", { timeoutMs: HEALTH_DATABASE_TIMEOUT_MS });
      return { ok: false, health: { ok: false, latencyMs: elapsed(started), error: "timeout" }, jobs: null };
    }
    return { ok: true, health: { ok: true, latencyMs: elapsed(started) }, jobs: answer };
  } catch (error) {
    // the reason goes to the log only: /health is unauthenticated and a driver message can name hosts
    ctx.logger.log("warn", "health: the database did not answer", { error: error instanceof Error ? error.message : String(error) });
    return { ok: false, health: { ok: false, latencyMs: elapsed(started), error: "unreachable" }, jobs: null };
  } finally {
    clearTimeout(timer);
  }
}

/** One round trip to the cache store through the cache's own read-then-guarded-write path. */
export async function pingCache(ctx: Pick<HealthContext, "cache" | "clock">): Promise<CacheHealth> {
  const started = performance.now();
  try {
    await healthProbe.fetch(ctx.cache, HEALTH_CACHE_KEY, async () => ctx.clock.now().toISOString(), { bypass: true });
  } catch {
    // the cache never throws for its store; a throw here would be the loader's, which cannot fail
  }
  const store = ctx.cache.stats().store;
  return { ok: store?.available ?? true, store: store?.kind ?? "memory", latencyMs: elapsed(started) };
}
