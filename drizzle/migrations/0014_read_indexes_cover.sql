-- Two read indexes carry the columns their reads take (INCLUDE), so the reads are index-only scans of the same keys
-- (issue #16 item 1, BENCHMARKS.md "Cold reads at the 1M-call organization, December"):
--   the agent panel reads its agent's calls of the window for the series, outcomes and local hours: one heap page per
--   call before (4.4k buffers for the busiest agent's 30 days), ~200 now;
--   the overview's pipeline sums the organization's future scheduled appointments by service: 545 heap pages before.
-- Same keys and names as before; no query loses its index. Cost on the write path: a wider index tuple per call, and
-- an update that changes only duration_sec, lead_score or outcome (an analysis) can no longer be HOT; one that changes
-- status (a completion) never was (calls_org_status_created_idx). Index-only reads need the visibility map (autovacuum).
DROP INDEX IF EXISTS "calls_org_agent_started_idx";--> statement-breakpoint
CREATE INDEX "calls_org_agent_started_idx" ON "calls" USING btree ("org_id", "agent_id", "started_at") INCLUDE ("status", "duration_sec", "lead_score", "outcome");--> statement-breakpoint
DROP INDEX IF EXISTS "appointments_org_status_scheduled_idx";--> statement-breakpoint
CREATE INDEX "appointments_org_status_scheduled_idx" ON "appointments" USING btree ("org_id", "status", "scheduled_at") INCLUDE ("service_id");
