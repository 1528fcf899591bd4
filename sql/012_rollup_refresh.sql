-- Rollups of calls, 3 of 3: the recompute of marked buckets, the watermark's advance, the incremental refresh, the
-- rebuild of one organization and the full recompute. Idempotent: re-applied on every migrate. Invariants:
-- 010_rollup_helpers.sql, functions/rollups/README.md.

-- Makes the call_rollup_hourly rows of the given (organization, hour) pairs the sums of their hours' call_rollup_15m
-- rows again, in the caller's transaction (after it rewrote some of those 15-minute rows): upserted where they differ,
-- deleted where the hour has no 15-minute row left. The recompute's path (a run recomputes few hours: the new calls'
-- and the recompute marks'); the fold adds its deltas to the hours directly.
CREATE OR REPLACE FUNCTION tally_rollup_sum_hours(p_org uuid[], p_hour timestamptz[])
RETURNS bigint
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
DECLARE
  n bigint;
BEGIN
  IF coalesce(cardinality(p_org), 0) = 0 THEN
    RETURN 0;
  END IF;
  WITH h AS (
    SELECT DISTINCT h.org_id, h.hour FROM unnest(p_org, p_hour) AS h (org_id, hour)
  ),
  sums AS MATERIALIZED (
    SELECT h.org_id, h.hour AS bucket_start, s.*
      FROM h
      CROSS JOIN LATERAL (
        SELECT count(*) AS n_rows,
               coalesce(sum(r.calls), 0) AS calls,
               coalesce(sum(r.completed), 0) AS completed,
               coalesce(sum(r.duration_completed_sum), 0) AS duration_completed_sum,
               coalesce(sum(r.scored), 0) AS scored,
               coalesce(sum(r.qualified), 0) AS qualified,
               coalesce(sum(r.score_sum), 0) AS score_sum,
               coalesce(sum(r.hot), 0) AS hot,
               coalesce(sum(r.warm), 0) AS warm,
               coalesce(sum(r.cold), 0) AS cold,
               coalesce(sum(r.booked), 0) AS booked,
               coalesce(sum(r.outcome_appointment_booked), 0) AS outcome_appointment_booked,
               coalesce(sum(r.outcome_qualified), 0) AS outcome_qualified,
               coalesce(sum(r.outcome_callback_requested), 0) AS outcome_callback_requested,
               coalesce(sum(r.outcome_not_interested), 0) AS outcome_not_interested,
               coalesce(sum(r.outcome_voicemail), 0) AS outcome_voicemail,
               coalesce(sum(r.outcome_wrong_number), 0) AS outcome_wrong_number,
               coalesce(sum(r.credits_used), 0) AS credits_used,
               coalesce(sum(r.inbound_queued), 0) AS inbound_queued,
               coalesce(sum(r.inbound_ringing), 0) AS inbound_ringing,
               coalesce(sum(r.inbound_in_progress), 0) AS inbound_in_progress,
               coalesce(sum(r.inbound_completed), 0) AS inbound_completed,
               coalesce(sum(r.inbound_failed), 0) AS inbound_failed,
               coalesce(sum(r.inbound_missed), 0) AS inbound_missed,
               coalesce(sum(r.inbound_abandoned), 0) AS inbound_abandoned,
               coalesce(sum(r.outbound_queued), 0) AS outbound_queued,
               coalesce(sum(r.outbound_ringing), 0) AS outbound_ringing,
               coalesce(sum(r.outbound_in_progress), 0) AS outbound_in_progress,
               coalesce(sum(r.outbound_completed), 0) AS outbound_completed,
               coalesce(sum(r.outbound_failed), 0) AS outbound_failed,
               coalesce(sum(r.outbound_missed), 0) AS outbound_missed,
               coalesce(sum(r.outbound_abandoned), 0) AS outbound_abandoned
          FROM call_rollup_15m r
         WHERE r.org_id = h.org_id AND r.bucket_start >= h.hour AND r.bucket_start < h.hour + interval '1 hour'
      ) s
  ),
  upserted AS (
    INSERT INTO call_rollup_hourly (org_id, bucket_start,
      calls, completed, duration_completed_sum, scored, qualified, score_sum, hot, warm, cold, booked,
      outcome_appointment_booked, outcome_qualified, outcome_callback_requested, outcome_not_interested,
      outcome_voicemail, outcome_wrong_number, credits_used, inbound_queued, inbound_ringing, inbound_in_progress,
      inbound_completed, inbound_failed, inbound_missed, inbound_abandoned, outbound_queued, outbound_ringing,
      outbound_in_progress, outbound_completed, outbound_failed, outbound_missed, outbound_abandoned)
    SELECT s.org_id, s.bucket_start,
           s.calls, s.completed, s.duration_completed_sum, s.scored, s.qualified, s.score_sum, s.hot, s.warm,
           s.cold, s.booked, s.outcome_appointment_booked, s.outcome_qualified, s.outcome_callback_requested,
           s.outcome_not_interested, s.outcome_voicemail, s.outcome_wrong_number, s.credits_used, s.inbound_queued,
           s.inbound_ringing, s.inbound_in_progress, s.inbound_completed, s.inbound_failed, s.inbound_missed,
           s.inbound_abandoned, s.outbound_queued, s.outbound_ringing, s.outbound_in_progress, s.outbound_completed,
           s.outbound_failed, s.outbound_missed, s.outbound_abandoned
      FROM sums s WHERE s.n_rows > 0
    ON CONFLICT (org_id, bucket_start) DO UPDATE SET
      calls = EXCLUDED.calls, completed = EXCLUDED.completed,
      duration_completed_sum = EXCLUDED.duration_completed_sum, scored = EXCLUDED.scored,
      qualified = EXCLUDED.qualified, score_sum = EXCLUDED.score_sum, hot = EXCLUDED.hot, warm = EXCLUDED.warm,
      cold = EXCLUDED.cold, booked = EXCLUDED.booked,
      outcome_appointment_booked = EXCLUDED.outcome_appointment_booked,
      outcome_qualified = EXCLUDED.outcome_qualified,
      outcome_callback_requested = EXCLUDED.outcome_callback_requested,
      outcome_not_interested = EXCLUDED.outcome_not_interested, outcome_voicemail = EXCLUDED.outcome_voicemail,
      outcome_wrong_number = EXCLUDED.outcome_wrong_number, credits_used = EXCLUDED.credits_used,
      inbound_queued = EXCLUDED.inbound_queued, inbound_ringing = EXCLUDED.inbound_ringing,
      inbound_in_progress = EXCLUDED.inbound_in_progress, inbound_completed = EXCLUDED.inbound_completed,
      inbound_failed = EXCLUDED.inbound_failed, inbound_missed = EXCLUDED.inbound_missed,
      inbound_abandoned = EXCLUDED.inbound_abandoned, outbound_queued = EXCLUDED.outbound_queued,
      outbound_ringing = EXCLUDED.outbound_ringing, outbound_in_progress = EXCLUDED.outbound_in_progress,
      outbound_completed = EXCLUDED.outbound_completed, outbound_failed = EXCLUDED.outbound_failed,
      outbound_missed = EXCLUDED.outbound_missed, outbound_abandoned = EXCLUDED.outbound_abandoned
     WHERE (
            call_rollup_hourly.calls, call_rollup_hourly.completed, call_rollup_hourly.duration_completed_sum,
            call_rollup_hourly.scored, call_rollup_hourly.qualified, call_rollup_hourly.score_sum,
            call_rollup_hourly.hot, call_rollup_hourly.warm, call_rollup_hourly.cold, call_rollup_hourly.booked,
            call_rollup_hourly.outcome_appointment_booked, call_rollup_hourly.outcome_qualified,
            call_rollup_hourly.outcome_callback_requested, call_rollup_hourly.outcome_not_interested,
            call_rollup_hourly.outcome_voicemail, call_rollup_hourly.outcome_wrong_number,
            call_rollup_hourly.credits_used, call_rollup_hourly.inbound_queued, call_rollup_hourly.inbound_ringing,
            call_rollup_hourly.inbound_in_progress, call_rollup_hourly.inbound_completed,
            call_rollup_hourly.inbound_failed, call_rollup_hourly.inbound_missed,
            call_rollup_hourly.inbound_abandoned, call_rollup_hourly.outbound_queued,
            call_rollup_hourly.outbound_ringing, call_rollup_hourly.outbound_in_progress,
            call_rollup_hourly.outbound_completed, call_rollup_hourly.outbound_failed,
            call_rollup_hourly.outbound_missed, call_rollup_hourly.outbound_abandoned)
           IS DISTINCT FROM (
            EXCLUDED.calls, EXCLUDED.completed, EXCLUDED.duration_completed_sum, EXCLUDED.scored,
            EXCLUDED.qualified, EXCLUDED.score_sum, EXCLUDED.hot, EXCLUDED.warm, EXCLUDED.cold, EXCLUDED.booked,
            EXCLUDED.outcome_appointment_booked, EXCLUDED.outcome_qualified, EXCLUDED.outcome_callback_requested,
            EXCLUDED.outcome_not_interested, EXCLUDED.outcome_voicemail, EXCLUDED.outcome_wrong_number,
            EXCLUDED.credits_used, EXCLUDED.inbound_queued, EXCLUDED.inbound_ringing, EXCLUDED.inbound_in_progress,
            EXCLUDED.inbound_completed, EXCLUDED.inbound_failed, EXCLUDED.inbound_missed,
            EXCLUDED.inbound_abandoned, EXCLUDED.outbound_queued, EXCLUDED.outbound_ringing,
            EXCLUDED.outbound_in_progress, EXCLUDED.outbound_completed, EXCLUDED.outbound_failed,
            EXCLUDED.outbound_missed, EXCLUDED.outbound_abandoned)
    RETURNING 1
  ),
  deleted AS (
    DELETE FROM call_rollup_hourly r USING sums s
     WHERE s.n_rows = 0 AND r.org_id = s.org_id AND r.bucket_start = s.bucket_start
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM upserted) + (SELECT count(*) FROM deleted) INTO n;
  RETURN n;
