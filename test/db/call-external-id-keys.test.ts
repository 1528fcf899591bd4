import { sql } from "drizzle-orm";
import type postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rows } from "../../functions/db/database";
import { createTestDatabase, testDbKind, type TestDatabase } from "../support/database";

/**
 * The external ids' key to their call (sql/002_call_external_id_keys.sql, migration 0010): checked once per statement
 * instead of 0005's per-row foreign key, with the same guarantees — every row a statement writes names a call of its
 * organization at its start time, or the statement fails with 23503; the call's move and deletion carry them along —
 * and under concurrency, the call's deletion and an external id naming it never leave an external id without its call.
 */

let database: TestDatabase;
let seq = 0;
beforeAll(async () => {
  database = await createTestDatabase();
}, 120_000);
afterAll(() => database?.drop());

const q = <T extends Record<string, unknown>>(statement: ReturnType<typeof sql>) => rows<T>(database.db, statement);

/** An organization with `n` calls (a contact each), their keys as text (started_at keeps its microseconds). */
async function orgWithCalls(n: number) {
  const [org] = await q<{ id: string }>(sql`INSERT INTO organizations (name) VALUES (${`keys ${++seq}`}) RETURNING id::text`);
  const calls = await q<{ id: string; started_at: string }>(sql`
    WITH contact AS (
      INSERT INTO contacts (org_id, phone) SELECT ${org!.id}::uuid, '+1415555' || lpad(g::text, 4, '0') FROM generate_series(1, ${n}::int) g
      RETURNING id, phone)
    INSERT INTO calls (org_id, contact_id, direction, status, phone_number, started_at)
    SELECT ${org!.id}::uuid, id, 'inbound', 'completed', phone, now() - interval '1 hour' + (row_number() OVER (ORDER BY phone)) * interval '1.000001 second'
      FROM contact
    RETURNING id::text, started_at::text`);
  return { orgId: org!.id, calls };
}

/** The SQLSTATE and constraint a statement failed with, or null when it succeeded. */
async function failure(statement: ReturnType<typeof sql>): Promise<{ code: string; constraint?: string } | null> {
  try {
    await database.db.transaction(async (tx) => {
      await tx.execute(statement);
    });
    return null;
  } catch (error) {
    const e = ((error as { cause?: unknown }).cause ?? error) as { code?: string; constraint?: string; constraint_name?: string };
    return { code: e.code ?? String(error), constraint: e.constraint ?? e.constraint_name };
  }
}

