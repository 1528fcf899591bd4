import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, pgTable, primaryKey, smallint, uuid } from "drizzle-orm/pg-core";
import { tstz } from "./columns";
import { CALL_DIRECTIONS, CALL_STATUSES } from "./enums";
import { organizations } from "./organizations";

/**
 * Pre-aggregation of calls (SPEC §7). Buckets are UTC-aligned and independent of any organization's zone: every
 * offset in use is a multiple of 15 minutes, so a 15-minute bucket lies inside one local hour and one local date in
 * every zone, and a timezone change needs no rebuild. A rollup row holds only calls whose started_at is below the
 * watermark; reads add the raw rows of dirty buckets and of the time past the watermark (functions/rollups/queries.ts).
 * The functions, triggers and the admin view that keep them live in sql/010_rollup_helpers.sql, 011_rollup_triggers.sql,
 * 012_rollup_refresh.sql and 020_rollups_admin_view.sql.
 */

/** The call count of each (direction, status) pair, as a column `<direction>_<status>` (the calls list's exact total). */
export const CALL_COUNT_COLUMNS = CALL_DIRECTIONS.flatMap((d) => CALL_STATUSES.map((s) => `${d}_${s}` as const));

const callCountColumns = () =>
  Object.fromEntries(CALL_COUNT_COLUMNS.map((name) => [name, integer(name).notNull()])) as Record<
    (typeof CALL_COUNT_COLUMNS)[number],
    ReturnType<typeof integer>
  >;

/** The counters of calls in a bucket: the 15-minute rows, and the deltas of a change waiting in rollup_dirty. */
const callCounterColumns = () => ({
  calls: integer("calls").notNull(),
  completed: integer("completed").notNull(),
  /** sum of duration_sec of completed calls */
  durationCompletedSum: bigint("duration_completed_sum", { mode: "number" }).notNull(),
  /** calls with a lead_score */
  scored: integer("scored").notNull(),
  /** lead_score ≥ 70 */
  qualified: integer("qualified").notNull(),
  scoreSum: bigint("score_sum", { mode: "number" }).notNull(),
  hot: integer("hot").notNull(),
  warm: integer("warm").notNull(),
  cold: integer("cold").notNull(),
  /** outcome appointment_booked, scored or not */
  booked: integer("booked").notNull(),
  outcomeAppointmentBooked: integer("outcome_appointment_booked").notNull(),
  outcomeQualified: integer("outcome_qualified").notNull(),
  outcomeCallbackRequested: integer("outcome_callback_requested").notNull(),
  outcomeNotInterested: integer("outcome_not_interested").notNull(),
  outcomeVoicemail: integer("outcome_voicemail").notNull(),
  outcomeWrongNumber: integer("outcome_wrong_number").notNull(),
  creditsUsed: bigint("credits_used", { mode: "number" }).notNull(),
  ...callCountColumns(),
});

/**
 * Call counters per (organization, 15-minute UTC bucket): one row per bucket with calls, whatever their direction and
 * status (those are count columns), so a window reads at most one row per 15 minutes however busy the organization.
 */
export const callRollup15m = pgTable(
  "call_rollup_15m",
  {
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    bucketStart: tstz("bucket_start").notNull(),
    ...callCounterColumns(),
  },
  (t) => [primaryKey({ name: "call_rollup_15m_pkey", columns: [t.orgId, t.bucketStart] })],
);

/**
 * Call counters per (organization, 1-hour UTC bucket): the sums of the hour's call_rollup_15m rows, kept equal to them
 * at every commit by the refresh (it sums the hours it changed again). A read that only sums the window (overview,
 * the calls list's total), or groups by local hour in a zone on a whole-hour offset (analytics), reads one row per
 * clean whole hour instead of four (issue #16 item 1), and 15-minute rows for the window's edges and marked hours.
 */
export const callRollupHourly = pgTable(
  "call_rollup_hourly",
  {
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    /** the hour's start, UTC */
    bucketStart: tstz("bucket_start").notNull(),
    ...callCounterColumns(),
  },
  (t) => [primaryKey({ name: "call_rollup_hourly_pkey", columns: [t.orgId, t.bucketStart] })],
);

