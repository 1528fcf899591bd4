-- The platform admin's view (SPEC §5 GET /api/admin/organizations): every organization's last 30 local days, each in
-- its own timezone, from the rollups plus the raw rows the rollups do not cover (dirty buckets, the time after B,
-- window edges off the 15-minute grid) — so each row is exact as of `as_of`, the instant refresh-admin-view computed
-- it for (admin_view_state.as_of, set in the refresh's transaction). Refreshed CONCURRENTLY (readers never wait),
-- which needs the unique index on id.
--
-- The view's version is its comment: CREATE ... IF NOT EXISTS keeps an existing view, so a changed definition bumps
-- the version below and the DO block drops the old one first.

DO $$
BEGIN
  IF to_regclass('admin_org_kpis_30d') IS NOT NULL
     AND coalesce(obj_description(to_regclass('admin_org_kpis_30d'), 'pg_class'), '') <> 'tally admin view v2' THEN
    DROP MATERIALIZED VIEW admin_org_kpis_30d;
  END IF;
END;
$$;
--> statement-breakpoint

CREATE MATERIALIZED VIEW IF NOT EXISTS admin_org_kpis_30d AS
WITH params AS (
  SELECT s.as_of, coalesce((SELECT built_to FROM rollup_state WHERE id = 1), '-infinity'::timestamptz) AS built_to
    FROM admin_view_state s
   WHERE s.id = 1
),
windows AS (
  SELECT o.id, o.name, o.timezone, p.as_of, p.built_to,
         ((date_trunc('day', p.as_of AT TIME ZONE o.timezone) - interval '29 days') AT TIME ZONE o.timezone) AS w_from
    FROM organizations o CROSS JOIN params p
),
bounds AS (
  SELECT w.*,
         tally_rollup_ceil(w.w_from) AS lo,
         greatest(tally_rollup_ceil(w.w_from), least(tally_rollup_bucket(w.as_of), w.built_to)) AS hi
    FROM windows w
)
SELECT b.id, b.name, b.timezone, b.as_of,
       (coalesce(r.calls, 0) + coalesce(x.calls, 0))::int AS calls_30d,
       (coalesce(r.completed, 0) + coalesce(x.completed, 0))::int AS completed_30d,
       (coalesce(r.leads, 0) + coalesce(x.leads, 0))::int AS leads_30d,
       (coalesce(r.qualified, 0) + coalesce(x.qualified, 0))::int AS qualified_30d,
       (coalesce(r.credits, 0) + coalesce(x.credits, 0))::bigint AS credits_used_30d
  FROM bounds b
  LEFT JOIN LATERAL (
    SELECT sum(cr.calls) AS calls, sum(cr.completed) AS completed, sum(cr.scored) AS leads,
           sum(cr.qualified) AS qualified, sum(cr.credits_used) AS credits
      FROM call_rollup_15m cr
     WHERE cr.org_id = b.id AND cr.bucket_start >= b.lo AND cr.bucket_start < b.hi
       AND NOT EXISTS (SELECT 1 FROM rollup_dirty d WHERE d.org_id = cr.org_id AND d.bucket_start = cr.bucket_start)
  ) r ON true
  LEFT JOIN LATERAL (
    SELECT count(*) AS calls,
           count(*) FILTER (WHERE raw.status = 'completed') AS completed,
           count(raw.lead_score) AS leads,
           count(*) FILTER (WHERE raw.lead_score >= 70) AS qualified,
           sum(raw.credits_used) AS credits
      FROM (
        SELECT c.status, c.lead_score, c.credits_used FROM calls c
         WHERE c.org_id = b.id AND c.started_at >= b.w_from AND c.started_at < least(b.lo, b.as_of)
        UNION ALL
        SELECT c.status, c.lead_score, c.credits_used FROM calls c
         WHERE c.org_id = b.id AND c.started_at >= b.hi AND c.started_at < b.as_of
        UNION ALL
        SELECT dc.status, dc.lead_score, dc.credits_used
          FROM (SELECT DISTINCT d.bucket_start FROM rollup_dirty d
                 WHERE d.org_id = b.id AND d.bucket_start >= b.lo AND d.bucket_start < b.hi) dirty
          CROSS JOIN LATERAL (
            SELECT c.status, c.lead_score, c.credits_used FROM calls c
             WHERE c.org_id = b.id AND c.started_at >= dirty.bucket_start AND c.started_at < dirty.bucket_start + interval '15 minutes'
            OFFSET 0
          ) dc
      ) raw
  ) x ON true;
--> statement-breakpoint

COMMENT ON MATERIALIZED VIEW admin_org_kpis_30d IS 'tally admin view v2';
--> statement-breakpoint

CREATE UNIQUE INDEX IF NOT EXISTS admin_org_kpis_30d_id_idx ON admin_org_kpis_30d (id);
