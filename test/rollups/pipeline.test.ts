import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rows } from "../../functions/db/database";
import { migrate } from "../../functions/db/migrate";
import { readOverview } from "../../functions/read-models/overview";
import { createTestDatabase, type TestDatabase } from "../support/database";

/**
 * The overview's pipeline pre-aggregated (sql/014_appointment_pipeline.sql): `appointment_pipeline_daily` equals, after
 * every kind of write to appointments, the count of scheduled appointments with a service per organization, UTC day and
 * service; and the overview's pipelineValueCents (its days after now from the table, the rest of today raw) equals the
 * raw sum at instants all over the day.
 */

let database: TestDatabase;
let seq = 0;
beforeAll(async () => {
  database = await createTestDatabase();
}, 120_000);
afterAll(() => database?.drop());

const q = <T extends Record<string, unknown>>(statement: ReturnType<typeof sql>) => rows<T>(database.db, statement);

type Key = { org_id: string; day: string; service_id: string; n: number };
const sortKeys = (keys: Key[]) => keys.map((k) => `${k.org_id} ${k.day} ${k.service_id} ${k.n}`).sort();

/** The table and what it must hold (from the raw appointments), for comparison. */
async function expectPipelineExact(label: string) {
  const stored = await q<Key>(sql`SELECT org_id::text, day::text, service_id::text, scheduled AS n FROM appointment_pipeline_daily`);
  const raw = await q<Key>(sql`
    SELECT org_id::text, tally_rollup_day(scheduled_at)::text AS day, service_id::text, count(*)::int AS n
      FROM appointments WHERE status = 'scheduled' AND service_id IS NOT NULL GROUP BY 1, 2, 3`);
  expect(sortKeys(stored), label).toEqual(sortKeys(raw));
}

