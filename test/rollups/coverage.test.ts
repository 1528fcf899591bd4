import fc from "fast-check";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { organizations } from "../../drizzle/schema";
import { rows, type Db } from "../../functions/db/database";
import { resolveWindow } from "../../functions/lib/windows";
import { readCoverage } from "../../functions/read-models/coverage";
import { rebuildOrganizationRollups, recomputeAllRollups, refreshRollups } from "../../functions/rollups/refresh";
import { createTestDatabase, testDbKind, type TestDatabase } from "../support/database";
import { insertAgents, insertSessions } from "../support/fixtures";
import { coverageOracle, loadRawOrg } from "../support/oracle/dashboard";
import { resetRollups, ZONES } from "./support";

/**
 * Coverage pre-aggregated (issue #16 item 2): `readCoverage` (stored coverage_15m rows of clean buckets + a raw sweep of
 * the marked buckets, the window's edges and the time from the built point on) answers exactly what the raw-session
 * oracle answers, before and after refreshes, after inserts, closes, edits moving sessions back in time, deletes,
 * overlapping sessions of one agent, sessions spanning DST changes, in zones offset by 30 and 45 minutes.
 */

let database: TestDatabase;
let db: Db;
beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
});
afterAll(async () => {
  await database?.drop();
});
beforeEach(async () => {
  await db.execute(sql`DELETE FROM organizations`);
  await resetRollups(db);
});

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (iso: string) => new Date(iso);

async function newOrg(timezone: string, agents = 3) {
  const [org] = await db
    .insert(organizations)
    .values({ name: `Coverage ${timezone}`, timezone })
    .returning({ id: organizations.id });
  const agentIds = (
    await insertAgents(
      db,
      org!.id,
      Array.from({ length: agents }, (_, i) => ({ name: `Agent ${i}` })),
    )
  ).map((a) => a.id);
  return { orgId: org!.id, agentIds };
}

/** The windows checked: the last 1, 2 and 7 local days, and a from/to range whose edges are off the 15-minute grid. */
async function expectCoverageExact(orgId: string, timezone: string, now: Date, label: string) {
  const raw = await loadRawOrg(db, orgId);
  const org = { id: orgId, name: "Coverage", timezone, creditsBalance: 0 };
  const windows = [
    resolveWindow({ days: 1 }, timezone, now, 7),
    resolveWindow({ days: 2 }, timezone, now, 7),
    resolveWindow({ days: 7 }, timezone, now, 7),
    resolveWindow(
      { from: new Date(now.getTime() - 50 * HOUR - 7 * MINUTE - 1234).toISOString(), to: new Date(now.getTime() - 3 * MINUTE).toISOString() },
      timezone,
      now,
      7,
    ),
  ];
  for (const w of windows) {
    const actual = await readCoverage({ db, org, now }, w);
    expect(actual, `${label} / ${timezone} ${w.from.toISOString()}..${w.to.toISOString()}`).toEqual(coverageOracle({ ...raw, timezone }, w, now));
  }
}

const coverageState = async () =>
  (
    await rows<{ built_to: string; watermark: string; marks: number; stored: number; late: number }>(
      db,
      sql`SELECT coverage_built_to::text AS built_to, watermark::text AS watermark,
                 (SELECT count(*)::int FROM coverage_dirty) AS marks, (SELECT count(*)::int FROM coverage_15m) AS stored,
                 (SELECT count(*)::int FROM coverage_15m c WHERE c.bucket_start >= s.coverage_built_to) AS late
            FROM rollup_state s WHERE id = 1`,
    )
  )[0]!;

const storedCoverage = async (orgId: string) =>
  rows(db, sql`SELECT bucket_start::text, agent_microseconds::text, covered_microseconds::text FROM coverage_15m WHERE org_id = ${orgId}::uuid ORDER BY 1`);

/** Zones and instants: New York's fall-back and spring-forward days, Kolkata (+5:30) and Kathmandu (+5:45). */
const CASES = [
  { timezone: "America/New_York", now: "2026-11-02T13:07:30Z", change: "2026-11-01T06:00:00Z" },
  { timezone: "America/New_York", now: "2026-03-09T12:52:10Z", change: "2026-03-08T07:00:00Z" },
  { timezone: "Asia/Kolkata", now: "2026-06-15T10:41:00Z", change: "2026-06-14T18:30:00Z" },
  { timezone: "Asia/Kathmandu", now: "2026-06-15T10:41:00Z", change: "2026-06-14T18:15:00Z" },
] as const;

