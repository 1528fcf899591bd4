import type { AppEnv, ServiceContext } from "../deps";
import { requireOrg } from "../middleware/auth";
import { requestCache } from "../middleware/server-timing";

/**
 * The explicit context an organization route hands its service functions: the request's counted Drizzle handle,
 * the shared cache, the clock and logger, and the organization of the API key (403 for admin keys).
 */
export function serviceContext(c: { var: AppEnv["Variables"] }): ServiceContext {
  const { deps } = c.var;
  return { db: c.var.db, cache: requestCache(c), clock: deps.clock, logger: deps.logger, org: requireOrg(c.var.auth) };
}
