import { sql } from "drizzle-orm";
import { rows } from "../db/database";
import type { JobDefinition } from "./types";

/**
 * Creates the coming months' partitions of calls and widget_pageviews ahead of time and applies the retention:
 * month partitions wholly older than the retention are detached, then dropped. The current month is never touched.
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
             AND to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month' <= ${cutoff.toISOString()}::timestamptz`,
    );
    for (const { parent, child } of expired) {
      await db.execute(sql.raw(`ALTER TABLE "${parent}" DETACH PARTITION "${child}"`));
      await db.execute(sql.raw(`DROP TABLE "${child}"`));
    }
    return { rowsWritten: 0, partitionsCreated: created?.n ?? 0, partitionsDropped: expired.map((e) => e.child) };
  },
};
