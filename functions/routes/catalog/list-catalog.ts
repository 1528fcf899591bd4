import { createRoute, z } from "@hono/zod-openapi";
import { bearer, cacheMetaSchema, errorResponses, jsonResponse } from "../../lib/schemas";
import { configMeta } from "../../services/config-cache";
import { listCatalog } from "../../services/catalog";
import { catalogItemSchema } from "./catalog-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const route = createRoute({
  method: "get",
  path: "/api/services",
  summary: "Every service of the organization, by name (served from cache, invalidated on write)",
  tags: ["services"],
  security: bearer,
  responses: {
    200: jsonResponse("The services", z.object({ data: z.array(catalogItemSchema), meta: cacheMetaSchema })),
    ...errorResponses,
  },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const result = await listCatalog(serviceContext(c));
    c.set("cacheStatus", result.status);
    return c.json({ data: result.value, meta: configMeta(result) }, 200);
  });
}
