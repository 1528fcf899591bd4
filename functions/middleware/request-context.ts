import type { ReadContext, ServiceContext } from "../context";
import type { AppEnv } from "../hono/env";
import { requireOrg } from "./auth";
import { requestCache } from "./server-timing";

/**
 * The explicit context an organization route hands its service functions: the request's counted Drizzle handle,
 * the shared cache, the clock and logger, and the organization of the API key (403 for admin keys).
 */
export function serviceContext(c: { var: AppEnv["Variables"] }): ServiceContext {
  const { deps } = c.var;
  return { db: c.var.db, cache: requestCache(c), clock: deps.clock, logger: deps.logger, org: requireOrg(c.var.auth) };
}

/** The read context of an organization request (403 for admin keys): its counted db handle, its timed cache, the clock's now. */
export function readContext(c: { var: AppEnv["Variables"] }): ReadContext {
  return { db: c.var.db, cache: requestCache(c), org: requireOrg(c.var.auth), now: c.var.deps.clock.now() };
}
