import { sql } from "drizzle-orm";
import { firstRow, rows, type Db } from "../../../functions/db/database";

/**
 * How the security suites see "nothing was written".
 *
 * - `installWriteCounter` puts a row-level AFTER INSERT/UPDATE/DELETE trigger (and a TRUNCATE statement trigger) on
 *   every table of this test's own database that bumps one counter row. The counter moves with every committed row
 *   change anywhere, and not with a rolled-back one: reading it is one indexed single-row SELECT, cheap enough to run
 *   after every fuzz case, so no write can go unnoticed or be attributed to the wrong case.
 * - `orgChecksum` hashes every row of one organization (every table with an `org_id`, its organizations row and its
 *   API keys): a second, independent check used before and after a whole suite and for another organization's data.
 */

/** Tables of the application (partitioned parents, not their partitions; not the counter itself). */
async function applicationTables(db: Db): Promise<{ name: string; hasOrgId: boolean }[]> {
  return rows<{ name: string; hasOrgId: boolean }>(
    db,
    sql`SELECT c.relname AS name,
               EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped) AS "hasOrgId"
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'security_write_log'
         ORDER BY c.relname`,
  );
}

export async function installWriteCounter(db: Db): Promise<string[]> {
  await db.execute(sql`CREATE TABLE IF NOT EXISTS security_write_log (id int PRIMARY KEY, writes bigint NOT NULL)`);
  await db.execute(sql`INSERT INTO security_write_log VALUES (1, 0) ON CONFLICT DO NOTHING`);
  await db.execute(
    sql.raw(`CREATE OR REPLACE FUNCTION security_count_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN UPDATE security_write_log SET writes = writes + 1 WHERE id = 1; RETURN NULL; END $$`),
  );
  const tables = await applicationTables(db);
  for (const { name } of tables) {
    const table = `"${name.replaceAll('"', '""')}"`;
    await db.execute(sql.raw(`DROP TRIGGER IF EXISTS security_count_write ON ${table}`));
    await db.execute(
      sql.raw(`CREATE TRIGGER security_count_write AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION security_count_write()`),
    );
    await db.execute(sql.raw(`DROP TRIGGER IF EXISTS security_count_truncate ON ${table}`));
    await db.execute(sql.raw(`CREATE TRIGGER security_count_truncate AFTER TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION security_count_write()`));
  }
  return tables.map((t) => t.name);
}

/** Committed row changes since the counter was installed. */
export async function writeCount(db: Db): Promise<number> {
  const row = await firstRow<{ writes: number }>(db, sql`SELECT writes::float8 AS writes FROM security_write_log WHERE id = 1`);
  if (!row) throw new Error("installWriteCounter() was not run on this database");
  return row.writes;
}

const checksumQueries = new WeakMap<Db, Promise<string>>();

/** One statement that hashes every row of an organization, table by table (built once per database). */
async function checksumQuery(db: Db): Promise<string> {
  let query = checksumQueries.get(db);
  if (!query) {
    query = applicationTables(db).then((tables) =>
      [
        `SELECT 'organizations' AS t, md5(coalesce(string_agg(md5(x::text), '' ORDER BY md5(x::text)), '')) AS h, count(*)::int AS n FROM organizations x WHERE id = $ORG`,
        ...tables
          .filter((t) => t.hasOrgId)
          .map(
            (t) =>
              `SELECT '${t.name}', md5(coalesce(string_agg(md5(x::text), '' ORDER BY md5(x::text)), '')), count(*)::int FROM "${t.name}" x WHERE org_id = $ORG`,
          ),
      ].join(" UNION ALL "),
    );
    checksumQueries.set(db, query);
  }
  return query;
}

export type OrgChecksum = Record<string, { hash: string; rows: number }>;

/** Every row of one organization, hashed per table (with row counts, so a difference reads well in a failure). */
export async function orgChecksum(db: Db, orgId: string): Promise<OrgChecksum> {
  if (!/^[0-9a-f-]{36}$/.test(orgId)) throw new Error(`not an org id: ${orgId}`);
  const text = (await checksumQuery(db)).replaceAll("$ORG", `'${orgId}'::uuid`);
  const out: OrgChecksum = {};
  for (const row of await rows<{ t: string; h: string; n: number }>(db, sql.raw(text))) out[row.t] = { hash: row.h, rows: row.n };
  return out;
}