END;
$$;
--> statement-breakpoint

-- Recomputes the given (organization, 15-minute bucket) pairs from raw rows, counting calls with started_at < upto,
-- and the (organization, hour) pairs of agent_rollup_hourly that hold them. The pairs must be distinct; the caller
-- holds the refresh lock. The cost follows the hours holding the pairs, not the table:
--   * one statement, so one snapshot; each hour is read ONCE, by one index range scan (in (organization, hour) order,
--     for locality), and both its dirty 15-minute buckets and its agent rows are computed from that read;
--   * the hour's calls are probed in call_milestones and call_objections in call id order (the order of both indexes);
--   * only rows whose values differ are written: the new rows are compared with the current ones (agent rows through
--     the covering primary key), changed and new rows are upserted, rows whose bucket or agent has no call left are
--     deleted by their ctid (a hash join against the whole rollup table is never a candidate).
-- Settings: custom plans (the arrays range from one element to MAX_DIRTY_MARKS; a generic plan sized for a few rows
-- could nest-loop two large CTEs), no JIT (compiling costs more than the statement on small work sets), and sorts and
-- hashes of one run (at most MAX_DIRTY_MARKS hours of calls) kept in memory.
DROP FUNCTION IF EXISTS tally_rollup_recompute(uuid[], timestamptz[], timestamptz);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION tally_rollup_recompute(p_org uuid[], p_bucket timestamptz[], p_upto timestamptz)
RETURNS TABLE (calls_read bigint, call_rows bigint, agent_rows bigint, hours bigint, marks bigint, agent_deltas bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET jit = off
SET work_mem = '64MB'
AS $$
DECLARE
  h_org uuid[];
  h_hour timestamptz[];
  h_mask int[];
  z_org uuid[];
  z_day timestamptz[];
  z_agent uuid[];
BEGIN
  calls_read := 0; call_rows := 0; agent_rows := 0; hours := 0; marks := 0; agent_deltas := 0;
  IF coalesce(cardinality(p_org), 0) = 0 THEN
    RETURN NEXT;
    RETURN;
  END IF;

  -- the hours holding the buckets, each with the bit mask of its dirty quarters (bit i: hour + i * 15 minutes)
  SELECT array_agg(x.org_id ORDER BY x.org_id, x.hour), array_agg(x.hour ORDER BY x.org_id, x.hour),
         array_agg(x.mask ORDER BY x.org_id, x.hour)
    INTO h_org, h_hour, h_mask
    FROM (SELECT w.org_id, tally_rollup_hour(w.bucket_start) AS hour,
                 bit_or(1 << (extract(epoch FROM w.bucket_start - tally_rollup_hour(w.bucket_start)) / 900)::int) AS mask
            FROM unnest(p_org, p_bucket) AS w (org_id, bucket_start)
           GROUP BY 1, 2) x;
  hours := cardinality(h_org);

  WITH h AS (
    SELECT * FROM unnest(h_org, h_hour, h_mask) AS h (org_id, hour, mask)
  ),
  -- the calls of the hours (OFFSET 0 keeps the per-hour index range scan: the planner cannot turn it into a join)
  hc AS MATERIALIZED (
    SELECT c.id, c.org_id, c.agent_id, c.started_at, c.direction, c.status, c.duration_sec, c.credits_used, c.outcome,
           c.lead_score,
           (h.mask >> (extract(epoch FROM tally_rollup_bucket(c.started_at) - h.hour) / 900)::int) & 1 = 1 AS in_dirty_bucket
      FROM h
      CROSS JOIN LATERAL (
        SELECT c.* FROM calls c
         WHERE c.org_id = h.org_id
           AND c.started_at >= h.hour
           AND c.started_at < h.hour + interval '1 hour'
           AND c.started_at < p_upto
        OFFSET 0
      ) c
  ),
  call_new (org_id, bucket_start, calls, completed, duration_completed_sum, scored, qualified, score_sum, hot, warm, cold, booked, outcome_appointment_booked, outcome_qualified, outcome_callback_requested, outcome_not_interested, outcome_voicemail, outcome_wrong_number, credits_used, inbound_queued, inbound_ringing, inbound_in_progress, inbound_completed, inbound_failed, inbound_missed, inbound_abandoned, outbound_queued, outbound_ringing, outbound_in_progress, outbound_completed, outbound_failed, outbound_missed, outbound_abandoned) AS MATERIALIZED (
    SELECT c.org_id, tally_rollup_bucket(c.started_at) AS bucket_start,
             count(*),
             count(*) FILTER (WHERE c.status = 'completed'),
             coalesce(sum(c.duration_sec) FILTER (WHERE c.status = 'completed'), 0),
             count(c.lead_score),
             count(*) FILTER (WHERE c.lead_score >= 70),
             coalesce(sum(c.lead_score), 0),
             count(*) FILTER (WHERE c.lead_score >= 70),
             count(*) FILTER (WHERE c.lead_score >= 40 AND c.lead_score < 70),
             count(*) FILTER (WHERE c.lead_score < 40),
             count(*) FILTER (WHERE c.outcome = 'appointment_booked'),
             count(*) FILTER (WHERE c.outcome = 'appointment_booked'),
             count(*) FILTER (WHERE c.outcome = 'qualified'),
             count(*) FILTER (WHERE c.outcome = 'callback_requested'),
             count(*) FILTER (WHERE c.outcome = 'not_interested'),
             count(*) FILTER (WHERE c.outcome = 'voicemail'),
             count(*) FILTER (WHERE c.outcome = 'wrong_number'),
             coalesce(sum(c.credits_used), 0),
             count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'queued'),
             count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'ringing'),
             count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'in_progress'),
             count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'completed'),
             count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'failed'),
             count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'missed'),
             count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'abandoned'),
             count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'queued'),
             count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'ringing'),
             count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'in_progress'),
             count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'completed'),
             count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'failed'),
             count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'missed'),
             count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'abandoned')
      FROM hc c
     WHERE c.in_dirty_bucket
     GROUP BY 1, 2
  ),
  call_upserted AS (
    INSERT INTO call_rollup_15m (
      org_id, bucket_start, calls, completed, duration_completed_sum, scored, qualified, score_sum, hot, warm, cold,
      booked, outcome_appointment_booked, outcome_qualified, outcome_callback_requested, outcome_not_interested,
      outcome_voicemail, outcome_wrong_number, credits_used, inbound_queued, inbound_ringing, inbound_in_progress,
      inbound_completed, inbound_failed, inbound_missed, inbound_abandoned, outbound_queued, outbound_ringing,
      outbound_in_progress, outbound_completed, outbound_failed, outbound_missed, outbound_abandoned)
    SELECT * FROM call_new
    ON CONFLICT (org_id, bucket_start) DO UPDATE SET
      calls = EXCLUDED.calls, completed = EXCLUDED.completed,
      duration_completed_sum = EXCLUDED.duration_completed_sum, scored = EXCLUDED.scored,
      qualified = EXCLUDED.qualified, score_sum = EXCLUDED.score_sum, hot = EXCLUDED.hot, warm = EXCLUDED.warm,
      cold = EXCLUDED.cold, booked = EXCLUDED.booked,
      outcome_appointment_booked = EXCLUDED.outcome_appointment_booked,
      outcome_qualified = EXCLUDED.outcome_qualified,
      outcome_callback_requested = EXCLUDED.outcome_callback_requested,
      outcome_not_interested = EXCLUDED.outcome_not_interested, outcome_voicemail = EXCLUDED.outcome_voicemail,
      outcome_wrong_number = EXCLUDED.outcome_wrong_number, credits_used = EXCLUDED.credits_used,
      inbound_queued = EXCLUDED.inbound_queued, inbound_ringing = EXCLUDED.inbound_ringing,
      inbound_in_progress = EXCLUDED.inbound_in_progress, inbound_completed = EXCLUDED.inbound_completed,
      inbound_failed = EXCLUDED.inbound_failed, inbound_missed = EXCLUDED.inbound_missed,
      inbound_abandoned = EXCLUDED.inbound_abandoned, outbound_queued = EXCLUDED.outbound_queued,
      outbound_ringing = EXCLUDED.outbound_ringing, outbound_in_progress = EXCLUDED.outbound_in_progress,
      outbound_completed = EXCLUDED.outbound_completed, outbound_failed = EXCLUDED.outbound_failed,
      outbound_missed = EXCLUDED.outbound_missed, outbound_abandoned = EXCLUDED.outbound_abandoned
     WHERE (call_rollup_15m.calls, call_rollup_15m.completed, call_rollup_15m.duration_completed_sum,
            call_rollup_15m.scored, call_rollup_15m.qualified, call_rollup_15m.score_sum, call_rollup_15m.hot,
            call_rollup_15m.warm, call_rollup_15m.cold, call_rollup_15m.booked,
            call_rollup_15m.outcome_appointment_booked, call_rollup_15m.outcome_qualified,
            call_rollup_15m.outcome_callback_requested, call_rollup_15m.outcome_not_interested,
            call_rollup_15m.outcome_voicemail, call_rollup_15m.outcome_wrong_number, call_rollup_15m.credits_used,
            call_rollup_15m.inbound_queued, call_rollup_15m.inbound_ringing, call_rollup_15m.inbound_in_progress,
            call_rollup_15m.inbound_completed, call_rollup_15m.inbound_failed, call_rollup_15m.inbound_missed,
            call_rollup_15m.inbound_abandoned, call_rollup_15m.outbound_queued, call_rollup_15m.outbound_ringing,
            call_rollup_15m.outbound_in_progress, call_rollup_15m.outbound_completed, call_rollup_15m.outbound_failed,
            call_rollup_15m.outbound_missed, call_rollup_15m.outbound_abandoned)
           IS DISTINCT FROM
           (EXCLUDED.calls, EXCLUDED.completed, EXCLUDED.duration_completed_sum, EXCLUDED.scored, EXCLUDED.qualified,
            EXCLUDED.score_sum, EXCLUDED.hot, EXCLUDED.warm, EXCLUDED.cold, EXCLUDED.booked,
            EXCLUDED.outcome_appointment_booked, EXCLUDED.outcome_qualified, EXCLUDED.outcome_callback_requested,
            EXCLUDED.outcome_not_interested, EXCLUDED.outcome_voicemail, EXCLUDED.outcome_wrong_number,
            EXCLUDED.credits_used, EXCLUDED.inbound_queued, EXCLUDED.inbound_ringing, EXCLUDED.inbound_in_progress,
            EXCLUDED.inbound_completed, EXCLUDED.inbound_failed, EXCLUDED.inbound_missed, EXCLUDED.inbound_abandoned,
            EXCLUDED.outbound_queued, EXCLUDED.outbound_ringing, EXCLUDED.outbound_in_progress,
            EXCLUDED.outbound_completed, EXCLUDED.outbound_failed, EXCLUDED.outbound_missed,
            EXCLUDED.outbound_abandoned)
    RETURNING 1
  ),
  call_deleted AS (
    DELETE FROM call_rollup_15m r
     WHERE r.ctid = ANY (ARRAY(
       SELECT (SELECT o.ctid FROM call_rollup_15m o WHERE o.org_id = w.org_id AND o.bucket_start = w.bucket_start)
         FROM unnest(p_org, p_bucket) AS w (org_id, bucket_start)
        WHERE NOT EXISTS (SELECT 1 FROM call_new n WHERE n.org_id = w.org_id AND n.bucket_start = w.bucket_start)))
    RETURNING 1
  ),
  -- milestones and objections per call, probed in call id order
  agent_calls AS (
    SELECT c.org_id, c.agent_id, c.started_at, c.status, c.duration_sec, c.credits_used, c.outcome, c.lead_score,
           ms.n AS milestones, ms.achieved AS milestones_achieved, ob.n AS objections, ob.handled AS objections_handled
      FROM (SELECT * FROM hc WHERE agent_id IS NOT NULL ORDER BY id) c
      CROSS JOIN LATERAL (
        SELECT count(*) AS n, count(*) FILTER (WHERE m.achieved) AS achieved
          FROM call_milestones m WHERE m.call_id = c.id AND m.org_id = c.org_id
      ) ms
      CROSS JOIN LATERAL (
        SELECT count(*) AS n, count(*) FILTER (WHERE o.handled) AS handled
          FROM call_objections o WHERE o.call_id = c.id AND o.org_id = c.org_id
      ) ob
  ),
  agent_new AS MATERIALIZED (
    SELECT c.org_id, c.agent_id, tally_rollup_hour(c.started_at) AS bucket_start,
           count(*) AS calls,
           count(*) FILTER (WHERE c.status = 'completed') AS completed,
           coalesce(sum(c.duration_sec) FILTER (WHERE c.status = 'completed'), 0) AS duration_completed_sum,
           count(c.lead_score) AS scored,
           coalesce(sum(c.lead_score), 0) AS score_sum,
           count(*) FILTER (WHERE c.outcome = 'appointment_booked') AS booked,
           coalesce(sum(c.credits_used), 0) AS credits_used,
           sum(c.milestones) AS milestones,
           sum(c.milestones_achieved) AS milestones_achieved,
           sum(c.objections) AS objections,
           sum(c.objections_handled) AS objections_handled
      FROM agent_calls c
     GROUP BY 1, 2, 3
  ),
  -- the current agent rows of the hours, from the covering primary key
  agent_old AS MATERIALIZED (
    SELECT o.* FROM h
      CROSS JOIN LATERAL (
        SELECT o.org_id, o.agent_id, o.bucket_start,
               o.calls, o.completed, o.duration_completed_sum, o.scored, o.score_sum, o.booked, o.credits_used,
               o.milestones, o.milestones_achieved, o.objections, o.objections_handled
          FROM agent_rollup_hourly o WHERE o.org_id = h.org_id AND o.bucket_start = h.hour
        OFFSET 0
      ) o
  ),
  agent_upserted AS (
    INSERT INTO agent_rollup_hourly (
      org_id, agent_id, bucket_start, calls, completed, duration_completed_sum, scored, score_sum, booked,
      credits_used, milestones, milestones_achieved, objections, objections_handled)
    SELECT n.* FROM agent_new n
      LEFT JOIN agent_old o ON o.org_id = n.org_id AND o.bucket_start = n.bucket_start AND o.agent_id = n.agent_id
     WHERE o.org_id IS NULL
        OR (o.calls, o.completed, o.duration_completed_sum, o.scored, o.score_sum, o.booked, o.credits_used,
            o.milestones, o.milestones_achieved, o.objections, o.objections_handled)
           IS DISTINCT FROM
           (n.calls, n.completed, n.duration_completed_sum, n.scored, n.score_sum, n.booked, n.credits_used,
            n.milestones, n.milestones_achieved, n.objections, n.objections_handled)
    ON CONFLICT (org_id, bucket_start, agent_id) DO UPDATE SET
      calls = EXCLUDED.calls, completed = EXCLUDED.completed,
      duration_completed_sum = EXCLUDED.duration_completed_sum, scored = EXCLUDED.scored,
      score_sum = EXCLUDED.score_sum, booked = EXCLUDED.booked, credits_used = EXCLUDED.credits_used,
      milestones = EXCLUDED.milestones, milestones_achieved = EXCLUDED.milestones_achieved,
      objections = EXCLUDED.objections, objections_handled = EXCLUDED.objections_handled
    RETURNING 1
  ),
  agent_deleted AS (
    DELETE FROM agent_rollup_hourly r
     WHERE r.ctid = ANY (ARRAY(
       SELECT (SELECT x.ctid FROM agent_rollup_hourly x
                WHERE x.org_id = o.org_id AND x.bucket_start = o.bucket_start AND x.agent_id = o.agent_id)
         FROM agent_old o
        WHERE NOT EXISTS (SELECT 1 FROM agent_new n
                           WHERE n.org_id = o.org_id AND n.bucket_start = o.bucket_start AND n.agent_id = o.agent_id)))
    RETURNING 1
  ),
  -- agent_rollup_daily: each (agent, day) of the hours moves by the hours' new rows minus their current ones, so a
  -- day row stays the sum of its hourly rows (O(changed agent hours), never a re-read of the day)
  day_delta AS (
    SELECT d.org_id, d.agent_id, tally_rollup_day(d.bucket_start) AS day_start,
           sum(d.calls) AS calls,
           sum(d.completed) AS completed,
           sum(d.duration_completed_sum) AS duration_completed_sum,
           sum(d.scored) AS scored,
           sum(d.score_sum) AS score_sum,
           sum(d.booked) AS booked,
           sum(d.credits_used) AS credits_used,
           sum(d.milestones) AS milestones,
           sum(d.milestones_achieved) AS milestones_achieved,
           sum(d.objections) AS objections,
           sum(d.objections_handled) AS objections_handled
      FROM (SELECT n.org_id, n.agent_id, n.bucket_start, n.calls, n.completed, n.duration_completed_sum, n.scored, n.score_sum, n.booked, n.credits_used, n.milestones, n.milestones_achieved, n.objections, n.objections_handled FROM agent_new n
            UNION ALL
            SELECT o.org_id, o.agent_id, o.bucket_start, -o.calls, -o.completed, -o.duration_completed_sum, -o.scored, -o.score_sum, -o.booked, -o.credits_used, -o.milestones, -o.milestones_achieved, -o.objections, -o.objections_handled FROM agent_old o) d
     GROUP BY 1, 2, 3
  ),
  day_applied AS (
    INSERT INTO agent_rollup_daily (org_id, agent_id, day_start, calls, completed, duration_completed_sum, scored, score_sum, booked, credits_used, milestones, milestones_achieved, objections, objections_handled)
    SELECT d.org_id, d.agent_id, d.day_start, d.calls, d.completed, d.duration_completed_sum, d.scored, d.score_sum, d.booked, d.credits_used, d.milestones, d.milestones_achieved, d.objections, d.objections_handled FROM day_delta d
     WHERE (d.calls, d.completed, d.duration_completed_sum, d.scored, d.score_sum, d.booked, d.credits_used, d.milestones, d.milestones_achieved, d.objections, d.objections_handled) IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    ON CONFLICT (org_id, day_start, agent_id) DO UPDATE SET
      calls = agent_rollup_daily.calls + EXCLUDED.calls,
      completed = agent_rollup_daily.completed + EXCLUDED.completed,
      duration_completed_sum = agent_rollup_daily.duration_completed_sum + EXCLUDED.duration_completed_sum,
      scored = agent_rollup_daily.scored + EXCLUDED.scored,
      score_sum = agent_rollup_daily.score_sum + EXCLUDED.score_sum,
      booked = agent_rollup_daily.booked + EXCLUDED.booked,
      credits_used = agent_rollup_daily.credits_used + EXCLUDED.credits_used,
      milestones = agent_rollup_daily.milestones + EXCLUDED.milestones,
      milestones_achieved = agent_rollup_daily.milestones_achieved + EXCLUDED.milestones_achieved,
      objections = agent_rollup_daily.objections + EXCLUDED.objections,
      objections_handled = agent_rollup_daily.objections_handled + EXCLUDED.objections_handled
    RETURNING agent_rollup_daily.org_id, agent_rollup_daily.day_start, agent_rollup_daily.agent_id, agent_rollup_daily.calls
  ),
  -- the change log of what this statement recomputed from raw rows, in its snapshot: a delta committed before it is
  -- in the raw rows read here and goes unapplied; one committed after survives and the fold adds it to these rows.
  -- The 15-minute deltas (and marks) of the recomputed buckets, the agent deltas of the recomputed hours.
  marks_consumed AS (
    DELETE FROM rollup_dirty d
     WHERE EXISTS (SELECT 1 FROM unnest(p_org, p_bucket) AS w (org_id, bucket_start)
                    WHERE w.org_id = d.org_id AND w.bucket_start = d.bucket_start)
    RETURNING 1
  ),
  agent_deltas_consumed AS (
    DELETE FROM rollup_agent_delta a
     WHERE EXISTS (SELECT 1 FROM h WHERE h.org_id = a.org_id AND h.hour = tally_rollup_hour(a.bucket_start))
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM hc),
         (SELECT count(*) FROM call_upserted) + (SELECT count(*) FROM call_deleted),
         (SELECT count(*) FROM agent_upserted) + (SELECT count(*) FROM agent_deleted) + (SELECT count(*) FROM day_applied),
         (SELECT array_agg(z.org_id) FROM day_applied z WHERE z.calls = 0),
         (SELECT array_agg(z.day_start) FROM day_applied z WHERE z.calls = 0),
         (SELECT array_agg(z.agent_id) FROM day_applied z WHERE z.calls = 0),
         (SELECT count(*) FROM marks_consumed), (SELECT count(*) FROM agent_deltas_consumed)
    INTO calls_read, call_rows, agent_rows, z_org, z_day, z_agent, marks, agent_deltas;

  -- a day whose agent has no call left (its sums are all zero then) goes, by key
  IF z_org IS NOT NULL THEN
    DELETE FROM agent_rollup_daily r
     USING unnest(z_org, z_day, z_agent) AS z (org_id, day_start, agent_id)
     WHERE r.org_id = z.org_id AND r.day_start = z.day_start AND r.agent_id = z.agent_id AND r.calls = 0;
  END IF;

  -- the hours of the recomputed buckets: their call_rollup_hourly rows summed again from the 15-minute rows
  call_rows := call_rows + tally_rollup_sum_hours(h_org, h_hour);

  RETURN NEXT;
