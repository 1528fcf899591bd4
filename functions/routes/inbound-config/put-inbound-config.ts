import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, jsonBody, jsonResponse, uuid } from "../../lib/schemas";
import { putInboundConfig } from "../../services/inbound-config";
import { businessHoursSchema, inboundConfigSchema, routingRulesSchema } from "./inbound-config-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const putInboundConfigBody = z
  .object({
    defaultAgentId: uuid.nullable(),
    afterHoursAgentId: uuid.nullable(),
    businessHours: businessHoursSchema,
    rules: routingRulesSchema,
  })
  .strict()
  .openapi("PutInboundConfig", { description: "Replaces the whole configuration: every field is required (null or empty to clear)." });

export const route = createRoute({
  method: "put",
  path: "/api/inbound-config",
  summary: "Replace who answers inbound calls: default and after-hours agents, business hours, caller-prefix rules",
  tags: ["configuration"],
  security: bearer,
  request: jsonBody(putInboundConfigBody),
  responses: { 200: jsonResponse("The inbound configuration", z.object({ data: inboundConfigSchema })), ...errorResponses },
});

export type PutInboundConfigRequest = z.infer<typeof putInboundConfigBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const config = await putInboundConfig(serviceContext(c), c.req.valid("json"));
    return c.json({ data: config }, 200);
  });
}
