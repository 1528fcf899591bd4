import { z } from "@hono/zod-openapi";

export const agentSessionSchema = z
  .object({
    id: z.uuid(),
    agentId: z.uuid(),
    startedAt: z.string(),
    endedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("AgentSession");
