-- The rollup tables' primary keys carry the counters the reads take (INCLUDE), in place of the covering indexes that
-- sql/010_rollup_helpers.sql used to create on the same leading columns: a fold's update of a rollup row (never HOT:
-- an index holds its counters) then writes one index tuple instead of two, and each table is one index smaller.
-- Reads stay index-only scans of (org_id, bucket_start | day_start). Issue #16 item 3, BENCHMARKS.md.
ALTER TABLE "call_rollup_15m" DROP CONSTRAINT "call_rollup_15m_pkey", ADD CONSTRAINT "call_rollup_15m_pkey" PRIMARY KEY ("org_id", "bucket_start") INCLUDE (
  "calls", "completed", "duration_completed_sum", "scored", "qualified", "score_sum", "hot", "warm", "cold", "booked",
  "outcome_appointment_booked", "outcome_qualified", "outcome_callback_requested", "outcome_not_interested", "outcome_voicemail",
  "outcome_wrong_number", "credits_used");--> statement-breakpoint
DROP INDEX IF EXISTS "call_rollup_15m_covering_idx";--> statement-breakpoint
ALTER TABLE "agent_rollup_hourly" DROP CONSTRAINT "agent_rollup_hourly_pkey", ADD CONSTRAINT "agent_rollup_hourly_pkey" PRIMARY KEY ("org_id", "bucket_start", "agent_id") INCLUDE (
  "calls", "completed", "duration_completed_sum", "scored", "score_sum", "booked", "credits_used",
  "milestones", "milestones_achieved", "objections", "objections_handled");--> statement-breakpoint
DROP INDEX IF EXISTS "agent_rollup_hourly_covering_idx";--> statement-breakpoint
ALTER TABLE "agent_rollup_daily" DROP CONSTRAINT "agent_rollup_daily_pkey", ADD CONSTRAINT "agent_rollup_daily_pkey" PRIMARY KEY ("org_id", "day_start", "agent_id") INCLUDE (
  "calls", "completed", "duration_completed_sum", "scored", "score_sum", "booked", "credits_used",
  "milestones", "milestones_achieved", "objections", "objections_handled");--> statement-breakpoint
DROP INDEX IF EXISTS "agent_rollup_daily_covering_idx";
