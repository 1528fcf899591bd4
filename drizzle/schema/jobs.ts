import { integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { tstz } from "./columns";

/** The last run of each scheduled job: what /health and /metrics report (rollup lag, job durations). */
export const jobRuns = pgTable("job_runs", {
  name: text("name").primaryKey(),
  /** a run holds the lease until this instant; a crashed runner's lease simply expires */
  leaseUntil: tstz("lease_until"),
  leaseHolder: text("lease_holder"),
  lastStartedAt: tstz("last_started_at"),
  lastFinishedAt: tstz("last_finished_at"),
  lastDurationMs: integer("last_duration_ms"),
  lastReport: jsonb("last_report").$type<Record<string, unknown>>(),
  lastError: text("last_error"),
  lastSuccessAt: tstz("last_success_at"),
  runs: integer("runs").notNull().default(0),
  failures: integer("failures").notNull().default(0),
});
