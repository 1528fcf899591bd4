// Issue #16 item 1: every aggregate route's cache miss over HTTP, at the largest organization of an existing dataset,
// for `days` windows and explicit windows at odd minutes, with the `SELECT 1` route's floor and the load average.
//
//   npx tsx bench/cold-http.ts --url …/tally_1m --samples 30 [--out FILE.json] [--only NAME] [--cpu-prof FILE.cpuprofile]
//
// The app of this tree (Redis shared cache as `npm run bench` sets it, rate limits off) on a loopback server in this
// process, against a database already seeded, migrated and with its rollups built (nothing is written but one read
// key, deleted at the end). Each sample invalidates the organization's cache, then asks; the samples of the routes are
// interleaved (route 1, route 2, …, route 1, …) so that a change of the machine's load falls on every route alike.
// Before the samples every route is asked `--warm` times, so each pooled connection has its generic plans (the app's
// statements are named prepared statements: the server plans five custom plans per connection first).
// Run it from two trees against one database (alternating) to pair them. `--cpu-prof` writes a CPU profile (V8's
// `.cpuprofile`, for Chrome's DevTools or `--cpu-prof`'s readers) of the samples phase alone: server and client share
// this process, so it holds both sides of every miss (not the warm-up, the floor, startup or module loading).
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { createApp } from "../functions/app";
import { memoryDeliveryLedger } from "../functions/cache/delivery-ledger";
import { createNodeSharedCache } from "../functions/cache/node";
import { rows } from "../functions/db/database";
import { openPostgres } from "../functions/db/postgres";
import { systemClock } from "../functions/lib/clock";
import { jsonLogger, type LogFields } from "../functions/lib/logger";
import { createApiKey } from "../functions/services/organizations";
import { load, progress, summarize } from "./stats";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string", default: "postgres://postgres@127.0.0.1:5432/tally_1m" },
    redis: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
    samples: { type: "string", default: "30" },
    warm: { type: "string", default: "12" },
    "floor-samples": { type: "string", default: "200" },
    only: { type: "string" },
    out: { type: "string" },
    label: { type: "string", default: "" },
    "cpu-prof": { type: "string" },
  },
  strict: true,
});
const samples = Number(opts.samples);

const database = openPostgres({ url: opts.url, max: 20, statementTimeoutMs: 120_000 });
const db = database.db;
const [largest] = await rows<{ org_id: string; n: number; tz: string }>(
  db,
  sql`SELECT c.org_id::text, c.n, o.timezone AS tz FROM (SELECT org_id, count(*)::int AS n FROM calls GROUP BY 1 ORDER BY 2 DESC LIMIT 1) c
        JOIN organizations o ON o.id = c.org_id`,
);
const orgId = largest!.org_id;
const [agent] = await rows<{ id: string }>(
  db,
  sql`SELECT agent_id::text AS id FROM calls WHERE org_id = ${orgId}::uuid AND agent_id IS NOT NULL AND started_at >= now() - interval '30 days'
       GROUP BY agent_id ORDER BY count(*) DESC LIMIT 1`,
);

let statements = 0;
let cacheStatus: string | undefined;
let serverMs: number | undefined;
const logger = jsonLogger({
  level: "info",
  sink: (line) => {
    const f = JSON.parse(line) as LogFields;
    if (f.msg === "request" || f.msg === "slow request") {
      statements = Number(f.statements);
      cacheStatus = f.cache as string | undefined;
      serverMs = Number(f.durationMs);
    }
  },
});
const shared = createNodeSharedCache({ store: "redis", url: opts.redis, clock: systemClock, logger, keyPrefix: "tally-cold-http:" });
const app = createApp({
  database,
  cache: shared.cache,
  clock: systemClock,
  logger,
  webhookReplays: memoryDeliveryLedger(systemClock),
  rateLimit: { requests: 1_000_000_000 },
});
app.get("/bench/select1", async (c) => {
  const [r] = await rows<{ one: number }>(c.var.db, sql`SELECT 1 AS one`);
  return c.json({ ok: r?.one === 1 });
});
const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
await new Promise<void>((resolve) => server.once("listening", () => resolve()));
const address = server.address();
const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
const key = await createApiKey(db, { orgId, scope: "read", name: `bench/cold-http ${new Date().toISOString()}` });
const headers = { authorization: `Bearer ${key.apiKey}` };

