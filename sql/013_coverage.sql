-- Agent coverage pre-aggregated (issue #16 item 2; tables in drizzle/schema/rollups.ts, design in
-- functions/rollups/README.md "Coverage"). Idempotent: re-applied on every migrate, in name order.
--
-- Invariants:
--   * C = rollup_state.coverage_built_to: 15-minute aligned, C <= W (the rollups' watermark), only grows (but on a
--     full rebuild). coverage_15m holds rows of buckets below C only; a row is the bucket's agent time (each agent's
--     sessions merged first) and covered time (the union of all sessions), open sessions counted to the bucket's end,
--     as of the snapshot of the refresh that wrote it plus every change whose mark is gone.
--   * A transaction that inserts, updates or deletes sessions appends, per changed row, the 15-minute-aligned time below
--     W whose coverage it changed to coverage_dirty. It reads W under the shared watermark lock (held to its commit),
--     like the call triggers, so every change either is in the raw rows a refresh reads or leaves a mark behind it.
--   * Reads: stored rows of buckets below least(C, the bucket of now) not inside a mark, raw sessions for the rest.

CREATE INDEX IF NOT EXISTS coverage_15m_covering_idx ON coverage_15m (org_id, bucket_start) INCLUDE (agent_microseconds, covered_microseconds);
--> statement-breakpoint

-- The time a set of session rows covers below W, as marks: [bucket of started_at, 15-minute ceiling of least(ended_at,
-- W)), an open session reaching to W. p_from / p_to are the changed time's bounds (NULL = infinity).
CREATE OR REPLACE FUNCTION tally_coverage_mark(p_org uuid[], p_from timestamptz[], p_to timestamptz[], p_w timestamptz)
RETURNS void
LANGUAGE sql AS $$
  INSERT INTO coverage_dirty (org_id, dirty_from, dirty_to)
  SELECT c.org_id, tally_rollup_bucket(c.changed_from), tally_rollup_ceil(least(coalesce(c.changed_to, 'infinity'), p_w))
    FROM unnest(p_org, p_from, p_to) AS c (org_id, changed_from, changed_to)
   WHERE c.changed_from < least(coalesce(c.changed_to, 'infinity'), p_w)
$$;
--> statement-breakpoint

-- Inserted or deleted sessions: the time each covers below W. (One function for both statements: plpgsql plans a
-- statement when it first runs it, so the branch of the other operation never names a transition table it lacks.)
CREATE OR REPLACE FUNCTION tally_coverage_mark_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_w timestamptz := tally_rollup_watermark_for_write();
  v_org uuid[];
  v_from timestamptz[];
  v_to timestamptz[];
BEGIN
  IF v_w = '-infinity' THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(org_id), array_agg(started_at), array_agg(ended_at) INTO v_org, v_from, v_to
      FROM coverage_new WHERE started_at < v_w;
  ELSE
    SELECT array_agg(org_id), array_agg(started_at), array_agg(ended_at) INTO v_org, v_from, v_to
      FROM coverage_old WHERE started_at < v_w;
  END IF;
  IF v_org IS NOT NULL THEN PERFORM tally_coverage_mark(v_org, v_from, v_to, v_w); END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- An update that only sets or moves ended_at (a session closed, or its end corrected) changed the time between the
-- old and the new end; any other change of the session's organization, agent or start changed both extents.
CREATE OR REPLACE FUNCTION tally_coverage_mark_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_w timestamptz := tally_rollup_watermark_for_write();
  v_org uuid[];
  v_from timestamptz[];
  v_to timestamptz[];
