-- Rollups of calls (tables in drizzle/schema/rollups.ts), 1 of 3: the bucket helpers, the covering primary keys and the
-- state rows. 011_rollup_triggers.sql logs the deltas of changes, 012_rollup_refresh.sql folds them in. Each file is
-- idempotent: re-applied on every migrate, in name order.
--
-- Invariants (functions/rollups/README.md explains them at length):
--   * W = rollup_state.watermark, B = rollup_state.built_to, both 15-minute aligned, B <= W, both only grow.
--   * A rollup row holds calls with started_at < W (W as of the refresh that wrote it).
--   * A transaction that changes a call (or its analysis) whose started_at < W appends its deltas to the change log:
--     (org, bucket) rows of rollup_dirty (the call counters; also the bucket's dirty mark) and (org, agent, bucket)
--     rows of rollup_agent_delta. The refresh adds them to the rollups; what it recomputes from raw rows instead
--     consumes the log rows it covers in the same snapshot.
--     It reads W under pg_advisory_xact_lock_shared(watermark lock), held to its commit; the refresh advances W under
--     the exclusive lock, so every writer that read the old W has committed before the recompute looks at [B, W).
--   * Reads: rollup rows of buckets below B that have no mark, plus raw rows everywhere else.
--   * agent_rollup_daily holds, per (org, agent, UTC day), the sums of that day's agent_rollup_hourly rows (the
--     recompute applies each changed hour's difference in the same statement); a day is read from it only when it
--     lies wholly below B and has no mark.

-- The 15-minute UTC bucket of an instant (also the floor to 15 minutes). Infinity stays infinity.
CREATE OR REPLACE FUNCTION tally_rollup_bucket(at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT date_bin('15 minutes', at, '1970-01-01 00:00:00+00') $$;
--> statement-breakpoint

-- The 1-hour UTC bucket of an instant (agent_rollup_hourly).
CREATE OR REPLACE FUNCTION tally_rollup_hour(at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT date_bin('1 hour', at, '1970-01-01 00:00:00+00') $$;
--> statement-breakpoint

-- The UTC day of an instant (agent_rollup_daily), and the first UTC midnight at or after it. Infinity stays infinity.
CREATE OR REPLACE FUNCTION tally_rollup_day(at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT date_bin('1 day', at, '1970-01-01 00:00:00+00') $$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION tally_rollup_day_ceil(at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN public.tally_rollup_day(at) = at THEN at ELSE public.tally_rollup_day(at) + interval '1 day' END $$;
--> statement-breakpoint

-- The first 15-minute boundary at or after an instant. (Schema-qualified: the admin view's refresh runs with a
-- search_path of pg_catalog only, Postgres 17+.)
CREATE OR REPLACE FUNCTION tally_rollup_ceil(at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN public.tally_rollup_bucket(at) = at THEN at ELSE public.tally_rollup_bucket(at) + interval '15 minutes' END $$;
--> statement-breakpoint

-- Covering primary keys (drizzle/migrations/0012_rollup_keys_cover.sql): reads take one organization's buckets of a
-- window in (org_id, bucket_start) order by index-only scans of the primary key, which INCLUDEs the counters they read.
-- Rollup rows are written time-major (each refresh writes the newest buckets of every organization), so one
-- organization's rows are spread over as many heap pages as it has rows; the index keeps them together. One index per
-- table: a fold's update of a row (never HOT, the index holds its counters) writes one index tuple, not two. (An index
-- holds 32 columns at most: the (direction, status) counts, read only by the calls list's filtered total, stay out.)

INSERT INTO rollup_state (id, watermark, built_to) VALUES (1, '-infinity', '-infinity') ON CONFLICT (id) DO NOTHING;
--> statement-breakpoint

INSERT INTO admin_view_state (id, as_of) VALUES (1, now()) ON CONFLICT (id) DO NOTHING;
--> statement-breakpoint
