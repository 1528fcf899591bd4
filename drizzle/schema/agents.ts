import { index, jsonb, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";
import { createdAt, id, timestamps, tstz } from "./columns";
import { agentKind, agentStatus } from "./enums";
import { organizations, users } from "./organizations";

export const agents = pgTable(
  "agents",
  {
    id: id(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    name: text("name").notNull(),
    kind: agentKind("kind").notNull().default("ai"),
    status: agentStatus("status").notNull().default("draft"),
    /** the agent's id at the voice provider: held by one agent of one organization at most (SPEC §11) */
    voiceAgentId: text("voice_agent_id"),
    description: text("description"),
    ...timestamps,
  },
  (t) => [
    index("agents_org_status_idx").on(t.orgId, t.status),
    index("agents_org_name_idx").on(t.orgId, t.name),
    // unique across organizations, so one organization cannot name another's voice agent and read its configuration;
    // NULLs (no voice agent) are distinct, so any number of agents may have none
    uniqueIndex("agents_voice_agent_id_unique").on(t.voiceAgentId),
  ],
);

export const agentSessions = pgTable(
  "agent_sessions",
  {
    id: id(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    agentId: uuid("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    startedAt: tstz("started_at").notNull(),
    /** null while the agent is online */
    endedAt: tstz("ended_at"),
    createdAt: createdAt(),
  },
  (t) => [
    index("agent_sessions_org_started_idx").on(t.orgId, t.startedAt),
    index("agent_sessions_org_open_idx").on(t.orgId).where(sql`${t.endedAt} IS NULL`),
    // the sessions that reach past an instant (coverage reads its raw part, the time from coverage_built_to on, by it)
    index("agent_sessions_org_ended_idx").on(t.orgId, t.endedAt),
    // an ended session's span, for coverage's raw regions (a window's edges off the 15-minute grid, marked buckets, the
    // time after the built point): a region finds the sessions that overlap it, not every session ending after its start
    // (GiST over btree_gist's uuid, migration 0017; `greatest` keeps a session recorded as ending before it began empty)
    index("agent_sessions_org_span_idx").using("gist", t.orgId, sql`tstzrange(${t.startedAt}, greatest(${t.startedAt}, ${t.endedAt}), '[)')`),
  ],
);

export type BusinessHours = Partial<Record<"mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun", { start: string; end: string }[]>>;
export type RoutingRule = { prefix: string; agentId: string };

/** One row per organization: who answers inbound calls, and when. */
export const inboundConfig = pgTable("inbound_config", {
  orgId: uuid("org_id")
    .primaryKey()
    .references(() => organizations.id, { onDelete: "cascade" }),
  defaultAgentId: uuid("default_agent_id").references(() => agents.id, { onDelete: "set null" }),
  afterHoursAgentId: uuid("after_hours_agent_id").references(() => agents.id, { onDelete: "set null" }),
  businessHours: jsonb("business_hours").$type<BusinessHours>().notNull().default({}),
  rules: jsonb("rules").$type<RoutingRule[]>().notNull().default([]),
  updatedAt: tstz("updated_at").notNull().defaultNow(),
});