// explicit windows on whole minutes at odd minutes (cacheable, so a miss as a dashboard would send it): ~43 days from
// hh:53 to 2 h 8 min before now (the front edge off the hour and off the 15-minute grid; the back edge wherever now puts it)
const minute = Math.floor(Date.now() / 60_000) * 60_000;
const at = (minutesBefore: number) => new Date(minute - minutesBefore * 60_000).toISOString();
const explicit = `from=${at(43 * 1440 + 7 + ((minute / 60_000) % 60))}&to=${at(128)}`;
const allRoutes: [string, string][] = [
  ["overview days=30", "/api/dashboard/overview?days=30"],
  ["overview days=90", "/api/dashboard/overview?days=90"],
  ["overview days=30 compare", "/api/dashboard/overview?days=30&compare=previous"],
  ["overview explicit", `/api/dashboard/overview?${explicit}`],
  ["overview explicit compare", `/api/dashboard/overview?${explicit}&compare=previous`],
  ["analytics days=30", "/api/dashboard/analytics?days=30"],
  ["analytics days=90", "/api/dashboard/analytics?days=90"],
  ["analytics explicit", `/api/dashboard/analytics?${explicit}`],
  ["agents", "/api/agents"],
  ["variance days=30", "/api/analytics/agent-variance?days=30"],
  ["variance days=90", "/api/analytics/agent-variance?days=90"],
  ["variance explicit", `/api/analytics/agent-variance?${explicit}`],
  ["panel days=30", `/api/agents/${agent!.id}/performance?days=30`],
  ["panel days=90", `/api/agents/${agent!.id}/performance?days=90`],
  ["panel explicit", `/api/agents/${agent!.id}/performance?${explicit}`],
  ["coverage days=7", "/api/coverage?days=7"],
  ["coverage days=30", "/api/coverage?days=30"],
  ["coverage explicit", `/api/coverage?${explicit}`],
];
const routes = allRoutes.filter(([name]) => !opts.only || opts.only.split(",").some((o) => name.includes(o)));

/** The last answer's Server-Timing: `db` (inside the cache's loader: the statement, its building, its rows, the read model), `cache` (inside the cache but not the loader: store read, serialization, store write), `total`. */
let timing: Record<string, number> = {};
async function ask(path: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(base + path, { headers });
  await res.arrayBuffer();
  const ms = performance.now() - t;
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
  timing = Object.fromEntries([...(res.headers.get("server-timing") ?? "").matchAll(/(\w+);dur=([\d.]+)/g)].map((m) => [m[1]!, Number(m[2])]));
  return ms;
}

const loadStart = load();
progress(`largest organization ${orgId} (${largest!.n} calls, ${largest!.tz}), agent ${agent!.id}; explicit ${explicit}`);
for (let i = 0; i < Number(opts.warm); i++)
  for (const [, path] of routes) {
    await shared.cache.invalidateOrg(orgId);
    await ask(path);
  }
