import { and, eq, isNull } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { apiKeys, organizations } from "../../drizzle/schema";
import type { ApiKeyScope } from "../../drizzle/schema/enums";
import type { AppEnv, Auth } from "../deps";
import { sha256Hex, timingSafeEqual } from "../lib/api-keys";
import { ApiError } from "../lib/errors";

/** Routes that use POST to ask a question rather than change anything: a read key may call them. */
const READ_POSTS = new Set(["/api/calls/reconnect", "/api/calls/route"]);

/** The scope a request needs: admin under /api/admin, read for GET/HEAD and read-only POSTs, write otherwise. */
export function requiredScope(method: string, path: string): ApiKeyScope {
  if (path === "/api/admin" || path.startsWith("/api/admin/")) return "admin";
  if (method === "GET" || method === "HEAD" || (method === "POST" && READ_POSTS.has(path))) return "read";
  return "write";
}

const SCOPE_RANK: Record<ApiKeyScope, number> = { read: 1, write: 2, admin: 3 };

/** Resolves `Authorization: Bearer <key>` to an organization (or the platform admin) and checks the scope. */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError("unauthorized", "Send an API key as `Authorization: Bearer <key>`");
  const key = match[1]!;
  const auth = await resolveKey(c.var.deps.adminKey, c.var.db, key);
  if (!auth) throw new ApiError("unauthorized", "The API key is unknown or revoked");
  const needed = requiredScope(c.req.method, c.req.path);
  const has = auth.scope;
  const allowed = auth.kind === "admin" ? true : needed !== "admin" && SCOPE_RANK[has] >= SCOPE_RANK[needed];
  if (!allowed) throw new ApiError("forbidden", `This route needs a key with the \`${needed}\` scope; this key has \`${has}\``);
  c.set("auth", auth);
  await next();
});

async function resolveKey(adminKey: string | undefined, db: AppEnv["Variables"]["db"], key: string): Promise<Auth | null> {
  if (adminKey && timingSafeEqual(key, adminKey)) return { kind: "admin", keyId: null, scope: "admin" };
  if (key.length > 200) return null;
  const hash = await sha256Hex(key);
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
    .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!row) return null;
  if (row.orgId === null) return row.scope === "admin" ? { kind: "admin", keyId: row.keyId, scope: "admin" } : null;
  return {
    kind: "org",
    keyId: row.keyId,
    scope: row.scope,
    org: { id: row.orgId, name: row.name!, timezone: row.timezone!, creditsBalance: row.creditsBalance! },
  };
}

/** The organization of an org-scoped request; admin keys act on organizations through /api/admin routes only. */
export function requireOrg(auth: Auth) {
  if (auth.kind !== "org") throw new ApiError("forbidden", "This route acts for one organization: use that organization's key");
  return auth.org;
}
