import { createRoute, z } from "@hono/zod-openapi";
import { bearer, e164, errorResponses, instant, jsonBody, jsonResponse } from "../../lib/schemas";
import { routeIncomingCall } from "../../read-models/routing";
import { getInboundConfig } from "../../services/inbound-config";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const routeCallBody = z
  .object({
    phoneNumber: e164.openapi({ description: "the caller's number" }),
    at: instant.optional().openapi({ description: "when the call comes in (default: now)" }),
  })
  .strict()
  .openapi("RouteCall");
export type RouteCallRequest = z.infer<typeof routeCallBody>;

export const routeCallResponse = z.object({
  data: z
    .object({
      agentId: z.uuid().nullable(),
      reason: z.enum(["rule", "business_hours", "after_hours", "no_agent"]),
    })
    .openapi("CallRouting"),
  meta: z.object({
    at: z.string().openapi({ description: "the instant routed for" }),
    timezone: z.string().openapi({ description: "the zone business hours are read in" }),
    cache: z.enum(["hit", "miss", "stale", "bypass"]).openapi({ description: "how the inbound configuration was served" }),
  }),
});
export type RouteCallResponse = z.infer<typeof routeCallResponse>;

export const route = createRoute({
  method: "post",
  path: "/api/calls/route",
  summary: "Which agent takes an incoming call: caller-prefix rules, then business hours in the organization's zone",
  tags: ["calls"],
  security: bearer,
  request: jsonBody(routeCallBody),
  responses: { 200: jsonResponse("The agent (or none) and why", routeCallResponse), ...errorResponses },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const ctx = serviceContext(c);
    const body = c.req.valid("json");
    const at = body.at === undefined ? ctx.clock.now() : new Date(body.at);
    // the configuration's own cached loader: PUT /api/inbound-config invalidates it, so routing sees a change at once
    const config = await getInboundConfig(ctx);
    c.set("cacheStatus", config.status);
    const decision = await routeIncomingCall(ctx, config.value, { phoneNumber: body.phoneNumber, at });
    return c.json(routeCallResponse.parse({ data: decision, meta: { at: at.toISOString(), timezone: ctx.org.timezone, cache: config.status } }), 200);
  });
}
