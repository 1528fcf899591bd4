import { createRoute, z } from "@hono/zod-openapi";
import { bearer, conflictResponse, errorResponses, idParam, jsonBody, jsonResponse } from "../../lib/schemas";
import { toAgentResource, updateAgent } from "../../services/agents";
import { agentFields, agentSchema } from "./agent-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const updateAgentBody = z.object(agentFields).partial().strict().openapi("UpdateAgent");

export const route = createRoute({
  method: "patch",
  path: "/api/agents/{id}",
  summary: "Change the fields sent of one agent",
  tags: ["agents"],
  security: bearer,
  request: { params: idParam, ...jsonBody(updateAgentBody) },
  responses: { 200: jsonResponse("The changed agent", z.object({ data: agentSchema })), ...errorResponses, ...conflictResponse },
});

export type UpdateAgentRequest = z.infer<typeof updateAgentBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const agent = await updateAgent(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json({ data: toAgentResource(agent) }, 200);
  });
}
