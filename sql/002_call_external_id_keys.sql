-- call_external_ids → calls by the call's whole key (org_id, call_id, started_at): what 0005's foreign key
-- call_external_ids_org_call_fk guaranteed, checked once per statement instead of once per row (migration 0010).
-- The foreign key ran one probe of the partitioned calls table per external id (a generic plan over every partition,
-- locked and pruned again for each row): half the time of a 1,000-call insert (BENCHMARKS.md, issue #15). These
-- triggers keep each of its guarantees:
-- * an external id names a call of its own organization that exists: every row an INSERT or UPDATE wrote is joined to
--   calls in one statement, locking each named call FOR KEY SHARE as the foreign key's check did, so a concurrent
--   delete of the call waits for this transaction, or this check waits for the delete and then finds no call; a row
--   that names no call (or another organization's, or the right call at another time) fails the statement with
--   SQLSTATE 23503 under the old constraint's name;
-- * ON UPDATE CASCADE: a call that moves in time (or to another organization) carries its external ids along; a
--   change of a call's id while an external id names it is refused (no write path changes an id);
-- * ON DELETE CASCADE: a deleted call's external ids are deleted (the delete's trigger reads with a fresh snapshot, so
--   it sees an external id committed while the delete waited for that writer's lock);
-- * a TRUNCATE of calls removes every external id (the foreign key refused one without CASCADE).
-- As with the rollup triggers (sql/011), these are statement triggers of the parent: DML aimed at one partition of
-- calls directly bypasses them (tally_drop_month_partition removes what names a partition's calls itself, and
-- tally_ensure_month_partition's move out of the default partition keeps the keys as they are). Write paths run at
-- READ COMMITTED (the default, and all the app uses): a REPEATABLE READ delete of a call would not see an external id
-- committed after its snapshot, where the foreign key's cascade raised a serialization failure.
-- Files in sql/ are split into statements at statement-breakpoint markers, as drizzle-kit migrations are.

-- Planned once per session and reused for any number of rows (a statement without parameters keeps its generic plan),
-- so the join is held to probing calls' indexes row by row from the written rows: a hash join, chosen for a large
-- statement, would read every partition of calls whole, and be reused for every single-call write after it.
-- A call this very transaction inserted is not locked: no other transaction can see it, let alone delete it, until
-- this one commits, and then its external ids are committed with it (a delete sees them). Locking a row writes to its
-- page and the WAL; for a new call's own external id that was most of the check's cost. "This transaction" is its
-- 32-bit xid against the row's xmin: a call inserted in a subtransaction (a savepoint) is locked like any other, and
-- only a frozen call whose xmin was the same 32-bit value four billion transactions ago would be taken for our own.
-- A statement of more than 1,000 rows (a bulk load: the seed's COPY batches are 20k; the batch route sends at most
-- 1,000) is checked by the same join planned for that statement alone (EXECUTE): the cached generic plan is made
-- once per session, and every month partition of calls that was empty then had its probe planned on whatever index
-- looked cheapest on an empty table — the (org_id, agent_id, started_at) index, bounded by org_id alone, or, once
-- analyzed empty, a sequential scan. Filled during the session (a seed loads month after month on the same
-- connections), each probe read the organization's whole month: the 1.25M-call seed's 20k-row COPYs of external ids
-- grew to minutes of CPU each and the load "stalled". Planned per statement, a 1,000-row check took 13.7 ms against
-- 12.0-17.2 ms for the cached plan (fresh sessions, rolled back, load ~7), but a 2-row one 1.9 ms against 0.3, which is
-- why statements of up to 1,000 rows keep the cached plan (their exposure: a connection that planned before a month began, probing that
-- month's partition, until the pool retires it).
-- One written row (every single write) is probed by its whole key as parameters instead, in a generic plan (forced:
-- the plan cache would otherwise plan it again for each call, a custom plan costing less on paper) that prunes calls
-- to the one partition at executor start; the join's plan starts a probe of every partition, twice. That was a third
-- of the Postgres CPU of a one-call write (BENCHMARKS.md, "Writes at the floor").
CREATE OR REPLACE FUNCTION tally_call_external_ids_check()
RETURNS trigger
LANGUAGE plpgsql
SET enable_hashjoin = off
SET enable_mergejoin = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  own_xid bigint := txid_current() % 4294967296;
  written_rows bigint := (SELECT count(*) FROM external_ids_written);
  missing bigint;
  orphan record;
  written record;
  call_xmin xid;
BEGIN
  IF written_rows = 1 THEN
    SELECT x.org_id, x.call_id, x.started_at INTO written FROM external_ids_written x;
    SELECT c.xmin INTO call_xmin FROM calls c
     WHERE c.org_id = written.org_id AND c.id = written.call_id AND c.started_at = written.started_at;
    IF FOUND AND call_xmin::text::bigint = own_xid THEN
      RETURN NULL;
    END IF;
    PERFORM FROM calls c
      WHERE c.org_id = written.org_id AND c.id = written.call_id AND c.started_at = written.started_at
        FOR KEY SHARE;
    missing := CASE WHEN FOUND THEN 0 ELSE 1 END;
  ELSIF written_rows <= 1000 THEN
    SELECT written_rows
         - (SELECT count(*) FROM external_ids_written x
              JOIN calls c ON c.org_id = x.org_id AND c.id = x.call_id AND c.started_at BETWEEN x.started_at AND x.started_at
             WHERE c.xmin::text::bigint = own_xid)
         - (SELECT count(*) FROM (
              SELECT 1 FROM external_ids_written x
                JOIN calls c ON c.org_id = x.org_id AND c.id = x.call_id AND c.started_at BETWEEN x.started_at AND x.started_at
               WHERE c.xmin::text::bigint <> own_xid
                 FOR KEY SHARE OF c) locked)
      INTO missing;
  ELSE
    -- the same check planned for this statement alone (see above: a bulk load's generic plan goes quadratic)
    EXECUTE $check$
      SELECT $2
           - (SELECT count(*) FROM external_ids_written x
                JOIN calls c ON c.org_id = x.org_id AND c.id = x.call_id AND c.started_at BETWEEN x.started_at AND x.started_at
               WHERE c.xmin::text::bigint = $1)
           - (SELECT count(*) FROM (
                SELECT 1 FROM external_ids_written x
                  JOIN calls c ON c.org_id = x.org_id AND c.id = x.call_id AND c.started_at BETWEEN x.started_at AND x.started_at
                 WHERE c.xmin::text::bigint <> $1
                   FOR KEY SHARE OF c) locked)$check$
      INTO missing USING own_xid, written_rows;
  END IF;
  IF missing > 0 THEN
    SELECT x.org_id, x.call_id, x.started_at INTO orphan FROM external_ids_written x
     WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.org_id = x.org_id AND c.id = x.call_id AND c.started_at = x.started_at)
     LIMIT 1;
    RAISE EXCEPTION 'insert or update on table "call_external_ids" violates foreign key constraint "call_external_ids_org_call_fk"'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'call_external_ids', CONSTRAINT = 'call_external_ids_org_call_fk',
            DETAIL = format('Key (org_id, call_id, started_at)=(%s, %s, %s) is not present in table "calls".',
                            orphan.org_id, orphan.call_id, orphan.started_at);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- Calls whose key changed are few (a call moved in time): found by joining the statement's old and new rows, then
-- followed one by one through call_external_ids' index on the call, as the foreign key's action did.
CREATE OR REPLACE FUNCTION tally_call_external_ids_follow_update()
RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  moved record;
BEGIN
  IF EXISTS (SELECT 1 FROM calls_before o
              WHERE NOT EXISTS (SELECT 1 FROM calls_after n WHERE n.id = o.id)
                AND EXISTS (SELECT 1 FROM call_external_ids x
                             WHERE x.call_id = o.id AND x.org_id = o.org_id AND x.started_at = o.started_at)) THEN
    RAISE EXCEPTION 'update or delete on table "calls" violates foreign key constraint "call_external_ids_org_call_fk" on table "call_external_ids"'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'calls', CONSTRAINT = 'call_external_ids_org_call_fk',
            DETAIL = 'A call''s id changed while an external id names it.';
  END IF;
  FOR moved IN SELECT o.org_id AS old_org_id, o.id, o.started_at AS old_started_at, n.org_id, n.started_at
                 FROM calls_before o JOIN calls_after n ON n.id = o.id
                WHERE (n.org_id, n.started_at) IS DISTINCT FROM (o.org_id, o.started_at) LOOP
    UPDATE call_external_ids SET org_id = moved.org_id, started_at = moved.started_at
     WHERE call_id = moved.id AND org_id = moved.old_org_id AND started_at = moved.old_started_at;
  END LOOP;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- (nested loop held for the reason the check's is: index probes of call_external_ids from the deleted calls)
CREATE OR REPLACE FUNCTION tally_call_external_ids_follow_delete()
RETURNS trigger
LANGUAGE plpgsql
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
BEGIN
  DELETE FROM call_external_ids x USING calls_deleted o
   WHERE x.call_id = o.id AND x.org_id = o.org_id AND x.started_at = o.started_at;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION tally_call_external_ids_follow_truncate()
RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM call_external_ids;
  RETURN NULL;
END;
$$;
--> statement-breakpoint

-- (a trigger with transition tables serves one event: the check is two triggers over one function)
CREATE OR REPLACE TRIGGER tally_call_external_ids_check_insert AFTER INSERT ON call_external_ids
  REFERENCING NEW TABLE AS external_ids_written FOR EACH STATEMENT EXECUTE FUNCTION tally_call_external_ids_check();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_call_external_ids_check_update AFTER UPDATE ON call_external_ids
  REFERENCING NEW TABLE AS external_ids_written FOR EACH STATEMENT EXECUTE FUNCTION tally_call_external_ids_check();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_call_external_ids_follow_update AFTER UPDATE ON calls
  REFERENCING OLD TABLE AS calls_before NEW TABLE AS calls_after FOR EACH STATEMENT EXECUTE FUNCTION tally_call_external_ids_follow_update();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_call_external_ids_follow_delete AFTER DELETE ON calls
  REFERENCING OLD TABLE AS calls_deleted FOR EACH STATEMENT EXECUTE FUNCTION tally_call_external_ids_follow_delete();
--> statement-breakpoint
CREATE OR REPLACE TRIGGER tally_call_external_ids_follow_truncate AFTER TRUNCATE ON calls
  FOR EACH STATEMENT EXECUTE FUNCTION tally_call_external_ids_follow_truncate();
