import { sql } from "drizzle-orm";
import { rows, type Db } from "../db/database";

/**
 * The rollup refresh (SPEC §7): advance the watermark W, recompute the buckets never rolled up from raw rows, and add
 * the change log's deltas to the rollups (a changed call costs O(1) rollup rows, issue #16). The SQL is in
 * sql/012_rollup_refresh.sql; this module sequences it in the transactions that make it race-free and bounded.
 */

/**
 * Calls that one refresh folds in past the old watermark at most. A first build or a long backlog drains over several
 * runs (one a minute) instead of one transaction that outlives the job's lease; reads stay exact meanwhile (what is
 * not rolled up yet is read raw). A run of 200k calls takes about 5 s on the local Postgres (bench/refresh.ts: a first
 * build of 1M calls in 6 runs, 29 s).
 */
export const MAX_ADVANCE_CALLS = 200_000;

/**
 * `recompute` marks one refresh takes at most (buckets whose rows must be recomputed from raw calls: retention left
 * calls before its cutoff, or a mark written before the change log held deltas); the rest wait for the next run (their
 * buckets are read raw meanwhile). A mark costs at most one hour of calls read and looked up, ~0.4 ms when scattered
 * over 90 days on the local Postgres: 20k keeps a run well inside REFRESH_STATEMENT_TIMEOUT_MS. The change log's deltas
 * are all folded in every run (a delta costs its rollup rows, by key).
 */
export const MAX_DIRTY_MARKS = 20_000;

/**
 * How long the watermark advance waits for writers in flight. While it waits, new writers queue behind it, so it is
 * kept short; when it expires the run skips the advance (W stays, reads stay exact) and still recomputes dirty marks.
 */
export const ADVANCE_LOCK_TIMEOUT_MS = 2_000;

/** Statement timeout inside the recompute transaction: above the request timeout, below the job's lease. */
export const REFRESH_STATEMENT_TIMEOUT_MS = 120_000;

export type RefreshStage = "advanced" | "recomputed";

export type RefreshOptions = {
  maxAdvanceCalls?: number;
  maxDirtyMarks?: number;
  lockTimeoutMs?: number;
  /**
   * Called after each stage; at `recomputed` it runs inside the recompute transaction before its commit, with that
   * transaction's handle. A throw there aborts the refresh (the tests interrupt refreshes this way).
   */
  onStage?: (stage: RefreshStage, db: Db) => Promise<void> | void;
};

export type RefreshReport = {
  rowsRead: number;
  rowsWritten: number;
  /** distinct (organization, 15-minute bucket) pairs recomputed from raw rows (new calls, `recompute` marks) */
  bucketsRecomputed: number;
  /** distinct (organization, hour) pairs of agent_rollup_hourly recomputed */
  hoursRecomputed: number;
  /** rows of rollup_dirty consumed (marks with their deltas): folded in, or covered by a recompute */
  dirtyMarks: number;
  /** rows of rollup_agent_delta consumed */
  agentDeltas: number;
  /** calls that started in [previous built_to, watermark) */
  newCalls: number;
  /** coverage marks consumed (coverage_dirty rows: session changes below the watermark) */
  coverageMarks: number;
  /** coverage_15m is built below this instant (ISO, or "-infinity"): the watermark once caught up */
  coverageBuiltTo: string;
  /** the watermark after this run (ISO, or "-infinity" before the first advance) */
  watermark: string;
  /** false when the watermark lock was not had in time (the run still recomputed the dirty buckets) */
  advanced: boolean;
  /** false when work was left for the next run (more `recompute` marks, or calls past the advance cap) */
  caughtUp: boolean;
};

type RecomputeResult = {
  watermark: string;
  recomputeMarks: number;
  dirtyMarks: number;
  agentDeltas: number;
  newCalls: number;
  bucketsRecomputed: number;
  hoursRecomputed: number;
  callsRead: number;
  callRollupRows: number;
  agentRollupRows: number;
  coverageBuiltTo: unknown;
  coverageMarks: number;
  coverageRows: number;
};

const json = <T>(value: T | string): T => (typeof value === "string" ? (JSON.parse(value) as T) : value);

/** A timestamptz from raw SQL as an ISO string; ±infinity as Postgres spells them. */
export function instantText(value: unknown): string {
  if (value === null || value === undefined) return "-infinity";
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.toISOString() : value.getTime() > 0 ? "infinity" : "-infinity";
  const text = String(value);
  if (text === "infinity" || text === "-infinity") return text;
  return new Date(text).toISOString();
}

const floor15 = (at: Date) => new Date(Math.floor(at.getTime() / 900_000) * 900_000);

