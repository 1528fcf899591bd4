import { createApiKey, createOrganization } from "../services/organizations";
import { upsertCall } from "../services/calls";
import type { Database } from "../db/database";

export type DemoKeys = { orgId: string; organizationName: string; readKey: string; writeKey: string; sampleCallId: string };

/** The embedded default's demo organization with its keys (shown on every start from the data directory). */
export async function createDemoOrganization(database: Database, now: Date): Promise<DemoKeys> {
  const { organization, apiKey: writeKey } = await createOrganization(database.db, { name: "Demo Dental", timezone: "America/New_York", creditsBalance: 50_000 });
  const { apiKey: readKey } = await createApiKey(database.db, { orgId: organization.id, scope: "read", name: "demo read key" });
  const { call } = await upsertCall(
    database.db,
    organization.id,
    { phoneNumber: "+14155550100", contactName: "Demo Caller", direction: "inbound", status: "completed", startedAt: new Date(now.getTime() - 3600_000).toISOString(), durationSec: 120 },
    now,
  );
  return { orgId: organization.id, organizationName: organization.name, readKey, writeKey, sampleCallId: call.id };
}
