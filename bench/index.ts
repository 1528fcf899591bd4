import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import autocannon from "autocannon";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { createApp } from "../functions/app";
import { createNodeSharedCache } from "../functions/cache/node";
import { rows } from "../functions/db/database";
import { migrate } from "../functions/db/migrate";
import { openPostgres } from "../functions/db/postgres";
import { systemClock } from "../functions/lib/clock";
import { jsonLogger, type LogFields } from "../functions/lib/logger";
import { encodeCursor } from "../functions/read-models/calls-list";
import { refreshAdminView } from "../functions/rollups/admin-view";
import { recomputeAllRollups, refreshRollups } from "../functions/rollups/refresh";
import { seed } from "../functions/seed";
import { createApiKey } from "../functions/services/organizations";
import {
  NaiveRunner,
  createNaiveCoverageView,
  naiveAgentPerformance,
  naiveAgentVariance,
  naiveAgents,
  naiveAnalytics,
  naiveCallsPage,
  naiveCoverage,
  naiveOverview,
  type NaiveContext,
} from "./naive/queries";
import { settleLikeDeployment, startServer } from "./processes";
import { load, progress, summarize, type Summary } from "./stats";
import { memoryDeliveryLedger } from "../functions/cache/delivery-ledger";

// the hot-path table of issue #15 is a run of its own (bench/throughput.ts), on a dataset of its own
if (process.argv.includes("--throughput")) {
  await import("./throughput");
  process.exit(0);
}

