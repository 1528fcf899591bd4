import { eq } from "drizzle-orm";
import { apiKeys, organizations } from "../../drizzle/schema";
import type { ApiKeyScope } from "../../drizzle/schema/enums";
import type { Db } from "../db/database";
import { generateApiKey, keyPrefix, sha256Hex } from "../lib/api-keys";

export type OrganizationRow = typeof organizations.$inferSelect;

/** The public shape of an organization (the webhook secret never leaves). */
export function toOrganizationResource(row: OrganizationRow) {
  return {
    id: row.id,
    name: row.name,
    timezone: row.timezone,
    creditsBalance: row.creditsBalance,
    hasWebhookSecret: row.webhookSecret !== null,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Creates an API key for an organization (or a platform-admin key when orgId is null); answers the key once. */
export async function createApiKey(db: Db, input: { orgId: string | null; scope: ApiKeyScope; name: string }) {
  const apiKey = generateApiKey(input.scope);
  const [row] = await db
    .insert(apiKeys)
    .values({ orgId: input.orgId, scope: input.scope, name: input.name, keyHash: await sha256Hex(apiKey), prefix: keyPrefix(apiKey) })
    .returning({ id: apiKeys.id });
  return { id: row!.id, apiKey };
}

/** Creates an organization and its first write key, in one transaction. */
export async function createOrganization(db: Db, input: { name: string; timezone?: string; creditsBalance?: number }) {
  return db.transaction(async (tx) => {
    const [org] = await tx
      .insert(organizations)
      .values({ name: input.name, timezone: input.timezone ?? "UTC", creditsBalance: input.creditsBalance ?? 0 })
      .returning();
    const key = await createApiKey(tx as unknown as Db, { orgId: org!.id, scope: "write", name: "first write key" });
    return { organization: org!, apiKey: key.apiKey };
  });
}

export async function findOrganization(db: Db, id: string) {
  const [org] = await db.select().from(organizations).where(eq(organizations.id, id)).limit(1);
  return org;
}
