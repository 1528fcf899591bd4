import type { ReadContext, ServiceContext } from "../context";
import type { RequestVars } from "../hono/env";
import { requireOrg } from "./auth";
import { requestCache } from "./server-timing";

/**
 * The explicit context an organization route hands its service functions: the request's counted Drizzle handle,
 * the shared cache, the clock and logger, and the organization of the API key (403 for admin keys).
 */
export function serviceContext(c: RequestVars): ServiceContext {
  const deps = c.get("deps");
  return { db: c.get("db"), cache: requestCache(c), clock: deps.clock, logger: deps.logger, org: requireOrg(c.get("auth")) };
}

/** The read context of an organization request (403 for admin keys): its counted db handle, its timed cache, the clock's now. */
export function readContext(c: RequestVars): ReadContext {
  return { db: c.get("db"), cache: requestCache(c), org: requireOrg(c.get("auth")), now: c.get("deps").clock.now() };
}
