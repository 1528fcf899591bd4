-- Rollups of calls, 2 of 3: the change log. A change to a call (or its analysis) that started before the watermark W
-- appends its deltas to the log: per (organization, 15-minute bucket) the call counters' deltas (rollup_dirty, which
-- also marks the bucket dirty for reads) and per (organization, agent, 15-minute bucket) the agent counters' deltas
-- (rollup_agent_delta): the new rows' contributions minus the old ones', summed per statement. 012_rollup_refresh.sql
-- adds them to the rollup rows. Idempotent: re-applied on every migrate. Invariants: 010_rollup_helpers.sql,
-- functions/rollups/README.md.

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

-- One changed row's contribution, signed: +1 for a new row, -1 for an old one. `whole` = 1 counts the call's own
-- counters (a change to the call), 0 only its analysis counts (a change to call_milestones or call_objections).
DO $$ BEGIN
  CREATE TYPE tally_rollup_change AS (
    sign int, whole int, org_id uuid, agent_id uuid, started_at timestamptz, direction text, status text,
    duration_sec int, credits_used int, outcome text, lead_score int,
    milestones int, milestones_achieved int, objections int, objections_handled int);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
--> statement-breakpoint

-- Appends the summed deltas of a statement's changes (all with started_at < W) to the log: one rollup_dirty row per
-- (organization, bucket) touched, one rollup_agent_delta row per (organization, agent, bucket) whose sums are not 0.
CREATE OR REPLACE FUNCTION tally_rollup_log_changes(p_changes tally_rollup_change[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  WITH x AS MATERIALIZED (
    SELECT c.org_id, c.agent_id, tally_rollup_bucket(c.started_at) AS bucket_start, c.sign, c.sign * c.whole AS k,
           c.direction, c.status, c.duration_sec, c.credits_used, c.outcome, c.lead_score,
           c.milestones, c.milestones_achieved, c.objections, c.objections_handled
      FROM unnest(p_changes) AS c
  ),
  agents AS (
    INSERT INTO rollup_agent_delta (org_id, agent_id, bucket_start, calls, completed, duration_completed_sum, scored,
      score_sum, booked, credits_used, milestones, milestones_achieved, objections, objections_handled)
    SELECT x.org_id, x.agent_id, x.bucket_start, d.*
      FROM (SELECT x.org_id, x.agent_id, x.bucket_start,
                   sum(x.k) AS calls,
                   sum(CASE WHEN x.status = 'completed' THEN x.k ELSE 0 END) AS completed,
                   sum(CASE WHEN x.status = 'completed' THEN x.k * coalesce(x.duration_sec, 0) ELSE 0 END) AS duration_completed_sum,
                   sum(CASE WHEN x.lead_score IS NOT NULL THEN x.k ELSE 0 END) AS scored,
                   sum(x.k * coalesce(x.lead_score, 0)) AS score_sum,
                   sum(CASE WHEN x.outcome = 'appointment_booked' THEN x.k ELSE 0 END) AS booked,
                   sum(x.k * coalesce(x.credits_used, 0)) AS credits_used,
                   sum(x.sign * x.milestones) AS milestones,
                   sum(x.sign * x.milestones_achieved) AS milestones_achieved,
                   sum(x.sign * x.objections) AS objections,
                   sum(x.sign * x.objections_handled) AS objections_handled
              FROM x WHERE x.agent_id IS NOT NULL GROUP BY 1, 2, 3) x
      CROSS JOIN LATERAL (SELECT x.calls, x.completed, x.duration_completed_sum, x.scored, x.score_sum, x.booked,
                                 x.credits_used, x.milestones, x.milestones_achieved, x.objections, x.objections_handled) d
     WHERE (d.calls, d.completed, d.duration_completed_sum, d.scored, d.score_sum, d.booked, d.credits_used, d.milestones,
            d.milestones_achieved, d.objections, d.objections_handled) IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    RETURNING 1
  )
  INSERT INTO rollup_dirty (
    org_id, bucket_start, recompute, calls, completed, duration_completed_sum, scored, qualified, score_sum, hot, warm,
    cold, booked, outcome_appointment_booked, outcome_qualified, outcome_callback_requested, outcome_not_interested,
    outcome_voicemail, outcome_wrong_number, credits_used, inbound_queued, inbound_ringing, inbound_in_progress,
    inbound_completed, inbound_failed, inbound_missed, inbound_abandoned, outbound_queued, outbound_ringing,
    outbound_in_progress, outbound_completed, outbound_failed, outbound_missed, outbound_abandoned)
  SELECT x.org_id, x.bucket_start, false,
         sum(x.k),
         sum(CASE WHEN x.status = 'completed' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.status = 'completed' THEN x.k * coalesce(x.duration_sec, 0) ELSE 0 END),
         sum(CASE WHEN x.lead_score IS NOT NULL THEN x.k ELSE 0 END),
         sum(CASE WHEN x.lead_score >= 70 THEN x.k ELSE 0 END),
         sum(x.k * coalesce(x.lead_score, 0)),
         sum(CASE WHEN x.lead_score >= 70 THEN x.k ELSE 0 END),
         sum(CASE WHEN x.lead_score >= 40 AND x.lead_score < 70 THEN x.k ELSE 0 END),
         sum(CASE WHEN x.lead_score < 40 THEN x.k ELSE 0 END),
         sum(CASE WHEN x.outcome = 'appointment_booked' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.outcome = 'appointment_booked' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.outcome = 'qualified' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.outcome = 'callback_requested' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.outcome = 'not_interested' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.outcome = 'voicemail' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.outcome = 'wrong_number' THEN x.k ELSE 0 END),
         sum(x.k * coalesce(x.credits_used, 0)),
         sum(CASE WHEN x.direction = 'inbound' AND x.status = 'queued' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'inbound' AND x.status = 'ringing' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'inbound' AND x.status = 'in_progress' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'inbound' AND x.status = 'completed' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'inbound' AND x.status = 'failed' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'inbound' AND x.status = 'missed' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'inbound' AND x.status = 'abandoned' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'outbound' AND x.status = 'queued' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'outbound' AND x.status = 'ringing' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'outbound' AND x.status = 'in_progress' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'outbound' AND x.status = 'completed' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'outbound' AND x.status = 'failed' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'outbound' AND x.status = 'missed' THEN x.k ELSE 0 END),
         sum(CASE WHEN x.direction = 'outbound' AND x.status = 'abandoned' THEN x.k ELSE 0 END)
    FROM x
   GROUP BY x.org_id, x.bucket_start;
END;
$$;
--> statement-breakpoint

-- Statement-level triggers with transition tables: one log append per statement however many rows it touched (a
-- 1M-row COPY included), and nothing written for calls at or after W (the real-time path: the array is empty).
CREATE OR REPLACE FUNCTION tally_rollup_mark_calls_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
  v_changes tally_rollup_change[];
BEGIN
  IF w = '-infinity' THEN
    RETURN NULL; -- nothing rolled up yet (a fresh database being loaded)
  END IF;
  v_changes := ARRAY(
    SELECT ROW(1, 1, n.org_id, n.agent_id, n.started_at, n.direction, n.status, n.duration_sec, n.credits_used,
               n.outcome, n.lead_score, 0, 0, 0, 0)::tally_rollup_change
      FROM rollup_new n WHERE n.started_at < w);
  IF cardinality(v_changes) > 0 THEN
    PERFORM tally_rollup_log_changes(v_changes);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- Calls that leave a partition without leaving `calls` are named in the transaction-local setting
-- `tally.calls_moving`, so that the delete trigger below logs nothing for them:
-- * An UPDATE that moves a call to another month's partition deletes it from the old partition and inserts it in the
--   new one, and Postgres fires the row-level BEFORE DELETE triggers for that delete, though the statement is an
--   UPDATE whose own trigger logs the move. The BEFORE UPDATE trigger below, fired only when the month changes, names
--   the call just before its delete; the UPDATE's statement trigger clears the name.
-- * tally_ensure_month_partition moves the calls of a new month out of calls_default and their analysis rows back in:
--   it sets the value 'all' meanwhile (nothing a rollup counts changes).
CREATE OR REPLACE FUNCTION tally_rollup_name_moving_call() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('tally.calls_moving', OLD.id::text, true);
  RETURN NEW;
END;
$$;
--> statement-breakpoint

-- A delete logs each call's whole contribution, its analysis counts included, BEFORE the row goes: the analysis rows
-- cascade away with it (their own delete trigger then finds no call and logs nothing), so only here are they still
-- there to count. Row-level, so a delete costs one small append per call that started before W.
CREATE OR REPLACE FUNCTION tally_rollup_log_call_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
BEGIN
  IF w = '-infinity' OR OLD.started_at >= w OR current_setting('tally.calls_moving', true) IN ('all', OLD.id::text) THEN
    RETURN OLD;
  END IF;
  PERFORM tally_rollup_log_changes(ARRAY(
    SELECT ROW(-1, 1, OLD.org_id, OLD.agent_id, OLD.started_at, OLD.direction, OLD.status, OLD.duration_sec,
               OLD.credits_used, OLD.outcome, OLD.lead_score, ms.n, ms.achieved, ob.n, ob.handled)::tally_rollup_change
      FROM (SELECT count(*)::int AS n, count(*) FILTER (WHERE m.achieved)::int AS achieved
              FROM call_milestones m WHERE m.call_id = OLD.id AND m.org_id = OLD.org_id) ms,
           (SELECT count(*)::int AS n, count(*) FILTER (WHERE o.handled)::int AS handled
              FROM call_objections o WHERE o.call_id = OLD.id AND o.org_id = OLD.org_id) ob));
  RETURN OLD;
END;
$$;
--> statement-breakpoint

-- An update logs the old row negated and the new row, for every row whose rolled-up columns changed (an update of
-- other columns, ended_at, reconnect_token..., logs nothing). A row that moves to another (organization, agent,
-- bucket), or across W, carries its analysis counts along (counted now: the calls rows are locked by this update,
-- and the analysis triggers lock the call before reading its agent, so no analysis change slips between).
CREATE OR REPLACE FUNCTION tally_rollup_mark_calls_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
  v_changes tally_rollup_change[];
BEGIN
  IF current_setting('tally.calls_moving', true) <> '' THEN
    PERFORM set_config('tally.calls_moving', '', true); -- a call this statement moved between partitions
  END IF;
  IF w = '-infinity' THEN
    RETURN NULL; -- nothing rolled up yet (a fresh database being loaded)
  END IF;
  v_changes := ARRAY(
    WITH changed AS (
      SELECT o.org_id AS o_org, o.agent_id AS o_agent, o.started_at AS o_started, o.direction AS o_direction,
             o.status AS o_status, o.duration_sec AS o_duration, o.credits_used AS o_credits, o.outcome AS o_outcome,
             o.lead_score AS o_score,
             n.org_id AS n_org, n.agent_id AS n_agent, n.started_at AS n_started, n.direction AS n_direction,
             n.status AS n_status, n.duration_sec AS n_duration, n.credits_used AS n_credits, n.outcome AS n_outcome,
             n.lead_score AS n_score, coalesce(n.id, o.id) AS id,
             (o.id IS DISTINCT FROM n.id
              OR (o.org_id, o.agent_id, tally_rollup_bucket(o.started_at), o.started_at < w)
                 IS DISTINCT FROM (n.org_id, n.agent_id, tally_rollup_bucket(n.started_at), n.started_at < w)) AS moved
        FROM rollup_old o
        FULL JOIN rollup_new n ON n.id = o.id
       WHERE (o.started_at < w OR n.started_at < w)
         AND (o.id IS NULL OR n.id IS NULL
              OR (o.org_id, o.started_at, o.agent_id, o.direction, o.status, o.duration_sec, o.credits_used, o.outcome, o.lead_score)
                 IS DISTINCT FROM
                 (n.org_id, n.started_at, n.agent_id, n.direction, n.status, n.duration_sec, n.credits_used, n.outcome, n.lead_score))
    ),
    counted AS (
      SELECT c.*, coalesce(a.milestones, 0) AS milestones, coalesce(a.milestones_achieved, 0) AS milestones_achieved,
             coalesce(a.objections, 0) AS objections, coalesce(a.objections_handled, 0) AS objections_handled
        FROM changed c
        LEFT JOIN LATERAL (
          SELECT (SELECT count(*) FROM call_milestones m WHERE m.call_id = c.id)::int AS milestones,
                 (SELECT count(*) FROM call_milestones m WHERE m.call_id = c.id AND m.achieved)::int AS milestones_achieved,
                 (SELECT count(*) FROM call_objections j WHERE j.call_id = c.id)::int AS objections,
                 (SELECT count(*) FROM call_objections j WHERE j.call_id = c.id AND j.handled)::int AS objections_handled
           WHERE c.moved
        ) a ON true
    )
    SELECT ROW(-1, 1, c.o_org, c.o_agent, c.o_started, c.o_direction, c.o_status, c.o_duration, c.o_credits, c.o_outcome,
               c.o_score, c.milestones, c.milestones_achieved, c.objections, c.objections_handled)::tally_rollup_change
      FROM counted c WHERE c.o_started < w
    UNION ALL
    SELECT ROW(1, 1, c.n_org, c.n_agent, c.n_started, c.n_direction, c.n_status, c.n_duration, c.n_credits, c.n_outcome,
               c.n_score, c.milestones, c.milestones_achieved, c.objections, c.objections_handled)::tally_rollup_change
      FROM counted c WHERE c.n_started < w);
  IF cardinality(v_changes) > 0 THEN
    PERFORM tally_rollup_log_changes(v_changes);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- TRUNCATE calls empties the rollups and the log in the same transaction (it waits for every writer of calls and of
-- their analysis, whose foreign keys lock calls, so no delta is in flight).
CREATE OR REPLACE FUNCTION tally_rollup_calls_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM call_rollup_15m;
  DELETE FROM call_rollup_hourly;
  DELETE FROM agent_rollup_hourly;
  DELETE FROM agent_rollup_daily;
  DELETE FROM rollup_dirty;
  DELETE FROM rollup_agent_delta;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- call_milestones and call_objections: the analysis rows changed, as (call, sign, flag) where flag is achieved or
-- handled, are logged as agent deltas at the call's (organization, agent, bucket). The calls are locked FOR SHARE
-- first (it conflicts with the lock of an update moving the call to another agent), so the agent read is the one the
-- rollup holds: an update that moves the call either counted this change or comes after it. Rows whose call is gone
-- (a call delete cascading) log nothing: the call's delete trigger counted them. An update that only follows its call
-- (org_id, call_started_at cascading from calls) logs nothing: the call's own update carried the counts.
CREATE OR REPLACE FUNCTION tally_rollup_log_analysis(p_table text, p_call uuid[], p_sign int[], p_flag boolean[], p_w timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_changes tally_rollup_change[];
BEGIN
  PERFORM 1 FROM calls c WHERE c.id = ANY (p_call) AND c.started_at < p_w ORDER BY c.id FOR SHARE;
  v_changes := ARRAY(
    SELECT ROW(a.sign, 0, c.org_id, c.agent_id, c.started_at, NULL, NULL, NULL, NULL, NULL, NULL,
               CASE WHEN p_table = 'call_milestones' THEN 1 ELSE 0 END,
               CASE WHEN p_table = 'call_milestones' AND a.flag THEN 1 ELSE 0 END,
               CASE WHEN p_table = 'call_objections' THEN 1 ELSE 0 END,
               CASE WHEN p_table = 'call_objections' AND a.flag THEN 1 ELSE 0 END)::tally_rollup_change
      FROM unnest(p_call, p_sign, p_flag) AS a (call_id, sign, flag)
      JOIN calls c ON c.id = a.call_id
     WHERE c.started_at < p_w AND c.agent_id IS NOT NULL);
  IF cardinality(v_changes) > 0 THEN
    PERFORM tally_rollup_log_changes(v_changes);
  END IF;
END;
$$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION tally_rollup_mark_analysis_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
  v_call uuid[];
  v_flag boolean[];
BEGIN
  IF w = '-infinity' OR current_setting('tally.calls_moving', true) = 'all' THEN
    RETURN NULL; -- nothing rolled up yet (a fresh database being loaded), or analysis rows put back after a move
  END IF;
  IF TG_TABLE_NAME = 'call_milestones' THEN
    SELECT array_agg(n.call_id), array_agg(n.achieved) INTO v_call, v_flag FROM rollup_new n WHERE n.call_started_at < w;
  ELSE
    SELECT array_agg(n.call_id), array_agg(n.handled) INTO v_call, v_flag FROM rollup_new n WHERE n.call_started_at < w;
  END IF;
  IF v_call IS NOT NULL THEN
    PERFORM tally_rollup_log_analysis(TG_TABLE_NAME, v_call, array_fill(1, ARRAY[cardinality(v_call)]), v_flag, w);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION tally_rollup_mark_analysis_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
  v_call uuid[];
  v_flag boolean[];
BEGIN
  IF w = '-infinity' THEN
    RETURN NULL; -- nothing rolled up yet (a fresh database being loaded)
  END IF;
  IF TG_TABLE_NAME = 'call_milestones' THEN
    SELECT array_agg(o.call_id), array_agg(o.achieved) INTO v_call, v_flag FROM rollup_old o WHERE o.call_started_at < w;
  ELSE
    SELECT array_agg(o.call_id), array_agg(o.handled) INTO v_call, v_flag FROM rollup_old o WHERE o.call_started_at < w;
  END IF;
  IF v_call IS NOT NULL THEN
    PERFORM tally_rollup_log_analysis(TG_TABLE_NAME, v_call, array_fill(-1, ARRAY[cardinality(v_call)]), v_flag, w);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- An update: rows that changed their call or their flag log the old row negated and the new one (rows that only
-- followed their call's key, by the foreign key's ON UPDATE CASCADE, are left to the call's own trigger).
CREATE OR REPLACE FUNCTION tally_rollup_mark_analysis_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  w timestamptz := tally_rollup_watermark_for_write();
  v_call uuid[];
  v_sign int[];
  v_flag boolean[];
BEGIN
  IF w = '-infinity' THEN
    RETURN NULL; -- nothing rolled up yet (a fresh database being loaded)
  END IF;
  IF TG_TABLE_NAME = 'call_milestones' THEN
    SELECT array_agg(x.call_id), array_agg(x.sign), array_agg(x.flag) INTO v_call, v_sign, v_flag
      FROM rollup_old o JOIN rollup_new n ON n.call_id = o.call_id AND n.key = o.key
      CROSS JOIN LATERAL (VALUES (o.call_id, -1, o.achieved), (n.call_id, 1, n.achieved)) AS x (call_id, sign, flag)
     WHERE o.achieved IS DISTINCT FROM n.achieved;
    -- a row given to another call (its key changed): the old call loses it, the new one gains it
    SELECT v_call || coalesce(array_agg(x.call_id), '{}'), v_sign || coalesce(array_agg(x.sign), '{}'), v_flag || coalesce(array_agg(x.flag), '{}')
      INTO v_call, v_sign, v_flag
      FROM (SELECT o.call_id, -1 AS sign, o.achieved AS flag FROM rollup_old o
             WHERE NOT EXISTS (SELECT 1 FROM rollup_new n WHERE n.call_id = o.call_id AND n.key = o.key)
            UNION ALL
            SELECT n.call_id, 1, n.achieved FROM rollup_new n
             WHERE NOT EXISTS (SELECT 1 FROM rollup_old o WHERE o.call_id = n.call_id AND o.key = n.key)) x;
  ELSE
    SELECT array_agg(x.call_id), array_agg(x.sign), array_agg(x.flag) INTO v_call, v_sign, v_flag
      FROM rollup_old o JOIN rollup_new n ON n.id = o.id
      CROSS JOIN LATERAL (VALUES (o.call_id, -1, o.handled), (n.call_id, 1, n.handled)) AS x (call_id, sign, flag)
     WHERE (o.call_id, o.handled) IS DISTINCT FROM (n.call_id, n.handled);
  END IF;
  IF cardinality(v_call) > 0 THEN
    PERFORM tally_rollup_log_analysis(TG_TABLE_NAME, v_call, v_sign, v_flag, w);
  END IF;
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
DROP TRIGGER IF EXISTS tally_rollup_calls_delete ON calls;
--> statement-breakpoint
DROP FUNCTION IF EXISTS tally_rollup_mark_calls_delete();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_rollup_calls_delete_row BEFORE DELETE ON calls
  FOR EACH ROW EXECUTE FUNCTION tally_rollup_log_call_delete();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_rollup_calls_moving BEFORE UPDATE OF started_at ON calls
  FOR EACH ROW WHEN (date_trunc('month', OLD.started_at AT TIME ZONE 'UTC') IS DISTINCT FROM date_trunc('month', NEW.started_at AT TIME ZONE 'UTC'))
  EXECUTE FUNCTION tally_rollup_name_moving_call();
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
