import { asc } from "drizzle-orm";
import { jobRuns } from "../../drizzle/schema";
import type { Db } from "../db/database";

/** The job whose last successful run bounds how far the rollups trail the raw tables (SPEC §7, §10). */
export const ROLLUP_JOB = "refresh-rollups";

/** What job_runs says about one job: its lease, its last outcome and its totals. */
export type JobRunStatus = {
  name: string;
  /** a runner holds the lease now */
  running: boolean;
  lastStartedAt: Date | null;
  /** the start of the last run that finished without error */
  lastSuccessAt: Date | null;
  lastDurationMs: number | null;
  lastError: string | null;
  runs: number;
  failures: number;
};

/** Every job's row of job_runs, by name: one statement. Jobs that never ran have no row. */
export async function readJobRuns(db: Db, now: Date): Promise<JobRunStatus[]> {
  const found = await db
    .select({
      name: jobRuns.name,
      leaseUntil: jobRuns.leaseUntil,
      lastStartedAt: jobRuns.lastStartedAt,
      lastSuccessAt: jobRuns.lastSuccessAt,
      lastDurationMs: jobRuns.lastDurationMs,
      lastError: jobRuns.lastError,
      runs: jobRuns.runs,
      failures: jobRuns.failures,
    })
    .from(jobRuns)
    .orderBy(asc(jobRuns.name));
  return found.map(({ leaseUntil, ...run }) => ({
    ...run,
    running: leaseUntil !== null && new Date(leaseUntil).getTime() > now.getTime(),
    lastStartedAt: run.lastStartedAt === null ? null : new Date(run.lastStartedAt),
    lastSuccessAt: run.lastSuccessAt === null ? null : new Date(run.lastSuccessAt),
  }));
}

/**
 * Seconds the rollups trail now: now − the start of the last successful `refresh-rollups` run (a run covers what was
 * written before it started). Null when it never succeeded. Millisecond precision, never negative.
 */
export function rollupLagSeconds(runs: readonly JobRunStatus[], now: Date): number | null {
  const since = runs.find((run) => run.name === ROLLUP_JOB)?.lastSuccessAt;
  if (!since) return null;
  return Math.max(0, Math.round(now.getTime() - since.getTime())) / 1000;
}
