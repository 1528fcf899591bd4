import { sql } from "drizzle-orm";
import { encodeCopyLine, type CopyValue, type Database } from "../db/database";

type Row = readonly CopyValue[];

/**
 * Rows per COPY or INSERT. Large enough that per-statement overhead vanishes, small enough that a statement's
 * deferred foreign-key checks and the batches in flight stay a few megabytes: memory is flat however many calls.
 */
const DEFAULT_BATCH_ROWS = 10_000;
/** Statements in flight on postgres.js: the generator keeps that many backends busy while it draws the next rows. */
const POSTGRES_IN_FLIGHT = 4;
/** PGlite runs one statement at a time, on the generator's own thread: loading as soon as a batch is full is best. */
const PGLITE_IN_FLIGHT = 1;
/** Rows per multi-row INSERT on drivers without COPY: keeps each statement well under a megabyte. */
const INSERT_ROWS = 1_000;

type PgliteClient = { query(query: string, params?: unknown[], options?: { blob?: Blob }): Promise<unknown> };
type TableBuffer = {
  columns: readonly string[];
  batchRows: number;
  /** the table this one's foreign keys name (its rows must be committed first), if it is loaded alongside */
  parent: string | undefined;
  lines: string[];
  rows: Row[];
  inFlight: Set<Promise<void>>;
};

/**
 * Streams generated rows into tables in batches: COPY on postgres.js (`Database.copyText`, several statements
 * in flight), COPY from an in-memory blob on PGlite, multi-row INSERTs elsewhere. `table(...)` answers an `add`
 * that buffers; `ready` waits until the statements in flight are few enough; `finish` flushes and waits for all.
 * On the COPY paths a row is encoded as it is added, so it dies young and only its one-string line waits.
 */
export class BulkLoader {
  private readonly buffers = new Map<string, TableBuffer>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxInFlight: number;
  private readonly pglite: PgliteClient | undefined;
  private readonly copies: boolean;
  private failure: unknown;
  private last: Promise<void> = Promise.resolve();
  readonly counts: Record<string, number> = {};

  constructor(private readonly database: Database) {
    const client = (database as Database & { client?: PgliteClient }).client;
    this.pglite = database.kind === "pglite" && client ? client : undefined;
    this.copies = Boolean(database.copyText || this.pglite);
    this.maxInFlight = database.copyText ? POSTGRES_IN_FLIGHT : PGLITE_IN_FLIGHT;
  }

  /**
   * Declares a table's column order once; `add` then takes values in that order. With `parent` (a table declared
   * before, whose rows this one's foreign keys name), a batch of this table is sent only after every row added to
   * the parent so far is committed.
   */
  table(name: string, columns: readonly string[], batchRows = DEFAULT_BATCH_ROWS, parent?: string): (row: Row) => void {
    if (parent !== undefined && !this.buffers.has(parent)) throw new Error(`${name}: declare its parent ${parent} first`);
    const buffer: TableBuffer = { columns, batchRows, parent, lines: [], rows: [], inFlight: new Set() };
    this.buffers.set(name, buffer);
    this.counts[name] ??= 0;
    if (this.copies) {
      return (row) => {
        if (buffer.lines.push(encodeCopyLine(row)) >= batchRows) this.flushTable(name);
      };
    }
    return (row) => {
      if (buffer.rows.push(row) >= batchRows) this.flushTable(name);
    };
  }

  /** Waits while too many statements are in flight; rethrows the first failure. */
  async ready(): Promise<void> {
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    if (this.failure) await this.settle();
  }

  /** Sends every buffered row and waits until all of it is committed. */
  async finish(): Promise<void> {
    if (!this.failure) for (const name of this.buffers.keys()) this.flushTable(name);
    await this.settle();
  }

  /** Waits for every statement in flight (a failure leaves none running behind the caller), then rethrows. */
  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  private flushTable(name: string): void {
    const buffer = this.buffers.get(name)!;
    const size = buffer.lines.length + buffer.rows.length;
    if (size === 0) return;
    let parentCommitted: Promise<unknown> = Promise.resolve();
    if (buffer.parent !== undefined) {
      this.flushTable(buffer.parent);
      parentCommitted = Promise.all(this.buffers.get(buffer.parent)!.inFlight);
    }
    const text = buffer.lines.length > 0 ? `${buffer.lines.join("\n")}\n` : "";
    const rows = buffer.rows;
    buffer.lines = [];
    buffer.rows = [];
    this.counts[name]! += size;
    // PGlite runs one statement at a time anyway: chaining keeps at most one batch waiting in its queue
    const start = this.database.copyText ? parentCommitted : Promise.all([this.last, parentCommitted]);
    const done: Promise<void> = start
      .then(() => (this.failure ? undefined : this.load(name, buffer.columns, text, rows)))
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.inFlight.delete(done);
        buffer.inFlight.delete(done);
      });
    this.inFlight.add(done);
    buffer.inFlight.add(done);
    this.last = done;
  }

  private async load(table: string, columns: readonly string[], text: string, rows: Row[]): Promise<void> {
    if (this.database.copyText) return this.database.copyText(table, columns, text);
    if (this.pglite) {
      const list = columns.map((c) => `"${c}"`).join(", ");
      await this.pglite.query(`COPY "${table}" (${list}) FROM '/dev/blob'`, [], { blob: new Blob([text]) });
      return;
    }
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      await this.database.db.execute(insertStatement(table, columns, rows.slice(i, i + INSERT_ROWS)));
    }
  }
}

function literal(value: CopyValue): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
  const text = typeof value === "string" ? value : value instanceof Date ? value.toISOString() : JSON.stringify(value);
  return `'${text.replace(/'/g, "''")}'`;
}

/** A multi-row INSERT of literals (standard_conforming_strings: only quotes need doubling). */
function insertStatement(table: string, columns: readonly string[], rows: readonly Row[]) {
  const values = rows.map((row) => `(${row.map(literal).join(", ")})`).join(",\n");
  return sql.raw(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES ${values}`);
}