BEGIN
  IF v_w = '-infinity' THEN RETURN NULL; END IF;
  WITH pairs AS (
    SELECT o.org_id AS o_org, o.agent_id AS o_agent, o.started_at AS o_started, coalesce(o.ended_at, 'infinity') AS o_ended,
           n.org_id AS n_org, n.agent_id AS n_agent, n.started_at AS n_started, coalesce(n.ended_at, 'infinity') AS n_ended
      FROM coverage_old o FULL JOIN coverage_new n ON n.id = o.id
  ),
  changed AS (
    SELECT o_org AS org_id, least(o_ended, n_ended) AS changed_from, greatest(o_ended, n_ended) AS changed_to
      FROM pairs
     WHERE o_org = n_org AND o_agent = n_agent AND o_started = n_started AND o_ended <> n_ended
    UNION ALL
    SELECT x.org_id, x.started_at, x.ended_at
      FROM pairs p
      CROSS JOIN LATERAL (VALUES (p.o_org, p.o_started, p.o_ended), (p.n_org, p.n_started, p.n_ended)) AS x (org_id, started_at, ended_at)
     WHERE x.org_id IS NOT NULL
       AND (p.o_org IS NULL OR p.n_org IS NULL OR p.o_org <> p.n_org OR p.o_agent <> p.n_agent OR p.o_started <> p.n_started)
  )
  SELECT array_agg(org_id), array_agg(changed_from), array_agg(changed_to) INTO v_org, v_from, v_to
    FROM changed WHERE changed_from < v_w;
  IF v_org IS NOT NULL THEN PERFORM tally_coverage_mark(v_org, v_from, v_to, v_w); END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- TRUNCATE agent_sessions (also a TRUNCATE ... CASCADE of agents or organizations) empties the coverage rows and marks.
CREATE OR REPLACE FUNCTION tally_coverage_sessions_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM coverage_15m;
  DELETE FROM coverage_dirty;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

CREATE OR REPLACE TRIGGER tally_coverage_sessions_insert AFTER INSERT ON agent_sessions
  REFERENCING NEW TABLE AS coverage_new FOR EACH STATEMENT EXECUTE FUNCTION tally_coverage_mark_rows();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_coverage_sessions_update AFTER UPDATE ON agent_sessions
  REFERENCING OLD TABLE AS coverage_old NEW TABLE AS coverage_new FOR EACH STATEMENT EXECUTE FUNCTION tally_coverage_mark_update();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_coverage_sessions_delete AFTER DELETE ON agent_sessions
  REFERENCING OLD TABLE AS coverage_old FOR EACH STATEMENT EXECUTE FUNCTION tally_coverage_mark_rows();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_coverage_sessions_truncate AFTER TRUNCATE ON agent_sessions
  FOR EACH STATEMENT EXECUTE FUNCTION tally_coverage_sessions_truncated();
--> statement-breakpoint

-- Advances C towards p_w (at most p_max_span past it: a first build over months drains over several runs) and
-- recomputes the marked buckets below C, from raw sessions in ONE statement (one snapshot), which also deletes the
-- marks it covers in that snapshot: a mark committed before is in the sessions read, one committed after survives
-- (its buckets stay raw for reads until the next run). The time from C to the new C needs no mark: no row holds it.
-- A mark's part at or past the new C is left to later runs, which compute [C, W) from raw rows anyway. Called by
-- tally_rollup_refresh under the refresh lock. The sweep is the read model's (functions/read-models/coverage.ts),
-- per organization, with bucket starts only inside covered time.
CREATE OR REPLACE FUNCTION tally_coverage_refresh(p_w timestamptz, p_max_span interval)
RETURNS TABLE (built_to timestamptz, marks bigint, buckets bigint, rows_written bigint)
LANGUAGE plpgsql
-- as the rollups' recompute and fold: its statement's estimated cost passes jit_above_cost, and a connection with JIT
-- on compiled it on every run (119–652 ms a run on the 1M-call bench database with nothing to do, against 2.7 ms)
SET jit = off
AS $$
DECLARE
  v_c timestamptz;
  v_start timestamptz;
  v_new timestamptz;
