/**
 * The schema as Drizzle sees it. Not here, because Drizzle cannot say them: the partitions (first migration, sql/),
 * and migration 0004's `(org_id, id)` unique constraints on every organization's table and the composite foreign keys
 * `(org_id, x_id) → (org_id, id)` beside each single-column reference (docs/scaling.md).
 */
export * from "./enums";
export * from "./organizations";
export * from "./agents";
export * from "./calls";
export * from "./bookings";
export * from "./widget";
export * from "./jobs";
export * from "./rollups";
