import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rows, type Database } from "../../functions/db/database";
import { SQL_FOLDER, applyDrizzleMigrations, migrate } from "../../functions/db/migrate";
import { createEmptyDatabase, type TestDatabase } from "../support/database";

/**
 * Migrations 0004 and 0005 (composite organization keys, references to calls by their whole key) applied to a
 * database that really is at 0003 and holds the links the old schema allowed: the repairs they promise, then the
 * database itself refusing every such link, carrying references along when a call moves in time, and partition
 * maintenance (a move out of the default partition, retention) keeping or removing exactly what names the calls.
 */

const THROUGH = "0003_voice_agent_id_unique";
const NOW = new Date("2026-11-20T12:00:00Z");

/** Drizzle's migrations up to and including `tag`, and the partition functions of sql/ (months around `now`). */
async function migrateThrough(database: Database, tag: string) {
  await applyDrizzleMigrations(database, tag);
  for (const statement of readFileSync(join(SQL_FOLDER, "001_partitions.sql"), "utf8").split("--> statement-breakpoint"))
    if (statement.replace(/--.*$/gm, "").trim()) await database.db.execute(sql.raw(statement));
  await database.db.execute(sql`SELECT tally_ensure_partitions(${NOW.toISOString()}::timestamptz, 3, 3)`);
}

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const A = id(1);
const B = id(2);
const AGENT_A = id(11);
const AGENT_B = id(12);
const CONTACT_A = id(21);
const CONTACT_B = id(22);
const SERVICE_A = id(31);
const SERVICE_B = id(32);
const CALL_A = id(41);
const CALL_A_FOREIGN_AGENT = id(42);
const CALL_B = id(43);
const GONE_CALL = id(49);
const APPT_OWN_CALL = id(51);
const APPT_FOREIGN_CALL = id(52);
const APPT_GONE_CALL = id(53);
const APPT_FOREIGN_SERVICE = id(54);
const STARTED = "2026-11-18T09:30:00.123456Z"; // microseconds, as a server-side now() writes them

/** Runs each statement of a script (PGlite's extended protocol takes one statement a query). */
async function script(db: Database["db"], text: string) {
  for (const statement of text.split(/;[ \t]*(?:--[^\n]*)?\n/)) if (statement.trim()) await db.execute(sql.raw(statement));
}

/** An organization's rows as the 0003 schema took them, including links from one organization to another. */
async function populateAt0003(db: Database["db"]) {
  await script(
    db,
    `
    INSERT INTO organizations (id, name) VALUES ('${A}', 'A'), ('${B}', 'B');
    INSERT INTO agents (id, org_id, name) VALUES ('${AGENT_A}', '${A}', 'Ava'), ('${AGENT_B}', '${B}', 'Bo');
    INSERT INTO contacts (id, org_id, phone) VALUES ('${CONTACT_A}', '${A}', '+14155550101'), ('${CONTACT_B}', '${B}', '+14155550102');
    INSERT INTO services (id, org_id, name, price_cents) VALUES ('${SERVICE_A}', '${A}', 'Cut', 100), ('${SERVICE_B}', '${B}', 'Dye', 100);
    INSERT INTO calls (id, org_id, agent_id, contact_id, direction, status, phone_number, started_at) VALUES
      ('${CALL_A}', '${A}', '${AGENT_A}', '${CONTACT_A}', 'inbound', 'completed', '+14155550101', '${STARTED}'),
      ('${CALL_A_FOREIGN_AGENT}', '${A}', '${AGENT_B}', '${CONTACT_A}', 'inbound', 'completed', '+14155550101', '${STARTED}'),
      ('${CALL_B}', '${B}', '${AGENT_B}', '${CONTACT_B}', 'outbound', 'completed', '+14155550102', '${STARTED}');
    INSERT INTO call_milestones (call_id, org_id, key, achieved) VALUES
      ('${CALL_A}', '${A}', 'greeting', true),
      ('${CALL_A}', '${B}', 'booking', true),            -- filed under another organization than its call's
      ('${GONE_CALL}', '${A}', 'greeting', true);       -- its call is gone (retention used to leave these)
    INSERT INTO call_objections (call_id, org_id, kind, handled) VALUES
      ('${CALL_A}', '${A}', 'price', true), ('${GONE_CALL}', '${A}', 'price', false);
    INSERT INTO call_external_ids (org_id, external_id, call_id, started_at) VALUES
      ('${A}', 'ext-a', '${CALL_A}', '${STARTED}'), ('${A}', 'ext-gone', '${GONE_CALL}', '${STARTED}');
    INSERT INTO appointments (id, org_id, contact_id, call_id, service_id, scheduled_at) VALUES
      ('${APPT_OWN_CALL}', '${A}', '${CONTACT_A}', '${CALL_A}', '${SERVICE_A}', '2026-12-01T10:00:00Z'),
      ('${APPT_FOREIGN_CALL}', '${A}', '${CONTACT_A}', '${CALL_B}', NULL, '2026-12-01T11:00:00Z'),
      ('${APPT_GONE_CALL}', '${A}', '${CONTACT_A}', '${GONE_CALL}', NULL, '2026-12-01T12:00:00Z'),
      ('${APPT_FOREIGN_SERVICE}', '${A}', '${CONTACT_A}', NULL, '${SERVICE_B}', '2026-12-01T13:00:00Z');
  `,
  );
}

