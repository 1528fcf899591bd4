import { createRoute, z } from "@hono/zod-openapi";
import { bearer, cacheMetaSchema, errorResponses, jsonResponse } from "../../lib/schemas";
import { configMeta } from "../../services/config-cache";
import { getSettings } from "../../services/settings";
import { settingsSchema } from "./settings-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const route = createRoute({
  method: "get",
  path: "/api/settings",
  summary: "The organization's settings (served from cache, invalidated on write); the webhook secret shows only as hasWebhookSecret",
  tags: ["configuration"],
  security: bearer,
  responses: { 200: jsonResponse("The settings", z.object({ data: settingsSchema, meta: cacheMetaSchema })), ...errorResponses },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const result = await getSettings(serviceContext(c));
    c.set("cacheStatus", result.status);
    return c.json({ data: result.value, meta: configMeta(result) }, 200);
  });
}
