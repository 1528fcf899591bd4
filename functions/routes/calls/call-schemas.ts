import { z } from "@hono/zod-openapi";
import { CALL_DIRECTIONS, CALL_OUTCOMES, CALL_STATUSES } from "../../../drizzle/schema/enums";
import { countryCode, e164, instant, uuid } from "../../lib/schemas";

/** Fields of a call a client may send; every one optional here (PATCH and upserts change only what is sent). */
export const callFields = {
  agentId: uuid.nullable(),
  phoneNumber: e164,
  contactName: z.string().trim().max(200).nullable(),
  direction: z.enum(CALL_DIRECTIONS),
  status: z.enum(CALL_STATUSES),
  startedAt: instant,
  endedAt: instant.nullable(),
  durationSec: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600)
    .nullable(),
  creditsUsed: z.number().int().min(0).max(1_000_000_000),
  outcome: z.enum(CALL_OUTCOMES).nullable(),
  leadScore: z.number().int().min(0).max(100).nullable(),
  reconnectToken: z.string().min(8).max(200).nullable(),
  reconnectEligible: z.boolean(),
  poolId: uuid.nullable(),
  siteId: uuid.nullable(),
  countryCode: countryCode.nullable(),
};

export const externalIdField = z.string().trim().min(1).max(200);

export const callSchema = z
  .object({
    id: z.uuid(),
    externalId: z.string().nullable(),
    agentId: z.uuid().nullable(),
    contactId: z.uuid(),
    direction: z.enum(CALL_DIRECTIONS),
    status: z.enum(CALL_STATUSES),
    phoneNumber: z.string(),
    startedAt: z.string(),
    endedAt: z.string().nullable(),
    durationSec: z.number().int().nullable(),
    creditsUsed: z.number().int(),
    outcome: z.enum(CALL_OUTCOMES).nullable(),
    leadScore: z.number().int().nullable(),
    reconnectEligible: z.boolean(),
    poolId: z.string().nullable(),
    siteId: z.string().nullable(),
    countryCode: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Call");