const { values: opts } = parseArgs({
  options: {
    orgs: { type: "string", default: "1000" },
    calls: { type: "string", default: "5000000" },
    "largest-share": { type: "string", default: "0.2" },
    "largest-agents": { type: "string", default: "200" },
    days: { type: "string", default: "90" },
    seed: { type: "string", default: "1" },
    duration: { type: "string", default: "30" },
    connections: { type: "string", default: "50,200,500" },
    "load-orgs": { type: "string", default: "200" },
    samples: { type: "string", default: "30" },
    "warm-samples": { type: "string", default: "200" },
    "naive-samples": { type: "string", default: "5" },
    "skip-load": { type: "boolean", default: false },
    "skip-refresh": { type: "boolean", default: false },
    // extra dataset sizes for the refresh measurement, each seeded into a scratch database of its own (slow)
    "refresh-calls": { type: "string", default: "" },
    // figures of a separate `npx tsx bench/refresh.ts` run (its stdout JSON) to carry into this run's results
    "refresh-result": { type: "string" },
    url: { type: "string", default: process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/tally_bench" },
    redis: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
  },
  strict: true,
});
const int = (name: string, raw: string) => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number (got ${raw})`);
  return n;
};
const params = {
  orgs: int("orgs", opts.orgs),
  calls: int("calls", opts.calls),
  largestOrgShare: int("largest-share", opts["largest-share"]),
  largestOrgAgents: int("largest-agents", opts["largest-agents"]),
  days: int("days", opts.days),
  seed: int("seed", opts.seed),
};
const durationSec = int("duration", opts.duration);
const connectionLevels = opts.connections.split(",").map((c) => int("connections", c));
const coldSamples = int("samples", opts.samples);
const warmSamples = int("warm-samples", opts["warm-samples"]);
const naiveSamples = int("naive-samples", opts["naive-samples"]);

const timed = async <T>(fn: () => Promise<T>) => {
  const t = performance.now();
  const result = await fn();
  return { ms: performance.now() - t, result };
};

// ---------------------------------------------------------------------------------------------------------- dataset
async function ensureDatabase(url: string) {
  const name = new URL(url).pathname.slice(1);
  const admin = postgres(Object.assign(new URL(url), { pathname: "/postgres" }).toString(), { max: 1, onnotice: () => {} });
  const [exists] = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
  if (!exists) await admin.unsafe(`CREATE DATABASE "${name}"`);
  await admin.end();
}

const database = (await ensureDatabase(opts.url), openPostgres({ url: opts.url, max: 20, statementTimeoutMs: 120_000 }));
const db = database.db;
await migrate(database);
await db.execute(
  sql`CREATE TABLE IF NOT EXISTS bench_dataset (params jsonb PRIMARY KEY, seeded_at timestamptz NOT NULL DEFAULT now(), seconds float8, rows jsonb)`,
);
const paramsJson = JSON.stringify(params);
const [marker] = await rows<{ seeded_at: string; seconds: number | null }>(
  db,
  sql`SELECT seeded_at::text, seconds FROM bench_dataset WHERE params = ${paramsJson}::jsonb`,
);
const [{ n: existingCalls, o: existingOrgs } = { n: 0, o: 0 }] = await rows<{ n: number; o: number }>(
  db,
  sql`SELECT (SELECT count(*) FROM calls)::int AS n, (SELECT count(*) FROM organizations)::int AS o`,
);
let seedInfo: Record<string, unknown>;
if (marker) {
  progress(`reusing the dataset ${paramsJson} seeded at ${marker.seeded_at}`);
  seedInfo = { reused: true, seededAt: marker.seeded_at, seconds: marker.seconds };
} else if (existingCalls === 0) {
  progress(`seeding ${paramsJson} (COPY)…`);
  let lastPhase = "";
  let lastAt = 0;
  const seeded = await seed(database, {
    ...params,
    onProgress: (p) => {
      if (p.phase !== lastPhase || performance.now() - lastAt > 5000 || p.done === p.total) {
        progress(`seed ${p.phase} ${p.done}/${p.total}`);
        lastPhase = p.phase;
        lastAt = performance.now();
      }
    },
  });
  await db.execute(
    sql`INSERT INTO bench_dataset (params, seconds, rows) VALUES (${paramsJson}::jsonb, ${seeded.seconds}, ${JSON.stringify(seeded.rows)}::jsonb)`,
  );
  seedInfo = { reused: false, seconds: seeded.seconds, rows: seeded.rows };
} else if (existingCalls === params.calls && existingOrgs === params.orgs) {
  // seeded earlier by `npm run seed` with the same size: adopt it
  progress(`adopting the existing dataset (${existingCalls} calls, ${existingOrgs} organizations)`);
  await db.execute(sql`INSERT INTO bench_dataset (params) VALUES (${paramsJson}::jsonb)`);
  seedInfo = { reused: true, adopted: true };
} else {
  throw new Error(`${opts.url} holds another dataset (${existingCalls} calls, ${existingOrgs} organizations): drop it or use --url`);
}
// the rollups, as a deployment has them: a dataset seeded by COPY has none yet, so the first build is the full recompute
// (timed: it is the baseline the incremental refresh is compared to); a reused dataset only catches up
const [rollupState] = await rows<{ built_to: string | null }>(db, sql`SELECT built_to::text FROM rollup_state WHERE id = 1`);
let rollupBuild: Record<string, unknown>;
if (!rollupState?.built_to || rollupState.built_to === "-infinity") {
  progress("rollups: first build (full recompute)…");
  const build = await timed(() => recomputeAllRollups(db, new Date()));
  rollupBuild = { kind: "full recompute", ms: Math.round(build.ms), report: build.result };
  progress(`rollups built in ${(build.ms / 1000).toFixed(1)} s`);
} else {
  const caughtUp = await timed(async () => {
    for (let runs = 1; ; runs++) if ((await refreshRollups(db, new Date())).caughtUp || runs >= 100) return runs;
  });
  rollupBuild = { kind: "caught up", builtTo: rollupState.built_to, ms: Math.round(caughtUp.ms), runs: caughtUp.result };
  progress(`rollups caught up in ${Math.round(caughtUp.ms)} ms`);
}
// what autovacuum does on a deployment (bench/processes.ts): this machine's server runs with autovacuum off
await settleLikeDeployment(db);
await refreshAdminView(db, new Date());

const [largest] = await rows<{ org_id: string; n: number; tz: string }>(
  db,
  sql`SELECT c.org_id, c.n, o.timezone AS tz FROM (SELECT org_id, count(*)::int AS n FROM calls GROUP BY 1 ORDER BY 2 DESC LIMIT 1) c JOIN organizations o ON o.id = c.org_id`,
);
const orgId = largest!.org_id;
const [sizes] = await rows<Record<string, number>>(
  db,
  sql`SELECT (SELECT count(*) FROM calls)::int AS calls, (SELECT count(*) FROM organizations)::int AS orgs,
             (SELECT count(*) FROM agents WHERE org_id = ${orgId}::uuid)::int AS largest_agents,
             (SELECT count(*) FROM call_milestones)::int AS milestones, (SELECT count(*) FROM call_objections)::int AS objections,
             (SELECT count(*) FROM agent_sessions)::int AS sessions, (SELECT count(*) FROM widget_pageviews)::int AS pageviews,
             (SELECT extract(epoch FROM max(started_at) - min(started_at)) / 86400 FROM calls WHERE org_id = ${orgId}::uuid)::float8 AS largest_span_days`,
);
progress(`dataset: ${JSON.stringify(sizes)}; largest organization ${orgId} (${largest!.n} calls, ${largest!.tz})`);

// ---------------------------------------------------------------------------------------------------------- the app
type RequestLog = { statements: number; cache: string | undefined; path: string };
let lastRequest: RequestLog | undefined;
const cacheCounts: Record<string, number> = {};
const logger = jsonLogger({
  level: "info",
  sink: (line) => {
    const f = JSON.parse(line) as LogFields;
    if (f.msg === "request" || f.msg === "slow request") {
      lastRequest = { statements: Number(f.statements), cache: f.cache as string | undefined, path: String(f.path) };
      const k = String(f.cache ?? "none");
      cacheCounts[k] = (cacheCounts[k] ?? 0) + 1;
    }
  },
});
const shared = createNodeSharedCache({ store: "redis", url: opts.redis, clock: systemClock, logger, keyPrefix: "tally-bench:" });
const cache = shared.cache;
// the per-key rate limit stays in the path (this instance's memory) but does not bind: the sequential samples of one
// key would pass its 600 a minute; the load phase runs the Node entry with the deployed limit instead
const app = createApp({
  database,
  cache,
  clock: systemClock,
  logger,
  webhookReplays: memoryDeliveryLedger(systemClock),
  rateLimit: { requests: 1_000_000_000 },
});
// the floor: the same middleware stack, no auth, no cache
app.get("/bench/bare", (c) => c.json({ ok: true }));
app.get("/bench/select1", async (c) => {
  const [r] = await rows<{ one: number }>(c.var.db, sql`SELECT 1 AS one`);
  return c.json({ ok: r?.one === 1 });
});
const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
await new Promise<void>((resolve) => server.once("listening", () => resolve()));
const address = server.address();
const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
const { apiKey } = await createApiKey(db, { orgId, scope: "read", name: `bench ${new Date().toISOString()}` });
const headers = { authorization: `Bearer ${apiKey}` };

// the deep page: the calls list cursor positioned after DEEP_OFFSET calls (keyset) vs OFFSET DEEP_OFFSET (naive)
const deepOffset = Math.min(100_000, Math.floor(largest!.n / 2));
const [deep] = await rows<{ at: string; id: string }>(
  db,
  sql`SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, id::text AS id
        FROM calls WHERE org_id = ${orgId}::uuid ORDER BY started_at DESC, id DESC OFFSET ${deepOffset - 1} LIMIT 1`,
);
const deepCursor = encodeCursor({ startedAt: deep!.at, id: deep!.id });

const now = new Date();
const windowDays = 30;
const naiveCtx = (runner: NaiveRunner): NaiveContext => ({
  runner,
  orgId,
  timezone: largest!.tz,
  from: new Date(now.getTime() - windowDays * 86400_000),
  to: now,
});
await createNaiveCoverageView(database.client);

// the agent panel's subject: the largest organization's busiest agent in the window
const [busiestAgent] = await rows<{ id: string }>(
  db,
  sql`SELECT agent_id::text AS id FROM calls WHERE org_id = ${orgId}::uuid AND agent_id IS NOT NULL AND started_at >= ${naiveCtx(new NaiveRunner(database.client)).from.toISOString()}::timestamptz
       GROUP BY agent_id ORDER BY count(*) DESC LIMIT 1`,
);
const previousCtx = (runner: NaiveRunner): NaiveContext => {
  const ctx = naiveCtx(runner);
  return { ...ctx, from: new Date(ctx.from.getTime() - windowDays * 86400_000), to: ctx.from };
};

type RouteDef = { name: string; path: string; naive: (r: NaiveRunner) => Promise<unknown>; cached: boolean };
const routes: RouteDef[] = [
  { name: "overview", path: `/api/dashboard/overview?days=${windowDays}`, naive: (r) => naiveOverview(naiveCtx(r)), cached: true },
  {
    name: "overview, compare=previous",
    path: `/api/dashboard/overview?days=${windowDays}&compare=previous`,
    naive: async (r) => [await naiveOverview(naiveCtx(r)), await naiveOverview(previousCtx(r))],
    cached: true,
  },
  { name: "analytics", path: `/api/dashboard/analytics?days=${windowDays}`, naive: (r) => naiveAnalytics(naiveCtx(r)), cached: true },
  { name: "agents", path: `/api/agents`, naive: (r) => naiveAgents(naiveCtx(r)), cached: true },
  { name: "agent variance", path: `/api/analytics/agent-variance?days=${windowDays}`, naive: (r) => naiveAgentVariance(naiveCtx(r)), cached: true },
  ...(busiestAgent
    ? [
        {
          name: "agent performance (busiest agent)",
          path: `/api/agents/${busiestAgent.id}/performance?days=${windowDays}`,
          naive: (r: NaiveRunner) => naiveAgentPerformance({ ...naiveCtx(r), agentId: busiestAgent.id }),
          cached: true,
        },
      ]
    : []),
  { name: "calls list, first page", path: `/api/calls?limit=20`, naive: (r) => naiveCallsPage({ runner: r, orgId }, 0), cached: false },
  {
    name: `calls list, page at ${deepOffset}`,
    path: `/api/calls?limit=20&cursor=${deepCursor}`,
    naive: (r) => naiveCallsPage({ runner: r, orgId }, deepOffset),
    cached: false,
  },
  { name: "coverage", path: `/api/coverage?days=${windowDays}`, naive: (r) => naiveCoverage(naiveCtx(r)), cached: true },
];

async function request(path: string): Promise<{ ms: number; log: RequestLog | undefined }> {
  lastRequest = undefined;
  const t = performance.now();
  const res = await fetch(base + path, { headers });
  await res.arrayBuffer();
  const ms = performance.now() - t;
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
  return { ms, log: lastRequest };
}

type Measured = Summary & { statements: number; loadavg: [number, number, number]; cacheStatuses?: Record<string, number> };
async function measureHttp(path: string, n: number, before?: () => Promise<void>): Promise<Measured> {
  const samples: number[] = [];
  const statuses: Record<string, number> = {};
  let statements = 0;
  for (let i = 0; i < n; i++) {
    if (before) await before();
    const { ms, log } = await request(path);
    samples.push(ms);
    statements = Math.max(statements, log?.statements ?? 0);
    const k = log?.cache ?? "none";
    statuses[k] = (statuses[k] ?? 0) + 1;
  }
  return { ...summarize(samples), statements, loadavg: load(), cacheStatuses: statuses };
}
async function measureNaive(fn: (r: NaiveRunner) => Promise<unknown>, n: number): Promise<Measured> {
  const samples: number[] = [];
  let statements = 0;
  for (let i = 0; i < n; i++) {
    const runner = new NaiveRunner(database.client);
    const { ms } = await timed(() => fn(runner));
    samples.push(ms);
    statements = runner.statements;
  }
  return { ...summarize(samples), statements, loadavg: load() };
}

// ---------------------------------------------------------------------------------------------------------- latency
const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model,
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  postgres: (await rows<{ v: string }>(db, sql`SHOW server_version`).then((r) => (r[0] as unknown as { server_version: string }).server_version)) ?? "?",
  redis: await redisVersion(),
  loadavgAtStart: load(),
};
async function redisVersion(): Promise<string> {
  const { createClient } = await import("redis");
  const client = createClient({ url: opts.redis });
  await client.connect();
  const info = await client.info("server");
  await client.quit();
  return /redis_version:(\S+)/.exec(info)?.[1] ?? "?";
}
progress(`machine ${JSON.stringify(machine)}; server ${base}`);

// warm up connections and plans
for (const r of routes) await request(r.path);
const floor = {
  bare: await measureHttp("/bench/bare", warmSamples),
  select1: await measureHttp("/bench/select1", warmSamples),
};
progress(`floor: bare p95 ${floor.bare.p95} ms, SELECT 1 p95 ${floor.select1.p95} ms`);

const ratio = (a: number, b: number) => Math.round((a / b) * 10) / 10;
const perRoute = [];
for (const r of routes) {
  progress(`${r.name}: naive ×${naiveSamples}…`);
  const naive = await measureNaive(r.naive, naiveSamples);
  progress(`${r.name}: naive p95 ${naive.p95} ms (${naive.statements} statements); Tally cold ×${coldSamples}…`);
  const cold = await measureHttp(r.path, coldSamples, () => cache.invalidateOrg(orgId));
  await request(r.path); // fill
  const warm = await measureHttp(r.path, warmSamples);
  progress(`${r.name}: cold p95 ${cold.p95} ms (${cold.statements} st.), warm p95 ${warm.p95} ms (${warm.statements} st.)`);
  perRoute.push({
    route: r.name,
    path: r.path.replace(/cursor=[^&]+/, "cursor=…"),
    cachedRoute: r.cached,
    naive,
    cold,
    warm,
    speedup: {
      coldP95: ratio(naive.p95, cold.p95),
      warmP95: ratio(naive.p95, warm.p95),
      coldP50: ratio(naive.p50, cold.p50),
      warmP50: ratio(naive.p50, warm.p50),
    },
    overFloor: {
      coldP95VsSelect1: ratio(cold.p95, floor.select1.p95),
      warmP95VsBare: ratio(warm.p95, floor.bare.p95),
      warmP95VsSelect1: ratio(warm.p95, floor.select1.p95),
    },
    targets: { coldP95Le15: cold.p95 <= 15, warmP95Le3: warm.p95 <= 3, speedup200: naive.p95 / warm.p95 >= 200 },
  });
}

// ---------------------------------------------------------------------------------------------------------- load
// Mixed dashboard traffic against the real Node entry (functions/entries/node.ts) in its own process, so autocannon
// and the server do not share an event loop: the dashboard routes of the `--load-orgs` busiest organizations, each
// with its own read key (the per-key rate limit stays on, as deployed), in a shuffled order. The hit ratio is the
// server's own: /api/health/cache before and after each level.
const loadResults = [];
if (!opts["skip-load"]) {
  const loadOrgs = await rows<{ org_id: string }>(
    db,
    sql`SELECT org_id::text FROM calls GROUP BY org_id ORDER BY count(*) DESC LIMIT ${int("load-orgs", opts["load-orgs"])}`,
  );
  const loadKeys = await Promise.all(loadOrgs.map((o) => createApiKey(db, { orgId: o.org_id, scope: "read", name: `bench load ${new Date().toISOString()}` })));
  const paths = [
    "/api/dashboard/overview?days=30",
    "/api/dashboard/analytics?days=30",
    "/api/agents",
    "/api/analytics/agent-variance?days=30",
    "/api/calls?limit=20",
    "/api/coverage?days=7",
  ];
  // every request draws its (organization, route) at random: autocannon walks a `requests` list from its start on every
  // connection, so a fixed list would send all connections through the same keys in lockstep
  let state = params.seed;
  const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const pairs = loadKeys.flatMap((k) => paths.map((path) => ({ path, headers: { authorization: `Bearer ${k.apiKey}` } })));
  const mix = [
    {
      method: "GET" as const,
      path: pairs[0]!.path,
      setupRequest: (req: Record<string, unknown>) => ({ ...req, ...pairs[Math.floor(random() * pairs.length)]! }),
    },
  ];
  const entry = await startNodeEntry();
  const healthOf = async () => {
    const res = await fetch(`${entry.base}/api/health/cache`, { headers: { authorization: `Bearer ${loadKeys[0]!.apiKey}` } });
    return ((await res.json()) as { data: { hits: number; misses: number; stale: number } }).data;
  };
  try {
    for (const connections of connectionLevels) {
      const latencies: number[] = [];
      const statusCodes: Record<string, number> = {};
      progress(
        `load: ${connections} connections for ${durationSec} s over ${loadKeys.length} organizations (${pairs.length} distinct requests, drawn at random)…`,
      );
      const before = await healthOf();
      const instance = autocannon({ url: entry.base, connections, duration: durationSec, requests: mix, timeout: 30 });
      instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
        latencies.push(responseTime);
        statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
      });
      const loadAtStart = load();
      const result = await new Promise<autocannon.Result>((resolve, reject) => {
        instance.on("done", resolve);
        instance.on("error", reject);
      });
      const after = await healthOf();
      const hits = after.hits - before.hits + (after.stale - before.stale);
      const lookups = hits + (after.misses - before.misses);
      const stats = summarize(latencies);
      const non2xx = Object.entries(statusCodes)
        .filter(([s]) => !s.startsWith("2"))
        .reduce((n, [, c]) => n + c, 0);
      loadResults.push({
        connections,
        durationSec,
        organizations: loadKeys.length,
        requests: result.requests.total,
        rps: Math.round(result.requests.average),
        p50: stats.p50,
        p95: stats.p95,
        p99: stats.p99,
        max: stats.max,
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx,
        statusCodes,
        cacheHitRatio: lookups === 0 ? null : Math.round((hits / lookups) * 1000) / 1000,
        cacheLookups: { hits: after.hits - before.hits, stale: after.stale - before.stale, misses: after.misses - before.misses },
        loadavg: { atStart: loadAtStart, atEnd: load() },
      });
      progress(
        `load ${connections}: ${Math.round(result.requests.average)} req/s, p95 ${stats.p95} ms, errors ${result.errors}, non-2xx ${non2xx}, hit ratio ${loadResults.at(-1)!.cacheHitRatio}`,
      );
    }
  } finally {
    await entry.stop();
    await db.execute(sql`DELETE FROM api_keys WHERE name LIKE 'bench load %'`);
  }
}

/** The Node entry as deployed (Postgres + Redis), in a child process on a free loopback port. */
function startNodeEntry() {
  return startServer("functions/entries/node.ts", {
    DATABASE_URL: opts.url,
    REDIS_URL: opts.redis,
    TALLY_SCHEDULER: "off",
    TALLY_DEMO: "off",
    LOG_LEVEL: "warn",
  });
}
const cacheStats = cache.stats();

// ---------------------------------------------------------------------------------------------------------- refresh
let refresh: unknown = { status: "skipped (--skip-refresh)" };
if (opts["refresh-result"]) {
  const text = readFileSync(opts["refresh-result"], "utf8");
  refresh = { source: `separate run of bench/refresh.ts (${opts["refresh-result"]})`, result: JSON.parse(text.slice(text.indexOf("{"))) as unknown };
} else if (!opts["skip-refresh"]) {
  // on this run's own dataset (its full size), then on any extra sizes asked for (each a scratch database of its own)
  const { benchRefresh } = await import("./refresh");
  const out: Record<string, unknown> = {};
  progress(`refresh: bench/refresh.ts on this dataset (${params.calls} calls)…`);
  out[String(params.calls)] = await benchRefresh({
    url: opts.url,
    database: new URL(opts.url).pathname.slice(1),
    calls: params.calls,
    orgs: params.orgs,
    days: params.days,
    seed: params.seed,
    changed: 10_000,
    keep: true,
    skipFirstBuild: true,
  });
  for (const calls of opts["refresh-calls"]
    .split(",")
    .filter(Boolean)
    .map((c) => int("refresh-calls", c))) {
    progress(`refresh: bench/refresh.ts at ${calls} calls (scratch database)…`);
    out[String(calls)] = await benchRefresh({
      url: opts.url,
      calls,
      orgs: Math.min(params.orgs, 50),
      days: params.days,
      seed: params.seed,
      changed: 10_000,
      keep: true,
    });
  }
  refresh = out;
}

// ---------------------------------------------------------------------------------------------------------- output
const stamp = new Date()
  .toISOString()
  .replaceAll(":", "-")
  .replace(/\.\d+Z$/, "Z");
const result = {
  at: new Date().toISOString(),
  command: `npm run bench -- ${process.argv.slice(2).join(" ")}`,
  machine: { ...machine, loadavgAtEnd: load() },
  dataset: { params, ...sizes, largestOrg: { id: orgId, calls: largest!.n, timezone: largest!.tz }, seed: seedInfo },
  measuredPath:
    "the routes' read models as they are in the tree (functions/read-models/* over functions/rollups/queries.ts: rollup rows before the watermark, raw rows after it)",
  rollupBuild,
  samples: { naive: naiveSamples, cold: coldSamples, warm: warmSamples },
  floor,
  routes: perRoute,
  load: loadResults,
  cacheStats,
  refresh,
  // the plans of what the routes send: `DATABASE_URL=<--url> npm run explain` against this database
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const file = new URL(`./results/${stamp}.json`, import.meta.url);
writeFileSync(file, JSON.stringify(result, null, 2));
progress(`wrote ${file.pathname}`);
console.log(markdown(result));

function markdown(r: typeof result): string {
  const f = (x: number) => (Number.isFinite(x) ? (x >= 100 ? Math.round(x).toString() : x.toFixed(2)) : "–");
  const lines = [
    `| route | naive p50 / p95 / p99 (ms) | naive st. | Tally cold p50 / p95 / p99 | cold st. | Tally warm p50 / p95 / p99 | warm st. | naive÷cold p95 | naive÷warm p95 | cold p95 ÷ SELECT 1 p95 | warm p95 ÷ bare p95 | load avg (1 min) |`,
    `|---|---|---|---|---|---|---|---|---|---|---|---|`,
  ];
  for (const x of r.routes) {
    lines.push(
      `| ${x.route} | ${f(x.naive.p50)} / ${f(x.naive.p95)} / ${f(x.naive.p99)} | ${x.naive.statements} | ${f(x.cold.p50)} / ${f(x.cold.p95)} / ${f(x.cold.p99)} | ${x.cold.statements} | ${f(x.warm.p50)} / ${f(x.warm.p95)} / ${f(x.warm.p99)} | ${x.warm.statements} | ${x.speedup.coldP95}× | ${x.speedup.warmP95}× | ${x.overFloor.coldP95VsSelect1}× | ${x.overFloor.warmP95VsBare}× | ${x.warm.loadavg[0]} |`,
    );
  }
  lines.push(
    `| floor: bare Hono route | | | | | ${f(r.floor.bare.p50)} / ${f(r.floor.bare.p95)} / ${f(r.floor.bare.p99)} | ${r.floor.bare.statements} | | | | 1× | ${r.floor.bare.loadavg[0]} |`,
    `| floor: SELECT 1 route | | | | | ${f(r.floor.select1.p50)} / ${f(r.floor.select1.p95)} / ${f(r.floor.select1.p99)} | ${r.floor.select1.statements} | | | | ${Math.round((r.floor.select1.p95 / r.floor.bare.p95) * 10) / 10}× | ${r.floor.select1.loadavg[0]} |`,
    "",
    `| connections | duration (s) | requests | req/s | p50 (ms) | p95 (ms) | p99 (ms) | errors | timeouts | non-2xx | cache hit ratio | load avg start → end |`,
    `|---|---|---|---|---|---|---|---|---|---|---|---|`,
  );
  for (const l of r.load) {
    lines.push(
      `| ${l.connections} | ${l.durationSec} | ${l.requests} | ${l.rps} | ${f(l.p50)} | ${f(l.p95)} | ${f(l.p99)} | ${l.errors} | ${l.timeouts} | ${l.non2xx} | ${l.cacheHitRatio ?? "–"} | ${l.loadavg.atStart[0]} → ${l.loadavg.atEnd[0]} |`,
    );
  }
  return lines.join("\n");
}

server.close();
await cache.close();
await database.close();
process.exit(0);
