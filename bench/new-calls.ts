// What the write benches (write-cost, write-ab) send: new calls with unique external ids, and the new-call statement
// a service function would run for them, rendered without running it.
import type { SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Db } from "../functions/db/database";
import type { CallInput } from "../functions/services/call-ingest";

/** A source of new calls: phone numbers spread over 5M, external ids `<label>-<start>-<n>`. */
export function newCallSource(label: string): () => CallInput {
  const stamp = Date.now();
  let seq = 0;
  return () => ({
    phoneNumber: `+1415${String(5_000_000 + ((seq * 7919) % 5_000_000)).padStart(7, "0")}`,
    direction: "inbound",
    status: "completed",
    durationSec: 60 + (seq % 300),
    externalId: `${label}-${stamp}-${seq++}`,
  });
}

type NewCallsInsert = (db: Db, orgId: string, items: readonly { index: number; input: CallInput }[], now: Date) => Promise<unknown>;

/**
 * The text and parameters `insert` sends for `size` calls from `next`, captured instead of sent, and whether it sends
 * them as a prepared statement (`preparedRows`) or not (`rows`), so that a bench sends them as the service would.
 */
export async function renderedInsert(insert: NewCallsInsert, orgId: string, size: number, next: () => CallInput) {
  let captured: { sql: string; params: unknown[]; prepared: boolean } | undefined;
  const dialect = new PgDialect();
  const capture = {
    dialect,
    execute: async (q: SQL) => ((captured = { ...dialect.sqlToQuery(q), prepared: false }), []),
    session: { prepareQuery: (q: { sql: string; params: unknown[] }) => ({ execute: async () => ((captured = { ...q, prepared: true }), []) }) },
  } as unknown as Db;
  await insert(
    capture,
    orgId,
    Array.from({ length: size }, (_, index) => ({ index, input: next() })),
    new Date(),
  );
  if (!captured) throw new Error("the insert sent no statement");
  return captured;
}

/** A postgres.js client or reserved connection: what `explainRolledBack` needs of one. */
type Beginner = { begin(fn: (tx: { unsafe(text: string, params: never[]): Promise<Record<string, unknown>[]> }) => Promise<unknown>): Promise<unknown> };

/** `EXPLAIN (ANALYZE, BUFFERS, WAL)` of a rendered statement in a transaction that is rolled back: the plan's lines. */
export async function explainRolledBack(client: Beginner, text: string, params: unknown[]): Promise<string[]> {
  let lines: string[] = [];
  await client
    .begin(async (tx) => {
      const plan = await tx.unsafe(`EXPLAIN (ANALYZE, BUFFERS, WAL) ${text}`, params as never[]);
      lines = plan.map((r) => String(r["QUERY PLAN"]));
      throw new Error("rollback");
    })
    .catch((error: Error) => {
      if (error.message !== "rollback") throw error;
    });
  return lines;
}