/** A random generator with a fixed seed (the same operations every run). */
function lcg(seed: number) {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

async function orgWithServices(prices: number[]) {
  const [org] = await q<{ id: string }>(sql`INSERT INTO organizations (name) VALUES (${`pipeline ${++seq}`}) RETURNING id::text`);
  const [contact] = await q<{ id: string }>(sql`INSERT INTO contacts (org_id, phone) VALUES (${org!.id}::uuid, '+14155550100') RETURNING id::text`);
  const services: { id: string; price: number }[] = [];
  for (const price of prices) {
    const [s] = await q<{ id: string }>(
      sql`INSERT INTO services (org_id, name, price_cents) VALUES (${org!.id}::uuid, ${`service ${price}`}, ${price}) RETURNING id::text`,
    );
    services.push({ id: s!.id, price });
  }
  return { orgId: org!.id, contactId: contact!.id, services };
}

const STATUSES = ["scheduled", "completed", "cancelled", "no_show"] as const;
const BASE = Date.parse("2026-06-10T00:00:00Z");
const HOUR = 3_600_000;

describe("the overview's pipeline pre-aggregated per UTC day and service", () => {
  it("stays equal to the raw appointments through inserts, updates, deletes, service and organization deletions", async () => {
    const random = lcg(20261203);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const orgs = [await orgWithServices([1000, 2500, 0]), await orgWithServices([700, 4200])];
    const at = () => new Date(BASE + Math.floor(random() * 6 * 24) * HOUR + Math.floor(random() * 3600) * 1000).toISOString();
    // one statement of many rows, then single-row writes of every kind
    for (const org of orgs) {
      await database.db.execute(sql`
        INSERT INTO appointments (org_id, contact_id, service_id, scheduled_at, status)
        SELECT ${org.orgId}::uuid, ${org.contactId}::uuid, (${JSON.stringify(org.services.map((s) => s.id))}::jsonb ->> (g % ${org.services.length}))::uuid,
               ${new Date(BASE).toISOString()}::timestamptz + (g * interval '97 minutes'), (ARRAY['scheduled','scheduled','cancelled','completed'])[1 + g % 4]::appointment_status
          FROM generate_series(0, 80) g`);
    }
    await expectPipelineExact("after a statement of 162 rows");
    for (let step = 0; step < 60; step++) {
      const org = pick(orgs);
      const [some] = await q<{ id: string }>(sql`SELECT id::text FROM appointments WHERE org_id = ${org.orgId}::uuid ORDER BY random() LIMIT 1`);
      const op = Math.floor(random() * 7);
      if (op === 0 || !some) {
        await database.db.execute(sql`
          INSERT INTO appointments (org_id, contact_id, service_id, scheduled_at, status)
          VALUES (${org.orgId}::uuid, ${org.contactId}::uuid, ${random() < 0.2 ? null : pick(org.services).id}::uuid, ${at()}::timestamptz,
                  ${pick(STATUSES)}::appointment_status)`);
      } else if (op === 1) {
        await database.db.execute(sql`UPDATE appointments SET status = ${pick(STATUSES)}::appointment_status WHERE id = ${some.id}::uuid`);
      } else if (op === 2) {
        // moves across UTC days
        await database.db.execute(sql`UPDATE appointments SET scheduled_at = ${at()}::timestamptz WHERE id = ${some.id}::uuid`);
      } else if (op === 3) {
        await database.db.execute(sql`UPDATE appointments SET service_id = ${random() < 0.3 ? null : pick(org.services).id}::uuid WHERE id = ${some.id}::uuid`);
      } else if (op === 4) {
        await database.db.execute(sql`DELETE FROM appointments WHERE id = ${some.id}::uuid`);
      } else if (op === 5) {
        // many rows at once, some of them unchanged by the update (their deltas cancel)
        await database.db.execute(
          sql`UPDATE appointments SET status = CASE WHEN random() < 0.5 THEN status ELSE 'scheduled'::appointment_status END,
                                      scheduled_at = scheduled_at + interval '5 hours'
               WHERE org_id = ${org.orgId}::uuid AND scheduled_at < ${at()}::timestamptz`,
        );
      } else {
        // an update that changes nothing the pipeline counts
        await database.db.execute(sql`UPDATE appointments SET updated_at = now() WHERE org_id = ${org.orgId}::uuid`);
      }
      await expectPipelineExact(`step ${step} (operation ${op})`);
    }
    // a deleted service sets its appointments' service to null (the foreign key's action is an UPDATE)
    await database.db.execute(sql`DELETE FROM services WHERE id = ${orgs[0]!.services[0]!.id}::uuid`);
    await expectPipelineExact("after a service's deletion");
    // a deleted organization deletes its appointments (cascade): its keys fall to 0 and go
    await database.db.execute(sql`DELETE FROM organizations WHERE id = ${orgs[1]!.orgId}::uuid`);
    await expectPipelineExact("after an organization's deletion");
    const [left] = await q<{ n: number }>(sql`SELECT count(*)::int AS n FROM appointment_pipeline_daily WHERE org_id = ${orgs[1]!.orgId}::uuid`);
    expect(left!.n).toBe(0);
    const [zero] = await q<{ n: number }>(sql`SELECT count(*)::int AS n FROM appointment_pipeline_daily WHERE scheduled = 0`);
    expect(zero!.n).toBe(0);
  });

  it("answers the raw pipeline at instants all over the day, and is rebuilt by the first migrate with the triggers", async () => {
    const org = await orgWithServices([1999, 25_000]);
    // appointments every 37 minutes over four days, statuses and services alternating
    await database.db.execute(sql`
      INSERT INTO appointments (org_id, contact_id, service_id, scheduled_at, status)
      SELECT ${org.orgId}::uuid, ${org.contactId}::uuid, CASE WHEN g % 5 = 0 THEN NULL WHEN g % 2 = 0 THEN ${org.services[0]!.id}::uuid ELSE ${org.services[1]!.id}::uuid END,
             ${new Date(BASE).toISOString()}::timestamptz + (g * interval '37 minutes'), CASE WHEN g % 3 = 0 THEN 'cancelled' ELSE 'scheduled' END::appointment_status
        FROM generate_series(0, 155) g`);
    const raw = async (now: Date) => {
      const [r] = await q<{ v: number }>(sql`
        SELECT coalesce(sum(s.price_cents), 0)::float8 AS v FROM appointments a JOIN services s ON s.id = a.service_id
         WHERE a.org_id = ${org.orgId}::uuid AND a.status = 'scheduled' AND a.scheduled_at >= ${now.toISOString()}::timestamptz`);
      return r!.v;
    };
    const overviewAt = async (now: Date) =>
      (
        await readOverview(
          { db: database.db, org: { id: org.orgId, timezone: "UTC" } as never, now },
          { from: new Date(now.getTime() - 86_400_000), to: now, timezone: "UTC" },
        )
      ).pipelineValueCents;
    const instants = [0, 1, 37 * 60_000, 11 * HOUR + 7 * 60_000 + 13_000, 23 * HOUR + 59 * 60_000, 24 * HOUR, 49 * HOUR + 30 * 60_000, 5 * 24 * HOUR].map(
      (ms) => new Date(BASE - HOUR + ms),
    );
    for (const now of instants) expect(await overviewAt(now), now.toISOString()).toBe(await raw(now));
    // without its triggers (as before migration 0015's first migrate), the next migrate rebuilds the table whole
    await database.db.execute(sql`DROP TRIGGER tally_appointment_pipeline_insert ON appointments`);
    await database.db.execute(sql`UPDATE appointment_pipeline_daily SET scheduled = scheduled + 7`);
    await migrate(database);
    await expectPipelineExact("after the first build");
    for (const now of instants) expect(await overviewAt(now), now.toISOString()).toBe(await raw(now));
    // TRUNCATE empties it
    await database.db.execute(sql`TRUNCATE appointments`);
    await expectPipelineExact("after TRUNCATE");
  });
});
