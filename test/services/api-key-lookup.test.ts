import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { apiKeys } from "../../drizzle/schema";
import { API_KEY_FRESH_SEC } from "../../functions/services/api-key-lookup";
import { createApiKey } from "../../functions/services/organizations";
import { ADMIN_KEY, ManualClock } from "../support/app";
import { bearer, describeAnswer, send } from "../support/security/http";
import { useTestApp } from "../support/use-test-app";

/**
 * Revocation and the API-key lookup cache (functions/services/api-key-lookup.ts): a key's grant is cached for
 * API_KEY_FRESH_SEC, and Tally's own revocation path drops it at once. A key revoked by hand in SQL is a different
 * matter: nothing tells the cache, so the key keeps working until its grant expires. The issue that asked for these
 * suites calls that a bug; it is recorded here as a known gap (`it.fails`) until the lead decides (see the report).
 */

const clock = new ManualClock("2026-03-10T12:00:00Z");
const t = useTestApp({ clock, rateLimit: false });

const read = (key: string) => send(t.app, "GET", "/api/settings", { authorization: bearer(key) });

async function usedKey() {
  const org = await t.createOrg();
  const key = await createApiKey(t.database.db, { orgId: org.orgId, scope: "read", name: "to revoke" });
  const warm = await read(key.apiKey);
  expect(warm.status, describeAnswer("the key before revocation", warm)).toBe(200);
  return { org, key };
}

const revokeInSql = (keyId: string) => t.database.db.update(apiKeys).set({ revokedAt: sql`now()` }).where(eq(apiKeys.id, keyId));

describe("revoking an API key", () => {
  it("through DELETE /api/admin/organizations/{id}/keys/{keyId}: the very next request with it answers 401", async () => {
    const { org, key } = await usedKey();
    const res = await send(t.app, "DELETE", `/api/admin/organizations/${org.orgId}/keys/${key.id}`, { authorization: bearer(ADMIN_KEY) });
    expect(res.status, describeAnswer("revoke", res)).toBe(200);
    const after = await read(key.apiKey);
    expect(after.status, describeAnswer("the revoked key", after)).toBe(401);
  });

  it(`by hand in SQL (revoked_at set directly): refused at the latest once its cached grant expires (${API_KEY_FRESH_SEC} s)`, async () => {
    const { key } = await usedKey();
    await revokeInSql(key.id);
    clock.advance(API_KEY_FRESH_SEC * 1000 + 1);
    const after = await read(key.apiKey);
    expect(after.status, describeAnswer("the revoked key after the grant's TTL", after)).toBe(401);
  });

  // KNOWN GAP (reported): the key-lookup cache serves a grant for up to API_KEY_FRESH_SEC without asking the database,
  // so a revocation the app cannot see takes that long. Flip to `it` when revocation in SQL is meant to be immediate.
  it.fails("by hand in SQL (revoked_at set directly): the very next request answers 401", async () => {
    const { key } = await usedKey();
    await revokeInSql(key.id);
    const after = await read(key.apiKey);
    expect(after.status, describeAnswer("the key right after revoked_at was set", after)).toBe(401);
  });
});
