/**
 * The Cloudflare Workers handlers: `fetch` and `scheduled` over the one app (`./worker.ts` is the entry that exports
 * them). They validate the environment, build the dependencies and hand them to `createApp`; nothing below knows it
 * runs on Workers. `createWorkerHandlers` does no work when called: workerd refuses a script that does I/O, timers,
 * randomness or `AbortController` work at global scope, so everything is built on the first invocation.
 *
 * Lifetimes, because Workers forbid using one request's socket from another request:
 * - per isolate (built on the first invocation): the app, the cache (Upstash over REST: fetch only, so sharing it is
 *   allowed, and its per-isolate L1 and counters outlive a request), the request metrics;
 * - per invocation (a request or a cron run): the database client, opened lazily and closed through
 *   `ctx.waitUntil` once the response is sent and the invocation's background work has settled. This is what
 *   Cloudflare recommends for postgres.js behind Hyperdrive (Hyperdrive keeps the pool, so connecting per request is
 *   cheap) and what Neon recommends for its `Pool` on serverless platforms.
 * The app reaches the invocation's database through `deps.database`, which resolves it from the invocation's async
 * context (`AsyncLocalStorage`, available under `nodejs_compat`).
 * */
import { AsyncLocalStorage } from "node:async_hooks";
import { z } from "zod";
import { createApp, type App } from "../app";
import { createWorkerSharedCache } from "../cache/worker";
import type { Database, DriverKind, StatementCounter } from "../db/database";
import { openNeon } from "../db/neon";
import { openPostgres } from "../db/postgres";
import type { AppDeps } from "../deps";
import { jobContext } from "../jobs/context";
import { jobsForCron } from "../jobs/registry";
import { runJob } from "../jobs/run";
import { systemClock, type Clock } from "../lib/clock";
import { jsonLogger } from "../lib/logger";
import { rateLimitStoreOver } from "../rate-limit/stores";
import { deliveryLedgerOver } from "../cache/delivery-ledger";
import { createVoiceService, voiceStoreOver } from "../voice";
import { EnvError, parseEnv, rateLimitSetting, rateLimitsFrom } from "./env";

/**
 * Connections one invocation may open. Workers allow six simultaneous outbound connections per invocation; one is
 * left for the cache's and the voice provider's fetches.
 */
const WORKER_DATABASE_CONNECTIONS = 5;

/** The Worker's bindings and vars (wrangler.toml documents each), validated at every entry point. */
const workerEnvSchema = z
  .object({
    /** `postgres`: postgres.js over TCP (Hyperdrive when bound); `neon`: Neon's serverless driver over WebSockets */
    DATABASE_DRIVER: z.enum(["postgres", "neon"]).default("postgres"),
    DATABASE_URL: z.url().optional(),
    HYPERDRIVE: z.object({ connectionString: z.string().min(1) }, { error: "must be a Hyperdrive binding" }).optional(),
    /** tests and local runs only: the host:port of a WebSocket proxy speaking Neon's protocol, over plain ws */
    NEON_WS_PROXY: z.string().min(1).optional(),
    UPSTASH_REDIS_REST_URL: z.url({ error: "UPSTASH_REDIS_REST_URL must be the Upstash database's REST URL" }),
    UPSTASH_REDIS_REST_TOKEN: z.string({ error: "UPSTASH_REDIS_REST_TOKEN is required (a secret)" }).min(1),
    VOICE_API_URL: z.url().optional(),
    VOICE_API_KEY: z.string().min(1).optional(),
    TALLY_ADMIN_KEY: z.string().min(16, "TALLY_ADMIN_KEY must be at least 16 characters").optional(),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
    SLOW_REQUEST_MS: z.coerce.number().int().positive().optional(),
    /** per-read-key limit, `<requests>/<seconds>s` or `off` (as on Node) */
    TALLY_RATE_LIMIT: rateLimitSetting,
    /** per-write-key limit (as on Node) */
    TALLY_WRITE_RATE_LIMIT: rateLimitSetting,
    /** failed authentications per client address (cf-connecting-ip), as on Node */
    TALLY_ANON_RATE_LIMIT: rateLimitSetting,
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_DRIVER === "neon" && !env.DATABASE_URL) {
      ctx.addIssue({ code: "custom", path: ["DATABASE_URL"], message: "DATABASE_DRIVER=neon needs DATABASE_URL (Neon's connection string)" });
    }
    if (env.DATABASE_DRIVER === "postgres" && !env.HYPERDRIVE && !env.DATABASE_URL) {
      ctx.addIssue({ code: "custom", path: ["DATABASE_URL"], message: "set DATABASE_URL or bind Hyperdrive as HYPERDRIVE" });
    }
    if (Boolean(env.VOICE_API_URL) !== Boolean(env.VOICE_API_KEY)) {
      ctx.addIssue({ code: "custom", path: ["VOICE_API_KEY"], message: "VOICE_API_URL and VOICE_API_KEY go together" });
    }
  });