END;
$$;
--> statement-breakpoint

-- Moves the watermark W up to the 15-minute boundary at or before p_now, or less far when more than p_max_calls calls
-- started since W (so that one refresh stays bounded: a first build or a backlog drains over several runs). Takes the
-- exclusive watermark lock, waiting at most p_lock_timeout_ms for writers in flight; answers the new W, or NULL
-- when the lock was not had in time (W unchanged: reads stay exact, only more of them are raw).
CREATE OR REPLACE FUNCTION tally_rollup_advance(p_now timestamptz, p_max_calls int, p_lock_timeout_ms int)
RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
  v_w timestamptz := coalesce((SELECT watermark FROM rollup_state WHERE id = 1), '-infinity'::timestamptz);
  v_target timestamptz := tally_rollup_bucket(p_now);
  v_first timestamptz;
  v_nth timestamptz;
  v_lock_timeout text := current_setting('lock_timeout');
BEGIN
  IF p_max_calls IS NOT NULL AND v_target > v_w THEN
    SELECT started_at INTO v_nth FROM calls
     WHERE started_at >= v_w AND started_at < v_target
     ORDER BY started_at OFFSET p_max_calls LIMIT 1;
    IF v_nth IS NOT NULL THEN
      SELECT min(started_at) INTO v_first FROM calls WHERE started_at >= v_w;
      v_target := least(v_target, greatest(tally_rollup_bucket(v_nth), tally_rollup_bucket(v_first) + interval '15 minutes'));
    END IF;
  END IF;
  IF v_target <= v_w THEN
    RETURN v_w;
  END IF;
  PERFORM set_config('lock_timeout', p_lock_timeout_ms::text, true);
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('tally_rollup_watermark'));
  EXCEPTION WHEN lock_not_available THEN
    PERFORM set_config('lock_timeout', v_lock_timeout, true);
    RETURN NULL;
  END;
  PERFORM set_config('lock_timeout', v_lock_timeout, true);
  UPDATE rollup_state SET watermark = greatest(watermark, v_target), advanced_at = p_now WHERE id = 1
  RETURNING watermark INTO v_w;
  RETURN v_w;
