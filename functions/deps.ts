import type { Cache } from "./cache/cache";
import type { Database, Db, StatementCounter } from "./db/database";
import type { ApiKeyScope } from "../drizzle/schema/enums";
import type { Clock } from "./lib/clock";
import type { Logger } from "./lib/logger";
import type { JobConfig } from "./jobs/types";
import type { RateLimitConfig } from "./middleware/rate-limit";
import type { VoiceConfigService } from "./voice/config-service";

/** Everything the app needs from its runtime. Each entry (Node, Workers, tests) builds these and hands them over. */
export type AppDeps = {
  database: Database;
  cache: Cache;
  clock: Clock;
  logger: Logger;
  /** accepted as an admin key when set (bootstrap) */
  adminKey?: string;
  /** requests slower than this are logged as slow */
  slowRequestMs?: number;
  /** settings of the scheduled jobs (retention, partitions ahead) */
  jobConfig?: JobConfig;
  /** the demo read key the dashboard page (`GET /`) is prefilled with; only the Node entry on its embedded default sets it */
  dashboardDemoKey?: string;
  /** the voice provider's agent configs (SPEC §9); absent without VOICE_API_URL/VOICE_API_KEY: every agent's voice is `none` */
  voice?: VoiceConfigService;
  /** how long `GET /api/agents` waits for the voice provider (ms); the service's own default (300) when absent */
  voiceBudgetMs?: number;
  /** per-API-key sliding-window rate limit; default on (600 requests a minute per key, this instance's memory); `false`: off */
  rateLimit?: RateLimitConfig | false;
};

/** The organization a request acts for. */
export type OrgContext = { id: string; name: string; timezone: string; creditsBalance: number };

export type Auth =
  | { kind: "org"; keyId: string; scope: ApiKeyScope; org: OrgContext }
  | { kind: "admin"; keyId: string | null; scope: "admin" };

export type AppEnv = {
  Variables: {
    deps: AppDeps;
    /** Drizzle handle of this request: its statements are counted */
    db: Db;
    counter: StatementCounter;
    auth: Auth;
    requestId: string;
    /** set by handlers that answer from a cache, for the request log */
    cacheStatus?: string;
  };
};

/** The context a service function gets: explicit, so it runs the same under any runtime or test. */
export type ServiceContext = { db: Db; cache: Cache; clock: Clock; logger: Logger; org: OrgContext };
