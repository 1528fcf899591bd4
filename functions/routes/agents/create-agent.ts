import { createRoute, z } from "@hono/zod-openapi";
import { bearer, conflictResponse, errorResponses, jsonBody, jsonResponse } from "../../lib/schemas";
import { createAgent, toAgentResource } from "../../services/agents";
import { agentFields, agentSchema } from "./agent-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const createAgentBody = z
  .object({ ...agentFields, kind: agentFields.kind.default("ai"), status: agentFields.status.default("draft") })
  .partial({ voiceAgentId: true, description: true, userId: true })
  .strict()
  .openapi("CreateAgent", { description: "kind defaults to ai and status to draft." });

export const route = createRoute({
  method: "post",
  path: "/api/agents",
  summary: "Create an agent",
  tags: ["agents"],
  security: bearer,
  request: jsonBody(createAgentBody),
  responses: { 201: jsonResponse("The new agent", z.object({ data: agentSchema })), ...errorResponses, ...conflictResponse },
});

export type CreateAgentRequest = z.infer<typeof createAgentBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const agent = await createAgent(serviceContext(c), c.req.valid("json"));
    return c.json({ data: toAgentResource(agent) }, 201);
  });
}