END;
$$;
--> statement-breakpoint

-- Folds the change log into the rollups by addition: the deltas of buckets below p_upto (W) are summed per row and
-- added to call_rollup_15m, agent_rollup_hourly and agent_rollup_daily; rows whose calls fall to 0 (all their sums
-- are 0 then) are deleted. One statement reads and deletes the log (one snapshot: a delta committed after it
-- survives, with its mark, for the next run), so each delta is added exactly once. Left alone: the deltas of a bucket
-- (agent deltas: of an hour) that waits for a recompute (a `recompute` mark not yet taken), which the recompute
-- replaces, and nothing is added for an organization that is gone (its rollup rows went with it). The caller holds the
-- refresh lock (nothing else writes rollup rows meanwhile). Cost: the log's rows and the rollup rows they name, by key:
--   * each row's sums are computed in key order with one probe of the primary key for the row's ctid (in the
--     statement's snapshot: the rows as they were before it); a plain UPDATE then joins the sums by ctid, in heap
--     order, and only the sums without a row are inserted (an INSERT … ON CONFLICT DO UPDATE probes the key, locks
--     the row, one more WAL record, and then updates it: twice the time per row, BENCHMARKS.md);
--   * joins are nested loops over the sums (hash and merge joins off): a changed row costs its probe and its TID
--     fetch, never a scan of a rollup table, whatever the planner guesses of the log's size.
CREATE OR REPLACE FUNCTION tally_rollup_fold(p_upto timestamptz)
RETURNS TABLE (marks bigint, agent_deltas bigint, call_rows bigint, agent_rows bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
SET jit = off
SET work_mem = '64MB'
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
  c_org uuid[];
  c_bucket timestamptz[];
  ch_org uuid[];
  ch_hour timestamptz[];
  h_org uuid[];
  h_hour timestamptz[];
  h_agent uuid[];
  d_org uuid[];
  d_day timestamptz[];
  d_agent uuid[];
BEGIN
  marks := 0; agent_deltas := 0; call_rows := 0; agent_rows := 0;
  -- an empty log costs two probes, not the planning of the statement below (a run that finds nothing changed)
  IF NOT EXISTS (SELECT 1 FROM rollup_dirty d WHERE d.bucket_start < p_upto AND NOT d.recompute)
     AND NOT EXISTS (SELECT 1 FROM rollup_agent_delta a WHERE a.bucket_start < p_upto) THEN
    RETURN NEXT;
    RETURN;
  END IF;

  -- a bucket waiting for a recompute is probed for only when some bucket waits (rarely: retention's marks beyond
  -- one run's MAX_DIRTY_MARKS), by index, per log row
  WITH waiting AS MATERIALIZED (
    SELECT EXISTS (SELECT 1 FROM rollup_dirty p WHERE p.recompute AND p.bucket_start < p_upto) AS any
  ),
  marks AS (
    DELETE FROM rollup_dirty d
     WHERE d.bucket_start < p_upto AND NOT d.recompute
       AND (NOT (SELECT w.any FROM waiting w)
            OR NOT EXISTS (SELECT 1 FROM rollup_dirty p
                            WHERE p.org_id = d.org_id AND p.bucket_start = d.bucket_start AND p.recompute))
    RETURNING d.*
  ),
  agent_deltas AS (
    DELETE FROM rollup_agent_delta a
     WHERE a.bucket_start < p_upto
       AND (NOT (SELECT w.any FROM waiting w)
            OR NOT EXISTS (SELECT 1 FROM rollup_dirty p
                            WHERE p.org_id = a.org_id AND p.recompute AND p.bucket_start < p_upto
                              AND p.bucket_start >= tally_rollup_hour(a.bucket_start)
                              AND p.bucket_start < tally_rollup_hour(a.bucket_start) + interval '1 hour'))
    RETURNING a.*
  ),
  call_sums AS MATERIALIZED (
    SELECT s.*, (SELECT r.ctid FROM call_rollup_15m r WHERE r.org_id = s.org_id AND r.bucket_start = s.bucket_start) AS tid
      FROM (
      SELECT m.org_id, m.bucket_start,
             sum(m.calls) AS calls, sum(m.completed) AS completed,
             sum(m.duration_completed_sum) AS duration_completed_sum, sum(m.scored) AS scored,
             sum(m.qualified) AS qualified, sum(m.score_sum) AS score_sum, sum(m.hot) AS hot, sum(m.warm) AS warm,
             sum(m.cold) AS cold, sum(m.booked) AS booked,
             sum(m.outcome_appointment_booked) AS outcome_appointment_booked,
             sum(m.outcome_qualified) AS outcome_qualified,
             sum(m.outcome_callback_requested) AS outcome_callback_requested,
             sum(m.outcome_not_interested) AS outcome_not_interested, sum(m.outcome_voicemail) AS outcome_voicemail,
             sum(m.outcome_wrong_number) AS outcome_wrong_number, sum(m.credits_used) AS credits_used,
             sum(m.inbound_queued) AS inbound_queued, sum(m.inbound_ringing) AS inbound_ringing,
             sum(m.inbound_in_progress) AS inbound_in_progress, sum(m.inbound_completed) AS inbound_completed,
             sum(m.inbound_failed) AS inbound_failed, sum(m.inbound_missed) AS inbound_missed,
             sum(m.inbound_abandoned) AS inbound_abandoned, sum(m.outbound_queued) AS outbound_queued,
             sum(m.outbound_ringing) AS outbound_ringing, sum(m.outbound_in_progress) AS outbound_in_progress,
             sum(m.outbound_completed) AS outbound_completed, sum(m.outbound_failed) AS outbound_failed,
             sum(m.outbound_missed) AS outbound_missed, sum(m.outbound_abandoned) AS outbound_abandoned
        FROM marks m
       GROUP BY 1, 2) s
     WHERE (s.calls, s.completed, s.duration_completed_sum, s.scored, s.qualified, s.score_sum, s.hot, s.warm,
            s.cold, s.booked, s.outcome_appointment_booked, s.outcome_qualified, s.outcome_callback_requested,
            s.outcome_not_interested, s.outcome_voicemail, s.outcome_wrong_number, s.credits_used, s.inbound_queued,
            s.inbound_ringing, s.inbound_in_progress, s.inbound_completed, s.inbound_failed, s.inbound_missed,
            s.inbound_abandoned, s.outbound_queued, s.outbound_ringing, s.outbound_in_progress, s.outbound_completed,
            s.outbound_failed, s.outbound_missed, s.outbound_abandoned)
           IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
       AND EXISTS (SELECT 1 FROM organizations o WHERE o.id = s.org_id)
     ORDER BY s.org_id, s.bucket_start
  ),
  call_updated AS (
    UPDATE call_rollup_15m r SET
      calls = r.calls + s.calls, completed = r.completed + s.completed,
      duration_completed_sum = r.duration_completed_sum + s.duration_completed_sum, scored = r.scored + s.scored,
      qualified = r.qualified + s.qualified, score_sum = r.score_sum + s.score_sum, hot = r.hot + s.hot,
      warm = r.warm + s.warm, cold = r.cold + s.cold, booked = r.booked + s.booked,
      outcome_appointment_booked = r.outcome_appointment_booked + s.outcome_appointment_booked,
      outcome_qualified = r.outcome_qualified + s.outcome_qualified,
      outcome_callback_requested = r.outcome_callback_requested + s.outcome_callback_requested,
      outcome_not_interested = r.outcome_not_interested + s.outcome_not_interested,
      outcome_voicemail = r.outcome_voicemail + s.outcome_voicemail,
      outcome_wrong_number = r.outcome_wrong_number + s.outcome_wrong_number,
      credits_used = r.credits_used + s.credits_used, inbound_queued = r.inbound_queued + s.inbound_queued,
      inbound_ringing = r.inbound_ringing + s.inbound_ringing,
      inbound_in_progress = r.inbound_in_progress + s.inbound_in_progress,
      inbound_completed = r.inbound_completed + s.inbound_completed,
      inbound_failed = r.inbound_failed + s.inbound_failed, inbound_missed = r.inbound_missed + s.inbound_missed,
      inbound_abandoned = r.inbound_abandoned + s.inbound_abandoned,
      outbound_queued = r.outbound_queued + s.outbound_queued,
      outbound_ringing = r.outbound_ringing + s.outbound_ringing,
      outbound_in_progress = r.outbound_in_progress + s.outbound_in_progress,
      outbound_completed = r.outbound_completed + s.outbound_completed,
      outbound_failed = r.outbound_failed + s.outbound_failed,
      outbound_missed = r.outbound_missed + s.outbound_missed,
      outbound_abandoned = r.outbound_abandoned + s.outbound_abandoned
      FROM (SELECT * FROM call_sums ORDER BY tid) s
     WHERE r.ctid = s.tid
    RETURNING r.org_id, r.bucket_start, r.calls
  ),
  call_inserted AS (
    INSERT INTO call_rollup_15m (org_id, bucket_start,
      calls, completed, duration_completed_sum, scored, qualified, score_sum, hot, warm, cold, booked,
      outcome_appointment_booked, outcome_qualified, outcome_callback_requested, outcome_not_interested,
      outcome_voicemail, outcome_wrong_number, credits_used, inbound_queued, inbound_ringing, inbound_in_progress,
      inbound_completed, inbound_failed, inbound_missed, inbound_abandoned, outbound_queued, outbound_ringing,
      outbound_in_progress, outbound_completed, outbound_failed, outbound_missed, outbound_abandoned)
    SELECT s.org_id, s.bucket_start,
           s.calls, s.completed, s.duration_completed_sum, s.scored, s.qualified, s.score_sum, s.hot, s.warm, s.cold,
           s.booked, s.outcome_appointment_booked, s.outcome_qualified, s.outcome_callback_requested,
           s.outcome_not_interested, s.outcome_voicemail, s.outcome_wrong_number, s.credits_used, s.inbound_queued,
           s.inbound_ringing, s.inbound_in_progress, s.inbound_completed, s.inbound_failed, s.inbound_missed,
           s.inbound_abandoned, s.outbound_queued, s.outbound_ringing, s.outbound_in_progress, s.outbound_completed,
           s.outbound_failed, s.outbound_missed, s.outbound_abandoned
      FROM call_sums s WHERE s.tid IS NULL
    RETURNING call_rollup_15m.org_id, call_rollup_15m.bucket_start, call_rollup_15m.calls
  ),
  -- call_rollup_hourly: each hour moves by the sum of its buckets' deltas, so it stays the sum of its 15-minute rows
  call_hour_sums AS MATERIALIZED (
    SELECT s.*, (SELECT r.ctid FROM call_rollup_hourly r WHERE r.org_id = s.org_id AND r.bucket_start = s.bucket_start) AS tid
      FROM (
      SELECT c.org_id, tally_rollup_hour(c.bucket_start) AS bucket_start,
             sum(c.calls) AS calls, sum(c.completed) AS completed,
             sum(c.duration_completed_sum) AS duration_completed_sum, sum(c.scored) AS scored,
             sum(c.qualified) AS qualified, sum(c.score_sum) AS score_sum, sum(c.hot) AS hot, sum(c.warm) AS warm,
             sum(c.cold) AS cold, sum(c.booked) AS booked,
             sum(c.outcome_appointment_booked) AS outcome_appointment_booked,
             sum(c.outcome_qualified) AS outcome_qualified,
             sum(c.outcome_callback_requested) AS outcome_callback_requested,
             sum(c.outcome_not_interested) AS outcome_not_interested, sum(c.outcome_voicemail) AS outcome_voicemail,
             sum(c.outcome_wrong_number) AS outcome_wrong_number, sum(c.credits_used) AS credits_used,
             sum(c.inbound_queued) AS inbound_queued, sum(c.inbound_ringing) AS inbound_ringing,
             sum(c.inbound_in_progress) AS inbound_in_progress, sum(c.inbound_completed) AS inbound_completed,
             sum(c.inbound_failed) AS inbound_failed, sum(c.inbound_missed) AS inbound_missed,
             sum(c.inbound_abandoned) AS inbound_abandoned, sum(c.outbound_queued) AS outbound_queued,
             sum(c.outbound_ringing) AS outbound_ringing, sum(c.outbound_in_progress) AS outbound_in_progress,
             sum(c.outbound_completed) AS outbound_completed, sum(c.outbound_failed) AS outbound_failed,
             sum(c.outbound_missed) AS outbound_missed, sum(c.outbound_abandoned) AS outbound_abandoned
        FROM call_sums c
       GROUP BY 1, 2) s
     WHERE (
            s.calls, s.completed, s.duration_completed_sum, s.scored, s.qualified, s.score_sum, s.hot, s.warm,
            s.cold, s.booked, s.outcome_appointment_booked, s.outcome_qualified, s.outcome_callback_requested,
            s.outcome_not_interested, s.outcome_voicemail, s.outcome_wrong_number, s.credits_used, s.inbound_queued,
            s.inbound_ringing, s.inbound_in_progress, s.inbound_completed, s.inbound_failed, s.inbound_missed,
            s.inbound_abandoned, s.outbound_queued, s.outbound_ringing, s.outbound_in_progress,
            s.outbound_completed, s.outbound_failed, s.outbound_missed, s.outbound_abandoned)
           IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
     ORDER BY s.org_id, s.bucket_start
  ),
  call_hour_updated AS (
    UPDATE call_rollup_hourly r SET
      calls = r.calls + s.calls, completed = r.completed + s.completed,
      duration_completed_sum = r.duration_completed_sum + s.duration_completed_sum, scored = r.scored + s.scored,
      qualified = r.qualified + s.qualified, score_sum = r.score_sum + s.score_sum, hot = r.hot + s.hot,
      warm = r.warm + s.warm, cold = r.cold + s.cold, booked = r.booked + s.booked,
      outcome_appointment_booked = r.outcome_appointment_booked + s.outcome_appointment_booked,
      outcome_qualified = r.outcome_qualified + s.outcome_qualified,
      outcome_callback_requested = r.outcome_callback_requested + s.outcome_callback_requested,
      outcome_not_interested = r.outcome_not_interested + s.outcome_not_interested,
      outcome_voicemail = r.outcome_voicemail + s.outcome_voicemail,
      outcome_wrong_number = r.outcome_wrong_number + s.outcome_wrong_number,
      credits_used = r.credits_used + s.credits_used, inbound_queued = r.inbound_queued + s.inbound_queued,
      inbound_ringing = r.inbound_ringing + s.inbound_ringing,
      inbound_in_progress = r.inbound_in_progress + s.inbound_in_progress,
      inbound_completed = r.inbound_completed + s.inbound_completed,
      inbound_failed = r.inbound_failed + s.inbound_failed, inbound_missed = r.inbound_missed + s.inbound_missed,
      inbound_abandoned = r.inbound_abandoned + s.inbound_abandoned,
      outbound_queued = r.outbound_queued + s.outbound_queued,
      outbound_ringing = r.outbound_ringing + s.outbound_ringing,
      outbound_in_progress = r.outbound_in_progress + s.outbound_in_progress,
      outbound_completed = r.outbound_completed + s.outbound_completed,
      outbound_failed = r.outbound_failed + s.outbound_failed,
      outbound_missed = r.outbound_missed + s.outbound_missed,
      outbound_abandoned = r.outbound_abandoned + s.outbound_abandoned
      FROM (SELECT * FROM call_hour_sums ORDER BY tid) s
     WHERE r.ctid = s.tid
    RETURNING r.org_id, r.bucket_start, r.calls
  ),
  call_hour_inserted AS (
    INSERT INTO call_rollup_hourly (org_id, bucket_start,
      calls, completed, duration_completed_sum, scored, qualified, score_sum, hot, warm, cold, booked,
      outcome_appointment_booked, outcome_qualified, outcome_callback_requested, outcome_not_interested,
      outcome_voicemail, outcome_wrong_number, credits_used, inbound_queued, inbound_ringing, inbound_in_progress,
      inbound_completed, inbound_failed, inbound_missed, inbound_abandoned, outbound_queued, outbound_ringing,
      outbound_in_progress, outbound_completed, outbound_failed, outbound_missed, outbound_abandoned)
    SELECT s.org_id, s.bucket_start,
           s.calls, s.completed, s.duration_completed_sum, s.scored, s.qualified, s.score_sum, s.hot, s.warm,
           s.cold, s.booked, s.outcome_appointment_booked, s.outcome_qualified, s.outcome_callback_requested,
           s.outcome_not_interested, s.outcome_voicemail, s.outcome_wrong_number, s.credits_used, s.inbound_queued,
           s.inbound_ringing, s.inbound_in_progress, s.inbound_completed, s.inbound_failed, s.inbound_missed,
           s.inbound_abandoned, s.outbound_queued, s.outbound_ringing, s.outbound_in_progress, s.outbound_completed,
           s.outbound_failed, s.outbound_missed, s.outbound_abandoned
      FROM call_hour_sums s WHERE s.tid IS NULL
    RETURNING call_rollup_hourly.org_id, call_rollup_hourly.bucket_start, call_rollup_hourly.calls
  ),
  hour_sums AS MATERIALIZED (
    SELECT s.*, (SELECT r.ctid FROM agent_rollup_hourly r
                  WHERE r.org_id = s.org_id AND r.bucket_start = s.bucket_start AND r.agent_id = s.agent_id) AS tid
      FROM (
      SELECT a.org_id, tally_rollup_hour(a.bucket_start) AS bucket_start, a.agent_id,
             sum(a.calls) AS calls, sum(a.completed) AS completed,
             sum(a.duration_completed_sum) AS duration_completed_sum, sum(a.scored) AS scored,
             sum(a.score_sum) AS score_sum, sum(a.booked) AS booked, sum(a.credits_used) AS credits_used,
             sum(a.milestones) AS milestones, sum(a.milestones_achieved) AS milestones_achieved,
             sum(a.objections) AS objections, sum(a.objections_handled) AS objections_handled
        FROM agent_deltas a
       GROUP BY 1, 2, 3) s
     WHERE (s.calls, s.completed, s.duration_completed_sum, s.scored, s.score_sum, s.booked, s.credits_used,
            s.milestones, s.milestones_achieved, s.objections, s.objections_handled)
           IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
       AND EXISTS (SELECT 1 FROM organizations o WHERE o.id = s.org_id)
     ORDER BY s.org_id, s.bucket_start, s.agent_id
  ),
  hour_updated AS (
    UPDATE agent_rollup_hourly r SET
      calls = r.calls + s.calls, completed = r.completed + s.completed,
      duration_completed_sum = r.duration_completed_sum + s.duration_completed_sum, scored = r.scored + s.scored,
      score_sum = r.score_sum + s.score_sum, booked = r.booked + s.booked,
      credits_used = r.credits_used + s.credits_used, milestones = r.milestones + s.milestones,
      milestones_achieved = r.milestones_achieved + s.milestones_achieved, objections = r.objections + s.objections,
      objections_handled = r.objections_handled + s.objections_handled
      FROM (SELECT * FROM hour_sums ORDER BY tid) s
     WHERE r.ctid = s.tid
    RETURNING r.org_id, r.bucket_start, r.agent_id, r.calls
  ),
  hour_inserted AS (
    INSERT INTO agent_rollup_hourly (org_id, bucket_start, agent_id,
      calls, completed, duration_completed_sum, scored, score_sum, booked, credits_used, milestones,
      milestones_achieved, objections, objections_handled)
    SELECT s.org_id, s.bucket_start, s.agent_id,
           s.calls, s.completed, s.duration_completed_sum, s.scored, s.score_sum, s.booked, s.credits_used,
           s.milestones, s.milestones_achieved, s.objections, s.objections_handled
      FROM hour_sums s WHERE s.tid IS NULL
    RETURNING agent_rollup_hourly.org_id, agent_rollup_hourly.bucket_start, agent_rollup_hourly.agent_id, agent_rollup_hourly.calls
  ),
  day_sums AS MATERIALIZED (
    SELECT s.*, (SELECT r.ctid FROM agent_rollup_daily r
                  WHERE r.org_id = s.org_id AND r.day_start = s.day_start AND r.agent_id = s.agent_id) AS tid
      FROM (
      SELECT h.org_id, tally_rollup_day(h.bucket_start) AS day_start, h.agent_id,
             sum(h.calls) AS calls, sum(h.completed) AS completed,
             sum(h.duration_completed_sum) AS duration_completed_sum, sum(h.scored) AS scored,
             sum(h.score_sum) AS score_sum, sum(h.booked) AS booked, sum(h.credits_used) AS credits_used,
             sum(h.milestones) AS milestones, sum(h.milestones_achieved) AS milestones_achieved,
             sum(h.objections) AS objections, sum(h.objections_handled) AS objections_handled
        FROM hour_sums h
       GROUP BY 1, 2, 3) s
     WHERE (s.calls, s.completed, s.duration_completed_sum, s.scored, s.score_sum, s.booked, s.credits_used,
            s.milestones, s.milestones_achieved, s.objections, s.objections_handled)
           IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
     ORDER BY s.org_id, s.day_start, s.agent_id
  ),
  day_updated AS (
    UPDATE agent_rollup_daily r SET
      calls = r.calls + s.calls, completed = r.completed + s.completed,
      duration_completed_sum = r.duration_completed_sum + s.duration_completed_sum, scored = r.scored + s.scored,
      score_sum = r.score_sum + s.score_sum, booked = r.booked + s.booked,
      credits_used = r.credits_used + s.credits_used, milestones = r.milestones + s.milestones,
      milestones_achieved = r.milestones_achieved + s.milestones_achieved, objections = r.objections + s.objections,
      objections_handled = r.objections_handled + s.objections_handled
      FROM (SELECT * FROM day_sums ORDER BY tid) s
     WHERE r.ctid = s.tid
    RETURNING r.org_id, r.day_start, r.agent_id, r.calls
  ),
  day_inserted AS (
    INSERT INTO agent_rollup_daily (org_id, day_start, agent_id,
      calls, completed, duration_completed_sum, scored, score_sum, booked, credits_used, milestones,
      milestones_achieved, objections, objections_handled)
    SELECT s.org_id, s.day_start, s.agent_id,
           s.calls, s.completed, s.duration_completed_sum, s.scored, s.score_sum, s.booked, s.credits_used,
           s.milestones, s.milestones_achieved, s.objections, s.objections_handled
      FROM day_sums s WHERE s.tid IS NULL
    RETURNING agent_rollup_daily.org_id, agent_rollup_daily.day_start, agent_rollup_daily.agent_id, agent_rollup_daily.calls
  ),
  call_zero AS (
    SELECT z.org_id, z.bucket_start FROM call_updated z WHERE z.calls = 0
    UNION ALL SELECT z.org_id, z.bucket_start FROM call_inserted z WHERE z.calls = 0
  ),
  call_hour_zero AS (
    SELECT z.org_id, z.bucket_start FROM call_hour_updated z WHERE z.calls = 0
    UNION ALL SELECT z.org_id, z.bucket_start FROM call_hour_inserted z WHERE z.calls = 0
  ),
  hour_zero AS (
    SELECT z.org_id, z.bucket_start, z.agent_id FROM hour_updated z WHERE z.calls = 0
    UNION ALL SELECT z.org_id, z.bucket_start, z.agent_id FROM hour_inserted z WHERE z.calls = 0
  ),
  day_zero AS (
    SELECT z.org_id, z.day_start, z.agent_id FROM day_updated z WHERE z.calls = 0
    UNION ALL SELECT z.org_id, z.day_start, z.agent_id FROM day_inserted z WHERE z.calls = 0
  )
  SELECT (SELECT count(*) FROM marks), (SELECT count(*) FROM agent_deltas),
         (SELECT count(*) FROM call_updated) + (SELECT count(*) FROM call_inserted)
           + (SELECT count(*) FROM call_hour_updated) + (SELECT count(*) FROM call_hour_inserted),
         (SELECT count(*) FROM hour_updated) + (SELECT count(*) FROM hour_inserted)
           + (SELECT count(*) FROM day_updated) + (SELECT count(*) FROM day_inserted),
         (SELECT array_agg(z.org_id) FROM call_zero z), (SELECT array_agg(z.bucket_start) FROM call_zero z),
         (SELECT array_agg(z.org_id) FROM call_hour_zero z), (SELECT array_agg(z.bucket_start) FROM call_hour_zero z),
         (SELECT array_agg(z.org_id) FROM hour_zero z), (SELECT array_agg(z.bucket_start) FROM hour_zero z),
         (SELECT array_agg(z.agent_id) FROM hour_zero z),
         (SELECT array_agg(z.org_id) FROM day_zero z), (SELECT array_agg(z.day_start) FROM day_zero z),
         (SELECT array_agg(z.agent_id) FROM day_zero z)
    INTO marks, agent_deltas, call_rows, agent_rows, c_org, c_bucket, ch_org, ch_hour, h_org, h_hour, h_agent, d_org, d_day,
         d_agent;

  -- rows whose calls fell to 0 go, by key
  IF c_org IS NOT NULL THEN
    DELETE FROM call_rollup_15m r USING unnest(c_org, c_bucket) AS z (org_id, bucket_start)
     WHERE r.org_id = z.org_id AND r.bucket_start = z.bucket_start AND r.calls = 0;
  END IF;
  IF ch_org IS NOT NULL THEN
    DELETE FROM call_rollup_hourly r USING unnest(ch_org, ch_hour) AS z (org_id, bucket_start)
     WHERE r.org_id = z.org_id AND r.bucket_start = z.bucket_start AND r.calls = 0;
  END IF;
  IF h_org IS NOT NULL THEN
    DELETE FROM agent_rollup_hourly r USING unnest(h_org, h_hour, h_agent) AS z (org_id, bucket_start, agent_id)
     WHERE r.org_id = z.org_id AND r.bucket_start = z.bucket_start AND r.agent_id = z.agent_id AND r.calls = 0;
  END IF;
  IF d_org IS NOT NULL THEN
    DELETE FROM agent_rollup_daily r USING unnest(d_org, d_day, d_agent) AS z (org_id, day_start, agent_id)
     WHERE r.org_id = z.org_id AND r.day_start = z.day_start AND r.agent_id = z.agent_id AND r.calls = 0;
  END IF;
  RETURN NEXT;
END;
$$;
--> statement-breakpoint

-- One incremental refresh (after tally_rollup_advance committed), in the caller's transaction (READ COMMITTED: each
-- statement sees what committed before it, after the refresh lock was granted):
--   1. the work set: the buckets of every call that started in [B, W) (never rolled up: recomputed from raw rows) and
--      of the first p_max_marks `recompute` marks. The same statement drops the log rows of the buckets in [B, W)
--      that hold no call now: their deltas count from a state no rollup row holds (the rows are built from this
--      statement's state, which is: no call, no row); a delta committed later survives and is folded in step 3;
--   2. tally_rollup_recompute: the work set from raw rows, consuming the log rows it covers in its snapshot;
--   3. tally_rollup_fold: every other log row below W added to the rollups;
--   4. tally_coverage_refresh (013_coverage.sql): agent coverage built towards W, its marked buckets recomputed;
--   5. B := W.
CREATE OR REPLACE FUNCTION tally_rollup_refresh(p_max_marks int, p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_w timestamptz;
  v_b timestamptz;
  v_org uuid[];
  v_bucket timestamptz[];
  v_range_calls bigint;
  v_recompute_marks bigint;
  v_dropped_marks bigint;
  v_dropped_deltas bigint;
  r record;
  f record;
  cv record;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('tally_rollup_refresh'));
  SELECT watermark, built_to INTO v_w, v_b FROM rollup_state WHERE id = 1;

  WITH ranged_calls AS (
    SELECT c.org_id, tally_rollup_bucket(c.started_at) AS bucket_start
      FROM calls c WHERE c.started_at >= v_b AND c.started_at < v_w
  ),
  ranged AS (
    SELECT DISTINCT org_id, bucket_start FROM ranged_calls
  ),
  recompute AS (
    SELECT DISTINCT m.org_id, m.bucket_start
      FROM (SELECT org_id, bucket_start FROM rollup_dirty WHERE recompute ORDER BY id LIMIT p_max_marks) m
  ),
  dropped_marks AS (
    DELETE FROM rollup_dirty d
     WHERE d.bucket_start >= v_b AND d.bucket_start < v_w
       AND NOT EXISTS (SELECT 1 FROM ranged g WHERE g.org_id = d.org_id AND g.bucket_start = d.bucket_start)
    RETURNING 1
  ),
  dropped_agent_deltas AS (
    DELETE FROM rollup_agent_delta a
     WHERE a.bucket_start >= v_b AND a.bucket_start < v_w
       AND NOT EXISTS (SELECT 1 FROM ranged g WHERE g.org_id = a.org_id AND g.bucket_start = a.bucket_start)
    RETURNING 1
  ),
  work AS (
    SELECT org_id, bucket_start FROM ranged
    UNION
    SELECT org_id, bucket_start FROM recompute
  )
  SELECT coalesce(array_agg(org_id), '{}'), coalesce(array_agg(bucket_start), '{}'), (SELECT count(*) FROM ranged_calls),
         (SELECT count(*) FROM recompute), (SELECT count(*) FROM dropped_marks), (SELECT count(*) FROM dropped_agent_deltas)
    INTO v_org, v_bucket, v_range_calls, v_recompute_marks, v_dropped_marks, v_dropped_deltas FROM work;

  SELECT * INTO r FROM tally_rollup_recompute(v_org, v_bucket, v_w);
  SELECT * INTO f FROM tally_rollup_fold(v_w);
  -- agent coverage (sql/013_coverage.sql): C towards W, at most 31 days a run, and the marked buckets below C
  SELECT * INTO cv FROM tally_coverage_refresh(v_w, interval '31 days');

  UPDATE rollup_state SET built_to = greatest(built_to, v_w), refreshed_at = p_now WHERE id = 1;

  RETURN jsonb_build_object(
    'watermark', v_w,
    'previousBuiltTo', v_b,
    'recomputeMarks', v_recompute_marks,
    'dirtyMarks', v_dropped_marks + r.marks + f.marks,
    'agentDeltas', v_dropped_deltas + r.agent_deltas + f.agent_deltas,
    'newCalls', v_range_calls,
    'bucketsRecomputed', cardinality(v_org),
    'hoursRecomputed', r.hours,
    'callsRead', r.calls_read,
    'callRollupRows', r.call_rows + f.call_rows,
    'agentRollupRows', r.agent_rows + f.agent_rows,
    'coverageBuiltTo', cv.built_to,
    'coverageMarks', cv.marks,
    'coverageBuckets', cv.buckets,
    'coverageRows', cv.rows_written);
END;
$$;
--> statement-breakpoint

-- Rebuilds every rollup row of one organization from its raw calls (on demand: after direct partition maintenance,
-- a suspected drift, a bulk import that bypassed the triggers). Rows below B are recomputed; [B, W) is the next
-- refresh's. Consumes the organization's change log below B (in the snapshot of the raw rows it reads).
CREATE OR REPLACE FUNCTION tally_rollup_rebuild_org(p_org uuid)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_b timestamptz;
  r record;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('tally_rollup_refresh'));
  SELECT built_to INTO v_b FROM rollup_state WHERE id = 1;
  DELETE FROM call_rollup_15m WHERE org_id = p_org;
  DELETE FROM call_rollup_hourly WHERE org_id = p_org;
  DELETE FROM agent_rollup_hourly WHERE org_id = p_org;
  DELETE FROM agent_rollup_daily WHERE org_id = p_org;
  SELECT * INTO r FROM tally_rollup_insert_grouped(p_org, v_b);
  PERFORM tally_coverage_rebuild_org(p_org);
  RETURN jsonb_build_object(
    'orgId', p_org,
    'builtTo', v_b,
    'dirtyMarks', r.marks,
    'bucketsRecomputed', r.call_rows,
    'callsRead', r.calls_read,
    'callRollupRows', r.call_rows,
    'agentRollupRows', r.agent_rows);
END;
$$;
--> statement-breakpoint

-- Inserts the rollup rows of every bucket below p_upto of one organization (every organization when p_org is NULL)
-- with two GROUP BY scans over its calls: the bulk path of the rebuilds (the caller deleted the old rows and holds
-- the refresh lock). The per-hour recompute (tally_rollup_recompute) is the incremental path.
DROP FUNCTION IF EXISTS tally_rollup_insert_grouped(uuid, timestamptz);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION tally_rollup_insert_grouped(p_org uuid, p_upto timestamptz)
RETURNS TABLE (calls_read bigint, call_rows bigint, agent_rows bigint, marks bigint)
LANGUAGE plpgsql AS $$
BEGIN
  WITH call_inserted AS (
    INSERT INTO call_rollup_15m (
      org_id, bucket_start, calls, completed, duration_completed_sum, scored, qualified, score_sum,
      hot, warm, cold, booked, outcome_appointment_booked, outcome_qualified, outcome_callback_requested,
      outcome_not_interested, outcome_voicemail, outcome_wrong_number, credits_used,
      inbound_queued, inbound_ringing, inbound_in_progress, inbound_completed, inbound_failed, inbound_missed, inbound_abandoned,
      outbound_queued, outbound_ringing, outbound_in_progress, outbound_completed, outbound_failed, outbound_missed, outbound_abandoned)
    SELECT c.org_id, tally_rollup_bucket(c.started_at),
           count(*),
           count(*) FILTER (WHERE c.status = 'completed'),
           coalesce(sum(c.duration_sec) FILTER (WHERE c.status = 'completed'), 0),
           count(c.lead_score),
           count(*) FILTER (WHERE c.lead_score >= 70),
           coalesce(sum(c.lead_score), 0),
           count(*) FILTER (WHERE c.lead_score >= 70),
           count(*) FILTER (WHERE c.lead_score >= 40 AND c.lead_score < 70),
           count(*) FILTER (WHERE c.lead_score < 40),
           count(*) FILTER (WHERE c.outcome = 'appointment_booked'),
           count(*) FILTER (WHERE c.outcome = 'appointment_booked'),
           count(*) FILTER (WHERE c.outcome = 'qualified'),
           count(*) FILTER (WHERE c.outcome = 'callback_requested'),
           count(*) FILTER (WHERE c.outcome = 'not_interested'),
           count(*) FILTER (WHERE c.outcome = 'voicemail'),
           count(*) FILTER (WHERE c.outcome = 'wrong_number'),
           coalesce(sum(c.credits_used), 0),
           count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'queued'),
           count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'ringing'),
           count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'in_progress'),
           count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'completed'),
           count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'failed'),
           count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'missed'),
           count(*) FILTER (WHERE c.direction = 'inbound' AND c.status = 'abandoned'),
           count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'queued'),
           count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'ringing'),
           count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'in_progress'),
           count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'completed'),
           count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'failed'),
           count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'missed'),
           count(*) FILTER (WHERE c.direction = 'outbound' AND c.status = 'abandoned')
      FROM calls c WHERE c.started_at < p_upto AND (p_org IS NULL OR c.org_id = p_org)
     GROUP BY c.org_id, tally_rollup_bucket(c.started_at)
    RETURNING calls
  ),
  milestones AS (
    SELECT m.call_id, m.org_id, count(*) AS n, count(*) FILTER (WHERE m.achieved) AS achieved FROM call_milestones m
     WHERE p_org IS NULL OR m.org_id = p_org GROUP BY 1, 2
  ),
  objections AS (
    SELECT o.call_id, o.org_id, count(*) AS n, count(*) FILTER (WHERE o.handled) AS handled FROM call_objections o
     WHERE p_org IS NULL OR o.org_id = p_org GROUP BY 1, 2
  ),
  agent_inserted AS (
    INSERT INTO agent_rollup_hourly (
      org_id, agent_id, bucket_start, calls, completed, duration_completed_sum, scored, score_sum, booked, credits_used,
      milestones, milestones_achieved, objections, objections_handled)
    SELECT c.org_id, c.agent_id, tally_rollup_hour(c.started_at),
           count(*),
           count(*) FILTER (WHERE c.status = 'completed'),
           coalesce(sum(c.duration_sec) FILTER (WHERE c.status = 'completed'), 0),
           count(c.lead_score),
           coalesce(sum(c.lead_score), 0),
           count(*) FILTER (WHERE c.outcome = 'appointment_booked'),
           coalesce(sum(c.credits_used), 0),
           coalesce(sum(ms.n), 0),
           coalesce(sum(ms.achieved), 0),
           coalesce(sum(ob.n), 0),
           coalesce(sum(ob.handled), 0)
      FROM calls c
      LEFT JOIN milestones ms ON ms.call_id = c.id AND ms.org_id = c.org_id
      LEFT JOIN objections ob ON ob.call_id = c.id AND ob.org_id = c.org_id
     WHERE c.started_at < p_upto AND c.agent_id IS NOT NULL AND (p_org IS NULL OR c.org_id = p_org)
     GROUP BY c.org_id, c.agent_id, tally_rollup_hour(c.started_at)
    RETURNING 1
  ),
  -- the change log below p_upto, in the same snapshot as the raw rows read: a delta committed before is in them, one
  -- committed after survives and the next refresh adds it to these rows
  marks_consumed AS (
    DELETE FROM rollup_dirty d WHERE d.bucket_start < p_upto AND (p_org IS NULL OR d.org_id = p_org) RETURNING 1
  ),
  agent_deltas_consumed AS (
    DELETE FROM rollup_agent_delta a WHERE a.bucket_start < p_upto AND (p_org IS NULL OR a.org_id = p_org) RETURNING 1
  )
  SELECT (SELECT count(*) FROM call_inserted), (SELECT coalesce(sum(calls), 0) FROM call_inserted),
         (SELECT count(*) FROM agent_inserted),
         (SELECT count(*) FROM marks_consumed)
    INTO call_rows, calls_read, agent_rows, marks;
  -- the hours: sums of the 15-minute rows just written
  INSERT INTO call_rollup_hourly (org_id, bucket_start,
      calls, completed, duration_completed_sum, scored, qualified, score_sum, hot, warm, cold, booked,
      outcome_appointment_booked, outcome_qualified, outcome_callback_requested, outcome_not_interested,
      outcome_voicemail, outcome_wrong_number, credits_used, inbound_queued, inbound_ringing, inbound_in_progress,
      inbound_completed, inbound_failed, inbound_missed, inbound_abandoned, outbound_queued, outbound_ringing,
      outbound_in_progress, outbound_completed, outbound_failed, outbound_missed, outbound_abandoned)
  SELECT r.org_id, tally_rollup_hour(r.bucket_start),
         sum(r.calls), sum(r.completed), sum(r.duration_completed_sum), sum(r.scored), sum(r.qualified),
         sum(r.score_sum), sum(r.hot), sum(r.warm), sum(r.cold), sum(r.booked), sum(r.outcome_appointment_booked),
         sum(r.outcome_qualified), sum(r.outcome_callback_requested), sum(r.outcome_not_interested),
         sum(r.outcome_voicemail), sum(r.outcome_wrong_number), sum(r.credits_used), sum(r.inbound_queued),
         sum(r.inbound_ringing), sum(r.inbound_in_progress), sum(r.inbound_completed), sum(r.inbound_failed),
         sum(r.inbound_missed), sum(r.inbound_abandoned), sum(r.outbound_queued), sum(r.outbound_ringing),
         sum(r.outbound_in_progress), sum(r.outbound_completed), sum(r.outbound_failed), sum(r.outbound_missed),
         sum(r.outbound_abandoned)
    FROM call_rollup_15m r
   WHERE p_org IS NULL OR r.org_id = p_org
   GROUP BY 1, 2;
  -- the days: sums of the hourly rows just written
  INSERT INTO agent_rollup_daily (org_id, agent_id, day_start, calls, completed, duration_completed_sum, scored, score_sum, booked, credits_used, milestones, milestones_achieved, objections, objections_handled)
  SELECT h.org_id, h.agent_id, tally_rollup_day(h.bucket_start),
         sum(h.calls), sum(h.completed), sum(h.duration_completed_sum), sum(h.scored), sum(h.score_sum), sum(h.booked), sum(h.credits_used), sum(h.milestones), sum(h.milestones_achieved), sum(h.objections), sum(h.objections_handled)
    FROM agent_rollup_hourly h
   WHERE p_org IS NULL OR h.org_id = p_org
   GROUP BY 1, 2, 3;
  RETURN NEXT;
