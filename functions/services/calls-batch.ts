import type { Db } from "../db/database";
import { ApiError, fromDatabaseError, type FieldError } from "../lib/errors";
import { insertNewCallIds } from "./call-ingest";
import { REQUIRED_ON_CREATE, upsertCallIn, type CallInput } from "./calls";

/** One item's outcome in a batch (SPEC §11): 201 created, 200 changed, or the 4xx the single route would answer. */
export type BatchItemResult = { index: number; status: number; id?: string; errors?: FieldError[] };

/**
 * Items of `POST /api/calls/batch`, each an upsert exactly as `POST /api/calls`; `items[i]` is the parsed body or the
 * error its validation gave. New calls whose external id is not repeated in the batch go in one statement
 * (`insertNewCallIds`, its own transaction, ordered by external id so concurrent batches lock in one order); the rest —
 * updates, repeats of an external id (applied in item order, after the call they name was created), items the
 * statement did not admit, and every item when that statement fails — take the single route's long way one by one,
 * each in its own transaction, so a bad item fails alone and writes nothing of itself. No transaction is held across
 * items, so batches that share external ids wait on each other only a statement long and cannot deadlock.
 */
export async function ingestCalls(db: Db, orgId: string, items: readonly (CallInput | ApiError)[], now: Date): Promise<BatchItemResult[]> {
  const results: BatchItemResult[] = items.map((item, index) => (item instanceof ApiError ? failed(index, item) : { index, status: 0 }));
  const fast: { index: number; input: CallInput }[] = [];
  const slow: number[] = [];
  const seen = new Set<string>();
  items.forEach((input, index) => {
    if (input instanceof ApiError) return;
    const repeat = input.externalId !== undefined && seen.has(input.externalId);
    if (input.externalId !== undefined) seen.add(input.externalId);
    const complete = REQUIRED_ON_CREATE.every((k) => input[k] !== undefined) && timesInOrder(input, now);
    if (complete && !repeat) fast.push({ index, input });
    else slow.push(index);
  });
  if (fast.length > 0) {
    fast.sort((a, b) => ((a.input.externalId ?? "") < (b.input.externalId ?? "") ? -1 : 1));
    let inserted: Map<number, string> | undefined;
    try {
      inserted = await insertNewCallIds(db, orgId, fast, now);
    } catch (error) {
      if (!fromDatabaseError(error)) throw error; // a bad value in some item: each finds out alone below
    }
    for (const { index } of fast) {
      const id = inserted?.get(index);
      if (id) results[index] = { index, status: 201, id };
      else slow.push(index);
    }
  }
  for (const index of slow.sort((a, b) => a - b)) {
    try {
      const { call, created } = await db.transaction((tx) => upsertCallIn(tx as unknown as Db, orgId, items[index] as CallInput, now));
      results[index] = { index, status: created ? 201 : 200, id: call.id };
    } catch (error) {
      const known = error instanceof ApiError ? error : fromDatabaseError(error);
      if (!known) throw error;
      results[index] = failed(index, known);
    }
  }
  return results;
}

const failed = (index: number, error: ApiError): BatchItemResult => ({
  index,
  status: error.status,
  errors: error.errors ?? [{ path: "", message: error.message }],
});

function timesInOrder(input: CallInput, now: Date): boolean {
  if (!input.endedAt) return true;
  return new Date(input.endedAt) >= (input.startedAt ? new Date(input.startedAt) : now);
}
