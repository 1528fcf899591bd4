-- The overview's pipeline (pipelineValueCents: the service prices of appointments with status `scheduled` and
-- scheduled_at >= now) pre-aggregated, issue #16: `appointment_pipeline_daily` (migration 0015) holds, per
-- organization, UTC day of scheduled_at and service, how many appointments are scheduled (those with a service: the
-- others price at nothing). The overview reads the days wholly after now from it and the rest of today from
-- `appointments` (read-models/overview.ts). At the 1M-call organization the pipeline counted 13.9k future
-- appointments on every cache miss, 1.4 ms of the overview's 2.6 ms statement.
--
-- Exact at every commit: statement triggers with transition tables add each write's deltas (new rows +1, old rows −1,
-- summed per key) in the writer's own transaction, so a reader's snapshot sees the rows and their counts together. The
-- upsert takes the keys in order (one statement never deadlocks another); two transactions writing appointments of
-- the same (organization, day, service) queue on that row until the first commits. Every path that changes
-- appointments goes through these triggers, the foreign keys' actions included (a deleted service sets service_id
-- null, a deleted organization or contact deletes them); TRUNCATE empties the table. Rows that fall to 0 are deleted.
-- Files in sql/ are split into statements at statement-breakpoint markers, as drizzle-kit migrations are.

CREATE OR REPLACE FUNCTION tally_appointment_pipeline_delta()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO appointment_pipeline_daily AS p (org_id, day, service_id, scheduled)
    SELECT n.org_id, tally_rollup_day(n.scheduled_at), n.service_id, count(*)::int
      FROM pipeline_new n
     WHERE n.status = 'scheduled' AND n.service_id IS NOT NULL
     GROUP BY 1, 2, 3
     ORDER BY 1, 2, 3
    ON CONFLICT (org_id, day, service_id) DO UPDATE SET scheduled = p.scheduled + excluded.scheduled;
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    INSERT INTO appointment_pipeline_daily AS p (org_id, day, service_id, scheduled)
    SELECT o.org_id, tally_rollup_day(o.scheduled_at), o.service_id, -count(*)::int
      FROM pipeline_old o
     WHERE o.status = 'scheduled' AND o.service_id IS NOT NULL
     GROUP BY 1, 2, 3
     ORDER BY 1, 2, 3
    ON CONFLICT (org_id, day, service_id) DO UPDATE SET scheduled = p.scheduled + excluded.scheduled;
  ELSE
    INSERT INTO appointment_pipeline_daily AS p (org_id, day, service_id, scheduled)
    SELECT d.org_id, d.day, d.service_id, sum(d.n)::int
      FROM (
        SELECT n.org_id, tally_rollup_day(n.scheduled_at) AS day, n.service_id, 1 AS n
          FROM pipeline_new n WHERE n.status = 'scheduled' AND n.service_id IS NOT NULL
        UNION ALL
        SELECT o.org_id, tally_rollup_day(o.scheduled_at), o.service_id, -1
          FROM pipeline_old o WHERE o.status = 'scheduled' AND o.service_id IS NOT NULL
      ) d
     GROUP BY 1, 2, 3
    HAVING sum(d.n) <> 0
     ORDER BY 1, 2, 3
    ON CONFLICT (org_id, day, service_id) DO UPDATE SET scheduled = p.scheduled + excluded.scheduled;
  END IF;
  -- only a key an old row counted can have fallen to 0
  DELETE FROM appointment_pipeline_daily p
   USING (SELECT DISTINCT o.org_id, tally_rollup_day(o.scheduled_at) AS day, o.service_id
            FROM pipeline_old o WHERE o.status = 'scheduled' AND o.service_id IS NOT NULL) k
   WHERE p.org_id = k.org_id AND p.day = k.day AND p.service_id = k.service_id AND p.scheduled = 0;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION tally_appointment_pipeline_truncate()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  DELETE FROM appointment_pipeline_daily;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- The triggers, and the first build: while appointments has no pipeline trigger yet (the first migrate after 0015),
-- the table is rebuilt from appointments under a lock that holds writers off until the triggers exist, in one
-- statement (one transaction), so no write falls between the build and its trigger.
DO $$
DECLARE
  first_build boolean;
BEGIN
  LOCK TABLE appointments IN SHARE ROW EXCLUSIVE MODE;
  first_build := NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'appointments'::regclass AND tgname = 'tally_appointment_pipeline_insert');
  CREATE OR REPLACE TRIGGER tally_appointment_pipeline_insert AFTER INSERT ON appointments
    REFERENCING NEW TABLE AS pipeline_new FOR EACH STATEMENT EXECUTE FUNCTION tally_appointment_pipeline_delta();
  CREATE OR REPLACE TRIGGER tally_appointment_pipeline_update AFTER UPDATE ON appointments
    REFERENCING OLD TABLE AS pipeline_old NEW TABLE AS pipeline_new FOR EACH STATEMENT EXECUTE FUNCTION tally_appointment_pipeline_delta();
  CREATE OR REPLACE TRIGGER tally_appointment_pipeline_delete AFTER DELETE ON appointments
    REFERENCING OLD TABLE AS pipeline_old FOR EACH STATEMENT EXECUTE FUNCTION tally_appointment_pipeline_delta();
  CREATE OR REPLACE TRIGGER tally_appointment_pipeline_truncate AFTER TRUNCATE ON appointments
    FOR EACH STATEMENT EXECUTE FUNCTION tally_appointment_pipeline_truncate();
  IF first_build THEN
    DELETE FROM appointment_pipeline_daily;
    INSERT INTO appointment_pipeline_daily (org_id, day, service_id, scheduled)
    SELECT a.org_id, tally_rollup_day(a.scheduled_at), a.service_id, count(*)::int
      FROM appointments a
     WHERE a.status = 'scheduled' AND a.service_id IS NOT NULL
     GROUP BY 1, 2, 3;
  END IF;
END;
$$;
