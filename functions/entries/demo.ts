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

/**
 * What `npm start` prints once it listens: the dashboard's URL first (the page opens on the demo numbers), then `curl`
 * examples of the overview and the calls list, with the demo read key on the embedded default (otherwise a key of
 * the reader's own, `$TALLY_READ_KEY`), then the rest.
 */
export function startupLines(options: { base: string; server: string; demo: DemoKeys | undefined; demoKeyOnPage: boolean }): string[] {
  const { base, demo } = options;
  const key = demo ? demo.readKey : "$TALLY_READ_KEY";
  const lines = [
    `Dashboard: ${base}/${options.demoKeyOnPage ? "   (opens on the demo organization's numbers)" : ""}`,
    `Try:`,
    `  curl -H "Authorization: Bearer ${key}" "${base}/api/dashboard/overview?days=30"`,
    `  curl -H "Authorization: Bearer ${key}" "${base}/api/calls?limit=5"`,
    `  curl -OJ -H "Authorization: Bearer ${key}" "${base}/api/calls/export?direction=inbound"`,
    options.server,
    `API reference: ${base}/docs   OpenAPI: ${base}/openapi.json`,
  ];
  if (demo) {
    lines.push(
      `Demo organization "${demo.organizationName}" (${demo.orgId})`,
      `  read key:  ${demo.readKey}`,
      `  write key: ${demo.writeKey}`,
      `  curl -H "Authorization: Bearer ${demo.readKey}" "${base}/api/calls/${demo.sampleCallId}"`,
      `  curl -X POST -H "Authorization: Bearer ${demo.writeKey}" -H "content-type: application/json" \\`,
      `       -d '{"phoneNumber":"+14155550123","direction":"inbound","status":"completed","durationSec":95}' ${base}/api/calls`,
    );
  }
  return lines;
}