/**
 * One incremental refresh. (1) Advance W to the 15-minute boundary at or before `now` in a short transaction under the
 * exclusive watermark lock (it waits for writers that read the old W). (2) In one transaction under the refresh lock:
 * recompute the buckets of the calls in [B, W) and of `recompute` marks from raw rows, fold every other delta of the
 * change log into the rollups (each statement consumes, in its own snapshot, the log rows it covers), move B to W. Each step
 * is atomic, so an interrupted refresh leaves the previous state, and every answer exact; two at once serialise on the
 * refresh lock, and the second finds little left to do.
 */
export async function refreshRollups(db: Db, now: Date, options: RefreshOptions = {}): Promise<RefreshReport> {
  const [advance] = await rows<{ w: unknown }>(
    db,
    sql`SELECT tally_rollup_advance(${now.toISOString()}::timestamptz, ${options.maxAdvanceCalls ?? MAX_ADVANCE_CALLS}::int,
                                    ${options.lockTimeoutMs ?? ADVANCE_LOCK_TIMEOUT_MS}::int) AS w`,
  );
  const advanced = advance?.w !== null && advance?.w !== undefined;
  await options.onStage?.("advanced", db);

  const maxMarks = options.maxDirtyMarks ?? MAX_DIRTY_MARKS;
  const result = await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('statement_timeout', ${String(REFRESH_STATEMENT_TIMEOUT_MS)}, true)`);
    const [row] = await rows<{ r: RecomputeResult | string }>(
      tx as unknown as Db,
      sql`SELECT tally_rollup_refresh(${maxMarks}::int, ${now.toISOString()}::timestamptz) AS r`,
    );
    await options.onStage?.("recomputed", tx as unknown as Db);
    return json(row!.r);
  });

  const watermark = instantText(result.watermark);
  const coverageBuiltTo = instantText(result.coverageBuiltTo);
  const caughtUp =
    result.recomputeMarks < maxMarks && watermark !== "-infinity" && new Date(watermark).getTime() >= floor15(now).getTime() && coverageBuiltTo === watermark;
  return {
    rowsRead: result.callsRead + result.dirtyMarks + result.agentDeltas + result.coverageMarks,
    rowsWritten: result.callRollupRows + result.agentRollupRows + result.dirtyMarks + result.agentDeltas + result.coverageRows + result.coverageMarks,
    bucketsRecomputed: result.bucketsRecomputed,
    hoursRecomputed: result.hoursRecomputed,
    dirtyMarks: result.dirtyMarks,
    agentDeltas: result.agentDeltas,
    newCalls: result.newCalls,
    coverageMarks: result.coverageMarks,
    coverageBuiltTo,
    watermark,
    advanced,
    caughtUp,
  };
}

export type RebuildReport = {
  rowsRead: number;
  rowsWritten: number;
  bucketsRecomputed: number;
  dirtyMarks: number;
  callRollupRows: number;
  agentRollupRows: number;
};

/**
 * Rebuilds one organization's rollups from its raw calls (on demand: `npx tsx functions/cli/rollups.ts rebuild --org
 * <id>`). Exact before, during and after; concurrent refreshes wait for it.
 */
export async function rebuildOrganizationRollups(db: Db, orgId: string): Promise<RebuildReport> {
  const result = await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('statement_timeout', '0', true)`);
    const [row] = await rows<{ r: RecomputeResult | string }>(tx as unknown as Db, sql`SELECT tally_rollup_rebuild_org(${orgId}::uuid) AS r`);
    return json(row!.r);
  });
  return {
    rowsRead: result.callsRead,
    rowsWritten: result.callRollupRows + result.agentRollupRows,
    bucketsRecomputed: result.bucketsRecomputed,
    dirtyMarks: result.dirtyMarks,
    callRollupRows: result.callRollupRows,
    agentRollupRows: result.agentRollupRows,
  };
}

export type FullRecomputeReport = {
  rowsRead: number;
  rowsWritten: number;
  dirtyMarks: number;
  watermark: string;
  callRollupRows: number;
  agentRollupRows: number;
};

/**
 * Recomputes every rollup row from every call below the watermark (advancing it to `now` first, uncapped): the
 * non-incremental baseline the benchmark compares the refresh with, and a reset after direct partition maintenance.
 */
export async function recomputeAllRollups(db: Db, now: Date): Promise<FullRecomputeReport> {
  await rows(db, sql`SELECT tally_rollup_advance(${now.toISOString()}::timestamptz, NULL, ${ADVANCE_LOCK_TIMEOUT_MS}::int)`);
  const result = await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('statement_timeout', '0', true)`);
    const [row] = await rows<{ r: RecomputeResult | string }>(
      tx as unknown as Db,
      sql`SELECT tally_rollup_rebuild_all(${now.toISOString()}::timestamptz) AS r`,
    );
    return json(row!.r);
  });
  return {
    rowsRead: result.callsRead,
    rowsWritten: result.callRollupRows + result.agentRollupRows,
    dirtyMarks: result.dirtyMarks,
    watermark: instantText(result.watermark),
    callRollupRows: result.callRollupRows,
    agentRollupRows: result.agentRollupRows,
  };
}