/** Counter columns that default to 0 (the change log's deltas: rows written before the deltas existed hold none). */
function withDefaultZero<T extends Record<string, { default: (value: number) => unknown }>>(columns: T) {
  return Object.fromEntries(Object.entries(columns).map(([name, column]) => [name, column.default(0)])) as {
    [K in keyof T]: ReturnType<T[K]["default"]>;
  };
}

/** The counters of an agent's calls in a bucket: the hourly rows and the daily rows (their sums) hold the same set. */
const agentCounterColumns = () => ({
  calls: integer("calls").notNull(),
  completed: integer("completed").notNull(),
  durationCompletedSum: bigint("duration_completed_sum", { mode: "number" }).notNull(),
  scored: integer("scored").notNull(),
  scoreSum: bigint("score_sum", { mode: "number" }).notNull(),
  booked: integer("booked").notNull(),
  creditsUsed: bigint("credits_used", { mode: "number" }).notNull(),
  /** call_milestones rows of the calls, and how many of them were achieved */
  milestones: integer("milestones").notNull(),
  milestonesAchieved: integer("milestones_achieved").notNull(),
  /** call_objections rows of the calls, and how many of them were handled */
  objections: integer("objections").notNull(),
  objectionsHandled: integer("objections_handled").notNull(),
});

/** Per-agent counters per (organization, agent, 1-hour UTC bucket); calls without an agent are not counted. */
export const agentRollupHourly = pgTable(
  "agent_rollup_hourly",
  {
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    /** no foreign key: a deleted agent's calls lose their agent through a calls update, which marks the buckets */
    agentId: uuid("agent_id").notNull(),
    bucketStart: tstz("bucket_start").notNull(),
    ...agentCounterColumns(),
  },
  (t) => [primaryKey({ name: "agent_rollup_hourly_pkey", columns: [t.orgId, t.bucketStart, t.agentId] })],
);

/**
 * Per-agent counters per (organization, agent, UTC day): the sums of the agent's hourly rows of that day, kept equal to
 * them by the refresh (it adds the changed hours' differences). A 30–90-day window of the agents list or the variance
 * reads one row per agent and whole day, and hourly rows only for its partial days at the edges.
 */
export const agentRollupDaily = pgTable(
  "agent_rollup_daily",
  {
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    agentId: uuid("agent_id").notNull(),
    /** 00:00 UTC of the day */
    dayStart: tstz("day_start").notNull(),
    ...agentCounterColumns(),
  },
  (t) => [primaryKey({ name: "agent_rollup_daily_pkey", columns: [t.orgId, t.dayStart, t.agentId] })],
);

/**
 * The single row of rollup bookkeeping. `watermark` (W) is what the triggers compare against: a change to a call
 * that started before W marks its bucket dirty. `builtTo` (B ≤ W) is what reads split on: rollup rows of buckets
 * before B are complete unless marked dirty; calls from B on are read raw. The refresh first advances W (short
 * transaction, exclusive advisory lock), then recomputes [B, W) and the dirty buckets and moves B up to W.
 */
export const rollupState = pgTable(
  "rollup_state",
  {
    id: smallint("id").primaryKey().default(1),
    watermark: tstz("watermark").notNull().default(sql`'-infinity'`),
    builtTo: tstz("built_to").notNull().default(sql`'-infinity'`),
    advancedAt: tstz("advanced_at"),
    refreshedAt: tstz("refreshed_at"),
    /** C: coverage_15m holds the buckets below it (15-minute aligned, C ≤ W, only grows but on a full rebuild) */
    coverageBuiltTo: tstz("coverage_built_to").notNull().default(sql`'-infinity'`),
  },
  (t) => [check("rollup_state_single_row", sql`${t.id} = 1`)],
);

