// Node-only: reads the migration files from disk. Used by the Node entry, the CLI and the tests.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import type { Database } from "./database";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const MIGRATIONS_FOLDER = join(root, "drizzle", "migrations");
export const SQL_FOLDER = join(root, "sql");

/** Months of partitions kept ready around now on every migrate; maintain-partitions keeps them coming. */
const PARTITION_MONTHS_BACK = 3;
const PARTITION_MONTHS_AHEAD = 3;

type Migratable = { dialect: { migrate: (m: unknown, s: unknown, c: unknown) => Promise<void> }; session: unknown };

/**
 * Drizzle's generated migrations not yet applied, in journal order; with `through` (a migration's tag), only those up
 * to and including it (a test builds an older schema that way).
 */
export async function applyDrizzleMigrations(database: Database, through?: string): Promise<void> {
  let migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  if (through !== undefined) {
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as { entries: { tag: string }[] };
    const count = journal.entries.findIndex((e) => e.tag === through) + 1;
    if (count === 0) throw new Error(`no migration ${through} in the journal`);
    migrations = migrations.slice(0, count);
  }
  const m = database.db as unknown as Migratable;
  await m.dialect.migrate(migrations, m.session, { migrationsFolder: MIGRATIONS_FOLDER });
}

/**
 * Brings any database to the current schema: Drizzle's generated migrations, then the hand-written SQL of `sql/`
 * (functions, triggers, views: each file idempotent, re-applied in name order), then the month partitions
 * around now. Safe to run twice and from two processes at once (advisory lock).
 */
export async function migrate(database: Database, now: Date = new Date()): Promise<void> {
  await database.db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('tally_migrate'))`);
  });
  await applyDrizzleMigrations(database);
  for (const file of readdirSync(SQL_FOLDER)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    const statements = readFileSync(join(SQL_FOLDER, file), "utf8").split("--> statement-breakpoint");
    for (const statement of statements) {
      if (statement.replace(/--.*$/gm, "").trim()) await database.db.execute(sql.raw(statement));
    }
  }
  await database.db.execute(
    sql`SELECT tally_ensure_partitions(${now.toISOString()}::timestamptz, ${PARTITION_MONTHS_BACK}::int, ${PARTITION_MONTHS_AHEAD}::int)`,
  );
}
