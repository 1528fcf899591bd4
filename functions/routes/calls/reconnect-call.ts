import { createRoute, z } from "@hono/zod-openapi";
import { requireOrg } from "../../middleware/auth";
import { notFound } from "../../lib/errors";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../../lib/schemas";
import { reconnectableCall } from "../../read-models/calls-list";
import { callListItemSchema } from "./list-calls";
import type { App } from "../../hono/env";

export const reconnectBody = z
  .object({ token: z.string().min(1).max(200).openapi({ description: "the call's reconnect token" }) })
  .strict()
  .openapi("ReconnectCall");
export type ReconnectRequest = z.infer<typeof reconnectBody>;

export const reconnectResponse = z.object({ data: callListItemSchema });
export type ReconnectResponse = z.infer<typeof reconnectResponse>;

export const route = createRoute({
  method: "post",
  path: "/api/calls/reconnect",
  summary: "The call a reconnect token may resume: eligible, in progress and not ended (a read key may ask)",
  tags: ["calls"],
  security: bearer,
  request: jsonBody(reconnectBody),
  responses: { 200: jsonResponse("The call to resume", reconnectResponse), ...errorResponses },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const org = requireOrg(c.get("auth"));
    const call = await reconnectableCall({ db: c.get("db"), org }, c.req.valid("json").token);
    // one answer for unknown, foreign, ended and ineligible tokens alike: a token reveals nothing about other calls
    if (!call) throw notFound("Resumable call");
    return c.json(reconnectResponse.parse({ data: call }), 200);
  });
}
