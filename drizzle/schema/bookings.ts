import { check, index, integer, pgTable, text, uuid } from "drizzle-orm/pg-core";
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
    /** no foreign key: calls is partitioned and keyed by (id, started_at) */
    callId: uuid("call_id"),
    serviceId: uuid("service_id").references(() => catalogItems.id, { onDelete: "set null" }),
    scheduledAt: tstz("scheduled_at").notNull(),
    status: appointmentStatus("status").notNull().default("scheduled"),
    ...timestamps,
  },
  (t) => [index("appointments_org_status_scheduled_idx").on(t.orgId, t.status, t.scheduledAt)],
);
