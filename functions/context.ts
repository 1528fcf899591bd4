import type { Cache } from "./cache/cache";
import type { Db } from "./db/database";
import type { Clock } from "./lib/clock";
import type { Logger } from "./lib/logger";

/** The organization a request (or a job, for each organization it serves) acts for. */
export type OrgContext = { id: string; name: string; timezone: string; creditsBalance: number };

/** The context a service function gets: explicit, so it runs the same under any runtime or test. */
export type ServiceContext = { db: Db; cache: Cache; clock: Clock; logger: Logger; org: OrgContext };

/**
 * What a cached read needs to answer for one organization. A request builds it from its context; the warm-cache job
 * builds it for each active organization and calls the very same read functions, so both meet one cache key.
 */
export type ReadContext = { db: Db; cache: Cache; org: OrgContext; now: Date };
