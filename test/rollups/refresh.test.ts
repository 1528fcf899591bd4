import { sql } from "drizzle-orm";
import type postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { organizations } from "../../drizzle/schema";
import { rows, type Db } from "../../functions/db/database";
import { jobContext } from "../../functions/jobs/context";
import { jobRegistry } from "../../functions/jobs/registry";
import { runJob } from "../../functions/jobs/run";
import { callAnalytics, callTotals } from "../../functions/rollups/queries";
import { rebuildOrganizationRollups, recomputeAllRollups, refreshRollups } from "../../functions/rollups/refresh";
import { createTestApp, ManualClock, type TestApp } from "../support/app";
import { testDbKind } from "../support/database";
import { insertAgents, type CallSeed } from "../support/fixtures";
import { addCalls, daysWindow, expectExact, resetRollups, rollupState, storedRollups } from "./support";

const clock = new ManualClock("2026-11-20T10:07:00Z");
let t: TestApp;
let db: Db;
beforeAll(async () => {
  t = await createTestApp({ clock });
  db = t.database.db;
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  // every test starts from an empty database and a fresh rollup state (the watermark is global)
  await db.execute(sql`DELETE FROM organizations`);
  await resetRollups(db);
  clock.set("2026-11-20T10:07:00Z");
});

const MINUTE = 60_000;
const BUCKET = 15 * MINUTE;

async function newOrg(name: string, timezone = "UTC") {
  const [org] = await db.insert(organizations).values({ name, timezone }).returning({ id: organizations.id });
  const agentIds = (await insertAgents(db, org!.id, [{ name: "A" }, { name: "B" }])).map((a) => a.id);
  return { orgId: org!.id, agentIds };
}

/** `n` calls, one every `stepMs` back from `end` (so they fall in distinct buckets when stepMs ≥ 15 minutes). */
function callsBack(n: number, end: Date, stepMs: number, agentIds: string[]): CallSeed[] {
  return Array.from({ length: n }, (_, i) => ({
    agentId: agentIds[i % agentIds.length]!,
    contactIndex: i % 5,
    direction: i % 3 ? "inbound" : "outbound",
    status: i % 4 ? "completed" : "missed",
    startedAt: new Date(end.getTime() - (i + 1) * stepMs - 7_000),
    durationSec: 60 + (i % 90),
    creditsUsed: i % 7,
    leadScore: i % 5 ? (i * 13) % 101 : null,
    outcome: i % 6 ? null : "appointment_booked",
    milestones: i % 2 ? [{ key: "greeting", achieved: i % 4 === 1 }] : [],
    objections: i % 3 ? [] : [{ kind: "price", handled: true }],
  }));
}

const marks = async () => (await rollupState(db)).marks;

describe("invalidation", () => {
  it("marks the bucket of a back-dated change, and writes no mark for a call at or after the watermark", async () => {
    const { orgId, agentIds } = await newOrg("Marks");
    await addCalls(db, orgId, callsBack(3, clock.now(), BUCKET, agentIds));
    await refreshRollups(db, clock.now());
    expect(await marks()).toBe(0);
    const { watermark } = await rollupState(db);

    await addCalls(db, orgId, [{ startedAt: new Date(clock.now().getTime() - 60_000), status: "completed" }]); // after W
    expect(await marks(), `W=${watermark}`).toBe(0);
    await addCalls(db, orgId, [{ startedAt: new Date("2026-11-19T08:00:00Z"), status: "completed" }]); // before W
    expect(await marks()).toBe(1);
    await db.execute(sql`UPDATE calls SET ended_at = started_at + interval '1 minute' WHERE org_id = ${orgId}::uuid`);
    expect(await marks(), "an update of a column the rollups do not hold marks nothing").toBe(1);
    await db.execute(sql`UPDATE calls SET credits_used = credits_used + 1 WHERE org_id = ${orgId}::uuid`);
    expect(await marks(), "one mark per distinct bucket of the statement, before W only").toBe(1 + 4);
    await expectExact(db, orgId, daysWindow(3, "Asia/Kolkata", clock.now()), "after marking");
  });

  it("marks the buckets of a call whose analysis changes, and follows an agent deletion", async () => {
    const { orgId, agentIds } = await newOrg("Analysis");
    const [id] = await addCalls(db, orgId, [{ agentId: agentIds[0]!, startedAt: new Date("2026-11-19T23:50:00Z"), status: "completed" }]);
    await refreshRollups(db, clock.now());
    await db.execute(
      sql`INSERT INTO call_milestones (call_id, call_started_at, org_id, key, achieved) SELECT id, started_at, org_id, 'greeting', true FROM calls WHERE id = ${id!}::uuid`,
    );
    expect(await marks()).toBe(1);
    await db.execute(sql`DELETE FROM agents WHERE id = ${agentIds[0]!}::uuid`);
    expect(await marks()).toBe(2);
    await expectExact(db, orgId, daysWindow(2, "Asia/Kathmandu", clock.now()), "after analysis and agent deletion");
    await refreshRollups(db, clock.now());
    await expectExact(db, orgId, daysWindow(2, "Asia/Kathmandu", clock.now()), "refreshed");
  });

  it("empties the rollups when calls is truncated", async () => {
    const { orgId, agentIds } = await newOrg("Truncate");
    await addCalls(db, orgId, callsBack(5, clock.now(), BUCKET, agentIds));
    await refreshRollups(db, clock.now());
    await db.execute(sql`TRUNCATE calls CASCADE`);
    const [left] = await rows<{ n: number }>(db, sql`SELECT (SELECT count(*) FROM call_rollup_15m) + (SELECT count(*) FROM agent_rollup_hourly) AS n`);
    expect(Number(left!.n)).toBe(0);
    await expectExact(db, orgId, daysWindow(3, "UTC", clock.now()), "after truncate");
  });
});

