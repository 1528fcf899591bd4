import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import * as schema from "../../drizzle/schema";
import { countedHandle, sessionSettings, type Database, type Db, type StatementCounter } from "./database";

export type PostgresOptions = {
  url: string;
  /** pool size; postgres.js opens connections lazily up to this many */
  max?: number;
  /** every statement runs under this timeout (SPEC §4) */
  statementTimeoutMs?: number;
};

/** Any Postgres over TCP through postgres.js's pool (Node, and workerd with nodejs_compat). */
export function openPostgres(options: PostgresOptions): Database & { client: postgres.Sql } {
  const client = postgres(options.url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { ...sessionSettings(options.statementTimeoutMs), application_name: "tally" },
    // postgres.js would otherwise parse timestamptz into Date and bigint into string; keep both as Postgres
    // answers them via explicit casts in SQL, and let Drizzle's column mappers handle typed selects.
  });
  const db = drizzle({ client: preparing(client), schema }) as unknown as Db;
  return {
    kind: "postgres",
    client,
    db,
    withCounter: (counter: StatementCounter) => countedHandle(db, counter),
    close: () => client.end({ timeout: 5 }),
    copyText: (table, columns, text) => copyText(client, table, columns, text),
  };
}

/**
 * The client as Drizzle should use it: every statement with parameters is a named prepared statement of its
 * connection (postgres.js keys them by text and parameter types). Drizzle sends its unnamed queries unprepared, so
 * Postgres planned every execution again: 3–5 ms of planning for a statement over the partitioned calls table, more
 * than it took to run. `?prepare=false` in the URL (a transaction-mode pooler without prepared statements) turns it off:
 * postgres.js's own `prepare` option wins over the statement's. Each connection keeps its statements until postgres.js
 * retires it (`max_lifetime`, 30–60 minutes); Tally's statement texts are a bounded set.
 */
function preparing(client: postgres.Sql): postgres.Sql {
  const unsafe: postgres.Sql["unsafe"] = (query, params, options) => client.unsafe(query, params, { ...options, prepare: true });
  return new Proxy(client, { get: (target, name, receiver) => (name === "unsafe" ? unsafe : Reflect.get(target, name, receiver)) });
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * One `COPY table (columns) FROM STDIN` in its own transaction on a reserved connection. postgres.js 3.4.9 never
 * settles a COPY stream that the server rejects after the data is sent (a constraint checked at the end of the
 * statement: porsager/postgres#1173), so the statement that follows in the same transaction is what reports the
 * failure ("current transaction is aborted"); the server's own reason is lost to the driver.
 */
async function copyText(client: postgres.Sql, table: string, columns: readonly string[], text: string): Promise<void> {
  if (text.length === 0) return;
  const statement = `COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(", ")}) FROM STDIN`;
  const connection = await client.reserve();
  try {
    await connection`BEGIN`;
    try {
      // a bulk load is no request: its batch's per-row key checks may take longer than a request's statement timeout
      // on a busy server (a seed's 10k analysis rows did in CI), and failing it would only make the load start over
      await connection`SET LOCAL statement_timeout = 0`;
      const stream = await connection.unsafe(statement).writable();
      let streamError: unknown;
      stream.on("error", (error) => (streamError ??= error));
      stream.end(text);
      await probeAfterCopy(connection);
      if (streamError) throw streamError;
      await connection`COMMIT`;
    } catch (error) {
      await connection`ROLLBACK`.catch(() => {});
      throw new Error(`COPY into ${table} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  } finally {
    connection.release();
  }
}

/**
 * Waits until the COPY has left the connection (postgres.js refuses statements while a COPY stream is open), then
 * runs a no-op that fails when the server rejected the COPY.
 */
async function probeAfterCopy(connection: postgres.ReservedSql): Promise<void> {
  for (;;) {
    try {
      await connection`SELECT 1`;
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "COPY_IN_PROGRESS") throw error;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
