import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Database } from "../db/database";
import { openPglite } from "../db/pglite";
import { openPostgres } from "../db/postgres";

/** The database the CLI acts on: `DATABASE_URL` when set, else the PGlite directory of `TALLY_DATA_DIR`. */
export async function openConfiguredDatabase(): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (url) return openPostgres({ url, max: 4 });
  const dir = process.env.TALLY_DATA_DIR || ".tally";
  mkdirSync(dir, { recursive: true });
  return openPglite({ dataDir: join(dir, "pgdata") });
}
