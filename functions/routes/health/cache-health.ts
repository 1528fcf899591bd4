import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, jsonResponse } from "../../lib/schemas";
import type { App } from "../../hono/env";

const namespaceStats = z.object({
  hits: z.number().int(),
  misses: z.number().int(),
  stale: z.number().int(),
  loadErrors: z.number().int(),
  hitRatio: z.number().nullable(),
});

export const cacheHealthSchema = namespaceStats
  .extend({
    namespaces: z.record(z.string(), namespaceStats),
    store: z
      .object({
        kind: z.string(),
        available: z.boolean(),
        errors: z.number(),
        writeErrors: z.number(),
        skippedWrites: z.number(),
        pendingInvalidations: z.number(),
      })
      .partial()
      .optional(),
  })
  .openapi("CacheHealth");

export const route = createRoute({
  method: "get",
  path: "/api/health/cache",
  summary: "This instance's cache counters: hits, misses, stale serves, load errors, hit ratio, per namespace",
  tags: ["operations"],
  security: bearer,
  responses: {
    200: jsonResponse("Cache counters since this instance started", z.object({ data: cacheHealthSchema, meta: z.object({ asOf: z.string() }) })),
    ...errorResponses,
  },
});

export function register(app: App) {
  app.openapi(route, (c) => {
    const stats = c.get("deps").cache.stats();
    return c.json({ data: stats, meta: { asOf: c.get("deps").clock.now().toISOString() } }, 200);
  });
}
