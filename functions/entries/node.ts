import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { createApp } from "../app";
import { createNodeSharedCache } from "../cache/node";
import { firstRow, type Database } from "../db/database";
import { migrate } from "../db/migrate";
import { openPglite } from "../db/pglite";
import { openPostgres } from "../db/postgres";
import { systemClock } from "../lib/clock";
import { jsonLogger } from "../lib/logger";
import { EnvError, nodeEnvSchema, parseEnv, rateLimitsFrom } from "./env";
import { createDemoOrganization, startupLines, type DemoKeys } from "./demo";
import { startScheduler } from "../jobs/scheduler";
import { createVoiceService, voiceStoreOver } from "../voice";
import { rateLimitStoreOver } from "../rate-limit/stores";
import { deliveryLedgerOver } from "../cache/delivery-ledger";
import { nodeClientAddress } from "./client-address";
import { tracedDatabase } from "../db/traced";

const env = parseEnv(nodeEnvSchema, process.env);
if (Boolean(env.VOICE_API_URL) !== Boolean(env.VOICE_API_KEY)) {
  throw new EnvError("Invalid environment:\n  VOICE_API_KEY: VOICE_API_URL and VOICE_API_KEY go together");
}
const logger = jsonLogger({ level: env.LOG_LEVEL, base: { service: "tally" } });
const clock = systemClock;

// SPEC §11 "Traces": the OpenTelemetry SDK is imported only when an endpoint is set, so that without it no module of it
// is loaded and no statement, store call or request is wrapped
const tracing = env.OTEL_EXPORTER_OTLP_ENDPOINT
  ? (await import("./otel")).startTracing({
      endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
      protocol: env.OTEL_EXPORTER_OTLP_PROTOCOL,
      serviceName: env.OTEL_SERVICE_NAME,
    })
  : undefined;

async function openDatabase(): Promise<Database> {
  if (env.DATABASE_URL) return openPostgres({ url: env.DATABASE_URL });
  mkdirSync(env.TALLY_DATA_DIR, { recursive: true });
  return openPglite({ dataDir: join(env.TALLY_DATA_DIR, "pgdata") });
}

const opened = await openDatabase();
const database = tracing ? tracedDatabase(opened, tracing.tracer) : opened;
await migrate(database, clock.now());
const cacheStore = env.REDIS_URL ? "redis" : "memory";
const shared = createNodeSharedCache({
  store: cacheStore,
  ...(env.REDIS_URL ? { url: env.REDIS_URL } : {}),
  clock,
  logger,
  ...(tracing ? { tracer: tracing.tracer } : {}),
});
const cache = shared.cache;

// the voice provider (SPEC §9): its cached configs and circuit breaker live in the cache's shared store (Redis), so
// every instance sees the configs another fetched and the circuit another opened
const voice =
  env.VOICE_API_URL && env.VOICE_API_KEY
    ? createVoiceService({ baseUrl: env.VOICE_API_URL, apiKey: env.VOICE_API_KEY, store: voiceStoreOver(shared, clock), clock, logger })
    : undefined;

let demo: DemoKeys | undefined;
const demoFile = join(env.TALLY_DATA_DIR, "demo-keys.json");
if (env.TALLY_DEMO === "auto") {
  const existing = await firstRow<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM organizations`);
  if (existing?.n === 0) {
    logger.log("info", "seeding the demo organization (first start)");
    demo = await createDemoOrganization(database, clock.now());
    mkdirSync(env.TALLY_DATA_DIR, { recursive: true });
    writeFileSync(demoFile, JSON.stringify(demo, null, 2), { mode: 0o600 });
  } else if (existsSync(demoFile)) {
    demo = JSON.parse(readFileSync(demoFile, "utf8")) as DemoKeys;
  }
}

// the dashboard page is prefilled with the demo read key only on the embedded default (PGlite with its demo org)
const dashboardDemoKey = !env.DATABASE_URL && demo ? demo.readKey : undefined;
const deps = {
  database,
  cache,
  clock,
  logger,
  ...(env.TALLY_ADMIN_KEY ? { adminKey: env.TALLY_ADMIN_KEY } : {}),
  ...(dashboardDemoKey ? { dashboardDemoKey } : {}),
  clientAddress: nodeClientAddress,
  ...(voice ? { voice } : {}),
  // accepted webhook deliveries (SPEC §11 replays), in the cache's store: Redis is shared by every instance
  webhookReplays: deliveryLedgerOver(shared),
  // rate limits (SPEC §11: per read key, per write key, failed authentications per client address): counted in the
  // cache's Redis when there is one, so every instance shares them
  ...rateLimitsFrom(env, rateLimitStoreOver(shared)),
  // with Redis, a cached read's count and grant are kept in process between syncs (no round trip: rate-limit/lease.ts)
  cachedReadLease: env.TALLY_READ_LEASE === "on",
  ...(tracing ? { requestTracing: tracing.requestTracing } : {}),
};
const app = createApp(deps);
const scheduler = env.TALLY_SCHEDULER === "on" ? startScheduler(deps, tracing?.tracer) : undefined;
const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) => {
  const base = `http://localhost:${info.port}`;
  const server = `Tally is listening on ${base} (database: ${database.kind}${database.kind === "pglite" ? ` in ${env.TALLY_DATA_DIR}/pgdata` : ""}, cache: ${cacheStore}, voice provider: ${voice ? new URL(env.VOICE_API_URL!).host : "none"})`;
  const lines = startupLines({ base, server, demo, demoKeyOnPage: dashboardDemoKey !== undefined });
  process.stdout.write(lines.join("\n") + "\n");
});

async function shutdown(signal: string) {
  logger.log("info", "shutting down", { signal });
  scheduler?.stop();
  server.close();
  await cache.close();
  await database.close();
  await tracing?.shutdown();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
