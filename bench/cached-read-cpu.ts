// `npx tsx bench/cached-read-cpu.ts [requests] [path,path…]` (BENCH_DATABASE_URL: a throughput bench database)
//
// CPU per request of cached reads, in process: the real app (createApp over Postgres and Redis, limits in the path but
// never binding) answering `app.fetch` 20 at a time, next to a bare Hono JSON route in the same process, five rounds
// of `requests` each, printed as user+system µs per request (process.cpuUsage). CPU time, not wall time: other
// processes on a loaded machine take cores away but add no instructions, so this separates the server's own cost
// from contention far better than req/s does (issue #15). Read the smallest rounds: the first may hold a refresh.
import { Hono } from "hono";
import { createApiKey } from "../functions/services/organizations";
import { createApp } from "../functions/app";
import { createNodeSharedCache } from "../functions/cache/node";
import { deliveryLedgerOver } from "../functions/cache/delivery-ledger";
import { jsonLogger } from "../functions/lib/logger";
import { loadavg } from "node:os";
import { openPostgres } from "../functions/db/postgres";
import { rateLimitStoreOver } from "../functions/rate-limit/stores";
import { rows } from "../functions/db/database";
import { sql } from "drizzle-orm";
import { systemClock } from "../functions/lib/clock";
const n = Number(process.argv[2] ?? 3000);
const paths = (process.argv[3] ?? "/api/dashboard/overview?days=30").split(",");
const url = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/tally_throughput";
const database = openPostgres({ url });
const logger = jsonLogger({ level: "warn" });
const shared = createNodeSharedCache({ store: "redis", url: `${process.env.REDIS_URL ?? "redis://127.0.0.1:6379"}`, clock: systemClock, logger });
const store = rateLimitStoreOver(shared);
const limit = { store, requests: 999999999, windowSec: 60 };
const app = createApp({
  database,
  cache: shared.cache,
  clock: systemClock,
  logger,
  clientAddress: () => "127.0.0.1",
  webhookReplays: deliveryLedgerOver(shared),
  rateLimit: limit,
  writeRateLimit: limit,
  anonRateLimit: { ...limit },
});
const [largest] = await rows<{ org_id: string }>(database.db, sql`SELECT org_id::text FROM calls GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`);
const orgId = largest!.org_id;
const keys = await Promise.all(Array.from({ length: 20 }, (_, i) => createApiKey(database.db, { orgId, scope: "read", name: `bench cached-read-cpu ${i}` })));
const bare = new Hono();
bare.get("/bare", (c) => c.json({ ok: true }));
async function run(fetcher: (r: Request) => Promise<Response> | Response, path: string, count: number) {
  let i = 0;
  const worker = async () => {
    while (i < count) {
      const k = keys[i++ % keys.length]!;
      const res = await fetcher(new Request(`http://x${path}`, { headers: { authorization: `Bearer ${k.apiKey}` } }));
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    }
  };
  const cpu = process.cpuUsage();
  const t = performance.now();
  await Promise.all(Array.from({ length: 20 }, worker));
  const used = process.cpuUsage(cpu);
  return { cpuUs: Math.round(((used.user + used.system) / count) * 10) / 10, wallUs: Math.round(((performance.now() - t) * 1000) / count) };
}
for (const p of paths) await run(app.fetch, p, 500); // warm
await run(bare.fetch, "/bare", 2000);
const out: Record<string, unknown> = { load: loadavg()[0] };
for (let round = 0; round < 5; round++) {
  out[`bare#${round}`] = await run(bare.fetch, "/bare", n);
  for (const p of paths) out[`${p}#${round}`] = await run(app.fetch, p, n);
}
console.log(JSON.stringify(out, null, 1));
await database.db.execute(sql`DELETE FROM api_keys WHERE name LIKE 'bench cached-read-cpu %'`);
await shared.cache.close();
await database.close();
process.exit(0);
