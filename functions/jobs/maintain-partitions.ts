import { sql } from "drizzle-orm";
import { rows, type Db } from "../db/database";
import type { JobDefinition } from "./types";

/**
 * Creates the coming months' partitions of calls and widget_pageviews ahead of time and applies the retention:
 * month partitions wholly older than the retention are detached, then dropped. The current month is never touched.
 * Dropping a partition fires no trigger, so the rollups of the dropped calls are forgotten in the same transaction
 * (`tally_rollup_forget_before`): no read ever sees rollup rows of calls that are gone (SPEC §7). Nor does it run
 * the foreign keys' actions: `tally_drop_month_partition` (sql/001_partitions.sql) deletes the calls' analysis rows
 * and external ids first and unlinks their appointments.
 */
export const maintainPartitions: JobDefinition = {
  cron: "0 3 * * *",
  description: "create next months' partitions of calls and widget_pageviews; detach and drop those past retention",
  leaseSec: 900,
  async run({ db, clock, config }) {
    const now = clock.now();
    const [created] = await rows<{ n: number }>(
      db,
      sql`SELECT tally_ensure_partitions(${now.toISOString()}::timestamptz, 0, ${config.partitionMonthsAhead}::int) AS n`,
    );
    const retention = Math.max(1, config.partitionRetentionMonths);
    const cutoff = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - retention, 1));
    // month partitions are named <parent>_YYYYMM; one whose month ends at or before the cutoff is past retention
    const expired = await rows<{ parent: string; child: string }>(
      db,
      sql`SELECT p.relname AS parent, c.relname AS child
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
           WHERE p.relname IN ('calls', 'widget_pageviews')
             AND c.relname ~ '_[0-9]{6}$'
             AND to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month' <= ${cutoff.toISOString()}::timestamptz
           ORDER BY 1, 2`,
    );
    const drop = async (tx: Db, parent: string, child: string) => {
      await tx.execute(sql`SELECT tally_drop_month_partition(${parent}::regclass, ${child}::regclass)`);
    };
    const expiredCalls = expired.filter((e) => e.parent === "calls");
    let rollupRowsForgotten = 0;
    if (expiredCalls.length) {
      rollupRowsForgotten = await db.transaction(async (trx) => {
        const tx = trx as unknown as Db;
        // The refresh lock before the lock on calls that DETACH takes: a refresh holds the former while it reads
        // calls, so taking them in the other order could deadlock with it.
        await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('tally_rollup_refresh'))`);
        for (const { parent, child } of expiredCalls) await drop(tx, parent, child);
        const [forgotten] = await rows<{ n: number }>(tx, sql`SELECT tally_rollup_forget_before(${cutoff.toISOString()}::timestamptz)::int AS n`);
        return forgotten?.n ?? 0;
      });
    }
    for (const { parent, child } of expired.filter((e) => e.parent !== "calls")) await drop(db, parent, child);
    return {
      rowsWritten: rollupRowsForgotten,
      partitionsCreated: created?.n ?? 0,
      partitionsDropped: expired.map((e) => e.child),
      rollupCutoff: expiredCalls.length ? cutoff.toISOString() : null,
      rollupRowsForgotten,
    };
  },
};
