import { createRoute, z } from "@hono/zod-openapi";
import type { Db } from "../../db/database";
import { memoizeFor } from "../../lib/memo";
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

/** Issue #18: /health is public, so its statements run at most once a second per app instance, whatever the traffic. */
export const HEALTH_MEMO_MS = 1_000;

type HealthAnswer = { ok: boolean; body: { data: Health; meta: { asOf: string } } };

export function register(app: App) {
  // per app instance, built on its first request (nothing at module scope)
  let memo: ((db: Db) => Promise<HealthAnswer>) | undefined;
  app.openapi(route, async (c) => {
    const deps = c.get("deps");
    memo ??= memoizeFor(deps.clock, HEALTH_MEMO_MS, async (db: Db) => {
      const report = await checkHealth({ db, cache: deps.cache, clock: deps.clock, logger: deps.logger });
      const data: Health = {
        status: report.status,
        database: { ...report.database, driver: deps.database.kind },
        cache: report.cache,
        rollupLagSec: report.rollupLagSec,
      };
      return { ok: report.database.ok, body: { data: healthSchema.parse(data), meta: { asOf: deps.clock.now().toISOString() } } };
    });
    const answer = await memo(c.get("db"));
    c.header("cache-control", "no-store");
    return answer.ok ? c.json(answer.body, 200) : c.json(answer.body, 503);
  });
}
