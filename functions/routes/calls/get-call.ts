import { createRoute, z } from "@hono/zod-openapi";
import { requireOrg } from "../../middleware/auth";
import { getCall } from "../../services/calls";
import { bearer, errorResponses, idParam, jsonResponse } from "../../lib/schemas";
import { notFound } from "../../lib/errors";
import { callSchema } from "./call-schemas";
import type { App } from "../../hono/env";

export const callDetailSchema = callSchema
  .extend({
    agent: z.object({ id: z.uuid(), name: z.string() }).nullable(),
    contact: z.object({ id: z.uuid(), name: z.string().nullable(), phone: z.string() }),
    milestones: z.array(z.object({ key: z.string(), achieved: z.boolean() })),
    objections: z.array(z.object({ kind: z.string(), handled: z.boolean() })),
  })
  .openapi("CallDetail");

export const route = createRoute({
  method: "get",
  path: "/api/calls/{id}",
  summary: "One call, with its agent, contact and analysis",
  tags: ["calls"],
  security: bearer,
  request: { params: idParam },
  responses: { 200: jsonResponse("The call", z.object({ data: callDetailSchema })), ...errorResponses },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const org = requireOrg(c.get("auth"));
    const call = await getCall(c.get("db"), org.id, c.req.valid("param").id);
    if (!call) throw notFound("Call");
    return c.json({ data: call }, 200);
  });
}