/**
 * The change log (issue #16): one row per (organization, 15-minute bucket) per statement that changed a call (or its
 * analysis) that started before the watermark, holding the change's deltas of the bucket's call counters (the new
 * rows' contributions minus the old ones'). A bucket is dirty (read raw) while it has a row here; the refresh adds the
 * deltas to call_rollup_15m and deletes exactly the rows it added. `recompute` marks a bucket whose rows must be
 * recomputed from raw calls instead (retention left calls before its cutoff; rows from before the deltas existed).
 */
export const rollupDirty = pgTable(
  "rollup_dirty",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    /** no foreign key: a cascading organization delete marks buckets of an organization that is going away */
    orgId: uuid("org_id").notNull(),
    /** the 15-minute UTC bucket of the call's started_at */
    bucketStart: tstz("bucket_start").notNull(),
    /** a mark without deltas (written by anything that does not compute them) is a recompute mark */
    recompute: boolean("recompute").notNull().default(true),
    ...withDefaultZero(callCounterColumns()),
  },
  (t) => [index("rollup_dirty_org_bucket_idx").on(t.orgId, t.bucketStart)],
);

/**
 * The agent half of the change log: per statement, the deltas of each (organization, agent, 15-minute bucket) it
 * changed, folded into agent_rollup_hourly and agent_rollup_daily by the refresh. Always written with a rollup_dirty
 * row of the same (organization, bucket) in the same transaction, and consumed with it in one statement.
 */
export const rollupAgentDelta = pgTable(
  "rollup_agent_delta",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    orgId: uuid("org_id").notNull(),
    agentId: uuid("agent_id").notNull(),
    bucketStart: tstz("bucket_start").notNull(),
    ...agentCounterColumns(),
  },
  (t) => [index("rollup_agent_delta_org_bucket_idx").on(t.orgId, t.bucketStart)],
);

/** When the admin view (admin_org_kpis_30d) was last refreshed, and the instant its 30-day windows end at. */
export const adminViewState = pgTable(
  "admin_view_state",
  {
    id: smallint("id").primaryKey().default(1),
    asOf: tstz("as_of").notNull(),
    refreshedAt: tstz("refreshed_at"),
    durationMs: integer("duration_ms"),
  },
  (t) => [check("admin_view_state_single_row", sql`${t.id} = 1`)],
);

/**
 * Agent coverage per (organization, 15-minute UTC bucket) below rollup_state.coverage_built_to (issue #16 item 2), for
 * `GET /api/coverage`: the agents' online time summed over agents (each agent's overlapping sessions once) and the
 * time with at least one agent online, in microseconds (integers: sums over buckets are exact). Only buckets with
 * someone online are stored. An open session counts to the bucket's end. Every UTC offset is a multiple of 15
 * minutes, so a local hour is a union of whole buckets and both measures add up over them. Kept by the refresh
 * (sql/013_coverage.sql); a session write below the watermark marks the time it changed in coverage_dirty.
 */
export const coverage15m = pgTable(
  "coverage_15m",
  {
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    bucketStart: tstz("bucket_start").notNull(),
    agentMicroseconds: bigint("agent_microseconds", { mode: "number" }).notNull(),
    coveredMicroseconds: bigint("covered_microseconds", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ name: "coverage_15m_pkey", columns: [t.orgId, t.bucketStart] })],
);

/**
 * Coverage marks: per changed session (insert, update, delete of agent_sessions), the 15-minute-aligned time
 * [dirty_from, dirty_to) below the watermark whose coverage it changed. Buckets of coverage_15m inside a mark are read
 * raw until the refresh recomputes them and deletes the mark (in one snapshot).
 */
export const coverageDirty = pgTable(
  "coverage_dirty",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    /** no foreign key: a cascading organization delete marks the time of sessions of an organization going away */
    orgId: uuid("org_id").notNull(),
    dirtyFrom: tstz("dirty_from").notNull(),
    dirtyTo: tstz("dirty_to").notNull(),
  },
  (t) => [index("coverage_dirty_org_idx").on(t.orgId, t.dirtyFrom)],
);
