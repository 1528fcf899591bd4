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
  EXECUTE format(
    'WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved',
    parent_name || '_default', key_column, key_column, part_name
  ) USING range_from, range_to;
  EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
    parent_name, part_name, range_from, range_to);
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
