import { and, eq, isNull, sql } from "drizzle-orm";
import { apiKeys, organizations } from "../../drizzle/schema";
import type { ApiKeyScope } from "../../drizzle/schema/enums";
import type { Cache } from "../cache/cache";
import { CACHE_NAMESPACES, namespace, orgKey } from "../cache/namespaces";
import type { Db } from "../db/database";
import type { Clock } from "../lib/clock";
import type { OrgContext } from "../context";

/** What a key's hash grants: the key, its scope, and its organization as requests see it (null for a platform-admin key). */
export type ApiKeyGrant = { keyId: string; scope: ApiKeyScope; org: OrgContext | null };

/**
 * How long a key's grant is served without asking the database. Revocations and organization changes made through
 * Tally invalidate it at once; the TTL bounds only what Tally cannot see (a key revoked by hand in SQL).
 */
export const API_KEY_FRESH_SEC = CACHE_NAMESPACES["api-keys"].freshSec;

/**
 * Key hash → grant (or `null`: unknown or revoked). A `config` namespace: every read is checked against the shared
 * store, so a revocation through any instance is seen by the very next request on every instance. No stale window:
 * a grant is never served past its fresh TTL. The one exception is the cached-read lane's lease (`peekApiKeyGrant`,
 * `TALLY_READ_LEASE`): there a revocation through another instance is seen within `GRANT_LEASE_MS` (250 ms).
 *
 * Keys read `~keys:<hash>`: where other keys put the organization id, grants put a scope of their own, since a grant is
 * found before its organization is known and must not follow the organization's data version either (every call
 * write moves it with `invalidateOrg`, which would cost the next request a key lookup). Organization writes that change
 * what a grant carries invalidate the organization's grants one by one instead (`invalidateOrganizationGrants`).
 *
 * Unknown keys are cached too (`null`, same TTL): a hash cannot become valid later (keys are minted at random with
 * ~190 bits and only their hash is stored), so a client retrying a wrong or revoked key costs one lookup a minute,
 * not one a request. Garbage that is not shaped like a key never gets here (`middleware/auth.ts`).
 */
const apiKeyGrants = namespace<ApiKeyGrant | null>("api-keys");

/** The cache's "organization" segment of every grant key: never an organization id (those are UUIDs). */
const GRANTS_SCOPE = "~keys";
const grantKey = (keyHash: string) => orgKey(GRANTS_SCOPE, keyHash);

/** The grant of a key hash: from the cache, else one indexed lookup (`api_keys_key_hash_unique`) joined to its organization. */
export async function findApiKeyGrant(ctx: { db: Db; cache: Cache }, keyHash: string): Promise<ApiKeyGrant | null> {
  const result = await apiKeyGrants.fetch(ctx.cache, grantKey(keyHash), () => loadGrant(ctx.db, keyHash));
  return result.value;
}

/**
 * The grant this instance holds for a key hash, if the shared store confirmed it less than `confirmedWithinMs` ago
 * (`cache.peek` under a lease), else undefined: the caller then reads it with `findApiKeyGrant`. Only the cached-read
 * lane reads grants so (issue #15): a revocation through this instance drops its copy at once; one through another
 * instance is seen here within the lease.
 */
export function peekApiKeyGrant(cache: Cache, keyHash: string, confirmedWithinMs: number): ApiKeyGrant | null | undefined {
  return apiKeyGrants.peek(cache, grantKey(keyHash), { confirmedWithinMs })?.value;
}

async function loadGrant(db: Db, keyHash: string): Promise<ApiKeyGrant | null> {
  const [row] = await db
    .select({
      keyId: apiKeys.id,
      scope: apiKeys.scope,
      orgId: apiKeys.orgId,
      name: organizations.name,
      timezone: organizations.timezone,
      creditsBalance: organizations.creditsBalance,
    })
    .from(apiKeys)
    .leftJoin(organizations, eq(organizations.id, apiKeys.orgId))
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!row) return null;
  if (row.orgId === null) return row.scope === "admin" ? { keyId: row.keyId, scope: "admin", org: null } : null;
  if (row.name === null || row.timezone === null || row.creditsBalance === null) return null;
  return { keyId: row.keyId, scope: row.scope, org: { id: row.orgId, name: row.name, timezone: row.timezone, creditsBalance: row.creditsBalance } };
}

/**
 * Drops the cached grants of every live key of an organization; called after a write that changes what a grant
 * carries (name, timezone, credits balance) has committed. One statement (`api_keys_org_idx`) and one store
 * invalidation per key: organizations hold a handful of keys, and such writes are rare next to requests.
 */
export async function invalidateOrganizationGrants(ctx: { db: Db; cache: Cache }, orgId: string): Promise<void> {
  const keys = await ctx.db
    .select({ keyHash: apiKeys.keyHash })
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), isNull(apiKeys.revokedAt)));
  await Promise.all(keys.map((k) => apiKeyGrants.invalidate(ctx.cache, grantKey(k.keyHash))));
}

export type RevokedApiKey = {
  id: string;
  orgId: string | null;
  name: string;
  scope: ApiKeyScope;
  prefix: string;
  createdAt: string;
  revokedAt: string;
};

/**
 * Revokes a key (of `orgId` when given; any key, admin keys included, when null) and drops its cached grant, so the
 * next request with it answers 401 on every instance. Idempotent: revoking a revoked key keeps its first `revokedAt`.
 * Answers undefined when no such key exists (or it belongs to another organization).
 */
export async function revokeApiKey(ctx: { db: Db; cache: Cache; clock: Clock }, keyId: string, orgId: string | null): Promise<RevokedApiKey | undefined> {
  const [row] = await ctx.db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${ctx.clock.now().toISOString()}::timestamptz)` })
    .where(orgId === null ? eq(apiKeys.id, keyId) : and(eq(apiKeys.id, keyId), eq(apiKeys.orgId, orgId)))
    .returning();
  if (!row) return undefined;
  await apiKeyGrants.invalidate(ctx.cache, grantKey(row.keyHash));
  return {
    id: row.id,
    orgId: row.orgId,
    name: row.name,
    scope: row.scope,
    prefix: row.prefix,
    createdAt: new Date(row.createdAt).toISOString(),
    revokedAt: new Date(row.revokedAt!).toISOString(),
  };
}