describe("coverage pre-aggregated", () => {
  it.each(CASES)(
    "is exact in $timezone around $change before and after refreshes, through every kind of session write",
    async ({ timezone, now: nowIso, change }) => {
      let now = at(nowIso);
      const { orgId, agentIds } = await newOrg(timezone);
      const [a, b, c] = agentIds as [string, string, string];
      const pivot = at(change).getTime();
      const ids = (
        await insertSessions(db, orgId, [
          // across the DST change (or the local midnight) and overlapping sessions of one agent
          { agentId: a, startedAt: new Date(pivot - 3 * HOUR - 7 * MINUTE), endedAt: new Date(pivot + 2 * HOUR + 11_500) },
          { agentId: a, startedAt: new Date(pivot - HOUR), endedAt: new Date(pivot + 5 * HOUR) },
          { agentId: b, startedAt: new Date(pivot - 20 * MINUTE), endedAt: new Date(pivot + 40 * MINUTE) },
          // open sessions: one since yesterday, one that starts after the next watermark
          { agentId: c, startedAt: new Date(now.getTime() - 26 * HOUR - 3 * MINUTE), endedAt: null },
          { agentId: b, startedAt: new Date(now.getTime() - 2 * HOUR + 1), endedAt: null },
          // a session ending in the future
          { agentId: a, startedAt: new Date(now.getTime() - 30 * MINUTE), endedAt: new Date(now.getTime() + HOUR) },
        ])
      ).map((r) => r.id);
      await expectCoverageExact(orgId, timezone, now, "all raw");

      await refreshRollups(db, now);
      const built = await coverageState();
      expect(built.built_to).toBe((await rows<{ w: string }>(db, sql`SELECT watermark::text AS w FROM rollup_state`))[0]!.w);
      expect(built.stored).toBeGreaterThan(0);
      expect(built.late).toBe(0);
      await expectCoverageExact(orgId, timezone, now, "after the first refresh");

      // session writes between refreshes: each is read raw (its marks) until the next refresh
      const [open] = ids.slice(3);
      await db.execute(sql`UPDATE agent_sessions SET ended_at = ${new Date(now.getTime() - 20 * HOUR).toISOString()}::timestamptz WHERE id = ${open!}::uuid`);
      await expectCoverageExact(orgId, timezone, now, "an open session closed back in time");
      await db.execute(sql`UPDATE agent_sessions SET ended_at = ${now.toISOString()}::timestamptz WHERE id = ${ids[4]!}::uuid`);
      await expectCoverageExact(orgId, timezone, now, "an open session closed now");
      await db.execute(
        sql`UPDATE agent_sessions SET started_at = started_at - interval '5 hours 7 minutes', ended_at = ended_at - interval '4 hours' WHERE id = ${ids[1]!}::uuid`,
      );
      await expectCoverageExact(orgId, timezone, now, "a session moved back in time");
      await db.execute(sql`UPDATE agent_sessions SET agent_id = ${c}::uuid WHERE id = ${ids[2]!}::uuid`);
      await expectCoverageExact(orgId, timezone, now, "a session moved to another agent");
      await insertSessions(db, orgId, [
        { agentId: b, startedAt: new Date(pivot - 2 * HOUR), endedAt: new Date(pivot + 30 * MINUTE) },
        { agentId: c, startedAt: new Date(now.getTime() - 3 * HOUR), endedAt: null },
      ]);
      await expectCoverageExact(orgId, timezone, now, "back-dated inserts");
      await db.execute(sql`DELETE FROM agent_sessions WHERE id = ${ids[0]!}::uuid`);
      await expectCoverageExact(orgId, timezone, now, "a delete");
      expect((await coverageState()).marks).toBeGreaterThan(0);

      await refreshRollups(db, now);
      expect((await coverageState()).marks).toBe(0);
      await expectCoverageExact(orgId, timezone, now, "after the second refresh");
      // what the refreshes kept equals a rebuild from raw sessions
      const kept = await storedCoverage(orgId);
      await recomputeAllRollups(db, now);
      expect(await storedCoverage(orgId)).toEqual(kept);

      // time passes: the open sessions grow in the raw tail, then into stored buckets
      now = new Date(now.getTime() + 3 * HOUR + 7 * MINUTE);
      await expectCoverageExact(orgId, timezone, now, "three hours later, before a refresh");
      await refreshRollups(db, now);
      await expectCoverageExact(orgId, timezone, now, "three hours later, refreshed");
      await db.execute(sql`UPDATE agent_sessions SET ended_at = ${new Date(now.getTime() - 2 * HOUR).toISOString()}::timestamptz WHERE ended_at IS NULL`);
      await expectCoverageExact(orgId, timezone, now, "every open session closed two hours ago");
      // an agent deleted (its sessions cascade)
      await db.execute(sql`DELETE FROM agents WHERE id = ${a}::uuid`);
      await expectCoverageExact(orgId, timezone, now, "an agent deleted");
      await refreshRollups(db, now);
      await expectCoverageExact(orgId, timezone, now, "refreshed after the agent delete");
      expect((await coverageState()).late).toBe(0);
    },
    300_000,
  );

  // another connection writing while the refresh's transaction is open: Postgres only (PGlite has one connection)
  it.skipIf(testDbKind() !== "postgres")(
    "a session write committed while the refresh transaction is open stays marked and is recomputed by the next run",
    async () => {
      let now = at("2026-11-20T10:07:00Z");
      const { orgId, agentIds } = await newOrg("UTC", 2);
      await insertSessions(db, orgId, [{ agentId: agentIds[0]!, startedAt: at("2026-11-20T02:00:00Z"), endedAt: null }]);
      await refreshRollups(db, now); // W = C = 10:00
      now = at("2026-11-20T11:20:00Z");
      await refreshRollups(db, now, {
        onStage: async (stage) => {
          if (stage !== "recomputed") return;
          // another connection (on Postgres) commits while the refresh's transaction has not: its snapshot missed these
          await db.execute(sql`UPDATE agent_sessions SET ended_at = '2026-11-20T04:10:00Z' WHERE org_id = ${orgId}::uuid`);
          await insertSessions(db, orgId, [{ agentId: agentIds[1]!, startedAt: at("2026-11-20T09:50:00Z"), endedAt: at("2026-11-20T10:50:00Z") }]);
        },
      });
      expect((await coverageState()).marks).toBeGreaterThan(0);
      await expectCoverageExact(orgId, "UTC", now, "with the marks pending");
      await refreshRollups(db, now);
      expect((await coverageState()).marks).toBe(0);
      await expectCoverageExact(orgId, "UTC", now, "after the next run");
    },
  );

  it("a first build drains over runs (31 days each) and one organization's rebuild marks its stored time", async () => {
    const now = at("2026-06-15T10:41:00Z");
    const { orgId, agentIds } = await newOrg("Asia/Kolkata", 2);
    await insertSessions(
      db,
      orgId,
      Array.from({ length: 40 }, (_, i) => ({
        agentId: agentIds[i % 2]!,
        startedAt: new Date(now.getTime() - (i * 2 + 1) * 86_400_000 + i * 7 * MINUTE),
        endedAt: new Date(now.getTime() - (i * 2 + 1) * 86_400_000 + i * 7 * MINUTE + 9 * HOUR),
      })),
    );
    const first = await refreshRollups(db, now);
    expect(first.caughtUp).toBe(false);
    expect(new Date(first.coverageBuiltTo).getTime()).toBeLessThan(now.getTime() - 40 * 86_400_000);
    await expectCoverageExact(orgId, "Asia/Kolkata", now, "part built");
    let runs = 1;
    while (!(await refreshRollups(db, now)).caughtUp) runs++;
    expect(runs).toBeGreaterThanOrEqual(2);
    await expectCoverageExact(orgId, "Asia/Kolkata", now, "caught up");
    const kept = await storedCoverage(orgId);
    await rebuildOrganizationRollups(db, orgId);
    expect((await coverageState()).marks).toBe(1);
    await expectCoverageExact(orgId, "Asia/Kolkata", now, "marked by the rebuild");
    await refreshRollups(db, now);
    expect(await storedCoverage(orgId)).toEqual(kept);
  });

  it("TRUNCATE agent_sessions empties the coverage rows and marks", async () => {
    const now = at("2026-06-15T10:41:00Z");
    const { orgId, agentIds } = await newOrg("UTC", 1);
    await insertSessions(db, orgId, [{ agentId: agentIds[0]!, startedAt: at("2026-06-15T01:00:00Z"), endedAt: at("2026-06-15T05:00:00Z") }]);
    await refreshRollups(db, now);
    await db.execute(sql`UPDATE agent_sessions SET ended_at = '2026-06-15T03:00:00Z'`);
    expect(await coverageState()).toMatchObject({ marks: 1 });
    await db.execute(sql`TRUNCATE agent_sessions`);
    expect(await coverageState()).toMatchObject({ marks: 0, stored: 0 });
    await expectCoverageExact(orgId, "UTC", now, "after the truncate");
  });

  it("answers the oracle after every step of random session histories and refreshes, in every zone", async () => {
    const base = at("2026-11-02T09:22:00Z");
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("insert" as const),
        agent: fc.nat(2),
        agoMinutes: fc.integer({ min: 0, max: 3 * 24 * 60 }),
        lengthMinutes: fc.option(fc.integer({ min: 0, max: 900 }), { nil: null }),
      }),
      fc.record({ kind: fc.constant("close" as const), index: fc.nat(), agoMinutes: fc.integer({ min: 0, max: 2 * 24 * 60 }) }),
      fc.record({ kind: fc.constant("shift" as const), index: fc.nat(), minutes: fc.integer({ min: -24 * 60, max: 120 }) }),
      fc.record({ kind: fc.constant("reopen" as const), index: fc.nat() }),
      fc.record({ kind: fc.constant("delete" as const), index: fc.nat() }),
      fc.record({ kind: fc.constant("advance" as const), minutes: fc.integer({ min: 1, max: 300 }) }),
      fc.record({ kind: fc.constant("refresh" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ZONES), fc.array(op, { minLength: 1, maxLength: 14 }), async (timezone, ops) => {
        await db.execute(sql`DELETE FROM organizations`);
        await resetRollups(db);
        let now = base;
        const { orgId, agentIds } = await newOrg(timezone);
        const ids: string[] = [];
        const pick = (index: number) => ids[index % Math.max(1, ids.length)];
        const history: string[] = [];
        for (const o of ops) {
          history.push(JSON.stringify(o));
          if (o.kind === "insert") {
            const startedAt = new Date(now.getTime() - o.agoMinutes * MINUTE - 1_250);
            const endedAt = o.lengthMinutes === null ? null : new Date(startedAt.getTime() + o.lengthMinutes * MINUTE);
            ids.push(...(await insertSessions(db, orgId, [{ agentId: agentIds[o.agent]!, startedAt, endedAt }])).map((r) => r.id));
          } else if (o.kind === "close") {
            const id = pick(o.index);
            if (id)
              await db.execute(
                sql`UPDATE agent_sessions SET ended_at = greatest(started_at, ${new Date(now.getTime() - o.agoMinutes * MINUTE).toISOString()}::timestamptz) WHERE id = ${id}::uuid`,
              );
          } else if (o.kind === "shift") {
            const id = pick(o.index);
            if (id)
              await db.execute(
                sql`UPDATE agent_sessions SET started_at = started_at + make_interval(mins => ${o.minutes}), ended_at = ended_at + make_interval(mins => ${o.minutes}) WHERE id = ${id}::uuid`,
              );
          } else if (o.kind === "reopen") {
            const id = pick(o.index);
            if (id) await db.execute(sql`UPDATE agent_sessions SET ended_at = NULL WHERE id = ${id}::uuid`);
          } else if (o.kind === "delete") {
            const id = pick(o.index);
            if (id) {
              await db.execute(sql`DELETE FROM agent_sessions WHERE id = ${id}::uuid`);
              ids.splice(ids.indexOf(id), 1);
            }
          } else if (o.kind === "advance") now = new Date(now.getTime() + o.minutes * MINUTE);
          else await refreshRollups(db, now);
          await expectCoverageExact(orgId, timezone, now, history.join(" → "));
        }
      }),
      // PGlite runs one statement at a time, several times slower: fewer histories there; COVERAGE_RUNS=200 for a soak
      { numRuns: Number(process.env.COVERAGE_RUNS ?? (testDbKind() === "pglite" ? 4 : 10)), endOnFailure: true },
    );
  }, 900_000);
});
