import { createRoute, z } from "@hono/zod-openapi";
import { checkHealth } from "../../ops/health";
import type { App } from "../../hono/env";

const checkSchema = z.object({ ok: z.boolean(), latencyMs: z.number() });

export const healthSchema = z
  .object({
    status: z.enum(["ok", "degraded", "unavailable"]).openapi({
      description: "`degraded`: the cache store does not answer (requests are served uncached); `unavailable`: the database does not",
    }),
    database: checkSchema.extend({ driver: z.string(), error: z.enum(["timeout", "unreachable"]).optional() }),
    cache: checkSchema.extend({ store: z.string() }),
    rollupLagSec: z.number().nullable().openapi({
      description: "seconds since the start of the last successful refresh-rollups run; null if it never succeeded",
    }),
  })
  .openapi("Health");

export type Health = z.infer<typeof healthSchema>;

const healthResponse = z.object({ data: healthSchema, meta: z.object({ asOf: z.string() }) });

export const route = createRoute({
  method: "get",
  path: "/health",
  summary: "Liveness and readiness: database, cache store and rollup lag (unauthenticated)",
  tags: ["operations"],
  responses: {
    200: { description: "The database answers", content: { "application/json": { schema: healthResponse } } },
    503: { description: "The database does not answer", content: { "application/json": { schema: healthResponse } } },
  },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const { deps } = c.var;
    const report = await checkHealth({ db: c.var.db, cache: deps.cache, clock: deps.clock, logger: deps.logger });
    const data: Health = {
      status: report.status,
      database: { ...report.database, driver: deps.database.kind },
      cache: report.cache,
      rollupLagSec: report.rollupLagSec,
    };
    c.header("cache-control", "no-store");
    const body = { data: healthSchema.parse(data), meta: { asOf: deps.clock.now().toISOString() } };
    return report.database.ok ? c.json(body, 200) : c.json(body, 503);
  });
}