describe("the external ids' key to calls", () => {
  it("takes a statement of many rows that each name their call, and refuses the whole statement for one that does not", async () => {
    const { orgId, calls } = await orgWithCalls(3);
    const other = await orgWithCalls(1);
    const values = (extra: ReturnType<typeof sql>) => sql`
      INSERT INTO call_external_ids (org_id, external_id, call_id, started_at)
      SELECT ${orgId}::uuid, 'ext-' || c.id, c.id::uuid, c.started_at::timestamptz
        FROM jsonb_to_recordset(${JSON.stringify(calls)}::jsonb) AS c(id text, started_at text)
      UNION ALL ${extra}`;
    const refused = [
      sql`SELECT ${orgId}::uuid, 'no call', gen_random_uuid(), now()`,
      sql`SELECT ${orgId}::uuid, 'another org''s call', ${other.calls[0]!.id}::uuid, ${other.calls[0]!.started_at}::timestamptz`,
      sql`SELECT ${orgId}::uuid, 'another time', ${calls[0]!.id}::uuid, ${calls[0]!.started_at}::timestamptz + interval '1 microsecond'`,
    ];
    for (const extra of refused) {
      const failed = await failure(values(extra));
      expect(failed?.code).toBe("23503");
      if (testDbKind() === "postgres") expect(failed?.constraint).toBe("call_external_ids_org_call_fk");
    }
    expect(await q(sql`SELECT count(*)::int AS n FROM call_external_ids WHERE org_id = ${orgId}::uuid`)).toEqual([{ n: 0 }]);
    expect(await failure(values(sql`SELECT ${orgId}::uuid, 'x', ${calls[0]!.id}::uuid, ${calls[0]!.started_at}::timestamptz`))).toBeNull();
    expect(await q(sql`SELECT count(*)::int AS n FROM call_external_ids WHERE org_id = ${orgId}::uuid`)).toEqual([{ n: 4 }]);
  });

  it("checks a statement of more than 1,000 rows (a bulk load: planned for that statement) as strictly", async () => {
    const { orgId, calls } = await orgWithCalls(1_001);
    const other = await orgWithCalls(1);
    const values = (extra: ReturnType<typeof sql>) => sql`
      INSERT INTO call_external_ids (org_id, external_id, call_id, started_at)
      SELECT ${orgId}::uuid, 'ext-' || c.id, c.id::uuid, c.started_at::timestamptz
        FROM jsonb_to_recordset(${JSON.stringify(calls)}::jsonb) AS c(id text, started_at text)
      UNION ALL ${extra}`;
    for (const extra of [
      sql`SELECT ${orgId}::uuid, 'no call', gen_random_uuid(), now()`,
      sql`SELECT ${orgId}::uuid, 'another org''s call', ${other.calls[0]!.id}::uuid, ${other.calls[0]!.started_at}::timestamptz`,
      sql`SELECT ${orgId}::uuid, 'another time', ${calls[0]!.id}::uuid, ${calls[0]!.started_at}::timestamptz + interval '1 microsecond'`,
    ]) {
      const failed = await failure(values(extra));
      expect(failed?.code).toBe("23503");
      if (testDbKind() === "postgres") expect(failed?.constraint).toBe("call_external_ids_org_call_fk");
    }
    expect(await failure(values(sql`SELECT ${orgId}::uuid, 'x', ${calls[0]!.id}::uuid, ${calls[0]!.started_at}::timestamptz`))).toBeNull();
    expect(await q(sql`SELECT count(*)::int AS n FROM call_external_ids WHERE org_id = ${orgId}::uuid`)).toEqual([{ n: 1_002 }]);
    // calls inserted by the same transaction as their external ids (not locked: nobody else sees them yet)
    const [contact] = await q<{ id: string }>(sql`INSERT INTO contacts (org_id, phone) VALUES (${orgId}::uuid, '+14150000000') RETURNING id::text`);
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`
        INSERT INTO calls (org_id, contact_id, direction, status, phone_number, started_at)
        SELECT ${orgId}::uuid, ${contact!.id}::uuid, 'inbound', 'completed', '+14150000000', now() - interval '2 hours' + g * interval '1 millisecond'
          FROM generate_series(1, 1200) g`);
      await tx.execute(sql`
        INSERT INTO call_external_ids (org_id, external_id, call_id, started_at)
        SELECT org_id, 'same-tx-' || id, id, started_at FROM calls WHERE org_id = ${orgId}::uuid AND contact_id = ${contact!.id}::uuid`);
    });
    expect(await q(sql`SELECT count(*)::int AS n FROM call_external_ids WHERE org_id = ${orgId}::uuid`)).toEqual([{ n: 2_202 }]);
  });

  it("carries them along when calls move in time, refuses a new id for a named call, and deletes them with their calls", async () => {
    const { orgId, calls } = await orgWithCalls(3);
    for (const c of calls)
      await database.db.execute(
        sql`INSERT INTO call_external_ids (org_id, external_id, call_id, started_at) VALUES (${orgId}::uuid, ${`ext-${c.id}`}, ${c.id}::uuid, ${c.started_at}::timestamptz)`,
      );
    // two of the three move, one of them into another month's partition
    await database.db.execute(sql`UPDATE calls SET started_at = started_at - interval '40 days' WHERE id = ${calls[0]!.id}::uuid`);
    await database.db.execute(
      sql`UPDATE calls SET started_at = started_at + interval '1 minute', status = 'failed' WHERE org_id = ${orgId}::uuid AND id <> ${calls[0]!.id}::uuid AND id <> ${calls[1]!.id}::uuid`,
    );
    const linked = sql`SELECT count(*)::int AS n FROM call_external_ids x JOIN calls c ON c.org_id = x.org_id AND c.id = x.call_id AND c.started_at = x.started_at WHERE x.org_id = ${orgId}::uuid`;
    expect(await q(linked)).toEqual([{ n: 3 }]);
    expect((await failure(sql`UPDATE calls SET id = gen_random_uuid() WHERE id = ${calls[1]!.id}::uuid`))?.code).toBe("23503");
    await database.db.execute(sql`DELETE FROM calls WHERE id IN (${calls[0]!.id}::uuid, ${calls[2]!.id}::uuid)`);
    expect(await q(sql`SELECT call_id::text FROM call_external_ids WHERE org_id = ${orgId}::uuid`)).toEqual([{ call_id: calls[1]!.id }]);
    // an organization's deletion takes its contacts, so its calls, so their external ids
    await database.db.execute(sql`DELETE FROM organizations WHERE id = ${orgId}::uuid`);
    expect(await q(sql`SELECT count(*)::int AS n FROM call_external_ids WHERE org_id = ${orgId}::uuid`)).toEqual([{ n: 0 }]);
    expect(await q(sql`SELECT count(*)::int AS n FROM calls WHERE org_id = ${orgId}::uuid`)).toEqual([{ n: 0 }]);
  });
});

