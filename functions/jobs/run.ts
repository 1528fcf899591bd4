import { sql } from "drizzle-orm";
import { rows } from "../db/database";
import { jobRegistry, type JobName } from "./registry";
import type { JobContext, JobReport } from "./types";

/**
 * Runs one job under its lease: a row in job_runs that one runner at a time can take (crash-safe: it expires after
 * the job's leaseSec). A runner that finds the lease held answers a `skipped` report. The job's own transactions
 * take advisory locks on what they change. Records the outcome for /health and /metrics.
 */
export async function runJob(name: JobName, ctx: JobContext): Promise<JobReport> {
  const job = jobRegistry[name];
  const started = ctx.clock.now();
  const startedMs = performance.now();
  const holder = crypto.randomUUID();
  const leaseUntil = new Date(started.getTime() + job.leaseSec * 1000);
  const [lease] = await rows<{ name: string }>(
    ctx.db,
    sql`INSERT INTO job_runs (name, lease_until, lease_holder, last_started_at)
        VALUES (${name}, ${leaseUntil.toISOString()}::timestamptz, ${holder}, ${started.toISOString()}::timestamptz)
        ON CONFLICT (name) DO UPDATE
          SET lease_until = EXCLUDED.lease_until, lease_holder = EXCLUDED.lease_holder, last_started_at = EXCLUDED.last_started_at
          WHERE job_runs.lease_until IS NULL OR job_runs.lease_until < ${started.toISOString()}::timestamptz
        RETURNING name`,
  );
  if (!lease) return { job: name, startedAt: started.toISOString(), durationMs: 0, skipped: true, reason: "another runner holds the lease" };

  try {
    const result = await job.run(ctx);
    const durationMs = Math.round(performance.now() - startedMs);
    const report: JobReport = { job: name, startedAt: started.toISOString(), durationMs, ...result };
    await ctx.db.execute(sql`
      UPDATE job_runs SET lease_until = NULL, lease_holder = NULL, last_finished_at = ${ctx.clock.now().toISOString()}::timestamptz,
             last_success_at = ${started.toISOString()}::timestamptz, last_duration_ms = ${durationMs}, last_report = ${JSON.stringify(report)}::jsonb,
             last_error = NULL, runs = runs + 1
       WHERE name = ${name} AND lease_holder = ${holder}`);
    ctx.logger.log("info", "job finished", { ...report });
    return report;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await ctx.db
      .execute(sql`
        UPDATE job_runs SET lease_until = NULL, lease_holder = NULL, last_finished_at = ${ctx.clock.now().toISOString()}::timestamptz,
               last_duration_ms = ${Math.round(performance.now() - startedMs)}, last_error = ${message}, runs = runs + 1, failures = failures + 1
         WHERE name = ${name} AND lease_holder = ${holder}`)
      .catch(() => {});
    ctx.logger.log("error", "job failed", { job: name, error: message });
    throw error;
  }
}