END;
$$;
--> statement-breakpoint

-- The full recompute (the benchmark's baseline, and a reset after direct partition maintenance): every rollup row
-- from every call below W in two GROUP BY scans, B moved up to W, the change log below W consumed. Readers keep seeing the
-- previous rows until it commits.
CREATE OR REPLACE FUNCTION tally_rollup_rebuild_all(p_now timestamptz)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_w timestamptz;
  v_coverage_rows bigint;
  r record;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('tally_rollup_refresh'));
  SELECT watermark INTO v_w FROM rollup_state WHERE id = 1;
  DELETE FROM call_rollup_15m;
  DELETE FROM call_rollup_hourly;
  DELETE FROM agent_rollup_hourly;
  DELETE FROM agent_rollup_daily;
  SELECT * INTO r FROM tally_rollup_insert_grouped(NULL, v_w);
  UPDATE rollup_state SET built_to = v_w, refreshed_at = p_now WHERE id = 1;
  v_coverage_rows := tally_coverage_rebuild_all(v_w);
  RETURN jsonb_build_object(
    'watermark', v_w,
    'coverageRows', v_coverage_rows,
    'dirtyMarks', r.marks,
    'callsRead', r.calls_read,
    'callRollupRows', r.call_rows,
    'agentRollupRows', r.agent_rows);
