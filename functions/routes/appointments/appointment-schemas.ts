import { z } from "@hono/zod-openapi";
import { APPOINTMENT_STATUSES } from "../../../drizzle/schema/enums";
import { e164, instant, uuid } from "../../lib/schemas";

/** Fields of an appointment a client may send; all optional here (PATCH changes only what is sent). */
export const appointmentFields = {
  contactId: uuid,
  /** finds or creates the contact by phone number, as calls do */
  phoneNumber: e164,
  /** names the contact found or created by phoneNumber */
  contactName: z.string().trim().max(200).nullable(),
  callId: uuid.nullable(),
  serviceId: uuid.nullable(),
  scheduledAt: instant,
  status: z.enum(APPOINTMENT_STATUSES),
};

type ContactChoice = { contactId?: unknown; phoneNumber?: unknown; contactName?: unknown };

/**
 * The contact is named by contactId or by phoneNumber, not both (`required`: one of them must be sent); contactName
 * goes with phoneNumber.
 */
export const contactChoice = (required: boolean) => (v: ContactChoice, ctx: z.RefinementCtx) => {
  const hasId = v.contactId !== undefined;
  const hasPhone = v.phoneNumber !== undefined;
  if (hasId && hasPhone) ctx.addIssue({ code: "custom", path: ["phoneNumber"], message: "send contactId or phoneNumber, not both" });
  else if (required && !hasId && !hasPhone) ctx.addIssue({ code: "custom", path: ["contactId"], message: "send contactId or phoneNumber" });
  if (v.contactName !== undefined && !hasPhone) ctx.addIssue({ code: "custom", path: ["contactName"], message: "is only accepted with phoneNumber" });
};

/** Runs a body-level check even when some fields are invalid, so `errors[]` lists every offending field. */
export const evenWithFieldErrors = { when: (payload: { value: unknown }) => typeof payload.value === "object" && payload.value !== null };

export const appointmentSchema = z
  .object({
    id: z.uuid(),
    contactId: z.uuid(),
    callId: z.uuid().nullable(),
    serviceId: z.uuid().nullable(),
    scheduledAt: z.string(),
    status: z.enum(APPOINTMENT_STATUSES),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Appointment");
