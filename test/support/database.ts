import { readFileSync } from "node:fs";
import postgres from "postgres";
import type { Database } from "../../functions/db/database";
import { openPglite } from "../../functions/db/pglite";
import { openPostgres } from "../../functions/db/postgres";
import { adminUrl, databaseUrl, pgliteTemplatePath, postgresTemplateName } from "./templates";

/** `url`: the database's connection URL on a Postgres server (absent on PGlite, which lives in this process). */
export type TestDatabase = Database & { url?: string; drop(): Promise<void> };

/** Which database this test project runs on: PGlite unless the project is the Postgres one. */
export const testDbKind = (): "pglite" | "postgres" => (process.env.TALLY_TEST_DB === "postgres" ? "postgres" : "pglite");

/**
 * A fresh, migrated database for one test file: a PGlite copied from the migrated template, or a new
 * database on the local Postgres created from the template database. `drop()` closes and removes it.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (testDbKind() === "pglite") {
    const blob = new Blob([readFileSync(pgliteTemplatePath())]);
    const db = await openPglite({ loadDataDir: blob });
    return Object.assign(db, { drop: () => db.close() });
  }
  return serverDatabase("tally_test", (admin, name) => createFromTemplate(admin, name), 5);
}

/** An empty database (no migration applied): an in-memory PGlite, or a new database on the local Postgres. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  if (testDbKind() === "pglite") {
    const db = await openPglite({});
    return Object.assign(db, { drop: () => db.close() });
  }
  return serverDatabase("tally_empty", (admin, name) => admin.unsafe(`CREATE DATABASE "${name}"`), 2);
}

/** A new database of this test run on the local Postgres, made by `create`; `drop()` closes and removes it. */
async function serverDatabase(label: string, create: (admin: postgres.Sql, name: string) => Promise<unknown>, max: number): Promise<TestDatabase> {
  const url = process.env.TALLY_TEST_PG_URL!;
  const name = `${label}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = postgres(adminUrl(url), { max: 1, onnotice: () => {} });
  await create(admin, name);
  await admin.end();
  const db = openPostgres({ url: databaseUrl(url, name), max });
  return Object.assign(db, {
    url: databaseUrl(url, name),
    drop: async () => {
      await db.close();
      const a = postgres(adminUrl(url), { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  });
}

/** CREATE DATABASE ... TEMPLATE fails while another session copies the same template; retry briefly. */
async function createFromTemplate(admin: postgres.Sql, name: string) {
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${postgresTemplateName()}"`);
      return;
    } catch (error) {
      if (attempt >= 50 || !/being accessed by other users/.test(String(error))) throw error;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
}
