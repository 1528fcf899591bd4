import { createRoute, z } from "@hono/zod-openapi";
import { requireOrg } from "../../middleware/auth";
import { patchCall, toCallResource } from "../../services/calls";
import { bearer, errorResponses, idParam, jsonBody, jsonResponse } from "../../lib/schemas";
import { callFields, callSchema } from "./call-schemas";
import type { App } from "../../hono/env";

export const updateCallBody = z.object(callFields).partial().strict().openapi("UpdateCall");

export const route = createRoute({
  method: "patch",
  path: "/api/calls/{id}",
  summary: "Change the fields sent of one call",
  tags: ["calls"],
  security: bearer,
  request: { params: idParam, ...jsonBody(updateCallBody) },
  responses: { 200: jsonResponse("The changed call", z.object({ data: callSchema })), ...errorResponses },
});

export type UpdateCallRequest = z.infer<typeof updateCallBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const org = requireOrg(c.get("auth"));
    const call = await patchCall(c.get("db"), org.id, c.req.valid("param").id, c.req.valid("json"), c.get("deps").clock.now());
    await c.get("deps").cache.invalidateOrg(org.id);
    return c.json({ data: toCallResource(call) }, 200);
  });
}
