import type { SQL } from "drizzle-orm";
import type { Logger as DrizzleLogger } from "drizzle-orm/logger";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "../../drizzle/schema";

export type Schema = typeof schema;
/** The Drizzle handle every query is written against, whichever driver runs underneath. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type DriverKind = "pglite" | "postgres" | "neon";

/** Counts the statements a unit of work sends; the query-budget tests and the slow-request log read it. */
/** Default statement timeout: long enough for a refresh batch, short enough that no request hangs. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

/**
 * The session settings every pooled server connection gets, whichever driver opens it (postgres.js passes them in its
 * startup message, Neon's pool sets them on connect): the statement timeout (SPEC §4), and JIT off (dashboard
 * statements are short, and JIT compilation once cost 4.6 s on a 60 ms coverage query).
 */
export const sessionSettings = (statementTimeoutMs = DEFAULT_STATEMENT_TIMEOUT_MS) => ({
  statement_timeout: Math.trunc(statementTimeoutMs),
  jit: "off",
});

export class StatementCounter implements DrizzleLogger {
  count = 0;
  logQuery(_query?: string, _params?: unknown[]): void {
    this.count += 1;
  }
}

type SessionInternals = {
  constructor: new (client: unknown, dialect: unknown, schema: unknown, options: Record<string, unknown>) => unknown;
  client: unknown;
  schema: unknown;
  options: Record<string, unknown>;
};

/**
 * A handle over the same client as `base` whose statements are counted by `counter`: `base` itself with its session
 * replaced, on first use, by a session of the driver's own class whose logger is the counter (postgres.js, PGlite and
 * Neon sessions take the same arguments). drizzle() would derive the relational config of the whole schema again on
 * every request (about 9 % of a cached request's CPU samples in a profile under load) and build a query builder per
 * table; this builds nothing until the request sends a statement, so a cached read, which sends none, pays one
 * object. The relational API (`db.query.*`, unused in Tally) would run on `base`'s session, uncounted.
 */
export function countedHandle(base: Db, counter: StatementCounter): Db {
  const { session, dialect } = base as unknown as { dialect: unknown; session: SessionInternals };
  let counted: unknown;
  return Object.create(base, {
    session: { get: () => (counted ??= new session.constructor(session.client, dialect, session.schema, { ...session.options, logger: counter })) },
  }) as Db;
}

/**
 * One interface over PGlite, postgres.js and Neon. Nothing above it knows which driver runs:
 * `db` is a Drizzle handle, `rows` runs hand-written SQL and always answers an array of rows.
 */
export interface Database {
  readonly kind: DriverKind;
  readonly db: Db;
  /** A Drizzle handle over the same connection(s) whose statements are counted by `counter`. */
  withCounter(counter: StatementCounter): Db;
  close(): Promise<void>;
  /**
   * Optional bulk path (postgres.js): loads `text` (COPY text format, see `encodeCopyLine`) into `table` with one
   * `COPY ... FROM STDIN` in its own transaction. Drivers without it are loaded with multi-row INSERTs.
   */
  copyText?(table: string, columns: readonly string[], text: string): Promise<void>;
}

/** A value COPY can carry: strings go as text (timestamps as ISO strings), objects as JSON. */
export type CopyValue = string | number | boolean | null | Date | Record<string, unknown> | unknown[];

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

function copyField(value: CopyValue): string {
  switch (typeof value) {
    case "string":
      return COPY_SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : value;
    case "number":
      return String(value);
    case "boolean":
      return value ? "t" : "f";
    default:
      if (value === null || value === undefined) return "\\N";
      return copyField(value instanceof Date ? value.toISOString() : JSON.stringify(value));
  }
}

/** One row in COPY's text format: tab-separated, `\N` for null, backslash escapes; no line break. */
export function encodeCopyLine(row: readonly CopyValue[]): string {
  // join yields one flat string: lines kept until their batch is sent stay single objects, not ropes
  return row.map(copyField).join("\t");
}

/**
 * Rows in COPY's text format, one line each.
 * @internal tests check the COPY encoding through it; the loader streams `encodeCopyLine`
 */
export function encodeCopyText(rows: readonly (readonly CopyValue[])[]): string {
  return rows.length === 0 ? "" : `${rows.map(encodeCopyLine).join("\n")}\n`;
}

type RawResult<T> = T[] | { rows: T[] };

/**
 * Runs hand-written SQL and answers its rows. postgres.js answers a bare array and PGlite/Neon `{ rows }`;
 * callers cast counts in SQL (`::int`) so numbers come back as numbers on every driver.
 */
export async function rows<T extends Record<string, unknown>>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as RawResult<T>;
  return Array.isArray(result) ? result : result.rows;
}

/**
 * Runs hand-written SQL whose text never varies, only its numbered parameters (`$1`, `$2`…), as the prepared statement
 * `name` (unique per text), and answers its rows: each connection parses and plans it once. postgres.js sends a
 * statement with parameters that is not prepared as two round trips, Parse and Describe first, then Bind and Execute
 * once the parameter types are back; prepared, it is one message and one round trip, which is a write's whole cost
 * outside the commit (issue #15). PGlite ignores the name; Neon's driver prepares it as postgres.js does.
 */
export async function preparedRows<T extends Record<string, unknown>>(db: Db, name: string, text: string, params: unknown[]): Promise<T[]> {
  const { session } = db as unknown as {
    session: { prepareQuery(query: { sql: string; params: unknown[] }, fields: undefined, name: string, arrayMode: false): { execute(): Promise<unknown> } };
  };
  const result = (await session.prepareQuery({ sql: text, params }, undefined, name, false).execute()) as RawResult<T>;
  return Array.isArray(result) ? result : result.rows;
}

export async function firstRow<T extends Record<string, unknown>>(db: Db, query: SQL): Promise<T | undefined> {
  return (await rows<T>(db, query))[0];
}
