import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, idParam, instant, jsonBody, jsonResponse } from "../../lib/schemas";
import { toAgentSessionResource, updateAgentSession } from "../../services/agent-sessions";
import { agentSessionSchema } from "./agent-session-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const updateAgentSessionBody = z
  .object({ endedAt: instant.optional() })
  .strict()
  .openapi("UpdateAgentSession", { description: "Ends the session: endedAt must not be before its startedAt." });

export const route = createRoute({
  method: "patch",
  path: "/api/agent-sessions/{id}",
  summary: "End an agent session (or correct its end)",
  tags: ["agents"],
  security: bearer,
  request: { params: idParam, ...jsonBody(updateAgentSessionBody) },
  responses: { 200: jsonResponse("The session", z.object({ data: agentSessionSchema })), ...errorResponses },
});

export type UpdateAgentSessionRequest = z.infer<typeof updateAgentSessionBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const session = await updateAgentSession(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json({ data: toAgentSessionResource(session) }, 200);
  });
}
