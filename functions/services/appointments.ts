import { and, eq, type SQL, sql } from "drizzle-orm";
import { appointments } from "../../drizzle/schema";
import type { APPOINTMENT_STATUSES } from "../../drizzle/schema/enums";
import { firstRow, type Db } from "../db/database";
import { ApiError, notFound } from "../lib/errors";
import { iso } from "../lib/respond";
import { upsertContact } from "./calls";
import type { ServiceContext } from "../context";

type AppointmentRow = typeof appointments.$inferSelect;
type AppointmentInsert = typeof appointments.$inferInsert;
type AppointmentColumns = Partial<Omit<AppointmentInsert, "callStartedAt">> & { callStartedAt?: SQL | null };

/**
 * The fields a client may send for an appointment. The contact is named by `contactId` or by `phoneNumber` (found or
 * created, as calls do; `contactName` names it), never both.
 */
export type AppointmentInput = Partial<{
  contactId: string;
  phoneNumber: string;
  contactName: string | null;
  callId: string | null;
  serviceId: string | null;
  scheduledAt: string;
  status: (typeof APPOINTMENT_STATUSES)[number];
}>;

/** The public shape of an appointment. */
export function toAppointmentResource(row: AppointmentRow) {
  return {
    id: row.id,
    contactId: row.contactId,
    callId: row.callId,
    serviceId: row.serviceId,
    scheduledAt: iso(row.scheduledAt)!,
    status: row.status,
    createdAt: iso(row.createdAt)!,
    updatedAt: iso(row.updatedAt)!,
  };
}

/**
 * Checks in one statement that every id sent belongs to the organization (the first foreign one answers 404) and
 * reads the linked call's start, the rest of its key (the composite foreign key to the partitioned calls table).
 */
async function assertReferencesInOrg(tx: Db, orgId: string, input: AppointmentInput): Promise<{ callStartedAt: string | null }> {
  const contactId = input.contactId ?? null;
  const serviceId = input.serviceId ?? null;
  const callId = input.callId ?? null;
  if (!contactId && !serviceId && !callId) return { callStartedAt: null };
  const found = await firstRow<{ contact: boolean; service: boolean; call: boolean; call_started_at: string | null }>(
    tx,
    sql`SELECT
      (${contactId}::uuid IS NULL OR EXISTS (SELECT 1 FROM contacts WHERE id = ${contactId}::uuid AND org_id = ${orgId})) AS contact,
      (${serviceId}::uuid IS NULL OR EXISTS (SELECT 1 FROM services WHERE id = ${serviceId}::uuid AND org_id = ${orgId})) AS service,
      (${callId}::uuid IS NULL OR c.started_at IS NOT NULL) AS call,
      c.started_at::text AS call_started_at
    FROM (SELECT 1) one LEFT JOIN calls c ON c.id = ${callId}::uuid AND c.org_id = ${orgId}`,
  );
  if (!found?.contact) throw notFound("Contact");
  if (!found.service) throw notFound("Service");
  if (!found.call) throw notFound("Call");
  // as text, not a Date: the key must match to the microsecond, which a JavaScript Date cannot hold
  return { callStartedAt: found.call_started_at };
}

/** Columns a write sets from the fields it was sent (absent fields stay as they are); resolves the contact. */
async function columnsFrom(tx: Db, orgId: string, input: AppointmentInput): Promise<AppointmentColumns> {
  const { callStartedAt } = await assertReferencesInOrg(tx, orgId, input);
  const out: AppointmentColumns = {};
  if (input.contactId !== undefined) out.contactId = input.contactId;
  if (input.phoneNumber !== undefined) out.contactId = await upsertContact(tx, orgId, input.phoneNumber, input.contactName);
  if (input.callId !== undefined) {
    out.callId = input.callId;
    out.callStartedAt = input.callId === null || callStartedAt === null ? null : sql`${callStartedAt}::timestamptz`;
  }
  if (input.serviceId !== undefined) out.serviceId = input.serviceId;
  if (input.scheduledAt !== undefined) out.scheduledAt = new Date(input.scheduledAt);
  if (input.status !== undefined) out.status = input.status;
  return out;
}

/** Books an appointment for a contact (named by id, or by phone number and created when new). */
export async function createAppointment(ctx: ServiceContext, input: AppointmentInput & { scheduledAt: string }): Promise<AppointmentRow> {
  const now = ctx.clock.now();
  const row = await ctx.db.transaction(async (txx) => {
    const tx = txx as unknown as Db;
    const columns = await columnsFrom(tx, ctx.org.id, input);
    const contactId = columns.contactId;
    if (contactId === undefined)
      throw new ApiError("validation_failed", "An appointment needs contactId or phoneNumber", {
        errors: [{ path: "contactId", message: "send contactId or phoneNumber" }],
      });
    const [inserted] = await tx
      .insert(appointments)
      .values({ ...columns, contactId, scheduledAt: new Date(input.scheduledAt), orgId: ctx.org.id, createdAt: now, updatedAt: now })
      .returning();
    return inserted!;
  });
  await ctx.cache.invalidateOrg(ctx.org.id);
  return row;
}

/** Changes only the fields sent; another organization's appointment, contact, service or call answers 404. */
export async function updateAppointment(ctx: ServiceContext, appointmentId: string, input: AppointmentInput): Promise<AppointmentRow> {
  const row = await ctx.db.transaction(async (txx) => {
    const tx = txx as unknown as Db;
    const columns = await columnsFrom(tx, ctx.org.id, input);
    const [updated] = await tx
      .update(appointments)
      .set({ ...columns, updatedAt: ctx.clock.now() })
      .where(and(eq(appointments.id, appointmentId), eq(appointments.orgId, ctx.org.id)))
      .returning();
    if (!updated) throw notFound("Appointment");
    return updated;
  });
  await ctx.cache.invalidateOrg(ctx.org.id);
  return row;
}
