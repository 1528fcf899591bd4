import { PGlite } from "@electric-sql/pglite";
import { btree_gist } from "@electric-sql/pglite/contrib/btree_gist";
import { drizzle } from "drizzle-orm/pglite";
import * as schema from "../../drizzle/schema";
import { countedHandle, type Database, type Db, type StatementCounter } from "./database";

export type PgliteOptions = {
  /** a data directory; omitted means in memory */
  dataDir?: string;
  /** a tarball from `PGlite.dumpDataDir()` to start from (tests start from a migrated template) */
  loadDataDir?: Blob | File;
};

/** The embedded default: Postgres in WASM, one connection, queries run one after another. */
export async function openPglite(options: PgliteOptions = {}): Promise<Database & { client: PGlite }> {
  const client = new PGlite({
    // migration 0017's GiST index over (org_id, a session's span)
    extensions: { btree_gist },
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  await client.waitReady;
  const db = drizzle({ client, schema }) as unknown as Db;
  return {
    kind: "pglite",
    client,
    db,
    withCounter: (counter: StatementCounter) => countedHandle(db, counter),
    close: () => client.close(),
  };
}
