// The floor of `npm run bench -- --throughput`: a bare Hono JSON route on @hono/node-server, a process of its own.
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono();
app.get("/bare", (c) => c.json({ ok: true }));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" }, () => process.stdout.write("Tally is listening (bare)\n"));
process.on("SIGTERM", () => process.exit(0));