export type WorkerConfig = z.infer<typeof workerEnvSchema>;

/** What Workers hands `fetch` and `scheduled` (the parts this entry uses; @cloudflare/workers-types has the rest). */
export type WorkerContext = { waitUntil(promise: Promise<unknown>): void; passThroughOnException(): void; props?: unknown };
export type ScheduledEvent = { cron: string; scheduledTime: number };
export type WorkerEnv = Record<string, unknown>;

/** One request or cron run: its database client and the background work that must settle before the client closes. */
class Invocation {
  #database: Database | undefined;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    private readonly config: WorkerConfig,
    private readonly ctx: WorkerContext,
  ) {}

  get database(): Database {
    return (this.#database ??= openDatabase(this.config));
  }

  /** `ctx.waitUntil`, remembered so the database stays open until this work is done. */
  readonly waitUntil = (promise: Promise<unknown>): void => {
    const settled: Promise<unknown> = promise.then(
      () => this.#pending.delete(settled),
      () => this.#pending.delete(settled),
    );
    this.#pending.add(settled);
    this.ctx.waitUntil(promise);
  };

  /** The context Hono's `c.executionCtx` answers: background work goes through this invocation. */
  get executionContext() {
    return { waitUntil: this.waitUntil, passThroughOnException: () => this.ctx.passThroughOnException(), props: this.ctx.props };
  }

  /** Waits for this invocation's background work (which may start more), then closes its connections. */
  async finish(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    await this.#database?.close();
  }
}

const invocations = new AsyncLocalStorage<Invocation>();

function currentInvocation(): Invocation {
  const invocation = invocations.getStore();
  if (!invocation) throw new Error("the Workers database is opened per invocation: it was used outside fetch or scheduled");
  return invocation;
}

function openDatabase(config: WorkerConfig): Database {
  if (config.DATABASE_DRIVER === "neon") {
    return openNeon({ url: config.DATABASE_URL!, ...(config.NEON_WS_PROXY ? { wsProxy: config.NEON_WS_PROXY } : {}) });
  }
  const url = config.HYPERDRIVE?.connectionString ?? config.DATABASE_URL!;
  return openPostgres({ url, max: WORKER_DATABASE_CONNECTIONS });
}

/** `deps.database` of the isolate's app: every use resolves the current invocation's client. */
function invocationDatabase(kind: DriverKind): Database {
  return {
    kind,
    get db() {
      return currentInvocation().database.db;
    },
    withCounter: (counter: StatementCounter) => currentInvocation().database.withCounter(counter),
    // each invocation closes its own client in `finish`; the isolate has nothing to close
    close: async () => {},
  };
}

type Isolate = { config: WorkerConfig; deps: AppDeps; app: App };

function buildIsolate(config: WorkerConfig, clock: Clock): Isolate {
  const logger = jsonLogger({ level: config.LOG_LEVEL, base: { service: "tally", runtime: "workers" } });
  const shared = createWorkerSharedCache({
    url: config.UPSTASH_REDIS_REST_URL,
    token: config.UPSTASH_REDIS_REST_TOKEN,
    clock,
    logger,
    // a background refresh belongs to the invocation that started it
    waitUntil: (promise) => invocations.getStore()?.waitUntil(promise),
  });
  const cache = shared.cache;
  // the voice provider's cached configs and circuit breaker live in the same Upstash store: shared by every isolate
  const voice =
    config.VOICE_API_URL && config.VOICE_API_KEY
      ? createVoiceService({ baseUrl: config.VOICE_API_URL, apiKey: config.VOICE_API_KEY, store: voiceStoreOver(shared, clock), clock, logger })
      : undefined;
  const deps: AppDeps = {
    database: invocationDatabase(config.DATABASE_DRIVER),
    cache,
    clock,
    logger,
    ...(config.TALLY_ADMIN_KEY ? { adminKey: config.TALLY_ADMIN_KEY } : {}),
    ...(config.SLOW_REQUEST_MS ? { slowRequestMs: config.SLOW_REQUEST_MS } : {}),
    ...(voice ? { voice } : {}),
    // accepted webhook deliveries (SPEC §11 replays), in the same Upstash store: a replay to another isolate is seen
    webhookReplays: deliveryLedgerOver(shared),
    // Cloudflare's edge sets cf-connecting-ip (a client cannot): the address the anonymous limit and the page go by
    clientAddress: (c) => c.req.header("cf-connecting-ip") ?? undefined,
    // the rate limits counted in Upstash: shared by every isolate
    ...rateLimitsFrom(config, rateLimitStoreOver(shared)),
  };
  return { config, deps, app: createApp(deps) };
}