/** Two transactions at once: the local Postgres only (PGlite has one connection). */
describe.skipIf(testDbKind() !== "postgres")("the external ids' key under concurrency (Postgres)", () => {
  const client = () => (database as unknown as { client: postgres.Sql }).client;
  const settledWithin = async (p: Promise<unknown>, ms: number) => {
    let settled = false;
    void p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, ms));
    return settled;
  };

  it("an external id written while its call is being deleted waits for the delete, then is refused", async () => {
    const { orgId, calls } = await orgWithCalls(1);
    const call = calls[0]!;
    const deleter = await client().reserve();
    const writer = await client().reserve();
    try {
      await deleter`BEGIN`;
      await deleter`DELETE FROM calls WHERE id = ${call.id}::uuid`;
      const writing = writer`INSERT INTO call_external_ids (org_id, external_id, call_id, started_at)
                             VALUES (${orgId}::uuid, 'late', ${call.id}::uuid, ${call.started_at}::timestamptz)`.then(
        () => null,
        (error: { code?: string }) => error.code,
      );
      expect(await settledWithin(writing, 300), "the check must wait for the deleting transaction").toBe(false);
      await deleter`COMMIT`;
      expect(await writing).toBe("23503");
    } finally {
      deleter.release();
      writer.release();
    }
    expect(await q(sql`SELECT count(*)::int AS n FROM call_external_ids WHERE org_id = ${orgId}::uuid`)).toEqual([{ n: 0 }]);
  });

  it("a call deleted while an external id naming it is being written waits for that writer, then deletes it too", async () => {
    const { orgId, calls } = await orgWithCalls(1);
    const call = calls[0]!;
    const deleter = await client().reserve();
    const writer = await client().reserve();
    try {
      await writer`BEGIN`;
      await writer`INSERT INTO call_external_ids (org_id, external_id, call_id, started_at)
                   VALUES (${orgId}::uuid, 'racing', ${call.id}::uuid, ${call.started_at}::timestamptz)`;
      const deleting = deleter`DELETE FROM calls WHERE id = ${call.id}::uuid`.then(() => null);
      expect(await settledWithin(deleting, 300), "the delete must wait for the writer's lock on the call").toBe(false);
      await writer`COMMIT`;
      await deleting;
    } finally {
      deleter.release();
      writer.release();
    }
    expect(await q(sql`SELECT count(*)::int AS n FROM call_external_ids WHERE org_id = ${orgId}::uuid`)).toEqual([{ n: 0 }]);
    expect(await q(sql`SELECT count(*)::int AS n FROM calls WHERE org_id = ${orgId}::uuid`)).toEqual([{ n: 0 }]);
  });
});
