import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import * as schema from "../../drizzle/schema";
import type { Database, Db, StatementCounter } from "./database";

export type PostgresOptions = {
  url: string;
  /** pool size; postgres.js opens connections lazily up to this many */
  max?: number;
  /** every statement runs under this timeout (SPEC §4) */
  statementTimeoutMs?: number;
};

/** Default statement timeout: long enough for a refresh batch, short enough that no request hangs. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

/** Any Postgres over TCP through postgres.js's pool (Node, and workerd with nodejs_compat). */
export function openPostgres(options: PostgresOptions): Database & { client: postgres.Sql } {
  const client = postgres(options.url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: {
      statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      application_name: "tally",
    },
    // postgres.js would otherwise parse timestamptz into Date and bigint into string; keep both as Postgres
    // answers them via explicit casts in SQL, and let Drizzle's column mappers handle typed selects.
  });
  const db = drizzle({ client, schema }) as unknown as Db;
  return {
    kind: "postgres",
    client,
    db,
    withCounter: (counter: StatementCounter) => drizzle({ client, schema, logger: counter }) as unknown as Db,
    close: () => client.end({ timeout: 5 }),
  };
}
