-- Monthly range partitions for the two high-volume tables (calls on started_at, widget_pageviews on created_at).
-- Both tables are created PARTITION BY RANGE with a DEFAULT partition in the first migration; this function adds
-- month partitions and, when the default partition already holds rows of that month, moves them in first, so it can
-- run at any time (first start, seeding a past range, the daily maintain-partitions job) and is idempotent.
-- Files in sql/ are split into statements at statement-breakpoint markers, as drizzle-kit migrations are.

CREATE OR REPLACE FUNCTION tally_ensure_month_partition(parent regclass, month_start date)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  parent_name text := (SELECT relname FROM pg_class WHERE oid = parent);
  key_column text;
  part_name text := parent_name || '_' || to_char(month_start, 'YYYYMM');
  range_from timestamptz := date_trunc('month', month_start::timestamp) AT TIME ZONE 'UTC';
  range_to timestamptz := (date_trunc('month', month_start::timestamp) + interval '1 month') AT TIME ZONE 'UTC';
  moving_calls boolean;
BEGIN
  IF to_regclass(part_name) IS NOT NULL THEN
    RETURN false;
  END IF;
  SELECT a.attname INTO key_column
    FROM pg_partitioned_table p
    JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
   WHERE p.partrelid = parent;
  -- Serialise with other runners; the partition may have appeared while we waited.
  PERFORM pg_advisory_xact_lock(hashtext('tally_partition:' || parent_name));
  IF to_regclass(part_name) IS NOT NULL THEN
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part_name, parent_name);
  moving_calls := parent_name = 'calls' AND EXISTS (SELECT 1 FROM calls_default WHERE started_at >= range_from AND started_at < range_to);
  IF moving_calls THEN
    -- Moving a call out of the default partition deletes it there, which runs the actions of the foreign keys that
    -- name calls (0005): keep what names the moving calls aside and put it back once they are in their month. (The
    -- external ids stay where they are: their keys to calls are the parent's statement triggers since 0010, which
    -- this partition's own DELETE and INSERT do not fire.)
    CREATE TEMP TABLE tally_moving_calls ON COMMIT DROP AS
      SELECT org_id, id, started_at FROM calls_default WHERE started_at >= range_from AND started_at < range_to;
    CREATE TEMP TABLE tally_moving_milestones ON COMMIT DROP AS
      SELECT m.* FROM call_milestones m JOIN tally_moving_calls c
        ON m.org_id = c.org_id AND m.call_id = c.id AND m.call_started_at = c.started_at;
    CREATE TEMP TABLE tally_moving_objections ON COMMIT DROP AS
      SELECT o.* FROM call_objections o JOIN tally_moving_calls c
        ON o.org_id = c.org_id AND o.call_id = c.id AND o.call_started_at = c.started_at;
    CREATE TEMP TABLE tally_moving_appointments ON COMMIT DROP AS
      SELECT p.id, p.call_id, p.call_started_at FROM appointments p JOIN tally_moving_calls c
        ON p.org_id = c.org_id AND p.call_id = c.id AND p.call_started_at = c.started_at;
  END IF;
  -- the rollups count these calls and their analysis already: their triggers log nothing for the move (sql/011)
  PERFORM set_config('tally.calls_moving', 'all', true);
  EXECUTE format(
    'WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved',
    parent_name || '_default', key_column, key_column, part_name
  ) USING range_from, range_to;
  EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
    parent_name, part_name, range_from, range_to);
  IF moving_calls THEN
    INSERT INTO call_milestones SELECT * FROM tally_moving_milestones;
    INSERT INTO call_objections SELECT * FROM tally_moving_objections;
    UPDATE appointments p SET call_id = a.call_id, call_started_at = a.call_started_at
      FROM tally_moving_appointments a WHERE p.id = a.id;
    DROP TABLE tally_moving_calls, tally_moving_milestones, tally_moving_objections, tally_moving_appointments;
  END IF;
  PERFORM set_config('tally.calls_moving', '', true);
  RETURN true;
END;
$$;
--> statement-breakpoint

-- Ensures month partitions from `months_back` months before `around` to `months_ahead` months after it.
CREATE OR REPLACE FUNCTION tally_ensure_partitions(around timestamptz, months_back int, months_ahead int)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  created int := 0;
  m int;
  month_start date;
BEGIN
  FOR m IN -months_back..months_ahead LOOP
    month_start := (date_trunc('month', around AT TIME ZONE 'UTC') + make_interval(months => m))::date;
    IF tally_ensure_month_partition('calls'::regclass, month_start) THEN created := created + 1; END IF;
    IF tally_ensure_month_partition('widget_pageviews'::regclass, month_start) THEN created := created + 1; END IF;
  END LOOP;
  RETURN created;
END;
$$;

--> statement-breakpoint

-- Retention: detaches and drops one month partition. For calls, what names its calls (migration 0005's composite
-- foreign keys, and the external ids' statement triggers of sql/002) goes first: their analysis rows and external ids
-- are deleted, their appointments unlinked (the appointments stay). DETACH runs no foreign-key action and refuses a
-- partition that rows still name (the external ids' triggers do not fire for it: their rows are deleted here); joined
-- to the partition itself, this touches only its calls' rows. Rollups of the dropped calls: tally_rollup_forget_before.
CREATE OR REPLACE FUNCTION tally_drop_month_partition(parent regclass, partition regclass)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF parent = 'calls'::regclass THEN
    EXECUTE format('DELETE FROM call_milestones m USING %s c
                     WHERE m.org_id = c.org_id AND m.call_id = c.id AND m.call_started_at = c.started_at', partition);
    EXECUTE format('DELETE FROM call_objections o USING %s c
                     WHERE o.org_id = c.org_id AND o.call_id = c.id AND o.call_started_at = c.started_at', partition);
    EXECUTE format('DELETE FROM call_external_ids x USING %s c
                     WHERE x.org_id = c.org_id AND x.call_id = c.id AND x.started_at = c.started_at', partition);
    EXECUTE format('UPDATE appointments p SET call_id = NULL, call_started_at = NULL FROM %s c
                     WHERE p.org_id = c.org_id AND p.call_id = c.id AND p.call_started_at = c.started_at', partition);
  END IF;
  EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, partition);
  EXECUTE format('DROP TABLE %s', partition);
END;
$$;