export type WorkerHandlers = {
  fetch(request: Request, env: WorkerEnv, ctx: WorkerContext): Promise<Response>;
  scheduled(event: ScheduledEvent, env: WorkerEnv, ctx: WorkerContext): Promise<void>;
};

/**
 * The Worker's `fetch` and `scheduled`. Nothing is built until the first invocation; `clock` is the system clock in
 * the deployed Worker (tests hand in one they move).
 */
export function createWorkerHandlers({ clock = systemClock }: { clock?: Clock } = {}): WorkerHandlers {
  /** The isolate's app for this environment: one per distinct configuration (in production, one). */
  const isolatesByEnv = new WeakMap<object, Isolate>();
  const isolatesByConfig = new Map<string, Isolate>();

  function isolateFor(env: WorkerEnv): Isolate {
    const known = isolatesByEnv.get(env);
    if (known) return known;
    const config = parseEnv(workerEnvSchema, env);
    const fingerprint = JSON.stringify(config);
    let isolate = isolatesByConfig.get(fingerprint);
    if (!isolate) {
      isolate = buildIsolate(config, clock);
      isolatesByConfig.set(fingerprint, isolate);
    }
    isolatesByEnv.set(env, isolate);
    return isolate;
  }

  /** Validates the environment; an invalid one is reported by name and fails the invocation (fail fast). */
  function isolateOrThrow(env: WorkerEnv): Isolate {
    try {
      return isolateFor(env);
    } catch (error) {
      if (error instanceof EnvError) console.error(JSON.stringify({ level: "error", msg: "invalid Worker environment", error: error.message }));
      throw error;
    }
  }

  return {
    async fetch(request, env, ctx) {
      const isolate = isolateOrThrow(env);
      const invocation = new Invocation(isolate.config, ctx);
      try {
        return await invocations.run(invocation, () => isolate.app.fetch(forTheApp(request), env, invocation.executionContext));
      } finally {
        ctx.waitUntil(invocation.finish());
      }
    },

    /** A cron trigger: every job of the registry on that schedule, each under its lease. Fails if any job failed. */
    async scheduled(event, env, ctx) {
      const isolate = isolateOrThrow(env);
      const invocation = new Invocation(isolate.config, ctx);
      try {
        await invocations.run(invocation, async () => {
          const names = jobsForCron(event.cron);
          if (names.length === 0) isolate.deps.logger.log("warn", "no job runs on this cron", { cron: event.cron });
          const outcomes = await Promise.allSettled(names.map((name) => runJob(name, jobContext(isolate.deps, invocation.waitUntil))));
          const failed = outcomes.flatMap((outcome, i) => (outcome.status === "rejected" ? [`${names[i]}: ${String(outcome.reason)}`] : []));
          if (failed.length > 0) throw new Error(`scheduled jobs failed (cron ${event.cron}): ${failed.join("; ")}`);
        });
      } finally {
        ctx.waitUntil(invocation.finish());
      }
    },
  };
}

/**
 * The request as the app should see it: without Accept-Encoding. Compression is the runtime's on Workers: the Worker
 * always sees `Accept-Encoding: br, gzip` (Cloudflare's edge sets it, whatever the client sent), and the runtime
 * compresses a compressible answer for a client that accepts it (and only then), so a body the app's compress
 * middleware had gzipped would reach a client that sent no Accept-Encoding gzipped, or be gzipped twice.
 */
function forTheApp(request: Request): Request {
  if (!request.headers.has("accept-encoding")) return request;
  const headers = new Headers(request.headers);
  headers.delete("accept-encoding");
  return new Request(request, { headers });
}
