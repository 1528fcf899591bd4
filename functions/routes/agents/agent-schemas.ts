import { z } from "@hono/zod-openapi";
import { AGENT_KINDS, AGENT_STATUSES } from "../../../drizzle/schema/enums";
import { shortText, uuid } from "../../lib/schemas";
import { VOICE_AGENT_ID_PATTERN } from "../../voice/agent-config";

/** Fields of an agent a client may send; all optional here (PATCH changes only what is sent). */
export const agentFields = {
  name: shortText(200),
  kind: z.enum(AGENT_KINDS),
  status: z.enum(AGENT_STATUSES),
  /** the agent's id at the external voice provider (SPEC §11): a path segment of the provider's URL, so no dots or slashes */
  voiceAgentId: z
    .string()
    .regex(VOICE_AGENT_ID_PATTERN, { message: "must be 1-128 characters of A-Z, a-z, 0-9, _ and -" })
    .nullable()
    .openapi({ description: "the agent's id at the voice provider; unique across organizations (409 when another agent holds it)" }),
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
