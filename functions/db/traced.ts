import type { Tracer } from "../lib/tracing";
import { countedHandle, type Database, type Db, StatementCounter } from "./database";

type PreparedQuery = {
  getQuery(): { sql: string };
  execute(...args: unknown[]): Promise<unknown>;
  all(...args: unknown[]): Promise<unknown>;
};
type Transaction = { session: Session; transaction(work: (tx: Transaction) => Promise<unknown>): Promise<unknown> };
type Session = {
  prepareQuery(...args: unknown[]): PreparedQuery;
  transaction(work: (tx: Transaction) => Promise<unknown>, config?: unknown): Promise<unknown>;
};

/** The statement's own verb (SELECT, INSERT, WITH, ...), as `db.operation.name` and the span's name. */
const operationOf = (text: string) => /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? "SQL";

/**
 * `database` whose every statement runs in a child span of the active one (`db.system.name` postgresql, the statement
 * text as `db.query.text`, never its parameter values). It wraps Drizzle's session of each handle it answers, the one
 * layer PGlite, postgres.js and Neon share, and the sessions of the transactions begun on them; the drivers are left
 * as they are. Only the Node entry calls it, and only with tracing on: without it no statement pays anything.
 */
export function tracedDatabase<D extends Database>(database: D, tracer: Tracer): D {
  const traced = new WeakSet<Session>();
  const traceQuery = (prepared: PreparedQuery): PreparedQuery => {
    const text = prepared.getQuery().sql;
    const operation = operationOf(text);
    const attributes = { "db.system.name": "postgresql", "db.query.text": text, "db.operation.name": operation };
    const { execute, all } = prepared;
    prepared.execute = (...args) => tracer.span(operation, "client", attributes, () => execute.apply(prepared, args));
    prepared.all = (...args) => tracer.span(operation, "client", attributes, () => all.apply(prepared, args));
    return prepared;
  };
  const traceTransaction = (tx: Transaction): Transaction => {
    traceSession(tx.session);
    const nested = tx.transaction;
    tx.transaction = (work) => nested.call(tx, (inner: Transaction) => work(traceTransaction(inner)));
    return tx;
  };
  // a transaction's statements go through a session the driver makes for it (or, on a Neon client, the same one)
  function traceSession(session: Session): void {
    if (traced.has(session)) return;
    traced.add(session);
    const { prepareQuery, transaction } = session;
    session.prepareQuery = (...args) => traceQuery(prepareQuery.apply(session, args));
    session.transaction = (work, config) => transaction.call(session, (tx: Transaction) => work(traceTransaction(tx)), config);
  }
  const traceHandle = (handle: Db): Db => {
    traceSession((handle as unknown as { session: Session }).session);
    return handle;
  };
  return {
    ...database,
    // a handle of its own over the same client: the undecorated `database.db` stays as it was
    db: traceHandle(countedHandle(database.db, new StatementCounter())),
    withCounter: (counter: StatementCounter) => traceHandle(database.withCounter(counter)),
  };
}
