import { z } from "@hono/zod-openapi";
import { AGENT_KINDS, AGENT_STATUSES } from "../../../drizzle/schema/enums";
import { shortText, uuid } from "../../lib/schemas";

/** Fields of an agent a client may send; all optional here (PATCH changes only what is sent). */
export const agentFields = {
  name: shortText(200),
  kind: z.enum(AGENT_KINDS),
  status: z.enum(AGENT_STATUSES),
  /** the agent's id at the external voice provider */
  voiceAgentId: z.string().trim().min(1).max(200).nullable(),
  description: z.string().trim().max(2000).nullable(),
  /** a user of the organization (human agents) */
  userId: uuid.nullable(),
};

export const agentSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(AGENT_KINDS),
    status: z.enum(AGENT_STATUSES),
    voiceAgentId: z.string().nullable(),
    description: z.string().nullable(),
    userId: z.uuid().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Agent");
