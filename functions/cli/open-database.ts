import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type postgres from "postgres";
import type { Database } from "../db/database";
import { openPglite } from "../db/pglite";
import { openPostgres } from "../db/postgres";

/** The configured database with its driver's own client (for the raw work a CLI may need) and where it lives. */
export type ConfiguredDatabase = ((Database & { kind: "postgres"; client: postgres.Sql }) | (Database & { kind: "pglite"; client: PGlite })) & {
  location: string;
};

/** The database the CLI acts on: `DATABASE_URL` when set, else the PGlite directory of `TALLY_DATA_DIR`. */
export async function openConfiguredDatabase(options: { statementTimeoutMs?: number } = {}): Promise<ConfiguredDatabase> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const database = openPostgres({ url, max: 4, ...options });
    return Object.assign(database, { kind: "postgres" as const, location: new URL(url).host + new URL(url).pathname });
  }
  const dir = process.env.TALLY_DATA_DIR || ".tally";
  mkdirSync(dir, { recursive: true });
  const database = await openPglite({ dataDir: join(dir, "pgdata") });
  return Object.assign(database, { kind: "pglite" as const, location: `PGlite in ${join(dir, "pgdata")}` });
}
