// The floors of `npm run bench -- --throughput`, a process of their own on @hono/node-server: a bare Hono JSON route,
// and the same route after one Redis round trip (a GET over node-redis, the client the Node entry's cache uses): the
// least a cached read costs when every request asks the shared store once, as issue #15 item 1 allows.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { createClient } from "redis";

const redis = createClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", disableOfflineQueue: true });
await redis.connect();
await redis.set("tally:bench:bare", JSON.stringify({ ok: true }));

const app = new Hono();
app.get("/bare", (c) => c.json({ ok: true }));
app.get("/bare-redis", async (c) => c.body((await redis.get("tally:bench:bare")) ?? "null", 200, { "content-type": "application/json" }));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" }, () => process.stdout.write("Tally is listening (bare)\n"));
process.on("SIGTERM", () => {
  void redis.disconnect();
  process.exit(0);
});
