import type { Cache } from "../cache/cache";
import type { Db } from "../db/database";
import type { AppEnv, OrgContext } from "../deps";
import { requireOrg } from "../middleware/auth";
import { requestCache } from "../middleware/server-timing";

/**
 * What a cached read needs to answer for one organization. A request builds it from its context; the warm-cache job
 * builds it for each active organization and calls the very same read functions, so both meet one cache key.
 */
export type ReadContext = { db: Db; cache: Cache; org: OrgContext; now: Date };

/** The read context of an organization request (403 for admin keys): its counted db handle, its timed cache, the clock's now. */
export function readContext(c: { var: AppEnv["Variables"] }): ReadContext {
  return { db: c.var.db, cache: requestCache(c), org: requireOrg(c.var.auth), now: c.var.deps.clock.now() };
}
