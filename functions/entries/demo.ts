import { sql } from "drizzle-orm";
import { firstRow, type Database } from "../db/database";
import { seedDemo } from "../seed/seed";

export type DemoKeys = { orgId: string; organizationName: string; readKey: string; writeKey: string; sampleCallId: string };

/**
 * The embedded default's demo organization (about 25k calls over 90 days up to now, from the deterministic seed
 * generator) with its keys, which the Node entry keeps in the data directory and prints on every start.
 */
export async function createDemoOrganization(database: Database, now: Date): Promise<DemoKeys> {
  const { organization, writeKey, readKey } = await seedDemo(database, { now });
  const newest = await firstRow<{ id: string }>(
    database.db,
    sql`SELECT id FROM calls WHERE org_id = ${organization.id} ORDER BY started_at DESC, id DESC LIMIT 1`,
  );
  return { orgId: organization.id, organizationName: organization.name, readKey, writeKey, sampleCallId: newest?.id ?? "" };
}
