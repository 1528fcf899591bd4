import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, instant, jsonBody, jsonResponse, uuid } from "../../lib/schemas";
import { createAgentSession, toAgentSessionResource } from "../../services/agent-sessions";
import { agentSessionSchema } from "./agent-session-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const createAgentSessionBody = z
  .object({ agentId: uuid, startedAt: instant.optional(), endedAt: instant.nullable().optional() })
  .strict()
  .openapi("CreateAgentSession", { description: "startedAt defaults to now; endedAt, when sent, must not be before startedAt." });

export const route = createRoute({
  method: "post",
  path: "/api/agent-sessions",
  summary: "Record an agent going online (a session), or a whole past session",
  tags: ["agents"],
  security: bearer,
  request: jsonBody(createAgentSessionBody),
  responses: { 201: jsonResponse("The new session", z.object({ data: agentSessionSchema })), ...errorResponses },
});

export type CreateAgentSessionRequest = z.infer<typeof createAgentSessionBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const session = await createAgentSession(serviceContext(c), c.req.valid("json"));
    return c.json({ data: toAgentSessionResource(session) }, 201);
  });
}