END;
$$;
--> statement-breakpoint

-- Forgets the rollups of the time retention removed from calls: maintain-partitions detaches and drops whole month
-- partitions, which fires no row or statement trigger, so the rows and marks of buckets before the cutoff (raised to
-- the hour; month boundaries are) are deleted here (agent_rollup_daily: the days before it, and the day holding it
-- summed again from its remaining hours), in the transaction that dropped the partitions. Calls that are
-- still there before the cutoff (the default partition holds months without a partition of their own) get their
-- buckets marked, so the answers stay exact and the next refreshes rebuild those rows. Answers the rollup rows deleted.
CREATE OR REPLACE FUNCTION tally_rollup_forget_before(p_cutoff timestamptz)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_cutoff timestamptz := CASE WHEN tally_rollup_hour(p_cutoff) = p_cutoff THEN p_cutoff ELSE tally_rollup_hour(p_cutoff) + interval '1 hour' END;
  v_w timestamptz;
  v_calls bigint;
  v_agents bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('tally_rollup_refresh'));
  SELECT watermark INTO v_w FROM rollup_state WHERE id = 1;
  DELETE FROM call_rollup_15m WHERE bucket_start < v_cutoff;
  GET DIAGNOSTICS v_calls = ROW_COUNT;
  DELETE FROM call_rollup_hourly WHERE bucket_start < v_cutoff;
  DELETE FROM agent_rollup_hourly WHERE bucket_start < v_cutoff;
  GET DIAGNOSTICS v_agents = ROW_COUNT;
  DELETE FROM agent_rollup_daily WHERE day_start < tally_rollup_day_ceil(v_cutoff);
  INSERT INTO agent_rollup_daily (org_id, agent_id, day_start, calls, completed, duration_completed_sum, scored, score_sum, booked, credits_used, milestones, milestones_achieved, objections, objections_handled)
  SELECT h.org_id, h.agent_id, tally_rollup_day(h.bucket_start),
         sum(h.calls), sum(h.completed), sum(h.duration_completed_sum), sum(h.scored), sum(h.score_sum), sum(h.booked), sum(h.credits_used), sum(h.milestones), sum(h.milestones_achieved), sum(h.objections), sum(h.objections_handled)
    FROM agent_rollup_hourly h
   WHERE h.bucket_start >= tally_rollup_day(v_cutoff) AND h.bucket_start < tally_rollup_day_ceil(v_cutoff)
   GROUP BY 1, 2, 3;
  DELETE FROM rollup_dirty WHERE bucket_start < v_cutoff;
  DELETE FROM rollup_agent_delta WHERE bucket_start < v_cutoff;
  INSERT INTO rollup_dirty (org_id, bucket_start, recompute)
  SELECT DISTINCT c.org_id, tally_rollup_bucket(c.started_at), true FROM calls c WHERE c.started_at < least(v_cutoff, v_w);
  RETURN v_calls + v_agents;
END;
$$;
--> statement-breakpoint

-- Reads of the rollups are index-only scans, which skip the heap only on pages the visibility map marks all-visible;
-- every refresh rewrites some rows and clears those bits. Vacuum the rollup tables after 1 % of their rows changed or
-- were inserted (the default waits for 20 %), so reads stay index-only between refreshes.
ALTER TABLE call_rollup_15m SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);
--> statement-breakpoint
ALTER TABLE call_rollup_hourly SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);
--> statement-breakpoint
ALTER TABLE agent_rollup_hourly SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);

--> statement-breakpoint
ALTER TABLE agent_rollup_daily SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);