/** The SQLSTATE a statement failed with, or null when it succeeded. */
async function failure(db: Database["db"], statement: ReturnType<typeof sql>): Promise<string | null> {
  try {
    await db.transaction(async (tx) => {
      await tx.execute(statement);
    });
    return null;
  } catch (error) {
    const e = (error as { cause?: { code?: string } }).cause ?? (error as { code?: string });
    return e.code ?? String(error);
  }
}

describe("migrating a populated 0003 database to composite keys", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createEmptyDatabase();
    await migrateThrough(database, THROUGH);
    await populateAt0003(database.db);
    await migrate(database, NOW);
  }, 120_000);
  afterAll(() => database?.drop());
  const q = <T extends Record<string, unknown>>(statement: ReturnType<typeof sql>) => rows<T>(database.db, statement);

  it("repairs the links the old schema allowed", async () => {
    expect(await q(sql`SELECT call_id, org_id, key, call_started_at = ${STARTED}::timestamptz AS keyed FROM call_milestones ORDER BY key`)).toEqual([
      { call_id: CALL_A, org_id: A, key: "booking", keyed: true }, // moved to its call's organization
      { call_id: CALL_A, org_id: A, key: "greeting", keyed: true }, // the gone call's row is removed
    ]);
    expect(await q(sql`SELECT call_id, call_started_at = ${STARTED}::timestamptz AS keyed FROM call_objections`)).toEqual([{ call_id: CALL_A, keyed: true }]);
    expect(await q(sql`SELECT external_id FROM call_external_ids`)).toEqual([{ external_id: "ext-a" }]);
    expect(await q(sql`SELECT id, call_id, call_started_at = ${STARTED}::timestamptz AS keyed, service_id FROM appointments ORDER BY id`)).toEqual([
      { id: APPT_OWN_CALL, call_id: CALL_A, keyed: true, service_id: SERVICE_A },
      { id: APPT_FOREIGN_CALL, call_id: null, keyed: null, service_id: null },
      { id: APPT_GONE_CALL, call_id: null, keyed: null, service_id: null },
      { id: APPT_FOREIGN_SERVICE, call_id: null, keyed: null, service_id: null },
    ]);
    expect(await q(sql`SELECT agent_id FROM calls WHERE id = ${CALL_A_FOREIGN_AGENT}`)).toEqual([{ agent_id: null }]);
  });

  it("then refuses in the database itself every reference to another organization's call, or to no call", async () => {
    const db = database.db;
    const refused = [
      sql`INSERT INTO call_milestones (call_id, call_started_at, org_id, key, achieved) VALUES (${CALL_B}, ${STARTED}::timestamptz, ${A}, 'x', true)`,
      sql`INSERT INTO call_objections (call_id, call_started_at, org_id, kind, handled) VALUES (${CALL_B}, ${STARTED}::timestamptz, ${A}, 'x', true)`,
      sql`INSERT INTO call_external_ids (org_id, external_id, call_id, started_at) VALUES (${A}, 'ext-b', ${CALL_B}, ${STARTED}::timestamptz)`,
      sql`UPDATE appointments SET call_id = ${CALL_B}, call_started_at = ${STARTED}::timestamptz WHERE id = ${APPT_OWN_CALL}`,
      // the right call at another time is no call
      sql`INSERT INTO call_milestones (call_id, call_started_at, org_id, key, achieved) VALUES (${CALL_A}, ${STARTED}::timestamptz + interval '1 microsecond', ${A}, 'x', true)`,
    ];
    for (const statement of refused) expect(await failure(db, statement)).toBe("23503");
    // half a key is no key: a call link without its start is refused by the check, not ignored by MATCH SIMPLE
    expect(await failure(db, sql`UPDATE appointments SET call_started_at = NULL WHERE id = ${APPT_OWN_CALL}`)).toBe("23514");
    expect(
      await failure(
        db,
        sql`INSERT INTO call_milestones (call_id, call_started_at, org_id, key, achieved) VALUES (${CALL_A}, ${STARTED}::timestamptz, ${A}, 'x', true)`,
      ),
    ).toBeNull();
  });

  it("carries every reference along when a call moves in time, and follows a call's deletion", async () => {
    const db = database.db;
    const moved = "2026-10-02T08:00:00.5Z"; // into another month partition
    await db.execute(sql`UPDATE calls SET started_at = ${moved}::timestamptz WHERE id = ${CALL_A}`);
    const at = sql`${moved}::timestamptz`;
    expect(await q(sql`SELECT count(*)::int AS n FROM call_milestones WHERE call_id = ${CALL_A} AND call_started_at = ${at}`)).toEqual([{ n: 3 }]);
    expect(await q(sql`SELECT count(*)::int AS n FROM call_objections WHERE call_id = ${CALL_A} AND call_started_at = ${at}`)).toEqual([{ n: 1 }]);
    expect(await q(sql`SELECT count(*)::int AS n FROM call_external_ids WHERE call_id = ${CALL_A} AND started_at = ${at}`)).toEqual([{ n: 1 }]);
    expect(await q(sql`SELECT count(*)::int AS n FROM appointments WHERE call_id = ${CALL_A} AND call_started_at = ${at}`)).toEqual([{ n: 1 }]);
    await db.execute(sql`DELETE FROM calls WHERE id = ${CALL_A}`);
    expect(await q(sql`SELECT count(*)::int AS n FROM call_milestones WHERE call_id = ${CALL_A}`)).toEqual([{ n: 0 }]);
    expect(await q(sql`SELECT count(*)::int AS n FROM call_external_ids WHERE call_id = ${CALL_A}`)).toEqual([{ n: 0 }]);
    expect(await q(sql`SELECT call_id FROM appointments WHERE id = ${APPT_OWN_CALL}`)).toEqual([{ call_id: null }]);
  });

  it("keeps what names a call moved out of the default partition, and retention removes it with the month", async () => {
    const db = database.db;
    const call = id(61);
    const appointment = id(62);
    const started = "2025-02-10T10:00:00.654321Z"; // no partition for that month yet: the row lands in calls_default
    await script(
      db,
      `
      INSERT INTO calls (id, org_id, contact_id, direction, status, phone_number, started_at)
        VALUES ('${call}', '${A}', '${CONTACT_A}', 'inbound', 'completed', '+14155550101', '${started}');
      INSERT INTO call_milestones (call_id, call_started_at, org_id, key, achieved) VALUES ('${call}', '${started}', '${A}', 'greeting', true);
      INSERT INTO call_objections (call_id, call_started_at, org_id, kind, handled) VALUES ('${call}', '${started}', '${A}', 'price', true);
      INSERT INTO call_external_ids (org_id, external_id, call_id, started_at) VALUES ('${A}', 'ext-old', '${call}', '${started}');
      INSERT INTO appointments (id, org_id, contact_id, call_id, call_started_at, scheduled_at)
        VALUES ('${appointment}', '${A}', '${CONTACT_A}', '${call}', '${started}', '2025-02-11T10:00:00Z');
    `,
    );
    expect(await q(sql`SELECT tableoid::regclass::text AS part FROM calls WHERE id = ${call}`)).toEqual([{ part: "calls_default" }]);
    const names = async () => ({
      milestones: (await q<{ n: number }>(sql`SELECT count(*)::int AS n FROM call_milestones WHERE call_id = ${call}`))[0]!.n,
      objections: (await q<{ n: number }>(sql`SELECT count(*)::int AS n FROM call_objections WHERE call_id = ${call}`))[0]!.n,
      externalIds: (await q<{ n: number }>(sql`SELECT count(*)::int AS n FROM call_external_ids WHERE call_id = ${call}`))[0]!.n,
      appointment: (await q<{ call_id: string | null }>(sql`SELECT call_id FROM appointments WHERE id = ${appointment}`))[0]!.call_id,
    });
    await db.execute(sql`SELECT tally_ensure_partitions(${started}::timestamptz, 0, 0)`);
    expect(await q(sql`SELECT tableoid::regclass::text AS part FROM calls WHERE id = ${call}`)).toEqual([{ part: "calls_202502" }]);
    expect(await names()).toEqual({ milestones: 1, objections: 1, externalIds: 1, appointment: call });
    await db.execute(sql`SELECT tally_drop_month_partition('calls', 'calls_202502')`);
    expect(await q(sql`SELECT to_regclass('calls_202502') AS part`)).toEqual([{ part: null }]);
    expect(await names()).toEqual({ milestones: 0, objections: 0, externalIds: 0, appointment: null });
  });
});