const floorSamples: number[] = [];
for (let i = 0; i < Number(opts["floor-samples"]); i++) floorSamples.push(await ask("/bench/select1"));
const floor = summarize(floorSamples);
const profiler = opts["cpu-prof"] ? new Session() : undefined;
if (profiler) {
  profiler.connect();
  await profiler.post("Profiler.enable");
  // 100 µs between samples (V8's default is 1 ms at the inspector): a miss is a few ms of CPU
  await profiler.post("Profiler.setSamplingInterval", { interval: 100 });
  await profiler.post("Profiler.start");
}
const times = new Map(routes.map(([name]) => [name, [] as number[]]));
// the app's own time (its request log's durationMs: from the logging middleware, after the cached-read lane's key
// lookup and limit count, to the answer built; not Node's server writing it, nor the client in this same process
// reading and decompressing it)
const serverTimes = new Map(routes.map(([name]) => [name, [] as number[]]));
const timings = new Map(routes.map(([name]) => [name, { db: [] as number[], cache: [] as number[], total: [] as number[] }]));
// this process's CPU time (user + system) over each request: the app, its drivers and the client, not Postgres or
// Redis; far less moved by the machine's load than wall time
const cpuTimes = new Map(routes.map(([name]) => [name, [] as number[]]));
const seen = new Map(routes.map(([name]) => [name, { statements: 0, cache: {} as Record<string, number> }]));
for (let i = 0; i < samples; i++) {
  for (const [name, path] of routes) {
    await shared.cache.invalidateOrg(orgId);
    cacheStatus = undefined;
    serverMs = undefined;
    const cpuBefore = process.cpuUsage();
    times.get(name)!.push(await ask(path));
    const cpu = process.cpuUsage(cpuBefore);
    cpuTimes.get(name)!.push((cpu.user + cpu.system) / 1000);
    if (serverMs !== undefined) serverTimes.get(name)!.push(serverMs);
    for (const [part, samples] of Object.entries(timings.get(name)!)) if (timing[part] !== undefined) samples.push(timing[part]);
    const s = seen.get(name)!;
    s.statements = Math.max(s.statements, statements);
    s.cache[cacheStatus ?? "none"] = (s.cache[cacheStatus ?? "none"] ?? 0) + 1;
  }
}
if (profiler) {
  const { profile } = await profiler.post("Profiler.stop");
  writeFileSync(opts["cpu-prof"]!, JSON.stringify(profile));
  profiler.disconnect();
}
const floorAfterSamples: number[] = [];
for (let i = 0; i < Number(opts["floor-samples"]); i++) floorAfterSamples.push(await ask("/bench/select1"));
const floorAfter = summarize(floorAfterSamples);
const loadEnd = load();
const result = {
  label: opts.label,
  at: new Date().toISOString(),
  url: opts.url.replace(/\/\/[^@]*@/, "//"),
  orgId,
  calls: largest!.n,
  timezone: largest!.tz,
  explicit,
  samples,
  loadStart,
  loadEnd,
  floor: { before: floor, after: floorAfter },
  routes: routes.map(([name, path]) => ({
    name,
    path,
    ...summarize(times.get(name)!),
    server: summarize(serverTimes.get(name)!),
    cpu: summarize(cpuTimes.get(name)!),
    serverTiming: Object.fromEntries(Object.entries(timings.get(name)!).map(([part, samples]) => [part, summarize(samples)])),
    ...seen.get(name)!,
  })),
};
const f = (x: number) => x.toFixed(1);
console.log(
  `${opts.label} ${result.at} load ${loadStart.join(" ")} → ${loadEnd.join(" ")}; SELECT 1 route p50/p95 ${f(floor.p50)}/${f(floor.p95)} before, ${f(floorAfter.p50)}/${f(floorAfter.p95)} after`,
);
for (const r of result.routes)
  console.log(
    `${r.name.padEnd(28)} ${f(r.p50).padStart(6)} ${f(r.p95).padStart(6)}  server ${f(r.server.p50)}/${f(r.server.p95)}  db ${f(r.serverTiming.db!.p50)} cache ${f(r.serverTiming.cache!.p50)} (p50)  cpu ${f(r.cpu.p50)}/${f(r.cpu.mean)} (p50/mean)  (${r.statements} st., ${JSON.stringify(r.cache)})`,
  );
if (opts.out) writeFileSync(opts.out, JSON.stringify(result, null, 1));
await db.execute(sql`DELETE FROM api_keys WHERE id = ${key.id}::uuid`);
server.close();
await shared.cache.close();
await database.close();
process.exit(0);
