// `npx tsx bench/write-cost.ts [--url …] [--singles 600] [--batch-size 1000] [--batches 3] [--explain-rounds 3]`
//
// What one write costs, in figures a loaded machine does not distort much (issue #15): the app in this process
// (createApp over postgres.js and the Redis cache and limiter, as the Node entry builds it) answering writes one at a
// time, with process CPU µs and statements per request; then EXPLAIN (ANALYZE, BUFFERS, WAL) of the new-call statement
// (`insertNewCalls`) for one call and for a batch, each in a transaction rolled back: execution time, each trigger's
// time, shared buffers and WAL records / full-page images / bytes. Needs a migrated database with organizations (the
// throughput bench's dataset does).
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { createApp } from "../functions/app";
import { deliveryLedgerOver } from "../functions/cache/delivery-ledger";
import { createNodeSharedCache } from "../functions/cache/node";
import { rows } from "../functions/db/database";
import { openPostgres } from "../functions/db/postgres";
import { systemClock } from "../functions/lib/clock";
import { jsonLogger } from "../functions/lib/logger";
import { rateLimitStoreOver } from "../functions/rate-limit/stores";
import { insertNewCalls } from "../functions/services/call-ingest";
import { createApiKey } from "../functions/services/organizations";
import { explainRolledBack, newCallSource, renderedInsert } from "./new-calls";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string", default: process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/tally_throughput" },
    redis: { type: "string", default: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" },
    singles: { type: "string", default: "600" },
    "batch-size": { type: "string", default: "1000" },
    batches: { type: "string", default: "3" },
    "explain-rounds": { type: "string", default: "3" },
  },
});
const singles = Number(opts.singles);
const batchSize = Number(opts["batch-size"]);
const batches = Number(opts.batches);
const explainRounds = Number(opts["explain-rounds"]);

const database = openPostgres({ url: opts.url });
const logger = jsonLogger({ level: "error", base: {} });
const shared = createNodeSharedCache({ store: "redis", url: opts.redis, clock: systemClock, logger });
// limits far above what this sends: the limiter's store call stays in the path, never refusing
const limit = { requests: 999_999_999, windowSec: 60, store: rateLimitStoreOver(shared) };
const app = createApp({
  database,
  cache: shared.cache,
  clock: systemClock,
  logger,
  webhookReplays: deliveryLedgerOver(shared),
  rateLimit: limit,
  writeRateLimit: limit,
});
const [org] = await rows<{ id: string }>(database.db, sql`SELECT id::text FROM organizations ORDER BY id LIMIT 1`);
if (!org) throw new Error(`${opts.url} has no organization: run the throughput bench once to seed it`);
const key = await createApiKey(database.db, { orgId: org.id, scope: "write", name: `write-cost ${new Date().toISOString()}` });
const newCall = newCallSource("write-cost");
const post = async (path: string, body: unknown) => {
  const res = await app.request(path, {
    method: "POST",
    headers: { authorization: `Bearer ${key.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res;
};

/** `count` requests one after another after as many warm-up ones (the JIT compiles on other threads meanwhile). */
async function perRequest(label: string, count: number, one: () => Promise<Response>, items = 1) {
  for (let i = 0; i < count; i++) await one();
  const statuses: Record<number, number> = {};
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const res = await one();
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  return {
    label,
    count,
    cpuUsPerRequest: Math.round((cpu.user + cpu.system) / count),
    cpuUsPerItem: Math.round(((cpu.user + cpu.system) / count / items) * 10) / 10,
    wallMsPerRequest: Math.round((wallMs / count) * 100) / 100,
    statuses,
    loadavg: loadavg()[0],
  };
}

/** EXPLAIN (ANALYZE, BUFFERS, WAL) of `insertNewCalls` for `size` new calls, rolled back: the plan's summary lines. */
async function explainInsert(size: number) {
  const { sql: text, params } = await renderedInsert(insertNewCalls, org!.id, size, newCall);
  const lines = await explainRolledBack(database.client, text, params);
  return {
    size,
    execution: lines.find((l) => l.startsWith("Execution Time")),
    buffers: lines.find((l) => /^ {2}Buffers:/.test(l)),
    wal: lines.find((l) => /^ {2}WAL:/.test(l)),
    triggers: lines.filter((l) => l.startsWith("Trigger")),
  };
}

const report = [
  await perRequest("POST /api/calls (a new call each)", singles, () => post("/api/calls", newCall())),
  await perRequest(
    `POST /api/calls/batch (${batchSize} new calls each)`,
    batches,
    () => post("/api/calls/batch", { calls: Array.from({ length: batchSize }, newCall) }),
    batchSize,
  ),
];
for (const r of report) console.log(JSON.stringify(r));
for (const size of [1, batchSize]) for (let round = 0; round < explainRounds; round++) console.log(JSON.stringify(await explainInsert(size), null, 1));

await database.db.execute(sql`DELETE FROM api_keys WHERE id = ${key.id}`);
await shared.cache.close();
await database.close();
process.exit(0);