describe("the incremental refresh", () => {
  it("folds a changed call in with O(1) rows of the change log, whatever the size of the table (issue #16)", async () => {
    const reports = [];
    for (const size of [150, 1_500]) {
      await db.execute(sql`DELETE FROM organizations`);
      await resetRollups(db);
      const { orgId, agentIds } = await newOrg(`Size ${size}`);
      const ids = await addCalls(db, orgId, callsBack(size, new Date("2026-11-20T10:00:00Z"), 90_000, agentIds)); // all before W
      const first = await refreshRollups(db, clock.now());
      expect(first.newCalls).toBe(size);
      // k = 10 back-dated calls, in 10 distinct buckets (every 15th call: 22.5 minutes apart)
      const changed = ids.filter((_, i) => i % 15 === 0).slice(0, 10);
      await db.execute(sql`UPDATE calls SET status = 'failed', lead_score = 12 WHERE id = ANY(${`{${changed.join(",")}}`}::uuid[])`);
      clock.advance(MINUTE);
      const report = await refreshRollups(db, clock.now());
      reports.push(report);
      // one statement: a mark with its deltas per bucket, an agent delta per (agent, bucket); nothing recomputed
      expect(report.dirtyMarks, JSON.stringify(report)).toBe(10);
      expect(report.agentDeltas).toBe(10);
      expect(report.bucketsRecomputed).toBe(0);
      expect(report.hoursRecomputed).toBe(0);
      // rows read: the log's rows, no call; rows written: per changed call its 15-minute row, its agent's hourly and
      // daily row (at most), and the log's rows
      expect(report.rowsRead).toBe(report.dirtyMarks + report.agentDeltas);
      expect(report.rowsWritten).toBeLessThanOrEqual(3 * 10 + report.dirtyMarks + report.agentDeltas);
      await expectExact(db, orgId, daysWindow(7, "America/New_York", clock.now()), `size ${size}`);
    }
    // ten times the table, the same rows read and written
    expect(reports[1]!.rowsRead).toBe(reports[0]!.rowsRead);
    expect(reports[1]!.rowsWritten).toBe(reports[0]!.rowsWritten);
  });

  it("folds new calls since the last run into their buckets only", async () => {
    const { orgId, agentIds } = await newOrg("New calls");
    await addCalls(db, orgId, callsBack(300, clock.now(), 10 * MINUTE, agentIds));
    await refreshRollups(db, clock.now());
    clock.advance(45 * MINUTE);
    await addCalls(db, orgId, callsBack(4, clock.now(), 5 * MINUTE, agentIds));
    const report = await refreshRollups(db, clock.now());
    expect(report.dirtyMarks).toBe(0);
    expect(report.newCalls).toBeLessThanOrEqual(4);
    expect(report.bucketsRecomputed).toBeLessThanOrEqual(2);
    await expectExact(db, orgId, daysWindow(1, "Asia/Kolkata", clock.now()), "after new calls");
  });

  it("is idempotent: a second run at the same instant changes nothing", async () => {
    const { orgId, agentIds } = await newOrg("Idempotent");
    await addCalls(db, orgId, callsBack(50, clock.now(), 7 * MINUTE, agentIds));
    await refreshRollups(db, clock.now());
    const snapshot = async () => rows(db, sql`SELECT * FROM call_rollup_15m WHERE org_id = ${orgId}::uuid ORDER BY bucket_start`);
    const before = await snapshot();
    const again = await refreshRollups(db, clock.now());
    expect(again).toMatchObject({ bucketsRecomputed: 0, dirtyMarks: 0, newCalls: 0, caughtUp: true });
    expect(await snapshot()).toEqual(before);
  });

  it("rewrites only the rollup rows whose values changed", async () => {
    const { orgId, agentIds } = await newOrg("Unchanged");
    const ids = await addCalls(db, orgId, callsBack(40, clock.now(), 7 * MINUTE, agentIds));
    await refreshRollups(db, clock.now());
    // a change and its undo: the bucket is marked twice, its values are what they were
    await db.execute(sql`UPDATE calls SET credits_used = credits_used + 1 WHERE id = ${ids[5]!}::uuid`);
    await db.execute(sql`UPDATE calls SET credits_used = credits_used - 1 WHERE id = ${ids[5]!}::uuid`);
    const same = await refreshRollups(db, clock.now());
    // (their deltas sum to 0: no rollup row written, only the log's 2 marks and 2 agent deltas consumed)
    expect(same, JSON.stringify(same)).toMatchObject({ dirtyMarks: 2, agentDeltas: 2, bucketsRecomputed: 0, rowsWritten: 4 });
    // a real change: its 15-minute row and its hour's call row, its agent's hourly row and daily row, nothing else of the hour
    await db.execute(sql`UPDATE calls SET lead_score = 99 WHERE id = ${ids[5]!}::uuid`);
    const changed = await refreshRollups(db, clock.now());
    expect(changed, JSON.stringify(changed)).toMatchObject({ dirtyMarks: 1, agentDeltas: 1, bucketsRecomputed: 0, rowsWritten: 4 + 2 });
    await expectExact(db, orgId, daysWindow(1, "UTC", clock.now()), "after an undone and a real change");
  });

  it("drains a backlog over several runs when the advance is capped, exact after each", async () => {
    const { orgId, agentIds } = await newOrg("Backlog");
    await addCalls(db, orgId, callsBack(120, clock.now(), 20 * MINUTE, agentIds));
    let runs = 0;
    for (;;) {
      const report = await refreshRollups(db, clock.now(), { maxAdvanceCalls: 25, maxDirtyMarks: 3 });
      runs += 1;
      expect(report.newCalls, JSON.stringify(report)).toBeLessThanOrEqual(25 + 3);
      await expectExact(db, orgId, daysWindow(2, "Asia/Kathmandu", clock.now()), `run ${runs}`);
      if (report.caughtUp) break;
      expect(runs).toBeLessThan(20);
    }
    expect(runs).toBeGreaterThanOrEqual(5);
  });

  it("leaves every answer exact when interrupted after the advance or inside its transaction", async () => {
    const { orgId, agentIds } = await newOrg("Interrupted", "Asia/Kolkata");
    const window = () => daysWindow(3, "Asia/Kolkata", clock.now());
    await addCalls(db, orgId, callsBack(60, clock.now(), 23 * MINUTE, agentIds));
    await refreshRollups(db, clock.now());
    await db.execute(
      sql`UPDATE calls SET lead_score = 88 WHERE org_id = ${orgId}::uuid AND started_at < ${new Date(clock.now().getTime() - 86400_000).toISOString()}::timestamptz`,
    );
    clock.advance(40 * MINUTE);
    await addCalls(db, orgId, callsBack(3, clock.now(), 8 * MINUTE, agentIds));
    const before = await rollupState(db);

    const boom = new Error("interrupted");
    await expect(
      refreshRollups(db, clock.now(), {
        onStage: (s) => {
          if (s === "advanced") throw boom;
        },
      }),
    ).rejects.toBe(boom);
    const afterAdvance = await rollupState(db);
    expect(afterAdvance.watermark).not.toBe(before.watermark);
    expect(afterAdvance.builtTo).toBe(before.builtTo);
    await expectExact(db, orgId, window(), "after an interrupted advance");

    await expect(
      refreshRollups(db, clock.now(), {
        onStage: (s) => {
          if (s === "recomputed") throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect(await rollupState(db)).toEqual(afterAdvance);
    await expectExact(db, orgId, window(), "after a refresh rolled back before its commit");

    // a failure midway through the recompute: call_rollup_15m already rewritten, agent_rollup_hourly not yet
    await db.execute(
      sql`CREATE OR REPLACE FUNCTION test_fail_agent_rollup() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (test)'; END $$`,
    );
    await db.execute(sql`CREATE TRIGGER test_fail_agent_rollup BEFORE INSERT ON agent_rollup_hourly FOR EACH ROW EXECUTE FUNCTION test_fail_agent_rollup()`);
    try {
      const failure = await refreshRollups(db, clock.now()).then(
        () => null,
        (e: unknown) => e as Error & { cause?: Error },
      );
      expect(String(failure?.cause?.message ?? failure?.message)).toMatch(/disk full/);
    } finally {
      await db.execute(sql`DROP TRIGGER test_fail_agent_rollup ON agent_rollup_hourly`);
    }
    expect(await rollupState(db)).toEqual(afterAdvance);
    await expectExact(db, orgId, window(), "after a refresh that failed midway");

    const report = await refreshRollups(db, clock.now());
    expect(report.dirtyMarks, JSON.stringify(report)).toBe(before.marks);
    expect((await rollupState(db)).marks).toBe(0);
    await expectExact(db, orgId, window(), "after the next refresh");
  });

  it("serialises two refreshes at once: both succeed, the second finds nothing left", async () => {
    const { orgId, agentIds } = await newOrg("Twice");
    await addCalls(db, orgId, callsBack(80, clock.now(), 11 * MINUTE, agentIds));
    const [a, b] = await Promise.all([refreshRollups(db, clock.now()), refreshRollups(db, clock.now())]);
    expect(Math.min(a.newCalls, b.newCalls)).toBe(0);
    expect(a.newCalls + b.newCalls).toBe(80);
    await expectExact(db, orgId, daysWindow(2, "UTC", clock.now()), "after two at once");
  });

  it("rebuilds one organization on demand, leaving the others alone", async () => {
    const one = await newOrg("Rebuilt");
    const two = await newOrg("Untouched");
    await addCalls(db, one.orgId, callsBack(40, clock.now(), 17 * MINUTE, one.agentIds));
    await addCalls(db, two.orgId, callsBack(40, clock.now(), 17 * MINUTE, two.agentIds));
    await refreshRollups(db, clock.now());
    // drift, as after a maintenance that bypassed the triggers
    await db.execute(sql`UPDATE call_rollup_15m SET calls = calls + 5 WHERE org_id = ${one.orgId}::uuid`);
    await db.execute(sql`UPDATE call_rollup_hourly SET calls = calls + 5 WHERE org_id = ${one.orgId}::uuid`);
    await db.execute(sql`UPDATE agent_rollup_hourly SET milestones = milestones + 2 WHERE org_id = ${one.orgId}::uuid`);
    const window = daysWindow(2, "UTC", clock.now());
    expect((await callTotals({ db, orgId: one.orgId }, window)).calls).toBeGreaterThan(40);
    const report = await rebuildOrganizationRollups(db, one.orgId);
    expect(report.bucketsRecomputed).toBeGreaterThan(0);
    await expectExact(db, one.orgId, window, "rebuilt");
    await expectExact(db, two.orgId, window, "untouched");
  });

  it("forgets the rollups of a month partition that retention dropped", async () => {
    const { orgId, agentIds } = await newOrg("Retention");
    await db.execute(sql`SELECT tally_ensure_partitions('2024-03-15T00:00:00Z'::timestamptz, 0, 0)`);
    // without analysis rows: the partition's drop then deletes nothing a trigger would see (analysis rows are deleted
    // first, and mark their buckets like any deletion)
    const old = callsBack(6, new Date("2024-03-20T00:00:00Z"), 5 * 3600_000, agentIds).map((c) => ({ ...c, milestones: [], objections: [] }));
    await addCalls(db, orgId, old);
    await addCalls(db, orgId, callsBack(6, clock.now(), 5 * 3600_000, agentIds));
    await refreshRollups(db, clock.now());
    // what maintain-partitions does past retention: no trigger sees these rows go
    await db.execute(sql`SELECT tally_drop_month_partition('calls', 'calls_202403')`);
    const all = { from: null, to: null, timezone: "UTC" };
    expect((await callTotals({ db, orgId }, all)).calls).toBe(12);
    await db.execute(sql`SELECT tally_rollup_forget_before('2024-04-01T00:00:00Z'::timestamptz)`);
    await expectExact(db, orgId, all, "after forgetting the dropped month");
  });

  it("forgets up to a cutoff inside a day: that day's agent_rollup_daily row is summed again from its remaining hours", async () => {
    const { orgId, agentIds } = await newOrg("Cutoff mid-day");
    // 48 calls every 30 minutes over the day before the clock's: hours both sides of 12:00 on 2026-11-19
    await addCalls(db, orgId, callsBack(48, new Date("2026-11-20T00:00:00Z"), 30 * MINUTE, agentIds));
    await refreshRollups(db, clock.now());
    await db.execute(sql`SELECT tally_rollup_forget_before('2026-11-19T12:00:00Z'::timestamptz)`);
    const [day] = await rows<{ daily: number; hourly: number }>(
      db,
      sql`SELECT (SELECT coalesce(sum(calls), 0)::int FROM agent_rollup_daily WHERE org_id = ${orgId}::uuid AND day_start = '2026-11-19T00:00:00Z') AS daily,
                 (SELECT coalesce(sum(calls), 0)::int FROM agent_rollup_hourly WHERE org_id = ${orgId}::uuid AND bucket_start >= '2026-11-19T00:00:00Z' AND bucket_start < '2026-11-20T00:00:00Z') AS hourly`,
    );
    expect(day!.hourly).toBe(23); // the calls from 12:00 on (23:29:53, 22:59:53, … 12:29:53)
    expect(day!.daily).toBe(day!.hourly);
    // the calls before the cutoff are still there (no partition was dropped): marked, so every answer stays exact
    await expectExact(db, orgId, daysWindow(3, "UTC", clock.now()), "after forgetting up to mid-day");
    await refreshRollups(db, clock.now());
    await expectExact(db, orgId, daysWindow(3, "UTC", clock.now()), "after the refresh that rebuilt the marked buckets");
  });

  it("folds moves between agents, in time and across W, analysis changes and cascading deletes into the rows a full recompute writes", async () => {
    const { orgId, agentIds } = await newOrg("Deltas");
    const ids = await addCalls(db, orgId, callsBack(90, new Date("2026-11-20T10:00:00Z"), 17 * MINUTE, agentIds));
    await refreshRollups(db, clock.now());
    const id = (i: number) => sql`${ids[i]!}::uuid`;
    // another agent (milestones and objections go with the call), back in time across hours and days, past W
    await db.execute(sql`UPDATE calls SET agent_id = ${agentIds[1]!}::uuid WHERE id IN (${id(0)}, ${id(2)}) AND agent_id <> ${agentIds[1]!}::uuid`);
    await db.execute(sql`UPDATE calls SET started_at = started_at - interval '3 hours 10 minutes' WHERE id IN (${id(5)}, ${id(6)})`);
    await db.execute(sql`UPDATE calls SET started_at = '2026-11-20T10:05:00Z', agent_id = ${agentIds[0]!}::uuid WHERE id = ${id(7)}`);
    await db.execute(sql`UPDATE calls SET agent_id = NULL WHERE id = ${id(9)}`);
    // analysis: added, flipped, removed; a call deleted with its analysis (cascade)
    await db.execute(sql`INSERT INTO call_milestones (call_id, call_started_at, org_id, key, achieved)
                         SELECT id, started_at, org_id, 'closing', true FROM calls WHERE id IN (${id(11)}, ${id(12)})`);
    await db.execute(sql`UPDATE call_milestones SET achieved = NOT achieved WHERE call_id IN (${id(13)}, ${id(15)})`);
    await db.execute(sql`DELETE FROM call_objections WHERE call_id IN (${id(18)}, ${id(21)})`);
    await db.execute(sql`DELETE FROM calls WHERE id IN (${id(25)}, ${id(27)})`);
    // one statement that changes a call twice over (status, then back): its deltas cancel
    await db.execute(sql`UPDATE calls SET status = 'failed' WHERE id = ${id(30)}`);
    await db.execute(sql`UPDATE calls SET status = 'completed' WHERE id = ${id(30)}`);
    await expectExact(db, orgId, daysWindow(3, "America/New_York", clock.now()), "with the changes logged");
    const report = await refreshRollups(db, clock.now());
    expect(report.bucketsRecomputed, JSON.stringify(report)).toBe(0);
    expect(await marks()).toBe(0);
    await expectExact(db, orgId, daysWindow(3, "Asia/Kolkata", clock.now()), "after the fold");
    const folded = await storedRollups(db, orgId);
    await recomputeAllRollups(db, clock.now());
    expect(await storedRollups(db, orgId)).toEqual(folded);
  });

  it("logs a call an update moves to another month's partition once, and calls moved out of calls_default not at all", async () => {
    const { orgId, agentIds } = await newOrg("Partitions");
    // calls on both sides of the 1st of November (UTC), with analysis rows; and calls of a month with no partition yet
    const ids = await addCalls(db, orgId, callsBack(12, new Date("2026-11-01T02:00:00Z"), 20 * MINUTE, agentIds));
    const early = await addCalls(db, orgId, callsBack(6, new Date("2025-02-20T00:00:00Z"), 5 * 3600_000, agentIds));
    const partition = async (id: string) =>
      (await rows<{ part: string }>(db, sql`SELECT tableoid::regclass::text AS part FROM calls WHERE id = ${id}::uuid`))[0]!.part;
    expect(await partition(early[0]!)).toBe("calls_default");
    await refreshRollups(db, clock.now());
    const all = { from: null, to: null, timezone: "UTC" };

    // one statement moves calls back into October, one of them with its analysis, and another forward within November
    const before = await partition(ids[0]!);
    await db.execute(sql`UPDATE calls SET started_at = started_at - interval '3 hours' WHERE id IN (${ids[0]!}::uuid, ${ids[1]!}::uuid, ${ids[11]!}::uuid)`);
    expect([before, await partition(ids[0]!)]).toEqual(["calls_202611", "calls_202610"]);
    await expectExact(db, orgId, all, "after calls moved to October's partition");
    // and one back again, alone
    await db.execute(sql`UPDATE calls SET started_at = started_at + interval '3 hours' WHERE id = ${ids[1]!}::uuid`);
    await expectExact(db, orgId, all, "after a call moved back to November's partition");

    // February 2025's partition is made: its calls move out of calls_default, analysis rows with them
    await db.execute(sql`SELECT tally_ensure_partitions('2025-02-15T00:00:00Z'::timestamptz, 0, 0)`);
    expect(await partition(early[0]!)).toBe("calls_202502");
    await expectExact(db, orgId, all, "after the default partition's calls moved to their month");

    await refreshRollups(db, clock.now());
    await expectExact(db, orgId, all, "after the refresh");
    const folded = await storedRollups(db, orgId);
    await recomputeAllRollups(db, clock.now());
    expect(await storedRollups(db, orgId)).toEqual(folded);
  });

  it("a full recompute writes the same rows as the incremental refreshes", async () => {
    const { orgId, agentIds } = await newOrg("Full");
    await addCalls(db, orgId, callsBack(150, new Date("2026-11-20T10:00:00Z"), 6 * MINUTE, agentIds));
    await refreshRollups(db, clock.now(), { maxAdvanceCalls: 40 });
    await refreshRollups(db, clock.now(), { maxAdvanceCalls: 40 });
    await refreshRollups(db, clock.now());
    await db.execute(sql`UPDATE calls SET outcome = 'voicemail' WHERE org_id = ${orgId}::uuid AND status = 'missed'`);
    await refreshRollups(db, clock.now());
    const incremental = await storedRollups(db, orgId);
    const full = await recomputeAllRollups(db, clock.now());
    expect(full.rowsRead).toBeGreaterThanOrEqual(150);
    expect(await storedRollups(db, orgId)).toEqual(incremental);
  });
});

describe("hourly call rows (issue #16 item 1)", () => {
  it("sums a window's clean whole hours from call_rollup_hourly, its edges and marked hours from 15-minute rows", async () => {
    const { orgId, agentIds } = await newOrg("Hours");
    await addCalls(db, orgId, callsBack(60, new Date("2026-11-20T10:00:00Z"), 7 * MINUTE, agentIds));
    await refreshRollups(db, clock.now());
    const window = { from: new Date("2026-11-20T03:30:00Z"), to: new Date("2026-11-20T09:45:00Z"), timezone: "UTC" };
    const kolkata = { ...window, timezone: "Asia/Kolkata" };
    const exact = await callTotals({ db, orgId }, window);
    const exactKolkata = await callAnalytics({ db, orgId }, kolkata);
    // an hourly row that disagrees with its 15-minute rows shows in the answers: the whole hours 04:00–09:00 come from it
    await db.execute(sql`UPDATE call_rollup_hourly SET calls = calls + 1000 WHERE org_id = ${orgId}::uuid AND bucket_start = '2026-11-20T05:00:00Z'`);
    expect((await callTotals({ db, orgId }, window)).calls).toBe(exact.calls + 1000);
    expect((await callAnalytics({ db, orgId }, window)).totals.calls).toBe(exact.calls + 1000);
    // ...but not in a zone at +05:30, whose local hours are not unions of UTC hours: its analytics read 15-minute rows
    expect(await callAnalytics({ db, orgId }, kolkata)).toEqual(exactKolkata);
    // nor the edge hours, which the window cuts (03:30–04:00 and 09:00–09:45 are read from 15-minute rows)
    await db.execute(
      sql`UPDATE call_rollup_hourly SET calls = calls + 1000 WHERE org_id = ${orgId}::uuid AND bucket_start IN ('2026-11-20T03:00:00Z', '2026-11-20T09:00:00Z')`,
    );
    expect((await callTotals({ db, orgId }, window)).calls).toBe(exact.calls + 1000);
    // a mark in the hour: read from its unmarked 15-minute rows and the marked bucket's raw calls, not from the hour
    await db.execute(
      sql`UPDATE calls SET credits_used = credits_used + 1 WHERE org_id = ${orgId}::uuid AND started_at >= '2026-11-20T05:15:00Z' AND started_at < '2026-11-20T05:30:00Z'`,
    );
    expect((await callTotals({ db, orgId }, window)).calls).toBe(exact.calls);
  });
});

describe("the refresh-rollups job", () => {
  it("is registered every minute and reports rows, buckets, marks and the watermark", async () => {
    expect(jobRegistry["refresh-rollups"].cron).toBe("* * * * *");
    expect(jobRegistry["refresh-admin-view"].cron).toBe("*/5 * * * *");
    const { orgId, agentIds } = await newOrg("Job");
    await addCalls(db, orgId, callsBack(12, clock.now(), 13 * MINUTE, agentIds));
    const report = await runJob("refresh-rollups", jobContext(t.deps));
    expect(report).toMatchObject({ job: "refresh-rollups", watermark: "2026-11-20T10:00:00.000Z", dirtyMarks: 0 });
    expect(report.rowsRead).toBeGreaterThanOrEqual(12);
    expect(report.rowsWritten).toBeGreaterThan(0);
    expect(report.bucketsRecomputed).toBeGreaterThan(0);
  });
});

/** Races that need two connections: the local Postgres only (PGlite has one connection). */
describe.skipIf(testDbKind() !== "postgres")("races with writers (Postgres)", () => {
  const client = () => (t.database as unknown as { client: postgres.Sql }).client;

  async function openWriter(orgId: string, startedAt: Date) {
    const conn = await client().reserve();
    await conn`BEGIN`;
    const [contact] =
      await conn`INSERT INTO contacts (org_id, phone) VALUES (${orgId}, ${"+1415888" + String(Math.floor(Math.random() * 9000) + 1000)}) RETURNING id`;
    await conn`INSERT INTO calls (org_id, contact_id, direction, status, phone_number, started_at, credits_used)
               VALUES (${orgId}, ${contact!.id}, 'inbound', 'completed', '+14150000000', ${startedAt.toISOString()}, 7)`;
    return {
      commit: async () => {
        await conn`COMMIT`;
        conn.release();
      },
    };
  }

  it("the advance waits for a writer that read the old watermark, so its call is not lost", async () => {
    const { orgId, agentIds } = await newOrg("Race");
    await addCalls(db, orgId, callsBack(20, clock.now(), 9 * MINUTE, agentIds));
    await refreshRollups(db, clock.now()); // W = 10:00
    clock.advance(50 * MINUTE); // now 10:57, the next W is 10:45
    // a writer inserts a call at 10:20 (≥ W: no mark) and has not committed yet
    const writer = await openWriter(orgId, new Date("2026-11-20T10:20:00Z"));
    let settled = false;
    const refreshing = refreshRollups(db, clock.now(), { lockTimeoutMs: 10_000 }).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 400));
    expect(settled, "the advance must wait for the writer's commit").toBe(false);
    await writer.commit();
    const report = await refreshing;
    expect(report.advanced).toBe(true);
    expect(report.watermark).toBe("2026-11-20T10:45:00.000Z");
    const [rolled] = await rows<{ n: number }>(
      db,
      sql`SELECT coalesce(sum(calls), 0)::int AS n FROM call_rollup_15m WHERE org_id = ${orgId}::uuid AND bucket_start = '2026-11-20T10:15:00Z'`,
    );
    expect(rolled!.n, "the writer's call is in its bucket's rollup").toBe(1);
    await expectExact(db, orgId, daysWindow(1, "UTC", clock.now()), "after the race");
  });

  it("gives up the advance after its lock timeout (writers are not held up) and still recomputes the marks", async () => {
    const { orgId, agentIds } = await newOrg("Timeout");
    await addCalls(db, orgId, callsBack(20, clock.now(), 9 * MINUTE, agentIds));
    await refreshRollups(db, clock.now());
    await db.execute(sql`UPDATE calls SET status = 'failed' WHERE org_id = ${orgId}::uuid`);
    clock.advance(50 * MINUTE);
    const writer = await openWriter(orgId, new Date("2026-11-20T10:20:00Z"));
    try {
      const report = await refreshRollups(db, clock.now(), { lockTimeoutMs: 150 });
      expect(report.advanced).toBe(false);
      expect(report.watermark).toBe("2026-11-20T10:00:00.000Z");
      expect(report.dirtyMarks).toBeGreaterThan(0);
    } finally {
      await writer.commit();
    }
    await expectExact(db, orgId, daysWindow(1, "UTC", clock.now()), "after a skipped advance");
    const next = await refreshRollups(db, clock.now());
    expect(next.advanced).toBe(true);
    await expectExact(db, orgId, daysWindow(1, "UTC", clock.now()), "after the next advance");
  });

  it("a delta committed while the refresh runs, to a call it recomputed from raw rows, is folded in by the next run once", async () => {
    const { orgId, agentIds } = await newOrg("Delta during");
    await addCalls(db, orgId, callsBack(30, clock.now(), 9 * MINUTE, agentIds));
    await refreshRollups(db, clock.now()); // W = B = 10:00
    clock.advance(50 * MINUTE); // the next W is 10:45
    const fresh = await addCalls(db, orgId, callsBack(6, new Date("2026-11-20T10:44:00Z"), 6 * MINUTE, agentIds)); // in [B, W)
    const [old] = await rows<{ id: string }>(db, sql`SELECT id FROM calls WHERE org_id = ${orgId}::uuid AND started_at < '2026-11-20T09:00:00Z' LIMIT 1`);
    const report = await refreshRollups(db, clock.now(), {
      onStage: async (stage) => {
        // after the advance, before the recompute: changes to calls of [B, W) now below W, logged as deltas; the
        // recompute reads them in the raw rows and must not have them added again
        if (stage === "advanced") {
          await db.execute(sql`UPDATE calls SET credits_used = credits_used + 3, agent_id = ${agentIds[1]!}::uuid WHERE id = ${fresh[4]!}::uuid`);
          await db.execute(sql`INSERT INTO call_milestones (call_id, call_started_at, org_id, key, achieved)
                               SELECT id, started_at, org_id, 'early', false FROM calls WHERE id = ${fresh[5]!}::uuid`);
          return;
        }
        // another connection commits changes to calls of [B, W) (which this run recomputed from raw rows) and to an
        // older one, while the refresh transaction is still open: its snapshot did not see them
        await db.execute(sql`UPDATE calls SET credits_used = credits_used + 5, agent_id = ${agentIds[1]!}::uuid WHERE id = ${fresh[0]!}::uuid`);
        await db.execute(sql`INSERT INTO call_milestones (call_id, call_started_at, org_id, key, achieved)
                             SELECT id, started_at, org_id, 'late', true FROM calls WHERE id = ${fresh[1]!}::uuid`);
        await db.execute(sql`DELETE FROM calls WHERE id IN (${fresh[2]!}::uuid, ${old!.id}::uuid)`);
      },
    });
    expect(report.newCalls).toBe(6);
    expect(await marks()).toBeGreaterThan(0);
    await expectExact(db, orgId, daysWindow(1, "UTC", clock.now()), "with the deltas pending");
    await refreshRollups(db, clock.now());
    expect(await marks()).toBe(0);
    await expectExact(db, orgId, daysWindow(1, "UTC", clock.now()), "after the next run");
    const folded = await storedRollups(db, orgId);
    await recomputeAllRollups(db, clock.now());
    expect(await storedRollups(db, orgId)).toEqual(folded);
  });

  it("an analysis row written while an update moves its call to another agent lands with the agent the call ends with", async () => {
    const { orgId, agentIds } = await newOrg("Move race");
    const ids = await addCalls(db, orgId, callsBack(12, clock.now(), 9 * MINUTE, agentIds));
    await refreshRollups(db, clock.now());
    const [target] = await rows<{ id: string; agent_id: string }>(
      db,
      sql`SELECT id, agent_id FROM calls WHERE id = ANY(${`{${ids.join(",")}}`}::uuid[]) AND agent_id <> ${agentIds[1]!}::uuid
             AND started_at < (SELECT watermark FROM rollup_state WHERE id = 1) LIMIT 1`,
    );
    const mover = await client().reserve();
    await mover`BEGIN`;
    await mover`UPDATE calls SET agent_id = ${agentIds[1]!} WHERE id = ${target!.id}`;
    // the milestone's statement waits for the mover (its trigger locks the call before reading the agent); without
    // that lock it would finish first, reading the agent the mover is replacing
    let settled = false;
    let failure: unknown;
    // (a drizzle query runs each time it is awaited: one `then` only)
    const done = db
      .execute(sql`INSERT INTO call_milestones (call_id, call_started_at, org_id, key, achieved)
                   SELECT id, started_at, org_id, 'raced', true FROM calls WHERE id = ${target!.id}::uuid`)
      .then(
        () => {
          settled = true;
        },
        (e: unknown) => {
          settled = true;
          failure = e;
        },
      );
    for (let i = 0; i < 100 && !settled; i++) {
      const [waiting] = await rows<{ n: number }>(
        db,
        sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%''raced''%'`,
      );
      if (waiting!.n > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await mover`COMMIT`;
    mover.release();
    await done;
    expect(failure).toBeUndefined();
    await refreshRollups(db, clock.now());
    await expectExact(db, orgId, daysWindow(1, "UTC", clock.now()), "after the race");
    const [row] = await rows<{ n: number }>(
      db,
      sql`SELECT coalesce(sum(milestones), 0)::int AS n FROM agent_rollup_hourly WHERE org_id = ${orgId}::uuid AND agent_id = ${target!.agent_id}::uuid`,
    );
    const [raw] = await rows<{ n: number }>(
      db,
      sql`SELECT count(*)::int AS n FROM call_milestones m JOIN calls c ON c.id = m.call_id WHERE c.org_id = ${orgId}::uuid AND c.agent_id = ${target!.agent_id}::uuid`,
    );
    expect(row!.n, "the first agent keeps none of the moved call's milestones").toBe(raw!.n);
  });

  it("a mark written while the recompute runs survives it, so the bucket stays dirty until the next run", async () => {
    const { orgId, agentIds } = await newOrg("During");
    await addCalls(db, orgId, callsBack(30, clock.now(), 9 * MINUTE, agentIds));
    await refreshRollups(db, clock.now());
    await db.execute(sql`UPDATE calls SET credits_used = 3 WHERE org_id = ${orgId}::uuid`);
    const report = await refreshRollups(db, clock.now(), {
      onStage: async (stage) => {
        // another connection commits a back-dated call while the recompute transaction is still open
        if (stage === "recomputed") await addCalls(db, orgId, [{ startedAt: new Date("2026-11-20T08:05:00Z"), status: "completed", creditsUsed: 9 }]);
      },
    });
    expect(report.dirtyMarks).toBeGreaterThan(0);
    expect(await marks()).toBe(1);
    await expectExact(db, orgId, daysWindow(1, "UTC", clock.now()), "with the surviving mark");
    await refreshRollups(db, clock.now());
    expect(await marks()).toBe(0);
    await expectExact(db, orgId, daysWindow(1, "UTC", clock.now()), "after the next run");
  });
});

describe("per-agent reads of partial UTC days", () => {
  // A window from 05:00 on 11-16 to 14:30 on 11-18 (UTC): its first day is 19 hours of 11-16 and its last 14 hours of
  // 11-18, both read as the day's daily row minus its hourly rows outside the window while those hours have no mark
  // (queries.ts, frontByComplement and backByComplement), with calls on both sides of each cut.
  const window = { from: new Date("2026-11-16T05:00:00Z"), to: new Date("2026-11-18T14:30:00Z"), timezone: "UTC" };
  const at = (iso: string) => new Date(`2026-11-${iso}Z`);
  const seeds = (agentIds: string[]): CallSeed[] =>
    ["16T03:00:00", "16T04:59:59", "16T07:30:00", "17T12:00:00", "18T02:10:00", "18T13:20:00", "18T14:10:00", "18T15:40:00", "18T20:05:00"].map((iso, i) => ({
      agentId: agentIds[i % 2]!,
      contactIndex: i,
      status: i % 3 ? "completed" : "missed",
      startedAt: at(iso),
      durationSec: 30 + i,
      creditsUsed: i,
      leadScore: i % 2 ? 40 + i : null,
      outcome: i % 4 ? null : "appointment_booked",
      milestones: [{ key: "greeting", achieved: i % 2 === 0 }],
      objections: i % 3 ? [] : [{ kind: "price", handled: i % 2 === 1 }],
    }));

  it("answer the raw rows' sums from the daily rows minus the hours outside, and from the hours when a mark is inside", async () => {
    const { orgId, agentIds } = await newOrg("Edges");
    const ids = await addCalls(db, orgId, seeds(agentIds));
    await refreshRollups(db, clock.now());
    expect(await marks()).toBe(0);
    await expectExact(db, orgId, window, "clean");
    // a mark after the window's end on its last day, and one before its start on its first: the complements still hold
    await db.execute(sql`UPDATE calls SET lead_score = 99 WHERE id IN (${ids[7]!}::uuid, ${ids[0]!}::uuid)`);
    expect(await marks()).toBe(2);
    await expectExact(db, orgId, window, "marks outside the window");
    // marks inside both partial days: their hours are read directly (the marked ones raw)
    await db.execute(sql`UPDATE calls SET status = 'missed' WHERE id IN (${ids[5]!}::uuid, ${ids[2]!}::uuid)`);
    await expectExact(db, orgId, window, "marks inside the window");
    await refreshRollups(db, clock.now());
    expect(await marks()).toBe(0);
    await expectExact(db, orgId, window, "folded");
  });
});
