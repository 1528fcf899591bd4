import type { Context, MiddlewareHandler } from "hono";
import type { Cache } from "./cache/cache";
import type { Database } from "./db/database";
import type { Clock } from "./lib/clock";
import type { Logger } from "./lib/logger";
import type { JobConfig } from "./jobs/types";
import type { RateLimitConfig } from "./rate-limit/config";
import type { DeliveryLedger } from "./cache/delivery-ledger";
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
  /**
   * parse every read answer with its response schema and fail it when the parse would change it (`checkedAnswer`):
   * the test apps set it; production answers skip the parse (its cost per cached hit, issue #15)
   */
  validateResponses?: boolean;
  /** settings of the scheduled jobs (retention, partitions ahead) */
  jobConfig?: JobConfig;
  /**
   * the demo read key the dashboard page (`GET /`) is prefilled with, for requests from a loopback address only (SPEC
   * §11); only the Node entry on its embedded default sets it
   */
  dashboardDemoKey?: string;
  /** the address a request came from as the runtime sees it (Node: the socket's peer; Workers: cf-connecting-ip) */
  clientAddress?: (c: Context) => string | undefined;
  /** the voice provider's agent configs (SPEC §9); absent without VOICE_API_URL/VOICE_API_KEY: every agent's voice is `none` */
  voice?: VoiceConfigService;
  /** how long `GET /api/agents` waits for the voice provider (ms); the service's own default (300) when absent */
  voiceBudgetMs?: number;
  /** per-read-key sliding-window rate limit; default on (600 requests a minute per key, this instance's memory); `false`: off */
  rateLimit?: RateLimitConfig | false;
  /** per-write-key (and admin key) limit; default on (6000 requests a minute per key); `false`: off */
  writeRateLimit?: RateLimitConfig | false;
  /** failed authentications per client address (SPEC §11); default on (60 a minute per address); `false`: off */
  anonRateLimit?: RateLimitConfig | false;
  /**
   * the webhook deliveries already accepted (SPEC §11): the entries hand the ledger in the cache's shared store
   * (`deliveryLedgerOver`), tests and tools one in their own memory (`memoryDeliveryLedger`); the app never makes one
   */
  webhookReplays: DeliveryLedger;
  /**
   * the server span of each request (SPEC §11 "Traces"), the app's outermost middleware; only the Node entry sets it,
   * only with OTEL_EXPORTER_OTLP_ENDPOINT set: absent, the app registers nothing in its place
   */
  requestTracing?: MiddlewareHandler;
  /**
   * `false`: every request goes through the middleware chain, fresh cached aggregates too (the cached-read lane,
   * `middleware/cached-read-lane.ts`, is on by default; its test compares the two answers)
   */
  cachedReadLane?: boolean;
  /**
   * `true`: the cached-read lane counts a key's requests and trusts its grant in process between syncs with the shared
   * store (the count renewed within 250 ms, the grant confirmed within `GRANT_LEASE_MS`), so a cached read makes no round
   * trip; what that costs in exactness is in `rate-limit/lease.ts`. The Node entry sets it with Redis; off by default
   * (every request asks the store), and on the Worker, whose isolate may not run a timer after its answer.
   */
  cachedReadLease?: boolean;
};
