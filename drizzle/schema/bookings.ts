import { check, index, integer, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";
import { id, timestamps, tstz } from "./columns";
import { appointmentStatus } from "./enums";
import { organizations } from "./organizations";
import { contacts } from "./calls";

export const catalogItems = pgTable(
  "services",
  {
    id: id(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    priceCents: integer("price_cents").notNull(),
    ...timestamps,
  },
  (t) => [index("services_org_idx").on(t.orgId), check("services_price_nonnegative", sql`${t.priceCents} >= 0`)],
);

export const appointments = pgTable(
  "appointments",
  {
    id: id(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    contactId: uuid("contact_id")
      .notNull()
      .references(() => contacts.id, { onDelete: "cascade" }),
    /** With `call_started_at`, the whole key of the call (calls is partitioned by started_at): migration 0005's
     *  composite foreign key (org_id, call_id, call_started_at) → calls; both set or both empty. */
    callId: uuid("call_id"),
    callStartedAt: tstz("call_started_at"),
    serviceId: uuid("service_id").references(() => catalogItems.id, { onDelete: "set null" }),
    scheduledAt: tstz("scheduled_at").notNull(),
    status: appointmentStatus("status").notNull().default("scheduled"),
    ...timestamps,
  },
  (t) => [
    // INCLUDE (service_id): migration 0014 (Drizzle cannot declare it); the overview pipeline reads it index-only
    index("appointments_org_status_scheduled_idx").on(t.orgId, t.status, t.scheduledAt),
    // the referencing side of 0005's foreign key to calls (ON DELETE SET NULL, ON UPDATE CASCADE), linked rows only
    index("appointments_call_idx").on(t.callId).where(sql`${t.callId} IS NOT NULL`),
    check("appointments_call_key_whole", sql`(${t.callId} IS NULL) = (${t.callStartedAt} IS NULL)`),
  ],
);

/**
 * The overview's pipeline pre-aggregated (issue #16): per organization, UTC day of `scheduled_at` and service, the
 * appointments with status `scheduled` (a service set). Kept exact at every commit by statement triggers on
 * `appointments` (sql/014_appointment_pipeline.sql: each write adds its deltas in its own transaction); a day is read
 * from it only when it lies wholly after now, the rest of today from `appointments`. No foreign key: an organization's
 * deletion cascades to its appointments, whose trigger then writes to this table in the same statement.
 */
export const appointmentPipelineDaily = pgTable(
  "appointment_pipeline_daily",
  {
    orgId: uuid("org_id").notNull(),
    day: tstz("day").notNull(),
    serviceId: uuid("service_id").notNull(),
    scheduled: integer("scheduled").notNull(),
  },
  (t) => [primaryKey({ name: "appointment_pipeline_daily_pkey", columns: [t.orgId, t.day, t.serviceId] })],
);
