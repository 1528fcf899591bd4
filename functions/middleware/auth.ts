import { createMiddleware } from "hono/factory";
import type { ApiKeyScope } from "../../drizzle/schema/enums";
import { sha256Hex, timingSafeEqual } from "../lib/api-keys";
import { ApiError } from "../lib/errors";
import { findApiKeyGrant } from "../services/api-key-lookup";
import { requestCache } from "./server-timing";
import type { AppEnv, Auth, RequestVars } from "../hono/env";

/** Routes that use POST to ask a question rather than change anything: a read key may call them. */
const READ_POSTS = new Set(["/api/calls/reconnect", "/api/calls/route"]);

/**
 * The shape of every key Tally mints (`generateApiKey`: `tly_<scope letter>_<32 base62 characters>`). Anything else
 * is refused before it costs a hash, a cache read or a database lookup: a flood of malformed tokens touches nothing.
 */
export const API_KEY_SHAPE = /^tly_[rwa]_[0-9A-Za-z]{32}$/;

/** The scope a request needs: admin under /api/admin, read for GET/HEAD and read-only POSTs, write otherwise. */
export function requiredScope(method: string, path: string): ApiKeyScope {
  if (path === "/api/admin" || path.startsWith("/api/admin/")) return "admin";
  if (method === "GET" || method === "HEAD" || (method === "POST" && READ_POSTS.has(path))) return "read";
  return "write";
}

const SCOPE_RANK: Record<ApiKeyScope, number> = { read: 1, write: 2, admin: 3 };

/** The token of an `Authorization: Bearer <token>` header, or undefined: what authentication, the limits and the lane read. */
export const bearerToken = (header: string | undefined) => /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];

/**
 * Resolves `Authorization: Bearer <key>` to an organization (or the platform admin) and checks the scope. The key's
 * grant comes from the shared cache (`services/api-key-lookup.ts`): a request whose key was seen in the last minute
 * sends no statement for auth.
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const key = bearerToken(c.req.header("authorization"));
  if (!key) throw new ApiError("unauthorized", "Send an API key as `Authorization: Bearer <key>`");
  // the cached-read lane hands over a request whose grant it has just read for this very key
  const auth = c.get("auth") ?? (await resolveKey(c, key));
  if (!auth) throw new ApiError("unauthorized", "The API key is unknown or revoked");
  const needed = requiredScope(c.req.method, c.req.path);
  const has = auth.scope;
  const allowed = auth.kind === "admin" ? true : needed !== "admin" && SCOPE_RANK[has] >= SCOPE_RANK[needed];
  if (!allowed) throw new ApiError("forbidden", `This route needs a key with the \`${needed}\` scope; this key has \`${has}\``);
  c.set("auth", auth);
  await next();
});

async function resolveKey(c: RequestVars, key: string): Promise<Auth | null> {
  const { adminKey } = c.get("deps");
  if (adminKey && timingSafeEqual(key, adminKey)) return { kind: "admin", keyId: null, scope: "admin" };
  if (!API_KEY_SHAPE.test(key)) return null;
  // the hash the anonymous limit or the key's rate limit computed for this request, if one did
  const hash = c.get("keyHash") ?? (await sha256Hex(key));
  const grant = await findApiKeyGrant({ db: c.get("db"), cache: requestCache(c) }, hash);
  if (!grant) return null;
  if (grant.org === null) return grant.scope === "admin" ? { kind: "admin", keyId: grant.keyId, scope: "admin" } : null;
  return { kind: "org", keyId: grant.keyId, scope: grant.scope, org: grant.org };
}

/** The organization of an org-scoped request; admin keys act on organizations through /api/admin routes only. */
export function requireOrg(auth: Auth) {
  if (auth.kind !== "org") throw new ApiError("forbidden", "This route acts for one organization: use that organization's key");
  return auth.org;
}
