-- Coverage's raw regions (a window's edges off the 15-minute grid, marked buckets, the time after the built point) find
-- the ended sessions that overlap them by their span, not every session that ends after the first region's start: an
-- explicit 43-day window read 6,376 sessions of the 1M-call organization for its two edges (BENCHMARKS.md, eleventh
-- round). btree_gist gives GiST the organization's uuid; it is a trusted extension (PG 13+), in PGlite's contrib too.
CREATE EXTENSION IF NOT EXISTS btree_gist;--> statement-breakpoint
CREATE INDEX "agent_sessions_org_span_idx" ON "agent_sessions" USING gist ("org_id",tstzrange("started_at", greatest("started_at", "ended_at"), '[)'));