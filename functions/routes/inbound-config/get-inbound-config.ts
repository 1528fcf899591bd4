import { createRoute, z } from "@hono/zod-openapi";
import { bearer, cacheMetaSchema, errorResponses, jsonResponse } from "../../lib/schemas";
import { configMeta } from "../../services/config-cache";
import { getInboundConfig } from "../../services/inbound-config";
import { inboundConfigSchema } from "./inbound-config-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const route = createRoute({
  method: "get",
  path: "/api/inbound-config",
  summary: "Who answers inbound calls (served from cache, invalidated on write)",
  tags: ["configuration"],
  security: bearer,
  responses: {
    200: jsonResponse("The inbound configuration (empty until the first PUT)", z.object({ data: inboundConfigSchema, meta: cacheMetaSchema })),
    ...errorResponses,
  },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const result = await getInboundConfig(serviceContext(c));
    c.set("cacheStatus", result.status);
    return c.json({ data: result.value, meta: configMeta(result) }, 200);
  });
}