BEGIN
  SELECT coverage_built_to INTO v_c FROM rollup_state WHERE id = 1;
  IF p_w = '-infinity' THEN
    built_to := v_c; marks := 0; buckets := 0; rows_written := 0;
    RETURN NEXT;
    RETURN;
  END IF;
  v_start := CASE WHEN v_c = '-infinity' THEN coalesce(tally_rollup_bucket((SELECT min(started_at) FROM agent_sessions)), p_w) ELSE v_c END;
  v_new := greatest(v_c, least(p_w, v_start + p_max_span));

  WITH consumed AS (
    DELETE FROM coverage_dirty d WHERE d.dirty_from < v_new RETURNING d.org_id, d.dirty_from, d.dirty_to
  ),
  marked AS (
    SELECT DISTINCT m.org_id, b.bucket_start
      FROM consumed m
      CROSS JOIN LATERAL generate_series(m.dirty_from, least(m.dirty_to, v_c) - interval '15 minutes', interval '15 minutes') AS b (bucket_start)
     WHERE m.dirty_from < v_c
  ),
  -- runs of adjacent marked buckets as one region each
  regions AS (
    SELECT org_id, min(bucket_start) AS lo, max(bucket_start) + interval '15 minutes' AS hi
      FROM (SELECT org_id, bucket_start,
                   bucket_start - row_number() OVER (PARTITION BY org_id ORDER BY bucket_start) * interval '15 minutes' AS run
              FROM marked) AS runs
     GROUP BY org_id, run
    UNION ALL
    SELECT o.id, v_start, v_new FROM organizations o WHERE v_start < v_new
  ),
  bounds AS (
    SELECT org_id, min(lo) AS lo, max(hi) AS hi FROM regions GROUP BY org_id
  ),
  sessions AS (
    SELECT b.org_id, s.agent_id, s.started_at, s.ended_at
      FROM bounds b
      CROSS JOIN LATERAL (
        SELECT x.agent_id, x.started_at, x.ended_at FROM agent_sessions x
         WHERE x.org_id = b.org_id AND x.ended_at > b.lo AND x.started_at < b.hi
        UNION ALL
        SELECT x.agent_id, x.started_at, 'infinity'::timestamptz FROM agent_sessions x
         WHERE x.org_id = b.org_id AND x.ended_at IS NULL AND x.started_at < b.hi
      ) AS s
  ),
  clipped AS (
    SELECT s.org_id, s.agent_id, greatest(s.started_at, r.lo) AS online_from, least(s.ended_at, r.hi) AS online_to
      FROM sessions s JOIN regions r ON r.org_id = s.org_id AND s.started_at < r.hi AND s.ended_at > r.lo
  ),
  agent_edges AS (
    SELECT org_id, agent_id, online_from, online_to,
           CASE WHEN online_from <= max(online_to) OVER (PARTITION BY org_id, agent_id ORDER BY online_from, online_to
                                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                THEN 0 ELSE 1 END AS opens
      FROM clipped WHERE online_from < online_to
  ),
  agent_online AS (
    SELECT org_id, agent_id, min(online_from) AS online_from, max(online_to) AS online_to
      FROM (SELECT *, sum(opens) OVER (PARTITION BY org_id, agent_id ORDER BY online_from, online_to ROWS UNBOUNDED PRECEDING) AS island
              FROM agent_edges) AS islands
     GROUP BY org_id, agent_id, island
  ),
  covered_edges AS (
    SELECT org_id, online_from, online_to,
           CASE WHEN online_from <= max(online_to) OVER (PARTITION BY org_id ORDER BY online_from, online_to
                                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                THEN 0 ELSE 1 END AS opens
      FROM agent_online
  ),
  covered AS (
    SELECT org_id, min(online_from) AS online_from, max(online_to) AS online_to
      FROM (SELECT *, sum(opens) OVER (PARTITION BY org_id ORDER BY online_from, online_to ROWS UNBOUNDED PRECEDING) AS island
              FROM covered_edges) AS islands
     GROUP BY org_id, island
  ),
  events AS (
    SELECT org_id, online_from AS at, 1 AS delta, NULL::timestamptz AS bucket_start FROM agent_online
    UNION ALL
    SELECT org_id, online_to, -1, NULL FROM agent_online
    UNION ALL
    SELECT c.org_id, b.bucket_start, 0, b.bucket_start
      FROM covered c
      CROSS JOIN LATERAL generate_series(tally_rollup_bucket(c.online_from), c.online_to - interval '1 microsecond', interval '15 minutes') AS b (bucket_start)
  ),
  segments AS (
    SELECT org_id, max(bucket_start) OVER sweep AS bucket_start, sum(delta) OVER sweep AS agents_online,
           (extract(epoch FROM lead(at) OVER sweep - at) * 1000000)::bigint AS microseconds
      FROM events
    WINDOW sweep AS (PARTITION BY org_id ORDER BY at, bucket_start NULLS FIRST ROWS UNBOUNDED PRECEDING)
  ),
  measured AS (
    SELECT org_id, bucket_start, sum(microseconds * agents_online)::bigint AS agent_microseconds, sum(microseconds)::bigint AS covered_microseconds
      FROM segments WHERE agents_online > 0 AND microseconds > 0
     GROUP BY org_id, bucket_start
  ),
  upserted AS (
    INSERT INTO coverage_15m AS c (org_id, bucket_start, agent_microseconds, covered_microseconds)
    SELECT m.org_id, m.bucket_start, m.agent_microseconds, m.covered_microseconds FROM measured m
    ON CONFLICT (org_id, bucket_start) DO UPDATE
      SET agent_microseconds = EXCLUDED.agent_microseconds, covered_microseconds = EXCLUDED.covered_microseconds
      WHERE (c.agent_microseconds, c.covered_microseconds) IS DISTINCT FROM (EXCLUDED.agent_microseconds, EXCLUDED.covered_microseconds)
    RETURNING 1
  ),
  -- rows of marked buckets where nobody is online any more, found by key and deleted by ctid (a join would be planned
  -- against the whole table: generate_series is estimated at 1,000 rows a mark; LIMIT 1 keeps the lookup a lookup)
  emptied AS (
    DELETE FROM coverage_15m c
     WHERE c.ctid = ANY (ARRAY(
       SELECT y.ctid FROM marked k
       CROSS JOIN LATERAL (SELECT ctid FROM coverage_15m z WHERE z.org_id = k.org_id AND z.bucket_start = k.bucket_start LIMIT 1) AS y
        WHERE NOT EXISTS (SELECT 1 FROM measured m WHERE m.org_id = k.org_id AND m.bucket_start = k.bucket_start)))
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM consumed), (SELECT count(*) FROM marked), (SELECT count(*) FROM upserted) + (SELECT count(*) FROM emptied)
    INTO marks, buckets, rows_written;

  UPDATE rollup_state SET coverage_built_to = v_new WHERE id = 1;
  built_to := v_new;
  RETURN NEXT;
END;
$$;
--> statement-breakpoint

-- The full rebuild of coverage (tally_rollup_rebuild_all calls it): every row from the raw sessions below W.
CREATE OR REPLACE FUNCTION tally_coverage_rebuild_all(p_w timestamptz)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  DELETE FROM coverage_15m;
  UPDATE rollup_state SET coverage_built_to = '-infinity' WHERE id = 1;
  SELECT * INTO r FROM tally_coverage_refresh(p_w, NULL);
  RETURN r.rows_written;
END;
$$;
--> statement-breakpoint

-- One organization's coverage rebuilt: its whole stored time is marked, so the next refresh recomputes it from raw
-- sessions (reads take it raw until then).
CREATE OR REPLACE FUNCTION tally_coverage_rebuild_org(p_org uuid)
RETURNS void
LANGUAGE sql AS $$
  INSERT INTO coverage_dirty (org_id, dirty_from, dirty_to)
  SELECT p_org, lo, s.coverage_built_to
    FROM rollup_state s,
         LATERAL (SELECT least((SELECT tally_rollup_bucket(min(started_at)) FROM agent_sessions WHERE org_id = p_org),
                               (SELECT min(bucket_start) FROM coverage_15m WHERE org_id = p_org)) AS lo) AS l
   WHERE s.id = 1 AND lo < s.coverage_built_to
$$;
--> statement-breakpoint

ALTER TABLE coverage_15m SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);
