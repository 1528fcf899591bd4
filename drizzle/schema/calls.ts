import { sql } from "drizzle-orm";
import { boolean, check, index, integer, pgTable, primaryKey, smallint, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, timestamps, tstz } from "./columns";
import { callDirection, callOutcome, callStatus } from "./enums";
import { organizations } from "./organizations";
import { agents } from "./agents";

export const contacts = pgTable(
  "contacts",
  {
    id: id(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    /** E.164 */
    phone: text("phone").notNull(),
    name: text("name"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("contacts_org_phone_unique").on(t.orgId, t.phone)],
);

/**
 * The big table (10M+ rows). Range-partitioned by month on started_at (see the first migration and
 * sql/partitions.sql), so its primary key includes started_at and uniqueness of external ids lives in
 * call_external_ids. Migration 0004 adds `(org_id, id, started_at)` unique and the composite foreign keys
 * `(org_id, agent_id) → agents`, `(org_id, contact_id) → contacts` (hand-written: see docs/scaling.md; the
 * single-column agent reference below keeps its ON DELETE SET NULL). The composite contact key carries ON DELETE
 * CASCADE since migration 0010 and implies both the contact and the organization (a contact's organization exists,
 * and deleting it deletes its contacts), so `org_id` and `contact_id` hold no single-column reference of their own:
 * each was a second index probe per new call.
 */
export const calls = pgTable(
  "calls",
  {
    id: uuid("id").notNull().defaultRandom(),
    orgId: uuid("org_id").notNull(),
    externalId: text("external_id"),
    agentId: uuid("agent_id").references(() => agents.id, { onDelete: "set null" }),
    contactId: uuid("contact_id").notNull(),
    direction: callDirection("direction").notNull(),
    status: callStatus("status").notNull(),
    phoneNumber: text("phone_number").notNull(),
    startedAt: tstz("started_at").notNull().defaultNow(),
    endedAt: tstz("ended_at"),
    durationSec: integer("duration_sec"),
    creditsUsed: integer("credits_used").notNull().default(0),
    outcome: callOutcome("outcome"),
    leadScore: smallint("lead_score"),
    reconnectToken: text("reconnect_token"),
    reconnectEligible: boolean("reconnect_eligible").notNull().default(false),
    poolId: uuid("pool_id"),
    siteId: uuid("site_id"),
    countryCode: text("country_code"),
    ...timestamps,
  },
  (t) => [
    primaryKey({ name: "calls_pkey", columns: [t.id, t.startedAt] }),
    index("calls_org_started_idx").on(t.orgId, t.startedAt.desc(), t.id.desc()),
    index("calls_org_created_idx").on(t.orgId, t.createdAt),
    index("calls_org_status_created_idx").on(t.orgId, t.status, t.createdAt),
    index("calls_org_phone_created_idx").on(t.orgId, t.phoneNumber, t.createdAt),
    // INCLUDE (status, duration_sec, lead_score, outcome): migration 0014 (Drizzle cannot declare it); the agent panel reads it index-only
    index("calls_org_agent_started_idx").on(t.orgId, t.agentId, t.startedAt),
    index("calls_reconnect_token_idx").on(t.reconnectToken).where(sql`${t.reconnectToken} IS NOT NULL`),
    /** the rollup refresh reads the calls that started in [previous watermark, new watermark) across organizations */
    index("calls_started_idx").on(t.startedAt),
    check("calls_lead_score_range", sql`${t.leadScore} BETWEEN 0 AND 100`),
    check("calls_duration_nonnegative", sql`${t.durationSec} >= 0`),
    check("calls_credits_nonnegative", sql`${t.creditsUsed} >= 0`),
  ],
);

/**
 * Enforces "external_id unique per org" across partitions and answers the upsert's lookup in one probe. Each row names
 * its call by the call's whole key, checked by the statement triggers of sql/002_call_external_id_keys.sql (migration
 * 0010), which imply the organization too (and delete the row with its call, so with its organization): `org_id` holds
 * no reference of its own since migration 0011.
 */
export const callExternalIds = pgTable(
  "call_external_ids",
  {
    orgId: uuid("org_id").notNull(),
    externalId: text("external_id").notNull(),
    callId: uuid("call_id").notNull(),
    startedAt: tstz("started_at").notNull(),
  },
  (t) => [
    primaryKey({ name: "call_external_ids_pkey", columns: [t.orgId, t.externalId] }),
    // the referencing side of 0005's foreign key to calls (a call id alone finds the rows): without it, every call
    // deleted or moved in time (ON DELETE / ON UPDATE CASCADE) and every partition retention drops scans the whole table
    index("call_external_ids_call_idx").on(t.callId),
  ],
);

/**
 * A call's analysis rows name their call by its whole key, `(org_id, call_id, call_started_at)`, so migration 0005's
 * composite foreign keys to the partitioned calls table (whose unique keys must hold `started_at`) refuse a row of
 * one organization's call filed under another; a call that moves in time carries them along (ON UPDATE CASCADE).
 */
export const callMilestones = pgTable(
  "call_milestones",
  {
    callId: uuid("call_id").notNull(),
    callStartedAt: tstz("call_started_at").notNull(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    achieved: boolean("achieved").notNull(),
  },
  (t) => [primaryKey({ name: "call_milestones_pkey", columns: [t.callId, t.key] })],
);

export const callObjections = pgTable(
  "call_objections",
  {
    id: id(),
    callId: uuid("call_id").notNull(),
    callStartedAt: tstz("call_started_at").notNull(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    handled: boolean("handled").notNull(),
  },
  (t) => [index("call_objections_call_idx").on(t.callId)],
);
