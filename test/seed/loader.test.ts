import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCopyText, rows, type Database } from "../../functions/db/database";
import { seed, type SeedOptions } from "../../functions/seed";
import { createTestDatabase, type TestDatabase } from "../support/database";

const OPTIONS: SeedOptions = { orgs: 2, calls: 400, days: 10, seed: "loader", now: new Date("2026-01-20T18:00:00Z"), pageviewsPerCall: 1 };

async function callsHash(database: Database): Promise<string> {
  const [row] = await rows<{ hash: string }>(database.db, sql`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS hash FROM calls t`);
  return row!.hash;
}

let bulk: TestDatabase;
let plain: TestDatabase;

beforeAll(async () => {
  [bulk, plain] = await Promise.all([createTestDatabase(), createTestDatabase()]);
});

afterAll(async () => {
  await Promise.all([bulk?.drop(), plain?.drop()]);
});

describe("bulk loading", () => {
  it("loads the same rows through multi-row INSERTs as through COPY", async () => {
    await seed(bulk, OPTIONS);
    // a driver with neither COPY path, as Neon is
    const insertsOnly: Database = { kind: "neon", db: plain.db, withCounter: plain.withCounter, close: async () => {} };
    await seed(insertsOnly, OPTIONS);
    expect(await callsHash(plain)).toBe(await callsHash(bulk));
  });

  it("copies tabs, line breaks, backslashes, quotes and unicode unchanged, and reports a rejected COPY", async (ctx) => {
    if (!bulk.copyText) ctx.skip();
    await bulk.db.execute(sql`CREATE TABLE seed_copy_probe (id int PRIMARY KEY, body text, doc jsonb)`);
    const bodies = ["tab\there", "line\nbreak\r\n", "back\\slash \\N", "quote ' \" ", "Müller ✓ नमस्ते", ""];
    await bulk.copyText!("seed_copy_probe", ["id", "body", "doc"], encodeCopyText(bodies.map((b, i) => [i, b, { b }])));
    const back = await rows<{ id: number; body: string; doc: { b: string } }>(bulk.db, sql`SELECT id, body, doc FROM seed_copy_probe ORDER BY id`);
    expect(back.map((r) => r.body)).toEqual(bodies);
    expect(back.map((r) => r.doc.b)).toEqual(bodies);
    // a duplicate key is only detected after the data is sent: it must fail, not hang (porsager/postgres#1173)
    await expect(
      bulk.copyText!(
        "seed_copy_probe",
        ["id", "body", "doc"],
        encodeCopyText([
          [100, "x", null],
          [0, "dup", null],
        ]),
      ),
    ).rejects.toThrow(/COPY into seed_copy_probe failed/);
    const [after] = await rows<{ n: number }>(bulk.db, sql`SELECT count(*)::int AS n FROM seed_copy_probe`);
    expect(after!.n).toBe(bodies.length);
  });
});
