-- Rollups of calls, 2 of 3: the invalidation triggers. A change to a call (or its analysis) that started before the
-- watermark W marks its (organization, bucket) in rollup_dirty; 012_rollup_refresh.sql recomputes the marked buckets.
-- Idempotent: re-applied on every migrate. Invariants: 010_rollup_helpers.sql, functions/rollups/README.md.

-- The watermark as a writer must see it: under the shared advisory lock, held until the writer commits, so the
-- refresh cannot move W past a change it would then miss. Costs no write.
CREATE OR REPLACE FUNCTION tally_rollup_watermark_for_write() RETURNS timestamptz
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtext('tally_rollup_watermark'));
  RETURN coalesce((SELECT watermark FROM rollup_state WHERE id = 1), '-infinity'::timestamptz);
END;
$$;
--> statement-breakpoint

-- Statement-level triggers with transition tables: one INSERT ... SELECT per statement however many rows it
-- touched (a 1M-row COPY included), and nothing written for calls at or after W (the real-time path).
CREATE OR REPLACE FUNCTION tally_rollup_mark_calls_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
BEGIN
  IF w = '-infinity' THEN
    RETURN NULL; -- nothing rolled up yet (a fresh database being loaded)
  END IF;
  INSERT INTO rollup_dirty (org_id, bucket_start)
  SELECT DISTINCT n.org_id, tally_rollup_bucket(n.started_at) FROM rollup_new n WHERE n.started_at < w;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION tally_rollup_mark_calls_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
BEGIN
  IF w = '-infinity' THEN
    RETURN NULL; -- nothing rolled up yet (a fresh database being loaded)
  END IF;
  INSERT INTO rollup_dirty (org_id, bucket_start)
  SELECT DISTINCT o.org_id, tally_rollup_bucket(o.started_at) FROM rollup_old o WHERE o.started_at < w;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- An update marks the old and the new bucket of every row whose rolled-up columns changed (a row moved in time,
-- to another organization or agent included); an update of other columns (ended_at, reconnect_token...) marks none.
CREATE OR REPLACE FUNCTION tally_rollup_mark_calls_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
BEGIN
  IF w = '-infinity' THEN
    RETURN NULL; -- nothing rolled up yet (a fresh database being loaded)
  END IF;
  INSERT INTO rollup_dirty (org_id, bucket_start)
  SELECT DISTINCT x.org_id, tally_rollup_bucket(x.started_at)
    FROM rollup_old o
    FULL JOIN rollup_new n ON n.id = o.id
    CROSS JOIN LATERAL (VALUES (o.org_id, o.started_at), (n.org_id, n.started_at)) AS x (org_id, started_at)
   WHERE x.started_at < w
     AND (o.id IS NULL OR n.id IS NULL
          OR (o.org_id, o.started_at, o.agent_id, o.direction, o.status, o.duration_sec, o.credits_used, o.outcome, o.lead_score)
             IS DISTINCT FROM
             (n.org_id, n.started_at, n.agent_id, n.direction, n.status, n.duration_sec, n.credits_used, n.outcome, n.lead_score));
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- TRUNCATE calls empties the rollups in the same transaction (no bucket list to mark).
CREATE OR REPLACE FUNCTION tally_rollup_calls_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM call_rollup_15m;
  DELETE FROM agent_rollup_hourly;
  DELETE FROM agent_rollup_daily;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- call_milestones and call_objections: a change marks the bucket of the call it belongs to.
CREATE OR REPLACE FUNCTION tally_rollup_mark_analysis_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
BEGIN
  IF w = '-infinity' THEN
    RETURN NULL; -- nothing rolled up yet (a fresh database being loaded)
  END IF;
  INSERT INTO rollup_dirty (org_id, bucket_start)
  SELECT DISTINCT c.org_id, tally_rollup_bucket(c.started_at)
    FROM (SELECT DISTINCT call_id FROM rollup_new) n
    JOIN calls c ON c.id = n.call_id AND c.started_at < w;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION tally_rollup_mark_analysis_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
BEGIN
  IF w = '-infinity' THEN
    RETURN NULL; -- nothing rolled up yet (a fresh database being loaded)
  END IF;
  INSERT INTO rollup_dirty (org_id, bucket_start)
  SELECT DISTINCT c.org_id, tally_rollup_bucket(c.started_at)
    FROM (SELECT DISTINCT call_id FROM rollup_old) o
    JOIN calls c ON c.id = o.call_id AND c.started_at < w;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION tally_rollup_mark_analysis_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
BEGIN
  IF w = '-infinity' THEN
    RETURN NULL; -- nothing rolled up yet (a fresh database being loaded)
  END IF;
  INSERT INTO rollup_dirty (org_id, bucket_start)
  SELECT DISTINCT c.org_id, tally_rollup_bucket(c.started_at)
    FROM (SELECT call_id FROM rollup_old UNION SELECT call_id FROM rollup_new) x
    JOIN calls c ON c.id = x.call_id AND c.started_at < w;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- CREATE OR REPLACE keeps each trigger in place while migrate re-applies this file: there is no moment without it.
-- (Statement triggers on the parent fire for statements on `calls`; DML aimed at one partition directly bypasses
-- them: follow such maintenance with tally_rollup_rebuild_org or tally_rollup_rebuild_all.)
CREATE OR REPLACE TRIGGER tally_rollup_calls_insert AFTER INSERT ON calls
  REFERENCING NEW TABLE AS rollup_new FOR EACH STATEMENT EXECUTE FUNCTION tally_rollup_mark_calls_insert();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_rollup_calls_update AFTER UPDATE ON calls
  REFERENCING OLD TABLE AS rollup_old NEW TABLE AS rollup_new FOR EACH STATEMENT EXECUTE FUNCTION tally_rollup_mark_calls_update();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_rollup_calls_delete AFTER DELETE ON calls
  REFERENCING OLD TABLE AS rollup_old FOR EACH STATEMENT EXECUTE FUNCTION tally_rollup_mark_calls_delete();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_rollup_calls_truncate AFTER TRUNCATE ON calls
  FOR EACH STATEMENT EXECUTE FUNCTION tally_rollup_calls_truncated();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_rollup_milestones_insert AFTER INSERT ON call_milestones
  REFERENCING NEW TABLE AS rollup_new FOR EACH STATEMENT EXECUTE FUNCTION tally_rollup_mark_analysis_insert();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_rollup_milestones_update AFTER UPDATE ON call_milestones
  REFERENCING OLD TABLE AS rollup_old NEW TABLE AS rollup_new FOR EACH STATEMENT EXECUTE FUNCTION tally_rollup_mark_analysis_update();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_rollup_milestones_delete AFTER DELETE ON call_milestones
  REFERENCING OLD TABLE AS rollup_old FOR EACH STATEMENT EXECUTE FUNCTION tally_rollup_mark_analysis_delete();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_rollup_objections_insert AFTER INSERT ON call_objections
  REFERENCING NEW TABLE AS rollup_new FOR EACH STATEMENT EXECUTE FUNCTION tally_rollup_mark_analysis_insert();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_rollup_objections_update AFTER UPDATE ON call_objections
  REFERENCING OLD TABLE AS rollup_old NEW TABLE AS rollup_new FOR EACH STATEMENT EXECUTE FUNCTION tally_rollup_mark_analysis_update();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_rollup_objections_delete AFTER DELETE ON call_objections
  REFERENCING OLD TABLE AS rollup_old FOR EACH STATEMENT EXECUTE FUNCTION tally_rollup_mark_analysis_delete();
--> statement-breakpoint
